"""The suite's search-loop contract (``CONVENTIONS.md``, "The search-loop contract"), held for
every project's loop on its synthetic objective (a target genotype drawn at random from the
project's search space, so the optimum is known and is not the published architecture).

A project joins by adding an :class:`Entry` to ``ENTRIES``: its toy search config, the options
that put the loop on its synthetic objective, and how its retrain model reads a genotype file.

Kills are real exceptions raised inside the loop by :class:`ContractKillAfter`, an objective
registered here that wraps the project's synthetic objective and stops at its n-th evaluation
(a kill while a candidate is being evaluated). A kill inside a history append leaves a cut last
line, made here by cutting the file; a kill between a step's controller update and the save of
the state leaves the previous state beside the full step's history, made here by combining two
killed runs. Each must resume to the uninterrupted run's history and best genotype.
"""
import copy
import dataclasses
import itertools
import json
import random
import shutil
import socket
import sys
from typing import Callable, Dict, Optional

import mmdet
import pytest
import yaml
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import Config
from mmengine.runner import Runner

from conftest import REPO, run_cli


class Killed(Exception):
    """Stands for a kill: raised by the objective, nothing after it runs."""


# completed evaluations (genotype keys as JSON) of every ContractKillAfter, in order
EVALUATED = []
# the evaluation (0-based, per run) at which the next run is killed; not part of the config,
# which a resume compares with the stored one
KILL = dict(at=None)


@TASK_UTILS.register_module(force=True)
class ContractKillAfter:
    """The project's objective, stopped by :class:`Killed` at evaluation ``KILL['at']``."""

    def __init__(self, inner):
        self.inner = TASK_UTILS.build(inner)
        self.kill_at, self.calls = KILL['at'], 0

    @property
    def metric_keys(self):
        return self.inner.metric_keys

    def setup(self, runner, loop):
        self.inner.setup(runner, loop)

    def __call__(self, genotype, seed):
        if self.calls == self.kill_at:
            raise Killed()
        self.calls += 1
        out = self.inner(genotype, seed)
        EVALUATED.append(json.dumps(genotype, default=list))
        return out

    def after_search(self, best, work_dir):
        self.inner.after_search(best, work_dir)

    def __getattr__(self, name):  # the rest of the objective's interface (a supernet's model, ...)
        inner = self.__dict__.get('inner')
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


@dataclasses.dataclass
class Entry:
    config: str  # the project's toy search config
    synthetic: Callable[[int], dict]  # seed -> train_cfg options of the synthetic search
    retrain: Callable[[str], None]  # best_genotype.yaml -> builds the retrain model, checks it
    proposals: int  # rows of the synthetic search (num_steps x proposals per step, or epochs)
    step_size: str  # an option that changes the search (resuming with another value is refused)
    repeats: bool = False  # the synthetic search proposes a genotype again (cached rows)
    budget: Optional[str] = 'num_steps'  # the option a finished search may grow (None: none)
    differentiable: bool = False  # one row per epoch of a supernet; the last row is the result


# ----------------------------------------------------------------------------- SpineNet
def _spinenet_synthetic(seed):
    from projects.spinenet.spinenet import SpineNetSearchSpace
    space = SpineNetSearchSpace()
    target = space.decode(space.sample_random(random.Random(100 + seed)))
    return dict(
        objective=dict(
            type='SpineNetMatchObjective', target=dict(blocks=[s.to_list() for s in target])),
        score_key='synthetic/match',
        num_steps=3,
        samples_per_step=4,
        seed=seed)


def _spinenet_retrain(best):
    from projects.spinenet.spinenet import load_genotype
    cfg = Config.fromfile(
        str(REPO / 'projects/spinenet/configs/retinanet_spinenet-toy_1xb8-12e_toy.py'))
    cfg.model.backbone.genotype = best
    model = MODELS.build(cfg.model)
    assert list(model.backbone.specs) == load_genotype(best)[0]


# ----------------------------------------------------------------------------- NAS-FPN
def _nas_fpn_synthetic(seed):
    import numpy as np

    from projects.nas_fpn.nas_fpn import NASFPNSearchSpace, genotype_to_list
    space = NASFPNSearchSpace()
    target = space.decode(space.random_actions(np.random.default_rng(100 + seed)))
    return dict(
        objective=dict(type='NASFPNMatchObjective', target=dict(cells=genotype_to_list(target))),
        score_key='synthetic/match',
        num_steps=4,
        samples_per_step=4,
        # a controller that settles at once, so that proposals repeat (cached rows)
        ppo=dict(lr=0.2, entropy_weight=0.0),
        seed=seed)


def _nas_fpn_retrain(best):
    from projects.nas_fpn.nas_fpn import load_genotype
    cfg = Config.fromfile(
        str(REPO / 'projects/nas_fpn/configs/retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py'))
    cfg.model.neck.genotype = best
    model = MODELS.build(cfg.model)
    assert model.neck.genotype == load_genotype(best)


# ----------------------------------------------------------------------------- DetNAS
DETNAS_SEARCH = 'projects/detnas/configs/detnas_search_retinanet-toy_toy.py'


def _detnas_synthetic(seed):
    from projects.detnas.detnas import CHOICES, get_flops_table
    cfg = Config.fromfile(str(REPO / DETNAS_SEARCH))
    space = dict(
        stage_repeats=list(cfg.model.backbone.stage_repeats),
        stage_out_channels=list(cfg.model.backbone.stage_out_channels))
    table = get_flops_table(space['stage_repeats'], space['stage_out_channels'], count_bn=False)
    rng = random.Random(100 + seed)
    while True:  # a random path within the search's FLOPs limit: the known optimum
        target = [rng.choice(CHOICES) for _ in range(sum(space['stage_repeats']))]
        if table.flops(target) <= cfg.train_cfg.flops_limit:
            break
    return dict(
        objective=dict(type='DetNASMatchObjective', target=dict(space, genotype=target)),
        score_key='synthetic/match',
        num_steps=3,
        population_num=8,
        seed=seed)


def _detnas_retrain(best):
    from projects.detnas.detnas import load_genotype
    cfg = Config.fromfile(
        str(REPO / 'projects/detnas/configs/retinanet_detnas-toy_fpn_1xb8-12e_toy.py'))
    cfg.model.backbone.genotype = best
    model = MODELS.build(cfg.model)
    assert model.backbone.genotype == load_genotype(best)['genotype']


# ----------------------------------------------------------------------------- NAS-FCOS
NAS_FCOS_SEARCH = 'projects/nas_fcos/configs/nas-fcos_search-decoder_r18-w16_fcos-head_toy.py'


def _nas_fcos_synthetic(seed):
    from projects.nas_fcos.nas_fcos import NASFCOSSearchSpace
    space = NASFCOSSearchSpace('decoder')
    target = space.decode(space.random_actions(random.Random(100 + seed)))
    return dict(
        objective=dict(type='NASFCOSMatchObjective', target=target),
        score_key='synthetic/match',
        num_steps=3,
        samples_per_step=4,
        seed=seed)


def _nas_fcos_retrain(best):
    """The decoder phase's best builds the decoder + FCOS head detector (the FPN-only model)."""
    from projects.nas_fcos.nas_fcos import load_genotype
    cfg = Config.fromfile(str(REPO / NAS_FCOS_SEARCH))
    cfg.model.neck.genotype = best
    model = MODELS.build(cfg.model)
    assert model.neck.genotype.decoder == load_genotype(best).decoder


# ----------------------------------------------------------------------------- Hit-Detector
HITDET_SEARCH = 'projects/hitdet/configs/hitdet_search_faster-rcnn-w0.25_toy.py'


def _hitdet_synthetic(seed):
    from projects.hitdet.hitdet import subspace
    rng = random.Random(100 + seed)
    candidates = {c: list(subspace(c, 'paper')) for c in ('backbone', 'neck', 'head')}
    target = {c: [rng.choice(ops) for _ in range(2)] for c, ops in candidates.items()}
    return dict(
        objective=dict(type='HitDetSyntheticObjective', target=target, candidates=candidates),
        score_key='synthetic/match',
        max_epochs=6,
        arch_start_epoch=2,
        arch_optimizer=dict(lr=0.05),
        cost_weight=0.0,
        seed=seed)


def _hitdet_retrain(best):
    from projects.hitdet.hitdet import load_genotype
    cfg = Config.fromfile(
        str(REPO /
            'projects/hitdet/configs/faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py'))
    data = yaml.safe_load(open(best))
    g = {c: data[c] for c in ('backbone', 'neck', 'head')}
    # the synthetic search decodes 2 positions per component; the detector needs all of them
    full = dict(backbone=g['backbone'] * 10, neck=g['neck'] * 4, head=g['head'] * 2)
    cfg.model.backbone.genotype = cfg.model.neck.genotype = full
    cfg.model.roi_head.bbox_head.genotype = full
    model = MODELS.build(cfg.model)
    assert list(model.backbone.ops) == list(load_genotype(full).backbone)


# ----------------------------------------------------------------------------- Auto-FPN
AUTO_FPN_SEARCH = 'projects/auto_fpn/configs/autofpn_search-fusion_faster-rcnn_r18-w16_toy.py'


def _auto_fpn_synthetic(seed):
    from projects.auto_fpn.auto_fpn import random_genotype
    target = random_genotype('fusion', random.Random(100 + seed))
    return dict(
        objective=dict(type='AutoFPNSyntheticObjective', target=target, num_batches=4),
        score_key='synthetic/match',
        max_epochs=6,
        arch_start_epoch=1,
        arch_optimizer=dict(lr=0.2),
        cost_weight=0.0,
        seed=seed)


def _auto_fpn_retrain(best):
    """The fusion stage's best builds the toy retrain detector's neck (the head: the example)."""
    from projects.auto_fpn.auto_fpn import load_genotype
    cfg = Config.fromfile(
        str(REPO / 'projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py'))
    cfg.model.neck.genotype = best
    model = MODELS.build(cfg.model)
    assert model.neck.genotype == load_genotype(best).fusion


ENTRIES: Dict[str, Entry] = {
    'spinenet':
    Entry('projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py', _spinenet_synthetic,
          _spinenet_retrain, 12, 'samples_per_step'),
    'nas_fpn':
    Entry(
        'projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py',
        _nas_fpn_synthetic,
        _nas_fpn_retrain,
        16,
        'samples_per_step',
        repeats=True),
    'detnas':
    Entry(DETNAS_SEARCH, _detnas_synthetic, _detnas_retrain, 24, 'population_num'),
    'nas_fcos':
    Entry(NAS_FCOS_SEARCH, _nas_fcos_synthetic, _nas_fcos_retrain, 12, 'samples_per_step'),
    'hitdet':
    Entry(
        HITDET_SEARCH,
        _hitdet_synthetic,
        _hitdet_retrain,
        6,
        'cost_weight',
        budget=None,
        differentiable=True),
    'auto_fpn':
    Entry(
        AUTO_FPN_SEARCH,
        _auto_fpn_synthetic,
        _auto_fpn_retrain,
        6,
        'cost_weight',
        budget=None,
        differentiable=True),
}

_runs = itertools.count()


def run_search(entry, work_dir, resume=False, kill_at=None, seed=0, **overrides):
    """One ``mim train`` of the search, in this process (``Runner.from_cfg(cfg).train()``)."""
    cfg = Config.fromfile(str(REPO / entry.config))
    opts = entry.synthetic(seed)
    opts.update(overrides)
    objective = opts.pop('objective')
    cfg.merge_from_dict({f'train_cfg.{k}': v for k, v in opts.items()})
    cfg.train_cfg.objective = dict(type='ContractKillAfter', inner=objective)
    KILL['at'] = kill_at
    cfg.work_dir = str(work_dir)
    cfg.resume, cfg.load_from = resume, None  # as mmdet's train.py does for --resume
    cfg.experiment_name = f'contract_{next(_runs)}'
    cfg.default_hooks.logger.interval = 1000
    runner = Runner.from_cfg(cfg)
    if kill_at is None:
        runner.train()
    else:
        with pytest.raises(Killed):
            runner.train()


def history(work_dir):
    """The history rows without what legitimately differs between runs (wall clock, seconds)."""
    rows = [
        json.loads(line) for line in (work_dir / 'search_history.jsonl').read_text().splitlines()
    ]
    for r in rows:
        r.pop('time')
        r['cost'] = {k: v for k, v in r['cost'].items() if not k.endswith('_s')}
    return rows


def best(work_dir):
    """best_genotype.yaml without its ``source`` (the history file's path)."""
    data = yaml.safe_load((work_dir / 'best_genotype.yaml').read_text())
    data.pop('source')
    return data


@pytest.fixture(scope='module', params=sorted(ENTRIES))
def reference(request, tmp_path_factory, toy_coco):
    """An uninterrupted synthetic search of one project."""
    entry = ENTRIES[request.param]
    work = tmp_path_factory.mktemp(f'{request.param}_reference')
    EVALUATED.clear()
    run_search(entry, work)
    return entry, work, list(EVALUATED)


def test_reference_run_follows_the_schema(reference):
    entry, work, evaluated = reference
    rows = [json.loads(line) for line in (work / 'search_history.jsonl').read_text().splitlines()]
    fields = ['step', 'index', 'key', 'genotype', 'score', 'metrics', 'cost', 'cached', 'time']
    assert rows and all(list(r) == fields for r in rows)
    assert len(rows) == entry.proposals
    assert all(r['score'] == r['metrics']['synthetic/match'] for r in rows)
    # no candidate evaluated twice: repeated genotypes are cached rows
    assert any(r['cached'] for r in rows) == entry.repeats
    fresh = [r['key'] for r in rows if not r['cached']]
    assert len(fresh) == len(evaluated)
    if not entry.differentiable:  # (a supernet's decoded genotype may stay the same for epochs)
        assert len(fresh) == len(set(fresh))
    for r in rows:
        if r['cached']:
            src = next(s for s in rows if s['key'] == r['key'] and not s['cached'])
            assert (src['step'], src['index']) < (r['step'], r['index'])
            assert src['score'] == r['score']
    b = best(work)
    assert b['score_key'] == 'synthetic/match'
    if entry.differentiable:  # the search's result: the genotype decoded at the last epoch
        assert (b['score'], b['step']) == (rows[-1]['score'], rows[-1]['step'])
    else:
        top = max(r['score'] for r in rows)
        first = next(r for r in rows if r['score'] == top)
        assert b['score'] == top and (b['step'], b['index']) == (first['step'], first['index'])
    assert (work / 'search_progress.png').stat().st_size > 0
    assert (work / 'search_state.pth').exists()
    entry.retrain(str(work / 'best_genotype.yaml'))


def test_same_seed_same_history(reference, tmp_path):
    entry, work, _ = reference
    run_search(entry, tmp_path)
    assert history(tmp_path) == history(work)
    assert best(tmp_path) == best(work)


def test_other_seed_other_history(reference, tmp_path):
    entry, work, _ = reference
    run_search(entry, tmp_path, seed=1)
    assert history(tmp_path) != history(work)


@pytest.mark.parametrize('kill_at, cut_line', [(1, True), (5, False)])
def test_killed_and_resumed_equals_uninterrupted(reference, tmp_path, kill_at, cut_line):
    entry, work, _ = reference
    run_search(entry, tmp_path, kill_at=kill_at)
    path = tmp_path / 'search_history.jsonl'
    if cut_line and path.exists() and path.read_text():
        if entry.differentiable:
            # the state is saved after each epoch's row: a kill inside that row's append left
            # the state of the epoch before it
            before = tmp_path.parent / f'{tmp_path.name}_before'
            run_search(entry, before, kill_at=kill_at - 1)
            shutil.copy(before / 'search_state.pth', tmp_path / 'search_state.pth')
        text = path.read_text()
        last = text.rstrip('\n').rsplit('\n', 1)[-1]
        path.write_text(text[:len(text) - len(last) // 2 - 1])  # killed inside the append
    kept = sum(1 for line in path.read_text().splitlines()
               if line.endswith('}') and not json.loads(line)['cached']) if path.exists() else 0
    EVALUATED.clear()
    run_search(entry, tmp_path, resume=True)
    assert history(tmp_path) == history(work)
    assert best(tmp_path) == best(work)
    # finished candidates were read back: only what the file lacked is evaluated again
    fresh = [r for r in history(work) if not r['cached']]
    assert len(EVALUATED) == len(fresh) - kept
    assert path.read_text().endswith('\n')


def test_kill_between_update_and_save(reference, tmp_path):
    """The state still holds step 0 (pending, controller before its update) while the history
    holds every row of step 0: the resume redoes the update from the stored state."""
    entry, work, _ = reference
    step0 = sum(1 for r in history(work) if r['step'] == 0 and not r['cached'])
    before = tmp_path / 'before'
    run_search(entry, before, kill_at=step0 - 1)
    after = tmp_path / 'after'
    run_search(entry, after, kill_at=step0)
    assert {r['step'] for r in history(after)} == {0}
    shutil.copy(before / 'search_state.pth', after / 'search_state.pth')
    run_search(entry, after, resume=True)
    assert history(after) == history(work)


def test_resume_rule_and_its_errors(reference, tmp_path):
    entry, work, _ = reference
    with pytest.raises(RuntimeError, match='no search state'):
        run_search(entry, tmp_path / 'empty', resume=True)
    done = tmp_path / 'done'
    shutil.copytree(work, done)
    with pytest.raises(RuntimeError, match='already holds a search'):
        run_search(entry, done)
    opts = entry.synthetic(0)
    with pytest.raises(RuntimeError, match='settings differ'):
        run_search(entry, done, resume=True, **{entry.step_size: opts[entry.step_size] + 1})
    if entry.budget:  # the budget may grow: a finished search continues where it stopped
        run_search(entry, done, resume=True, **{entry.budget: opts[entry.budget] + 1})
        rows = history(done)
        assert rows[:len(history(work))] == history(work)
        assert max(r['step'] for r in rows) == opts[entry.budget]


def test_score_key_the_objective_does_not_produce_is_an_error(reference, tmp_path):
    entry, _, _ = reference
    with pytest.raises(ValueError, match='is not produced by the'):
        run_search(entry, tmp_path, score_key='coco/bbox_mAP')


LAUNCH = """import os.path as osp, runpy, sys, torch
{pre_import}
torch.cuda.set_device = lambda *args, **kwargs: None  # CPU-only torch; mmengine's init_dist
train = osp.join(osp.dirname({mmdet!r}), '.mim', 'tools', 'train.py')
sys.argv = [train] + sys.argv[1:]
runpy.run_path(train, run_name='__main__')
"""


def _cli_options(opts):
    """``--cfg-options`` for ``train_cfg`` options, nested dicts flattened to dotted keys."""

    def flat(prefix, value):
        if isinstance(value, dict):
            return [o for k, v in value.items() for o in flat(f'{prefix}.{k}', v)]
        return [f'{prefix}={value}']

    return ['train_cfg.objective._delete_=True'] + flat('train_cfg', opts)


def _without_rank(rows):
    return [dict(r, cost={k: v for k, v in r['cost'].items() if k != 'rank'}) for r in rows]


def _torchrun(tmp_path, entry, opts, pre_import=''):
    launch = tmp_path / 'cpu_dist_train.py'
    launch.write_text(LAUNCH.format(mmdet=mmdet.__file__, pre_import=pre_import))
    opts = copy.deepcopy(opts)
    objective = opts['objective'].get('inner', opts['objective'])
    for k, v in objective.items():  # the synthetic target (and other data) as YAML files
        if isinstance(v, (dict, list)):
            (tmp_path / f'{k}.yaml').write_text(yaml.safe_dump(v, sort_keys=False))
            objective[k] = str(tmp_path / f'{k}.yaml')
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    return run_cli(
        [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
            str(port),
            str(launch), entry.config, '--launcher', 'pytorch', '--work-dir',
            str(tmp_path / 'dist'), '--cfg-options', 'model_wrapper_cfg.device_ids=None'
        ] + _cli_options(opts),
        timeout=600,
        check=False)


def test_two_ranks_give_the_one_process_history(reference, tmp_path):
    """Candidate-parallel search (``--launcher pytorch``, 2 gloo ranks on CPU): the ranks
    evaluate different candidates, every rank applies the same update, rank 0 writes."""
    entry, work, _ = reference
    res = _torchrun(tmp_path, entry, entry.synthetic(0))
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    dist = history(tmp_path / 'dist')
    if not entry.differentiable:  # candidates spread over the ranks (a supernet is shared)
        assert {r['cost']['rank'] for r in dist if not r['cached']} == {0, 1}
    assert _without_rank(dist) == _without_rank(history(work))
    assert best(tmp_path / 'dist') == best(work)


def test_an_error_on_one_rank_stops_every_rank(reference, tmp_path):
    entry, _, _ = reference
    opts = entry.synthetic(0)
    opts['objective'] = dict(type='ContractFailOnRank', inner=opts['objective'], rank=1)
    here = str(REPO / 'tests' / 'suite')
    res = _torchrun(tmp_path, entry, opts,
                    f'sys.path.insert(0, {here!r}); import contract_objectives')
    assert res.returncode != 0  # and it returned: no rank waits forever in a collective
    assert 'rank 1 failed' in res.stdout + res.stderr
