"""The projects' entries of the search-loop contract tests (``CONVENTIONS.md``, "The search-loop
contract"), and how a test runs a search.

* :data:`ENTRIES`: each project's loop on its synthetic objective (a target genotype drawn at
  random from the project's search space, so the optimum is known and is not the published
  architecture); ``test_search_contract.py`` holds every loop to the contract on it.
* :data:`REAL`: each project's toy search config with its real objective (the paper's proxy
  training and scoring, the supernet and its data) at a tiny size, every search stage;
  ``test_search_ranks.py`` runs them in one process and on 2 ranks, through kills and resumes.

A search runs as ``mim train`` runs it: in this process (``Runner.from_cfg(cfg).train()``) or,
on ranks, through mmdet's ``tools/train.py`` (``dist_driver.py``), with the same options.
"""
import dataclasses
import itertools
import json
import random
from pathlib import Path
from typing import Callable, Dict, Optional

import pytest
import torch
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from conftest import REPO
from contract_objectives import KILL, Killed


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

# ----------------------------------------------------------------------------- real objectives
# Every toy search config with its real objective at a tiny size: proxies of 2 iterations on a
# few images, supernets for 2 epochs of 1 batch per half. The proxies' metrics include their
# training loss (full precision: two runs give the same only if they trained on the same data,
# augmentation and initialisation). Sampling searches run 2 steps of 3 proposals (on 2 ranks a
# round with one candidate). SpineNet's controller samples at a low temperature and NAS-FCOS's
# settles after one unclipped PPO step, so that a genotype is proposed again (a cached row,
# seen in the head phase); NAS-FPN's tiny proxy scores AP 0 for every candidate, which leaves
# its controller where it starts; DetNAS's evolution never proposes a scored candidate again
# (``legal()`` of the official search).
# the detectors keep every box, so that the COCO evaluation runs (an untrained proxy that
# detects nothing skips it) and with it whatever it gathers over ranks
SEARCH_SPLIT = {'search_dataloader.dataset.indices': 4, 'search_dataloader.batch_size': 2}
KEEP_EVERY_BOX = {'model.test_cfg.score_thr': 0.0, 'model.test_cfg.max_per_img': 100}
SAMPLING = {'train_cfg.num_steps': 2, 'train_cfg.samples_per_step': 3}
TINY_SIDE = 96  # px, the toy images' training and scoring size here (toy configs: 160)
# one unclipped PPO update that settles the controller on the step's best proposal
SETTLE_PPO = {
    'train_cfg.ppo.lr': 1.0,
    'train_cfg.ppo.clip': 100.0,
    'train_cfg.ppo.epochs': 10,
    'train_cfg.ppo.entropy_weight': 0.0
}


@dataclasses.dataclass
class RealEntry:
    project: str  # the suite's project
    config: str  # its toy search config
    options: Callable[[Path, int], dict]  # (inputs folder, ranks) -> config options
    differentiable: bool = False  # one supernet trained data-parallel (else candidate-parallel)
    repeats: bool = False  # known to propose a genotype again here (a cached row)


def _supernet_checkpoint(config, path, part=None, prefix=''):
    """Random weights of ``config``'s model (or of its ``part``), standing in for the stage
    before (a fine-tuned supernet, an ImageNet backbone, the fusion search's neck)."""
    if not path.exists():
        torch.manual_seed(0)
        init_default_scope('mmdet')
        model = MODELS.build(Config.fromfile(str(REPO / config)).model)
        module = getattr(model, part) if part else model
        state = {prefix + k: v for k, v in module.state_dict().items()}
        torch.save(dict(meta=dict(), state_dict=state) if not part or prefix else state, path)
    return str(path)


def _spinenet_real(inputs, ranks):
    return dict(
        SAMPLING, **SEARCH_SPLIT, **KEEP_EVERY_BOX, **{
            'train_cfg.objective.max_iters': 2,
            'train_cfg.objective.warmup_iters': 1,
            'train_cfg.controller.temperature': 0.002,
            'train_dataloader.batch_size': 2
        })


def _nas_fpn_real(inputs, ranks):
    return dict(
        SAMPLING, **SEARCH_SPLIT, **KEEP_EVERY_BOX, **{
            'train_cfg.objective.max_iters': 2,
            'train_cfg.objective.warmup_iters': 1,
            'train_dataloader.batch_size': 2
        })


def _detnas_real(inputs, ranks):
    return dict(
        SEARCH_SPLIT, **KEEP_EVERY_BOX, **{
            'load_from': _supernet_checkpoint(DETNAS_SEARCH, inputs / 'detnas_supernet.pth'),
            'train_cfg.num_steps': 2,
            'train_cfg.population_num': 3,
            'train_cfg.select_num': 2,
            'train_cfg.mutation_num': 1,
            'train_cfg.crossover_num': 1,
            'train_cfg.objective.bn_calibration.num_iters': 2,
            'train_dataloader.batch_size': 2
        })


def _nas_fcos_real(phase):

    def options(inputs, ranks):
        opts = dict(
            SAMPLING, **SETTLE_PPO, **{
                'train_cfg.objective.backbone_init.checkpoint':
                _supernet_checkpoint(NAS_FCOS_SEARCH, inputs / 'nas_fcos_backbone.pth', 'backbone',
                                     'backbone.'),
                'train_cfg.objective.feature_dir':
                str(inputs / 'nas_fcos_features'),
                'train_cfg.objective.max_iters':
                2,
                'train_cfg.objective.batch_size':
                2,
                'train_cfg.objective.warmup_iters':
                1,
                'train_cfg.ppo.grad_clip':
                100.0,
                'train_dataloader.dataset.indices':
                6,
                'search_dataloader.dataset.indices':
                4
            })
        if phase == 'head':
            opts['train_cfg.decoder'] = str(REPO / 'projects/nas_fcos/genotypes/'
                                            'nas_fcos_published.yaml')
        return opts

    return options


def _differentiable_real(inputs, ranks):
    """2 epochs of 1 batch per half, architecture updates from the first; the same 4 images
    per step on any number of ranks (batch 4 on one, 2 per rank on two)."""
    return {
        'train_cfg.max_epochs': 2,
        'train_cfg.arch_start_epoch': 0,
        'train_cfg.objective.max_batches': 1,
        'train_dataloader.batch_size': 4 // ranks,
        'train_dataloader.dataset.indices': 8
    }


def _hitdet_screen_real(inputs, ranks):
    return dict(_differentiable_real(inputs, ranks), **{'train_cfg.prune.start_epoch': 0})


def _auto_fpn_head_real(inputs, ranks):
    config = 'projects/auto_fpn/configs/autofpn_search-head_faster-rcnn_r18-w16_toy.py'
    return dict(
        _differentiable_real(inputs, ranks), **{
            'train_cfg.objective.neck_checkpoint':
            _supernet_checkpoint(config, inputs / 'auto_fpn_fusion_neck.pth', 'neck')
        })


REAL: Dict[str, RealEntry] = {
    'spinenet':
    RealEntry('spinenet', ENTRIES['spinenet'].config, _spinenet_real, repeats=True),
    'nas_fpn':
    RealEntry('nas_fpn', ENTRIES['nas_fpn'].config, _nas_fpn_real),
    'detnas':
    RealEntry('detnas', DETNAS_SEARCH, _detnas_real),
    'nas_fcos-decoder':
    RealEntry('nas_fcos', NAS_FCOS_SEARCH, _nas_fcos_real('decoder')),
    'nas_fcos-head':
    RealEntry(
        'nas_fcos',
        'projects/nas_fcos/configs/nas-fcos_search-head_r18-w16_toy.py',
        _nas_fcos_real('head'),
        repeats=True),
    'hitdet-screen':
    RealEntry(
        'hitdet',
        'projects/hitdet/configs/hitdet_screen-head_faster-rcnn-w0.25_toy.py',
        _hitdet_screen_real,
        differentiable=True),
    'hitdet-search':
    RealEntry('hitdet', HITDET_SEARCH, _differentiable_real, differentiable=True),
    'auto_fpn-fusion':
    RealEntry('auto_fpn', AUTO_FPN_SEARCH, _differentiable_real, differentiable=True),
    'auto_fpn-head':
    RealEntry(
        'auto_fpn',
        'projects/auto_fpn/configs/autofpn_search-head_faster-rcnn_r18-w16_toy.py',
        _auto_fpn_head_real,
        differentiable=True),
}

# ----------------------------------------------------------------------------- running
_runs = itertools.count()


def _train(cfg, work_dir, resume, kill_at):
    KILL.update(at=kill_at, signal=False)
    cfg.work_dir = str(work_dir)
    if resume:  # as mmdet's train.py does for --resume
        cfg.resume, cfg.load_from = True, None
    cfg.experiment_name = f'contract_{next(_runs)}'
    cfg.visualizer.name = f'vis_{cfg.experiment_name}'  # this run's own (named instances)
    cfg.default_hooks.logger.interval = 1000
    runner = Runner.from_cfg(cfg)
    if kill_at is None:
        runner.train()
    else:
        with pytest.raises(Killed):
            runner.train()


def run_search(entry, work_dir, resume=False, kill_at=None, seed=0, **overrides):
    """One ``mim train`` of a synthetic search, in this process (``--resume`` as mmdet's
    train.py: ``load_from`` dropped)."""
    cfg = Config.fromfile(str(REPO / entry.config))
    opts = entry.synthetic(seed)
    opts.update(overrides)
    objective = opts.pop('objective')
    cfg.merge_from_dict({f'train_cfg.{k}': v for k, v in opts.items()})
    cfg.train_cfg.objective = dict(type='ContractKillAfter', inner=objective)
    cfg.load_from = None  # no supernet weights: the synthetic objective does not read them
    _train(cfg, work_dir, resume, kill_at)


def real_config(entry, inputs, path, ranks=1):
    """Write ``path``: ``entry``'s toy search config with the tiny options for ``ranks`` ranks,
    images at ``TINY_SIDE`` px, and its objective in :class:`ContractKillAfter` (a config file,
    so that a run in this process and the runs on ranks read the same settings)."""
    cfg = Config.fromfile(str(REPO / entry.config))
    cfg.merge_from_dict(entry.options(inputs, ranks))
    for key in ('train_dataloader', 'search_dataloader'):
        for t in cfg[key].dataset.pipeline:
            if t.type == 'Resize':
                t.scale = (TINY_SIDE, TINY_SIDE)
    cfg.train_cfg.objective = dict(type='ContractKillAfter', inner=cfg.train_cfg.objective)
    if ranks > 1:  # CPU ranks: gloo (the toy runtime's), DDP without devices
        cfg.model_wrapper_cfg = dict(type='MMDistributedDataParallel', device_ids=None)
    cfg.dump(str(path))
    return str(path)


def run_real(entry, work_dir, inputs, resume=False, kill_at=None):
    """One ``mim train`` of a tiny real search, in this process."""
    config = real_config(entry, inputs, Path(work_dir).parent / f'{Path(work_dir).name}.py')
    _train(Config.fromfile(config), work_dir, resume, kill_at)


def history(work_dir):
    """The history rows without what legitimately differs between runs (wall clock, seconds,
    the rank that evaluated)."""
    rows = [
        json.loads(line)
        for line in (Path(work_dir) / 'search_history.jsonl').read_text().splitlines()
    ]
    for r in rows:
        r.pop('time')
        r['cost'] = {k: v for k, v in r['cost'].items() if not k.endswith('_s') and k != 'rank'}
    return rows


def best(work_dir):
    """best_genotype.yaml without its ``source`` (the history file's path)."""
    data = yaml.safe_load((Path(work_dir) / 'best_genotype.yaml').read_text())
    data.pop('source')
    return data
