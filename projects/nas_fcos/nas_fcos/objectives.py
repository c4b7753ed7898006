"""What scores a NAS-FCOS candidate: registered components (``train_cfg.objective``).

* :class:`NASFCOSProxyObjective`: the paper's fast proxy. Backbone features are computed once by
  the frozen backbone and stored (:mod:`.features`); each candidate trains only its decoder (and,
  in the head phase, its head) on the stored features of the proxy training split and is scored
  by the negative sum of the FCOS losses on the stored features of the held-out split (paper:
  "negative loss sum as the reward"; which losses and split: NOT FOUND, ours in the README).
* :class:`NASFCOSMatchObjective`: a synthetic objective with a known optimum (the fraction of
  decisions equal to a target's, compared in the dedup key's canonical form), for tests and demos.

An objective has ``setup(runner, loop)`` (every check that can fail before any work),
``__call__(genotype, seed) -> Evaluation`` and ``metric_keys``. Candidates are evaluated one per
rank; every rank reads the same store, so a score does not depend on where it was computed.
"""
import copy
import os.path as osp
import time
from typing import Dict, NamedTuple, Optional

import torch
import torch.nn as nn
from mmdet.registry import DATA_SAMPLERS, MODELS, TASK_UTILS
from mmengine.device import get_device
from mmengine.dist import broadcast_object_list, get_rank, get_world_size
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed
from torch.utils.data import Sampler

from .features import FeatureStore, fingerprint
from .genotype import canonical_genotype

LOSSES = ('loss_cls', 'loss_bbox', 'loss_centerness')


class Evaluation(NamedTuple):
    metrics: Dict[str, float]
    cost: Dict[str, float]


@DATA_SAMPLERS.register_module()
class NASFCOSInOrderSampler(Sampler):
    """Every index once, in order, on every rank (the feature store holds the whole split)."""

    def __init__(self, dataset, seed: Optional[int] = None):
        self.dataset, self.size = dataset, len(dataset)

    def __iter__(self):
        return iter(range(self.size))

    def __len__(self) -> int:
        return self.size


def _on_rank0_then_all(fn):
    """Run ``fn`` on rank 0; every rank gets its error, if any, instead of waiting forever."""
    error = None
    if get_rank() == 0:
        try:
            fn()
        except Exception as e:  # re-raised below, on every rank
            error = f'{type(e).__name__}: {e}'
    if get_world_size() > 1:
        box = [error]
        broadcast_object_list(box, src=0)
        error = box[0]
    if error is not None:
        raise RuntimeError(f'building the feature store failed on rank 0: {error}')


@TASK_UTILS.register_module()
class NASFCOSProxyObjective:
    """Train the candidate's decoder (+ head) on stored backbone features; reward = -(FCOS losses)
    on the stored held-out split.

    Args:
        feature_dir (str): where the feature store lives (shared by the two search phases).
        backbone_init (dict): the frozen backbone's weights, an mmengine ``init_cfg`` (paper:
            ImageNet; e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``).
        max_iters (int): proxy training iterations per candidate.
        batch_size (int): stored images per iteration.
        optim_wrapper (dict): the proxy's optimiser (mmengine config).
        warmup_iters (int): linear lr warm-up iterations.
        log_interval (int): log the proxy's loss every that many iterations (0: never).
        search_dataloader (dict): the held-out split; default: the config's top-level one.
        max_gb (float): refuse to build a store larger than this.
    """

    def __init__(self,
                 feature_dir: str,
                 backbone_init: dict,
                 max_iters: int = 500,
                 batch_size: int = 16,
                 optim_wrapper: Optional[dict] = None,
                 warmup_iters: int = 50,
                 log_interval: int = 50,
                 search_dataloader: Optional[dict] = None,
                 max_gb: float = 100.):
        self.feature_dir, self.max_iters, self.batch_size = feature_dir, max_iters, batch_size
        self.backbone_init = backbone_init
        self.optim_wrapper = optim_wrapper or dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
            clip_grad=dict(max_norm=35, norm_type=2))
        self.warmup_iters, self.log_interval = warmup_iters, log_interval
        self.search_dataloader_cfg, self.max_gb = search_dataloader, max_gb
        self.metric_keys = {'proxy/neg_loss'} | {f'proxy/{k}' for k in LOSSES}

    def setup(self, runner, loop) -> None:
        """Build the store (rank 0) if it is missing, else check that it fits this config."""
        cfg = runner.cfg
        self.runner, self.logger, self.seed = runner, runner.logger, loop.seed
        self.search_dataloader_cfg = self.search_dataloader_cfg or cfg.get('search_dataloader')
        if self.search_dataloader_cfg is None:
            raise ValueError('NASFCOSProxyObjective scores candidates on a split held out of '
                             'train: set `search_dataloader` (README, "Search")')
        checkpoint = self.backbone_init.get('checkpoint', '')
        if '://' not in checkpoint and not osp.isfile(checkpoint):
            raise FileNotFoundError(f'objective.backbone_init.checkpoint {checkpoint!r} not found: '
                                    'the frozen backbone needs its (pretrained) weights')
        backbone_cfg = copy.deepcopy(cfg.model.backbone)
        backbone_cfg.init_cfg = copy.deepcopy(self.backbone_init)
        loaders = dict(
            train=copy.deepcopy(cfg.train_dataloader),
            search=copy.deepcopy(self.search_dataloader_cfg))
        expected = fingerprint(backbone_cfg, cfg.model.data_preprocessor, loaders, 'float16')
        store = FeatureStore(self.feature_dir)

        def build():
            if store.check(expected):
                return
            backbone = MODELS.build(backbone_cfg)
            backbone.init_weights()
            preprocessor = MODELS.build(copy.deepcopy(cfg.model.data_preprocessor))
            built = {}
            for name, c in loaders.items():
                c['sampler'] = dict(type='NASFCOSInOrderSampler')
                c.pop('batch_sampler', None)
                built[name] = runner.build_dataloader(c)
            store.build(
                backbone, preprocessor, built, expected, max_gb=self.max_gb, logger=self.logger)

        _on_rank0_then_all(build)
        if not store.check(expected):
            raise RuntimeError(f'no feature store in {self.feature_dir}')
        self.train_split, self.search_split = store.split('train'), store.split('search')

    def _build(self, genotype, seed):
        set_random_seed(seed)
        cfg = copy.deepcopy(self.runner.cfg.model)
        cfg.neck.genotype = genotype
        if 'genotype' in cfg.bbox_head:  # the head phase: the head is searched too
            cfg.bbox_head.genotype = genotype
        cfg.bbox_head.update(train_cfg=cfg.get('train_cfg'), test_cfg=cfg.get('test_cfg'))
        model = nn.ModuleDict(dict(neck=MODELS.build(cfg.neck), head=MODELS.build(cfg.bbox_head)))
        for m in model.values():
            m.init_weights()
        return revert_sync_batchnorm(model).to(get_device())

    @staticmethod
    def _losses(model, feats, samples):
        device = get_device()
        feats = [f.to(device) for f in feats]
        samples = [s.to(device) for s in samples]
        losses = model['head'].loss(model['neck'](feats), samples)
        return {k: sum(v) if isinstance(v, (list, tuple)) else v for k, v in losses.items()}

    def _train(self, model) -> None:
        optim = build_optim_wrapper(model, copy.deepcopy(self.optim_wrapper))
        base_lrs = [g['lr'] for g in optim.param_groups]
        model.train()
        it = epoch = 0
        while it < self.max_iters:
            # every epoch its own order, the same for every candidate on every rank
            order = torch.Generator().manual_seed(self.seed * 1000 + epoch)
            epoch += 1
            for feats, samples in self.train_split.batches(self.batch_size, order):
                factor = min(1., (it + 1) / self.warmup_iters) if self.warmup_iters else 1.
                for g, lr in zip(optim.param_groups, base_lrs):
                    g['lr'] = lr * factor
                losses = self._losses(model, feats, samples)
                optim.update_params(sum(losses.values()))
                it += 1
                if self.log_interval and it % self.log_interval == 0:
                    self.logger.info(f'[search] proxy iter {it}/{self.max_iters}: loss '
                                     f'{float(sum(losses.values())):.4f}')
                if it >= self.max_iters:
                    break

    @torch.no_grad()
    def _score(self, model) -> Dict[str, float]:
        model.eval()
        sums, n = {k: 0. for k in LOSSES}, 0
        for feats, samples in self.search_split.batches(self.batch_size):
            losses = self._losses(model, feats, samples)
            for k in LOSSES:
                sums[k] += float(losses[k]) * len(samples)
            n += len(samples)
        metrics = {f'proxy/{k}': v / n for k, v in sums.items()}
        metrics['proxy/neg_loss'] = -sum(metrics.values())
        return metrics

    def __call__(self, genotype, seed: int) -> Evaluation:
        t0 = time.time()
        model = self._build(genotype, seed)
        params = sum(p.numel() for p in model.parameters())
        self._train(model)
        train_s = time.time() - t0
        metrics = self._score(model)
        return Evaluation(
            metrics,
            dict(
                params_M=round(params / 1e6, 4),
                train_s=round(train_s, 2),
                eval_s=round(time.time() - t0 - train_s, 2)))


@TASK_UTILS.register_module()
class NASFCOSMatchObjective:
    """Synthetic objective: the fraction of decisions equal to ``target``'s in the canonical form
    the search deduplicates by (a ``psum`` cell's branches sorted; head ``skip`` layers dropped,
    the share level counted over the rest), so ``target`` (and every genotype that builds the same
    network) is the optimum (1.0). The phase's decisions are compared: decoder cells, or the head
    ops and the share level. Metric key ``synthetic/match``."""

    metric_keys = {'synthetic/match'}

    def __init__(self, target):
        self.target_source = target

    def setup(self, runner, loop) -> None:
        self.phase = loop.space.phase
        loop.space.encode(self.target_source)  # the target must lie in the searched space
        self.target = canonical_genotype(self.target_source)

    def __call__(self, genotype, seed: int) -> Evaluation:
        cells, ops, split = canonical_genotype(genotype)
        t_cells, t_ops, t_split = self.target
        if self.phase == 'decoder':
            hits = sum(a == b for c, t in zip(cells, t_cells) for a, b in zip(c, t))
            total = 5 * len(t_cells)
        else:
            hits = sum(a == b for a, b in zip(ops, t_ops)) + (split == t_split)
            total = max(len(ops), len(t_ops)) + 1
        return Evaluation({'synthetic/match': hits / total}, {})
