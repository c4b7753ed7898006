"""Auto-FPN's resource-constrained differentiable search, what is Auto-FPN's own (the loop's
bookkeeping is held to the suite's contract in tests/suite/test_search_contract.py): the softmax
weights of every mixed op form a distribution, the expected cost is the normalised params +
FLOPs + MAC of the candidates weighted by them, the search decodes a known optimum on the
synthetic objective (both stages, several seeds), a larger lambda decodes a cheaper architecture,
the search configs carry the paper's tips, ``train_cfg.seed`` draws the initial weights, the
epochs before ``arch_start_epoch`` leave the architecture half alone, and a budget without an
architecture step is refused."""
import importlib.util
import json
import random

import pytest
import torch
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.hooks import Hook
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from projects.auto_fpn.auto_fpn import (FUSION_OPS, AutoFPNSearchLoop, AutoFusionNeck,
                                        AutoFusionSuperNeck, AutoHeadSuperBBoxHead, ExpectedCost,
                                        MixedOp, arch_parameters, build_op, count_resources,
                                        mixed_ops, random_genotype, weight_parameters)

# the tool under its own module name (Hit-Detector's tools/ has a cost_curve.py too)
_spec = importlib.util.spec_from_file_location('auto_fpn_cost_curve',
                                               'projects/auto_fpn/tools/cost_curve.py')
cost_curve_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cost_curve_tool)

CFG = 'projects/auto_fpn/configs/autofpn_search-{}_faster-rcnn_r18-w16_toy.py'


def test_mixed_op_weights_are_a_softmax_distribution():
    ops = {n: build_op(n, 4) for n in ('none', 'skip_connect', 'sep_conv_3x3')}
    m = MixedOp(ops)
    with torch.no_grad():
        m.arch_alpha.copy_(torch.tensor([0.5, -1., 2.]))
    x = torch.randn(2, 4, 5, 5)
    w = torch.softmax(m.arch_alpha, 0)
    assert torch.allclose(m.weights().sum(), torch.tensor(1.))
    assert torch.allclose(m(x), sum(wi * op(x) for wi, op in zip(w, ops.values())), atol=1e-6)
    assert m.best() == ('sep_conv_3x3', pytest.approx(float(w[2])))
    with torch.no_grad():
        m.arch_alpha[0] = 9.
    assert m.best()[0] == 'sep_conv_3x3'  # none is never decoded
    assert [p is m.arch_alpha for p in arch_parameters(m)] == [True]
    assert all(p is not m.arch_alpha for p in weight_parameters(m))


def test_expected_cost_is_the_normalised_params_flops_mac_sum():
    torch.manual_seed(0)
    neck = AutoFusionSuperNeck(num_layers=2, in_channels=[4, 8, 16, 32], out_channels=8)
    x = [torch.randn(1, c, 32 >> i, 32 >> i) for i, c in enumerate([4, 8, 16, 32])]

    class Nominal:

        def nominal_forward(self):
            neck(x)

    cost = ExpectedCost(Nominal(), neck)
    assert len(cost.table) == 32
    # an upward edge of layer 0 (C3 -> P2): the align 1x1 conv 8 -> 8 at 16 x 16, then the op at
    # 32 x 32; none costs nothing (it removes the edge, its align included)
    raw = cost.raw['layers.0.0_1']
    align = count_resources(neck.layers[0]['0_1'].align, (1, 8, 16, 16))
    assert align == (64., 8 * 8 * 256., 8 * 256 + 8 * 256 + 64.)
    sep = count_resources(build_op('sep_conv_3x3', 8), (1, 8, 32, 32))
    i = FUSION_OPS.index('sep_conv_3x3')
    assert raw[i].tolist() == pytest.approx([a + b for a, b in zip(align, sep)])
    assert sep.params == 2 * (8 * 9 + 8 * 8)  # DARTS SepConv: 2 x (depthwise 3x3 + 1x1)
    assert raw[FUSION_OPS.index('none')].tolist() == [0, 0, 0]
    assert raw[FUSION_OPS.index('skip_connect')].tolist() == pytest.approx(list(align))
    assert cost.table['layers.1.2_2'][FUSION_OPS.index('skip_connect')] == 0  # free skip
    ref = sum(t.max(0).values for t in cost.raw.values())
    assert cost.table['layers.0.0_1'].tolist() == pytest.approx((raw / ref).sum(1).tolist())
    # uniform weights: the mean of each edge's costs; every term's max architecture scores 1
    assert float(cost.expected()) == pytest.approx(
        sum(float(t.mean()) for t in cost.table.values()), rel=1e-5)
    assert sum(float(t.max()) for t in cost.table.values()) <= 3 + 1e-6
    g = neck.decode()
    chosen = cost.of_choice(neck.chosen_positions(dict(fusion=g)))
    fixed = AutoFusionNeck(
        dict(fusion=g), in_channels=[4, 8, 16, 32], out_channels=8, norm_cfg=None)
    assert chosen['params_m'] * 1e6 == pytest.approx(sum(p.numel() for p in fixed.parameters()))


def test_head_edges_cost_their_op_on_one_roi():
    head = AutoHeadSuperBBoxHead(
        num_cells=2, in_channels=8, roi_feat_size=7, fc_out_channels=16, num_classes=2)

    class Nominal:

        def nominal_forward(self):
            head(torch.zeros(1, 8, 7, 7))

    cost = ExpectedCost(Nominal(), head)
    assert len(cost.table) == 28
    raw = cost.raw['cells.1.edges.3_4']
    conv5 = count_resources(build_op('conv_5x5', 8), (1, 8, 7, 7))
    assert conv5.params == 8 * 8 * 25 and conv5.flops == 8 * 8 * 25 * 49
    assert raw[head.candidates.index('conv_5x5')].tolist() == pytest.approx(list(conv5))


def _synthetic(tmp_path, stage, seed, **train_cfg):
    cfg = Config.fromfile(CFG.format(stage))
    opts = cost_curve_tool.synthetic_options(stage, seed)
    cfg.train_cfg.objective = opts.pop('objective')
    cfg.train_cfg.update(opts, cost_weight=0.0, **train_cfg)
    cfg.work_dir = str(tmp_path)
    cfg.experiment_name = f'autofpn_{stage}_{tmp_path.name}'
    cfg.default_hooks.logger.interval = 1000
    Runner.from_cfg(cfg).train()
    rows = [json.loads(line) for line in (tmp_path / 'search_history.jsonl').open()]
    return yaml.safe_load((tmp_path / 'best_genotype.yaml').read_text()), rows


@pytest.mark.parametrize('stage,seed', [('fusion', 1), ('fusion', 2), ('head', 0), ('head', 1)])
def test_search_decodes_the_known_optimum(tmp_path, toy_coco, stage, seed):
    """The real supernet at 8 channels with frozen random candidates (unit gain each) and a
    random target genotype (2 layers / cells, 2 edges per node, seed 100 + seed): after 5 epochs
    of 12 architecture steps, DARTS's decoding gives exactly the target's edges and ops (only the
    fusion nodes the outputs depend on are identifiable, and scored). Every row's softmax
    weights of every edge sum to 1."""
    best, rows = _synthetic(tmp_path, stage, seed)
    assert best['score'] == 1.0 and rows[-1]['score'] == 1.0
    target = random_genotype(stage, random.Random(100 + seed))[stage]
    if stage == 'head':  # every intermediate node feeds the cell's output: all must match
        assert best['head'] == target
    for r in rows:
        arch = {k: v for k, v in r['metrics'].items() if k.startswith('arch/')}
        edges = {k.rsplit('/', 1)[0] for k in arch}
        assert len(edges) == (32 if stage == 'fusion' else 28)
        for e in edges:
            assert sum(v for k, v in arch.items() if k.rsplit('/', 1)[0] == e) == \
                pytest.approx(1, abs=1e-5)


def test_a_larger_lambda_decodes_a_cheaper_architecture(tmp_path, toy_coco):
    """projects/auto_fpn/tools/cost_curve.py at 4 lambdas (fusion, synthetic objective, seed 0,
    README "Search"): the expected cost falls strictly as lambda grows, the decoded
    architecture's never rises, and the largest lambda decodes a cheaper architecture than
    lambda 0, which decodes the target."""
    curve = cost_curve_tool.cost_curve([0, 0.1, 1, 3], 'fusion', seed=0, work_root=str(tmp_path))
    decoded = [c['decoded_cost'] for c in curve]
    expected = [c['expected_cost'] for c in curve]
    assert all(a > b for a, b in zip(expected, expected[1:])), expected
    assert all(a >= b for a, b in zip(decoded, decoded[1:])), decoded
    assert decoded[-1] < 0.5 * decoded[0] and curve[0]['match'] == 1.0
    params = [c['params_m'] for c in curve]
    assert params[-1] < params[0]


def test_search_configs_carry_the_papers_tips():
    init_default_scope('mmdet')
    base = 'projects/auto_fpn/configs/autofpn_search-{}_faster-rcnn_r50_8xb2-12e_coco.py'
    for stage in ('fusion', 'head'):
        for path in (base.format(stage), CFG.format(stage)):
            cfg = Config.fromfile(path)
            t = cfg.train_cfg
            assert t.type == 'AutoFPNSearchLoop' and t.stage == stage
            assert t.arch_start_epoch == t.max_epochs // 2  # tip 1: from the middle
            assert t.objective.freeze_backbone  # tip 2
            searched = cfg.model.neck if stage == 'fusion' else cfg.model.roi_head.bbox_head
            assert searched.norm_cfg is None  # tip 3: no norm while searching
            if stage == 'head':  # tip 4: the fixed neck in the fusion supernet's form
                assert cfg.model.neck.type == 'AutoFusionNeck' and cfg.model.neck.norm_cfg is None
                assert 'neck_checkpoint' in t.objective
        cfg = Config.fromfile(base.format(stage))
        t = cfg.train_cfg
        assert cfg.model.backbone.frozen_stages == 4 and cfg.model.backbone.norm_eval
        assert (t.max_epochs, t.cost_weight, t.edges_per_node) == (12, 1.0, 2)
        assert (t.arch_optimizer.type, t.arch_optimizer.lr, t.arch_optimizer.weight_decay) == \
            ('Adam', 3e-4, 1e-3)
        assert cfg.train_dataloader.batch_size * 8 == 16
        cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        searched = model.neck if stage == 'fusion' else model.roi_head.bbox_head
        assert {len(m.names) for _, m in mixed_ops(searched)} == {8 if stage == 'fusion' else 6}
        assert len(list(mixed_ops(searched))) == (32 if stage == 'fusion' else 28)


def test_half_sampler_gives_every_rank_the_same_number_of_batches():
    """An odd half over 2 ranks is padded (as DistributedSampler pads): unequal step counts
    would leave one rank waiting in the data-parallel backward."""
    from projects.auto_fpn.auto_fpn import AutoFPNHalfSampler
    halves = [
        AutoFPNHalfSampler(list(range(11)), half, split_seed=3) for half in ('weights', 'arch')
    ]
    assert sorted(halves[0].indices + halves[1].indices) == list(range(11))
    for s in halves:
        shards = []
        for rank in range(2):
            s.rank, s.world = rank, 2
            shards.append(list(s))
            assert len(shards[-1]) == len(s)
        assert len(shards[0]) == len(shards[1]) and set(shards[0] + shards[1]) == set(s.indices)


def _toy_runner(tmp_path, name, **train_cfg):
    """The toy fusion search, 1 batch of 4 images per half and epoch."""
    cfg = Config.fromfile(CFG.format('fusion'))
    cfg.train_cfg.update(train_cfg)
    cfg.train_cfg.objective.max_batches = 1
    cfg.work_dir = str(tmp_path / name)
    cfg.experiment_name = f'autofpn_{name}_{tmp_path.name}'
    cfg.default_hooks.logger.interval = 1000
    return cfg


class _Stop(Exception):
    pass


class _InitialWeights(Hook):
    """Keeps the model's weights as training is about to start, then stops the run."""

    def before_train(self, runner):
        self.state = {k: v.clone() for k, v in runner.model.state_dict().items()}
        raise _Stop


def test_seed_draws_the_initial_weights_whatever_randomness_says(tmp_path, toy_coco):
    """``train_cfg.seed`` alone decides the supernet's initial weights (the runner built the
    model under ``randomness``, which the COCO configs do not set)."""
    states = {}
    for seed, randomness in ((0, 1), (0, 2), (1, 1)):
        cfg = _toy_runner(tmp_path, f'init_{seed}_{randomness}', seed=seed)
        cfg.randomness = dict(seed=randomness)
        runner = Runner.from_cfg(cfg)
        hook = _InitialWeights()
        runner.register_hook(hook)
        with pytest.raises(_Stop):
            runner.train()
        states[seed, randomness] = hook.state
    same, other = states[0, 1], states[0, 2]
    assert same.keys() == other.keys()
    assert all(torch.equal(same[k], other[k]) for k in same)
    differ = [k for k in same if not torch.equal(same[k], states[1, 1][k])]
    assert any(k.startswith('neck.') for k in differ)
    assert any(k.startswith('roi_head.') for k in differ)


def test_arch_start_epoch_past_the_budget_is_refused_before_any_work():
    """No runner, no data, no objective is touched (None / an unregistered type would fail
    otherwise): the settings are refused first."""
    cases = [
        (dict(max_epochs=4, arch_start_epoch=4), ValueError, 'arch_start_epoch=4'),
        (dict(max_epochs=4, arch_start_epoch=7), ValueError, 'no architecture step'),
        (dict(max_epochs=0), ValueError, 'max_epochs must be >= 1'),
        (dict(max_epochs=4, arch_start_epoch=2.0), TypeError, 'arch_start_epoch'),
        (dict(cost_weight='1.0'), TypeError, 'cost_weight'),
        (dict(cost_weight=True), TypeError, 'cost_weight'),
    ]
    for kwargs, error, msg in cases:
        with pytest.raises(error, match=msg):
            AutoFPNSearchLoop(None, None, objective=dict(type='NotBuilt'), **kwargs)


def test_the_architecture_half_is_not_forwarded_before_arch_start_epoch(tmp_path, toy_coco):
    """Epoch 0 (before ``arch_start_epoch=1``) forwards the weights half only, so the toy
    backbone's BN statistics never see the architecture half; epoch 1 forwards both halves. The
    rows of the epochs without architecture steps have no architecture loss and no score."""
    runner = Runner.from_cfg(_toy_runner(tmp_path, 'warmup', max_epochs=2, arch_start_epoch=1))
    seen = []

    def record(module, args, kwargs):
        if kwargs.get('mode') == 'loss':
            ids = {s.metainfo['img_id'] for s in kwargs['data_samples']}
            seen.append((runner.train_loop.epoch, ids))

    runner.model.register_forward_pre_hook(record, with_kwargs=True)
    runner.train()
    halves = {}
    for half, loader in runner.train_loop.objective.loaders.items():
        data = loader.dataset
        halves[half] = {data.get_data_info(i)['img_id'] for i in loader.sampler.indices}
    assert not halves['weights'] & halves['arch']
    assert [(e, ids <= halves['weights']) for e, ids in seen if e == 0] == [(0, True)]
    assert [(ids <= halves['weights'], ids <= halves['arch']) for e, ids in seen
            if e == 1] == [(True, False), (False, True)]
    rows = [json.loads(line) for line in (tmp_path / 'warmup' / 'search_history.jsonl').open()]
    assert rows[0]['score'] is None and rows[0]['metrics']['search/arch_loss'] is None
    assert rows[1]['score'] == -rows[1]['metrics']['search/arch_loss']
    best = yaml.safe_load((tmp_path / 'warmup' / 'best_genotype.yaml').read_text())
    assert best['step'] == 1 and best['score'] == rows[1]['score']
