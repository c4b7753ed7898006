"""What scores a NAS-FPN candidate: registered components (``train_cfg.objective``).

* :class:`NASFPNProxyObjective`: the paper's proxy task (Sec. 3.2): the config's ``model`` (a
  RetinaNet with ResNet-10, the pyramid repeated 3 times) with the candidate's cell, trained from
  scratch for a short schedule on the proxy training split and scored by COCO AP on images held
  out of train (``search_dataloader`` / ``search_evaluator``).
* :class:`NASFPNMatchObjective`: a synthetic objective with a known optimum (the fraction of
  decisions equal to a target cell's), for tests and demos of the controller.

An objective has ``setup(runner, loop)`` (the checks that can fail before any work),
``__call__(genotype, seed) -> Evaluation`` and ``metric_keys``. Candidates are evaluated one per
rank (the paper trained candidates in parallel on separate workers), so the proxy reads the
whole training split on every rank (:class:`NASFPNCandidateSampler`).
"""
import collections
import copy
import os.path as osp
import random
import time
from typing import Dict, Iterator, NamedTuple, Optional, Sequence

import numpy as np
import torch
from mmdet.registry import DATA_SAMPLERS, MODELS, TASK_UTILS
from mmengine.device import get_device
from mmengine.evaluator import Evaluator
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed
from torch.utils.data import Sampler

from .genotype import canonical_cells, genotype_to_list, load_genotype

COCO_SUFFIXES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')
# besides the scores, each candidate reports its proxy's training loss at the end (the mean of
# the last iterations): whether the proxy learned at all, and a fine-grained trace of what it
# trained on (COCO AP is rounded to 3 decimals)
TRAIN_LOSS, TRAIN_LOSS_ITERS = 'proxy/train_loss', 10


class Evaluation(NamedTuple):
    metrics: Dict[str, float]
    cost: Dict[str, float]


def seed_candidate_worker(worker_id: int) -> None:
    """Seed a data worker's ``random`` and NumPy (the augmentation's random draws) from the seed
    torch gave the worker: the candidate's loader seed plus the worker id. mmengine's default
    adds the rank, and persistent workers would carry their state from one candidate to the
    next; either way a candidate's augmentation would depend on where and after what it ran."""
    seed = torch.initial_seed() % 2**32
    random.seed(seed)
    np.random.seed(seed)


@DATA_SAMPLERS.register_module()
class NASFPNCandidateSampler(Sampler):
    """Every index on every rank, reshuffled per epoch from ``seed + epoch`` (mmengine
    ``DefaultSampler``'s permutation on one process): a candidate sees the same batches whichever
    rank trains it."""

    def __init__(self, dataset, shuffle: bool = True, seed: Optional[int] = None):
        self.dataset = dataset  # mmdet's AspectRatioBatchSampler reads it
        self.size, self.shuffle, self.seed, self.epoch = len(dataset), shuffle, seed or 0, 0

    def __iter__(self) -> Iterator[int]:
        if not self.shuffle:
            return iter(range(self.size))
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.size, generator=g).tolist())

    def __len__(self) -> int:
        return self.size

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def coco_metric_keys(evaluator_cfg) -> Optional[set]:
    """The keys a ``CocoMetric`` evaluator reports (None for other evaluators)."""
    cfgs = evaluator_cfg if isinstance(evaluator_cfg, (list, tuple)) else [evaluator_cfg]
    keys = set()
    for cfg in cfgs:
        if cfg.get('type') != 'CocoMetric':
            return None
        metrics = cfg.get('metric', 'bbox')
        for m in [metrics] if isinstance(metrics, str) else metrics:
            keys |= {f'{cfg.get("prefix") or "coco"}/{m}_{s}' for s in COCO_SUFFIXES}
    return keys


def neck_cost(genotype, channels, stack_times, hw):
    """Analytic cost of the pyramid cells: params (M) and MACs (G) of the post-merge convs."""
    per_conv = channels * channels * 9 + channels + 2 * channels  # conv + bias + BN affine
    macs = 0
    for cell in genotype:
        s = 2**cell.level
        macs += channels * channels * 9 * -(-hw[0] // s) * -(-hw[1] // s)
    return dict(
        neck_cells_params_M=round(stack_times * len(genotype) * per_conv / 1e6, 4),
        neck_cells_GMACs=round(stack_times * macs / 1e9, 4))


@TASK_UTILS.register_module()
class NASFPNProxyObjective:
    """The paper's proxy task: train the proxy detector with the cell, score AP on the search
    split.

    Args:
        max_iters (int): training iterations per candidate (paper: 10 epochs).
        optim_wrapper (dict): the proxy's optimiser (mmengine config).
        warmup_iters (int): linear warm-up iterations.
        lr_decay_at (float): fraction of ``max_iters`` where the lr drops x0.1 (paper: epoch 8
            of 10).
        cost_input (tuple): (H, W) at which the neck's cost is reported.
        log_interval (int): log the proxy's loss every that many iterations.
        search_dataloader, search_evaluator (dict): the held-out split; default: the config's
            top-level ``search_dataloader`` / ``search_evaluator``.
    """

    def __init__(self,
                 max_iters: int = 100,
                 optim_wrapper: Optional[dict] = None,
                 warmup_iters: int = 20,
                 lr_decay_at: float = 0.8,
                 cost_input: Sequence[int] = (512, 512),
                 log_interval: int = 50,
                 search_dataloader: Optional[dict] = None,
                 search_evaluator: Optional[dict] = None):
        self.max_iters, self.warmup_iters, self.lr_decay_at = max_iters, warmup_iters, lr_decay_at
        self.optim_wrapper = optim_wrapper or dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4),
            clip_grad=dict(max_norm=10, norm_type=2))
        self.cost_input, self.log_interval = tuple(cost_input), log_interval
        self.search_dataloader_cfg = search_dataloader
        self.search_evaluator_cfg = search_evaluator
        self.metric_keys = None

    def setup(self, runner, loop) -> None:
        """Build the search split and its evaluator now: a missing file fails before training."""
        cfg = runner.cfg
        self.search_dataloader_cfg = self.search_dataloader_cfg or cfg.get('search_dataloader')
        self.search_evaluator_cfg = self.search_evaluator_cfg or cfg.get('search_evaluator')
        if self.search_dataloader_cfg is None or self.search_evaluator_cfg is None:
            raise ValueError('NASFPNProxyObjective scores candidates on a split held out of '
                             'train: set `search_dataloader` and `search_evaluator` in the config '
                             '(see projects/nas_fpn/README.md, "Search")')
        ev = self.search_evaluator_cfg
        for c in ev if isinstance(ev, (list, tuple)) else [ev]:
            if c.get('ann_file') and not osp.isfile(c['ann_file']):
                raise FileNotFoundError(f'search_evaluator.ann_file {c["ann_file"]} not found; '
                                        'make the search split first (README, "Search")')
        self.runner, self.logger = runner, runner.logger
        self.train_loader, self.train_loader_cfg = loop.dataloader, loop.dataloader_cfg
        self.sampler_seed = loop.seed
        loader_cfg = copy.deepcopy(self.search_dataloader_cfg)
        loader_cfg['sampler'] = dict(type='NASFPNCandidateSampler', shuffle=False)
        self.search_loader = runner.build_dataloader(loader_cfg)
        self.metric_keys = coco_metric_keys(self.search_evaluator_cfg)
        if self.metric_keys is not None:
            self.metric_keys.add(TRAIN_LOSS)
        neck = cfg.model.neck
        self.neck_shape = (neck.out_channels, neck.get('stack_times', 7))

    def _build(self, genotype, seed):
        set_random_seed(seed)
        cfg = copy.deepcopy(self.runner.cfg.model)
        cfg.neck.genotype = genotype_to_list(genotype)
        model = MODELS.build(cfg)
        model.init_weights()
        # one candidate per rank: no DDP, and SyncBN (if any) as plain BN
        return revert_sync_batchnorm(model).to(get_device())

    def _loader(self, seed: int):
        """The proxy's training loader for one candidate: the search's dataset in the batch order
        every candidate sees (:class:`NASFPNCandidateSampler`), batched afresh, with data
        workers created for every epoch and seeded from ``seed`` (:func:`seed_candidate_worker`),
        so what a candidate trains on depends only on the seeds, not on the rank or on the
        candidates evaluated before it in this process."""
        cfg = dict(
            self.train_loader_cfg,
            dataset=self.train_loader.dataset,
            persistent_workers=False,
            worker_init_fn=dict(type=seed_candidate_worker),
            generator=torch.Generator().manual_seed(seed))
        return self.runner.build_dataloader(cfg, seed=self.sampler_seed)

    def _train(self, model, seed: int) -> float:
        optim = build_optim_wrapper(model, copy.deepcopy(self.optim_wrapper))
        base_lrs = [g['lr'] for g in optim.param_groups]
        decay_at = int(self.lr_decay_at * self.max_iters)
        loader = self._loader(seed)
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        model.train()
        it = epoch = 0
        last = collections.deque(maxlen=TRAIN_LOSS_ITERS)
        while it < self.max_iters:
            sampler.set_epoch(epoch)  # every epoch its own order, the same for every candidate
            epoch += 1
            for data in loader:
                factor = min(1.0, (it + 1) / self.warmup_iters) if self.warmup_iters else 1.0
                if it >= decay_at:
                    factor *= 0.1
                for g, lr in zip(optim.param_groups, base_lrs):
                    g['lr'] = lr * factor
                losses = model.train_step(data, optim)
                last.append(float(losses['loss'].detach()))
                it += 1
                if self.log_interval and it % self.log_interval == 0:
                    loss = last[-1]
                    self.logger.info(f'[search] proxy iter {it}/{self.max_iters}: loss {loss:.4f}')
                if it >= self.max_iters:
                    break
        return sum(last) / max(1, len(last))

    @torch.no_grad()
    def _score(self, model) -> Dict[str, float]:
        model.eval()
        evaluator = Evaluator(copy.deepcopy(self.search_evaluator_cfg))
        evaluator.dataset_meta = self.search_loader.dataset.metainfo
        num_dets = 0
        for data in self.search_loader:
            outputs = model.val_step(data)
            num_dets += sum(len(s.pred_instances) for s in outputs)
            evaluator.process(data_samples=outputs, data_batch=data)
        if num_dets == 0 and self.metric_keys is not None:
            # an untrained proxy can detect nothing: that (and only that) scores 0
            self.logger.warning('[search] the candidate detected nothing on the search split: '
                                'every metric is 0')
            return {k: 0.0 for k in self.metric_keys}
        return evaluator.evaluate(len(self.search_loader.dataset))

    def __call__(self, genotype, seed: int) -> Evaluation:
        t0 = time.time()
        model = self._build(genotype, seed)
        train_loss = self._train(model, seed)
        train_s = time.time() - t0
        metrics = self._score(model)
        return Evaluation(
            metrics=dict({
                k: float(v)
                for k, v in metrics.items()
            }, **{TRAIN_LOSS: train_loss}),
            cost=dict(
                neck_cost(genotype, *self.neck_shape, self.cost_input),
                train_s=round(train_s, 2),
                eval_s=round(time.time() - t0 - train_s, 2)))


@TASK_UTILS.register_module()
class NASFPNMatchObjective:
    """Synthetic objective: the fraction of decisions (two inputs, level, op per merging cell)
    equal to ``target``'s, compared in the canonical input order (mirrored inputs that build the
    same network score the same, as the search deduplicates them), so ``target`` is the optimum
    (1.0). Metric key ``synthetic/match``."""

    metric_keys = {'synthetic/match'}

    def __init__(self, target):
        self.target_source = target
        self.target = None

    def setup(self, runner, loop) -> None:
        space = loop.space
        self.levels = (space.min_level, space.max_level)
        target = load_genotype(self.target_source, *self.levels)
        space.encode(target)  # the target must lie in the searched space
        self.target = canonical_cells(target, *self.levels)

    def __call__(self, genotype, seed: int) -> Evaluation:
        cells = canonical_cells(genotype, *self.levels)
        hits = sum((a.inputs[0] == b.inputs[0]) + (a.inputs[1] == b.inputs[1]) +
                   (a.level == b.level) + (a.op == b.op) for a, b in zip(cells, self.target))
        return Evaluation({'synthetic/match': hits / (4 * len(self.target))}, {})
