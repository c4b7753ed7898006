"""What scores a SpineNet candidate: registered components (``train_cfg.objective``).

* :class:`SpineNetProxyObjective`: the paper's proxy task (Sec. 5.1): the config's ``model`` with
  the candidate's genotype, trained from scratch on the proxy training split, scored on images
  held out of train (``search_dataloader`` / ``search_evaluator``); the reward is COCO box AP.
* :class:`SpineNetMatchObjective`: a synthetic objective with a known optimum (the fraction of
  block decisions equal to a target genotype's), for tests and demos of the search algorithm.

An objective has ``setup(runner, loop)`` (every check that can fail before any work),
``__call__(genotype, seed) -> Evaluation`` and ``metric_keys`` (the keys its metrics will have,
or None when only the evaluator knows). Candidates are evaluated in parallel over ranks, one
candidate per rank (the paper trained one candidate per accelerator), so the proxy reads the
*whole* training split on every rank (:class:`SpineNetCandidateSampler`).
"""
import collections
import copy
import math
import os.path as osp
import random
import time
from typing import Dict, Iterator, NamedTuple, Optional, Tuple

import numpy as np
import torch
from mmdet.registry import DATA_SAMPLERS, MODELS, TASK_UTILS
from mmengine.device import get_device
from mmengine.evaluator import Evaluator
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.runner import set_random_seed
from torch.utils.data import Sampler

from .genotype import genotype_to_dict, load_genotype, validate_genotype

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
class SpineNetCandidateSampler(Sampler):
    """Every index of the split on every rank, reshuffled per epoch from ``seed + epoch``.

    The same permutation as mmengine's ``DefaultSampler`` on one process, so a candidate sees the
    same batches whichever rank trains it and however many ranks there are.
    """

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


@TASK_UTILS.register_module()
class SpineNetProxyObjective:
    """The paper's proxy task: train the candidate from scratch, score AP on the search split.

    Args:
        epochs: training epochs per candidate (paper: 5).
        max_iters: optional cap of iterations per candidate.
        warmup_iters: linear warm-up, then cosine decay to 0 (ours: the paper gives no proxy
            schedule).
        log_interval: log the proxy's loss every that many iterations.
        search_dataloader / search_evaluator: the held-out split; default: the config's
            top-level ``search_dataloader`` / ``search_evaluator``.
    """

    def __init__(self,
                 epochs: int = 5,
                 max_iters: Optional[int] = None,
                 warmup_iters: int = 50,
                 log_interval: int = 50,
                 search_dataloader: Optional[dict] = None,
                 search_evaluator: Optional[dict] = None):
        self.epochs, self.max_iters, self.warmup_iters = epochs, max_iters, warmup_iters
        self.log_interval = log_interval
        self.search_dataloader_cfg = search_dataloader
        self.search_evaluator_cfg = search_evaluator
        self.metric_keys = None

    def setup(self, runner, loop) -> None:
        """Build the search split and its evaluator now: a missing file fails before training."""
        cfg = runner.cfg
        self.search_dataloader_cfg = self.search_dataloader_cfg or cfg.get('search_dataloader')
        self.search_evaluator_cfg = self.search_evaluator_cfg or cfg.get('search_evaluator')
        if self.search_dataloader_cfg is None or self.search_evaluator_cfg is None:
            raise ValueError('SpineNetProxyObjective scores candidates on a split held out of '
                             'train: set `search_dataloader` and `search_evaluator` in the config '
                             '(see projects/spinenet/README.md, "Search")')
        ev = self.search_evaluator_cfg
        for c in ev if isinstance(ev, (list, tuple)) else [ev]:
            if c.get('ann_file') and not osp.isfile(c['ann_file']):
                raise FileNotFoundError(f'search_evaluator.ann_file {c["ann_file"]} not found; '
                                        'make the search split first (README, "Search")')
        self.runner, self.logger = runner, runner.logger
        self.train_loader, self.train_loader_cfg = loop.dataloader, loop.dataloader_cfg
        self.sampler_seed = loop.seed
        loader_cfg = copy.deepcopy(self.search_dataloader_cfg)
        loader_cfg['sampler'] = dict(type='SpineNetCandidateSampler', shuffle=False)
        self.search_loader = runner.build_dataloader(loader_cfg)
        self.metric_keys = coco_metric_keys(self.search_evaluator_cfg)
        if self.metric_keys is not None:
            self.metric_keys.add(TRAIN_LOSS)

    def _build(self, genotype, seed):
        set_random_seed(seed)
        cfg = copy.deepcopy(self.runner.cfg.model)
        cfg.backbone.genotype = genotype_to_dict(genotype)
        model = MODELS.build(cfg)
        model.init_weights()
        # one candidate per rank: no DDP, and SyncBN (paper configs) as plain BN
        return revert_sync_batchnorm(model).to(get_device())

    def _loader(self, seed: int):
        """The proxy's training loader for one candidate: the search's dataset in the batch order
        every candidate sees (:class:`SpineNetCandidateSampler`), batched afresh, with data
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

    def _train(self, model, seed: int) -> Tuple[int, float]:
        optim = build_optim_wrapper(model, copy.deepcopy(self.runner.cfg.optim_wrapper))
        base_lrs = [g['lr'] for g in optim.param_groups]
        total = self.epochs * len(self.train_loader)
        if self.max_iters:
            total = min(total, self.max_iters)
        loader = self._loader(seed)
        sampler = getattr(loader.batch_sampler, 'sampler', loader.sampler)
        model.train()
        it = epoch = 0
        last = collections.deque(maxlen=TRAIN_LOSS_ITERS)
        while it < total:
            sampler.set_epoch(epoch)  # every epoch its own order, the same for every candidate
            epoch += 1
            for data in loader:
                if it >= total:
                    break
                warm = min(1., (it + 1) / max(1, self.warmup_iters))
                cos = 0.5 * (1 + math.cos(math.pi * it / total))
                for g, lr in zip(optim.param_groups, base_lrs):
                    g['lr'] = lr * warm * cos
                losses = model.train_step(data, optim)
                last.append(float(losses['loss'].detach()))
                it += 1
                if self.log_interval and it % self.log_interval == 0:
                    loss = last[-1]
                    self.logger.info(f'[search] proxy iter {it}/{total}: loss {loss:.4f}')
        return it, sum(last) / max(1, len(last))

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
        params = sum(p.numel() for p in model.parameters())
        iters, train_loss = self._train(model, seed)
        train_s = time.time() - t0
        metrics = self._score(model)
        return Evaluation(
            metrics=dict({
                k: float(v)
                for k, v in metrics.items()
            }, **{TRAIN_LOSS: train_loss}),
            cost=dict(
                params_M=round(params / 1e6, 4),
                train_iters=iters,
                train_s=round(train_s, 2),
                eval_s=round(time.time() - t0 - train_s, 2)))


@TASK_UTILS.register_module()
class SpineNetMatchObjective:
    """Synthetic objective: the fraction of (level, block type, parents) decisions equal to
    ``target``'s, so ``target`` is the unique optimum (1.0). Metric key ``synthetic/match``."""

    metric_keys = {'synthetic/match'}

    def __init__(self, target):
        specs, num_init = load_genotype(target)
        validate_genotype(specs, num_init)
        self.target = specs

    def setup(self, runner, loop) -> None:
        if len(self.target) != loop.space.num_blocks:
            raise ValueError(f'the target has {len(self.target)} blocks, the search space '
                             f'{loop.space.num_blocks}')

    def __call__(self, genotype, seed: int) -> Evaluation:
        hits = sum((a.level == b.level) + (a.block_fn == b.block_fn) +
                   (sorted(a.input_offsets) == sorted(b.input_offsets))
                   for a, b in zip(genotype, self.target))
        return Evaluation({'synthetic/match': hits / (3 * len(self.target))}, {})
