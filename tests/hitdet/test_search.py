"""Hit-Detector's differentiable search, what is Hit-Detector's own (the loop's bookkeeping is
held to the suite's contract in tests/suite/test_search_contract.py): mixed ops are weighted
sums whose weights form a distribution, the supernet builds from sub-spaces or a screening's
file, the expected FLOPs are the softmax-weighted candidates' FLOPs, screening keeps a dominant
op, the search picks it, and a larger FLOPs weight gives a cheaper decoded architecture."""
import json
import random

import pytest
import torch
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from projects.hitdet.hitdet import (OP_POOL, OPS, ExpectedCost, HitDetDetectionObjective,
                                    HitDetHalfSampler, MixedOp, arch_parameters,
                                    carry_optimizer_state, count_gmacs, mixed_ops, prune_schedule,
                                    resolve_candidates, subspace, weight_parameters)

SEARCH_CFG = 'projects/hitdet/configs/hitdet_search_faster-rcnn-w0.25_toy.py'


def test_mixed_op_is_a_softmax_weighted_sum_and_keeps_candidates():
    torch.manual_seed(0)
    ops = {n: OPS[n](8, 8, 1, dict(type='BN')) for n in ('ir_k3_d1_e3', 'sep_k5_d2', 'conv_k3_d1')}
    m = MixedOp(ops).eval()
    with torch.no_grad():
        m.arch_alpha.copy_(torch.tensor([0.5, -1., 2.]))
    x = torch.randn(2, 8, 6, 6)
    w = torch.softmax(m.arch_alpha, 0)
    assert torch.allclose(m.weights().sum(), torch.tensor(1.))
    expected = sum(wi * op(x) for wi, op in zip(w, ops.values()))
    assert torch.allclose(m(x), expected, atol=1e-6)
    assert m.chosen() == 'conv_k3_d1'
    m.keep(['sep_k5_d2', 'conv_k3_d1'])
    assert m.names == ['sep_k5_d2', 'conv_k3_d1'] and m.arch_alpha.tolist() == [-1., 2.]
    with pytest.raises(ValueError, match='not candidates'):
        m.keep(['ir_k7_d1_e6'])
    assert [p is m.arch_alpha for p in arch_parameters(m)] == [True]
    assert all(p is not m.arch_alpha for p in weight_parameters(m))


def test_screening_scores_start_as_the_uniform_softmax_and_zero_turns_an_op_off():
    """The screening's relaxation (Eq. 4): the weights are the scores themselves, 1 / N at the
    start (the uniform softmax's output); a score of 0 removes its op from the sum."""
    torch.manual_seed(0)
    ops = {n: OPS[n](8, 8, 1, dict(type='BN')) for n in ('ir_k3_d1_e3', 'sep_k5_d2', 'conv_k3_d1')}
    m = MixedOp(ops).eval()
    x = torch.randn(2, 8, 6, 6)
    uniform = m(x)
    m.use_scores()
    assert m.relaxation == 'score' and m.arch_alpha.tolist() == pytest.approx([1 / 3] * 3)
    assert torch.allclose(m(x), uniform, atol=1e-6)
    with torch.no_grad():
        m.arch_alpha.copy_(torch.tensor([0., 0.5, 1.5]))
    op = list(ops.values())
    assert torch.allclose(m(x), 0.5 * op[1](x) + 1.5 * op[2](x), atol=1e-6)
    assert m.probabilities().tolist() == pytest.approx([0., 0.25, 0.75])
    assert m.chosen() == 'conv_k3_d1'


def test_candidates_resolve_from_names_subspaces_the_pool_and_a_screening_file(tmp_path):
    assert resolve_candidates('pool', 'head') == list(OP_POOL) and len(OP_POOL) == 32
    assert resolve_candidates('paper', 'neck') == list(subspace('neck', 'paper'))
    path = tmp_path / 'screened_ops.yaml'
    path.write_text(yaml.safe_dump(dict(head=['ir_k3_d1_e3', 'conv_k5_d1'])))
    assert resolve_candidates(str(path), 'head') == ['ir_k3_d1_e3', 'conv_k5_d1']
    with pytest.raises(ValueError, match="no 'neck' list"):
        resolve_candidates(str(path), 'neck')
    with pytest.raises(ValueError, match='unknown ops'):
        resolve_candidates(['ir_k9_d1_e3'], 'head')
    with pytest.raises(ValueError, match='duplicates'):
        resolve_candidates(['sep_k3_d1', 'sep_k3_d1'], 'head')


def test_trinity_supernet_has_alpha_beta_gamma_and_its_expected_flops(toy_coco):
    init_default_scope('mmdet')
    cfg = Config.fromfile(SEARCH_CFG)
    model = MODELS.build(cfg.model)
    per = {
        c: [n for n, _ in mixed_ops(getattr(model, a))]
        for c, a in (('backbone', 'backbone'), ('neck', 'neck'), ('head', 'roi_head'))
    }
    assert {c: len(v) for c, v in per.items()} == dict(backbone=20, neck=8, head=4)
    for _, m in mixed_ops(model):
        assert len(m.names) == 8 and torch.allclose(m.weights().sum(), torch.tensor(1.))

    class Nominal:

        def nominal_forward(self):
            model.backbone(torch.zeros(1, 3, 160, 160))

    names = {'backbone': [f'backbone.{n}' for n in per['backbone']]}
    cost = ExpectedCost(Nominal(), model, names)
    first = dict(model.named_modules())['backbone.layers.1']
    table = cost.table['backbone.layers.1']
    # each candidate's FLOPs at its position's input (the stem's output), by itself
    stem = model.backbone.layers[0](torch.zeros(1, 3, 160, 160))
    assert table.tolist() == pytest.approx([count_gmacs(op, stem.shape) for op in first.ops],
                                           rel=1e-6)
    assert first.names[int(table.argmax())] == 'ir_k7_d1_e6'  # the widest, largest kernel
    assert float(cost.expected()['backbone']) == pytest.approx(
        sum(float(t.mean()) for t in cost.table.values()), rel=1e-5)  # uniform weights
    with torch.no_grad():
        first.arch_alpha[first.names.index('ir_k7_d1_e6')] = 20.
    assert cost.decoded() == pytest.approx(
        float(table[first.names.index('ir_k7_d1_e6')]) +
        sum(float(t[0]) for n, t in cost.table.items() if n != 'backbone.layers.1'))


def test_the_head_cost_counts_every_roi(toy_coco):
    """The RoI head's candidates run once per RoI: C(gamma) counts them at the objective's
    ``rois`` (1000 by default, the test-time proposals), the backbone's and neck's once."""
    init_default_scope('mmdet')
    model = MODELS.build(Config.fromfile(SEARCH_CFG).model)
    names = {
        c: [f'{a}.{n}' for n, _ in mixed_ops(getattr(model, a))]
        for c, a in (('backbone', 'backbone'), ('neck', 'neck'), ('head', 'roi_head'))
    }
    costs = {}
    for rois in (1, 1000):
        objective = HitDetDetectionObjective(nominal_sizes=dict(backbone=96, neck=96, rois=rois))
        objective.model = model
        costs[rois] = ExpectedCost(objective, model, names).expected()
    assert float(costs[1000]['head']) == pytest.approx(1000 * float(costs[1]['head']), rel=1e-6)
    for comp in ('backbone', 'neck'):
        assert float(costs[1000][comp]) == float(costs[1][comp])
    assert HitDetDetectionObjective().nominal_sizes['rois'] == 1000
    with pytest.raises(TypeError, match='nominal_sizes.rois'):
        HitDetDetectionObjective(nominal_sizes=dict(rois=0))
    with pytest.raises(ValueError, match='unknown keys'):
        HitDetDetectionObjective(nominal_sizes=dict(proposals=1000))


def _synthetic_run(tmp_path, toy_coco, stage, candidates, target, arch_lr=0.1, **train_cfg):
    cfg = Config.fromfile(SEARCH_CFG)
    cfg.train_cfg.objective = dict(
        type='HitDetSyntheticObjective', target=target, candidates=candidates, num_batches=16)
    cfg.train_cfg.update(
        stage=stage, score_key='synthetic/match', arch_optimizer=dict(lr=arch_lr), **train_cfg)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'hitdet_{tmp_path.name}'
    Runner.from_cfg(cfg).train()
    return yaml.safe_load((tmp_path / 'best_genotype.yaml').read_text())


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_screening_keeps_and_search_picks_the_dominant_op(tmp_path, toy_coco, seed):
    """The head's whole pool (32 ops, 2 positions) with a random target op per position: with
    the shipped column penalty (mu = 0.1) and after three epochs of architecture updates (16
    steps each, scores at Adam lr 0.01 for so few steps) the screening prunes
    32 -> 24 -> 16 -> 8 and keeps both target ops; the search on the kept 8 decodes exactly the
    target."""
    rng = random.Random(seed)
    target = dict(head=rng.sample(OP_POOL, 2))
    _synthetic_run(
        tmp_path / 'screen',
        toy_coco,
        'screen',
        dict(head=list(OP_POOL)),
        target,
        arch_lr=0.01,
        max_epochs=6,
        arch_start_epoch=1,
        prune=dict(start_epoch=3, every=1, drop=8, keep=8),
        sparsity_weight=0.1,
        seed=seed)
    kept = yaml.safe_load((tmp_path / 'screen' / 'screened_ops.yaml').read_text())['head']
    assert len(kept) == 8 and set(target['head']) <= set(kept)
    best = _synthetic_run(
        tmp_path / 'search',
        toy_coco,
        'search',
        dict(head=kept),
        target,
        max_epochs=4,
        arch_start_epoch=1,
        cost_weight=0.,
        seed=seed)
    assert best['head'] == target['head'] and best['score'] == 1.0


def _column_distribution(row):
    """A screening row's op distribution of the component: each op's probability averaged over
    the positions (the quantity the prune ranks)."""
    positions = {}
    for key, value in row['metrics'].items():
        if key.startswith('arch/'):
            _, name, op = key.split('/')
            positions.setdefault(name, {})[op] = value
    ops = next(iter(positions.values()))
    return {op: sum(p[op] for p in positions.values()) / len(positions) for op in ops}


def test_a_larger_column_penalty_sharpens_the_screening_and_keeps_the_target_ops(
        tmp_path, toy_coco):
    """The paper's ablation (Sec. 4.4): with mu = 0 the ops' probabilities are "rather similar",
    a larger mu makes them differ more. Random targets (2 positions of the head's 32-op pool),
    seeds 0-5, two epochs of architecture updates without a prune, mu = 0 against the shipped
    0.1: over the seeds the component's op distribution has a lower mean entropy, more mass on
    its top 8 ops and more ops turned off (score 0), and every run keeps both target ops among
    its top 8 (README, Evidence)."""
    import math
    found = {0.: [], 0.1: []}
    for seed in range(6):
        target = dict(head=random.Random(seed).sample(OP_POOL, 2))
        for mu in found:
            work = tmp_path / f'{seed}_{mu}'
            _synthetic_run(
                work,
                toy_coco,
                'screen',
                dict(head=list(OP_POOL)),
                target,
                arch_lr=0.01,
                max_epochs=3,
                arch_start_epoch=1,
                prune=dict(start_epoch=3),  # after the last epoch: none
                sparsity_weight=mu,
                seed=seed)
            row = [json.loads(line) for line in open(work / 'search_history.jsonl')][-1]
            dist = _column_distribution(row)
            top8 = sorted(dist, key=dist.get, reverse=True)[:8]
            assert set(target['head']) <= set(top8), (seed, mu, top8)
            found[mu].append((-sum(p * math.log(p) for p in dist.values() if p > 0),
                              sum(dist[op] for op in top8), sum(p == 0 for p in dist.values())))
    mean = {mu: [sum(v) / len(v) for v in zip(*rows)] for mu, rows in found.items()}
    (ent0, mass0, off0), (ent1, mass1, off1) = mean[0.], mean[0.1]
    assert ent1 < ent0 and mass1 > mass0 and off1 > off0, mean


def test_a_larger_flops_weight_decodes_a_cheaper_architecture(tmp_path, toy_coco):
    """projects/hitdet/tools/cost_curve.py at 4 lambdas (synthetic objective, seed 0): the
    expected GFLOPs fall strictly as lambda grows, the decoded architecture's never rise, and the
    largest lambda decodes a cheaper architecture than lambda 0 (README, "Search")."""
    import sys
    sys.path.insert(0, 'projects/hitdet/tools')
    from cost_curve import cost_curve
    curve = cost_curve([0, 1e3, 1e4, 1e5], seed=0, work_root=str(tmp_path))
    decoded = [c[1] for c in curve]
    expected = [c[2] for c in curve]
    assert all(a > b for a, b in zip(expected, expected[1:])), expected
    assert all(a >= b for a, b in zip(decoded, decoded[1:])), decoded
    assert decoded[-1] < decoded[0]


@pytest.mark.parametrize('component', ['backbone', 'neck', 'head'])
def test_coco_search_configs_carry_the_papers_settings(component):
    init_default_scope('mmdet')
    search = Config.fromfile('projects/hitdet/configs/hitdet_search_faster-rcnn_8xb2-12e_coco.py')
    t = search.train_cfg
    # architecture updates "from epoch 6" of 12 (Sec. 4.1): the 6th, index 5
    assert (t.stage, t.max_epochs, t.arch_start_epoch, t.cost_weight) == ('search', 12, 5, 0.01)
    w = t.weight_optimizer  # weight decay: the official retrain's 1e-4
    assert (w.type, w.lr, w.momentum, w.weight_decay) == ('SGD', 0.04, 0.9, 1e-4)
    assert (t.arch_optimizer.type, t.arch_optimizer.lr) == ('Adam', 4e-4)
    assert t.objective.nominal_sizes == dict(backbone=800, neck=640, roi=7, rois=1000)
    assert search.train_dataloader.batch_size * 8 == 16
    screen = Config.fromfile(
        f'projects/hitdet/configs/hitdet_screen-{component}_faster-rcnn_8xb2-12e_coco.py')
    s = screen.train_cfg
    assert (s.stage, s.sparsity_weight, s.max_epochs, s.arch_start_epoch) == ('screen', 0.1, 12, 5)
    # every prune follows informed updates, and the pool ends at the paper's 8 ops
    plan = prune_schedule(32, s.max_epochs, s.prune)
    assert plan[0][0] >= s.arch_start_epoch and plan[-1][1] == 8 == s.prune.keep
    assert plan[-1][0] < s.max_epochs
    cands = dict(
        backbone=screen.model.backbone.candidates,
        neck=screen.model.neck.candidates,
        head=screen.model.roi_head.bbox_head.candidates)
    assert cands.pop(component) == 'pool' and all(len(c) == 1 for c in cands.values())
    model = MODELS.build(screen.model)  # builds; 32 candidates at the screened positions
    positions = [m for _, m in mixed_ops(model) if len(m.names) == 32]
    assert len(positions) == dict(backbone=20, neck=8, head=4)[component]


def test_prune_schedule_counts_epochs_as_the_architecture_updates_do(tmp_path, toy_coco):
    """Epochs are counted from 0 for both: a prune after the epoch before the first architecture
    update would rank untouched, equal weights, so it is refused before the search starts; the
    schedule's prunes follow the epochs it names (32 -> 24 -> 16 -> 8 after epochs 3, 4, 5)."""
    assert prune_schedule(32, 6, dict(start_epoch=3, every=1, drop=8, keep=8)) == \
        [(3, 24), (4, 16), (5, 8)]
    assert prune_schedule(32, 12, dict(start_epoch=6, every=2, drop=4, keep=8)) == \
        [(6, 28), (8, 24), (10, 20)]  # too few epochs: ends above keep (the loop warns)
    target = dict(head=['sep_k3_d1', 'ir_k5_d2_e3'])
    with pytest.raises(ValueError, match='before the first architecture update'):
        _synthetic_run(
            tmp_path / 'early',
            toy_coco,
            'screen',
            dict(head=list(OP_POOL)),
            target,
            max_epochs=4,
            arch_start_epoch=2,
            prune=dict(start_epoch=1))
    for bad in (dict(every=0), dict(drop=True), dict(keep='8')):
        with pytest.raises(TypeError, match='train_cfg.prune'):
            _synthetic_run(
                tmp_path / 'bad',
                toy_coco,
                'screen',
                dict(head=list(OP_POOL)),
                target,
                max_epochs=4,
                arch_start_epoch=1,
                prune=bad)


def test_the_half_sampler_gives_every_rank_as_many_images(monkeypatch):
    """Two halves of 7 images split over 2 ranks: both ranks get 4 per half (the half padded with
    its first image), so no rank takes a data-parallel step alone; together they cover the half,
    and the two halves do not overlap."""
    import projects.hitdet.hitdet.objectives as objectives
    seen = {}
    for rank in (0, 1):
        monkeypatch.setattr(objectives, 'get_dist_info', lambda r=rank: (r, 2))
        for half in ('weights', 'arch'):
            sampler = HitDetHalfSampler(list(range(14)), half, split_seed=3, seed=0)
            sampler.set_epoch(1)
            seen[rank, half] = list(sampler)
            assert len(seen[rank, half]) == len(sampler) == 4
    for half in ('weights', 'arch'):
        assert len(set(seen[0, half] + seen[1, half])) == 7
    assert not set(seen[0, 'weights'] + seen[1, 'weights']) & set(seen[0, 'arch'] + seen[1, 'arch'])


def test_a_prune_keeps_the_momentum_of_the_kept_weights():
    kept, dropped = torch.nn.Parameter(torch.ones(3)), torch.nn.Parameter(torch.ones(2))
    old = torch.optim.SGD([kept, dropped], lr=0.1, momentum=0.9)
    (kept.sum() + dropped.sum()).backward()
    old.step()
    new = torch.optim.SGD([kept], lr=0.1, momentum=0.9)
    carry_optimizer_state(old, new)
    assert torch.equal(new.state[kept]['momentum_buffer'], old.state[kept]['momentum_buffer'])
    assert dropped not in new.state
    carry_optimizer_state(None, new)  # nothing to carry: no error
