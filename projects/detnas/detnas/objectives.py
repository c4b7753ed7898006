"""What scores a DetNAS candidate path: registered components (``train_cfg.objective``).

* :class:`DetNASSupernetObjective`: the paper's step-3 fitness (Sec. 3.3): the path inherits the
  COCO-fine-tuned supernet's weights (``load_from``), its BN statistics are reset and
  re-estimated on training batches (:func:`.calibrate_bn`), and it is scored by COCO box AP on
  images held out of train (``search_dataloader`` / ``search_evaluator``).
* :class:`DetNASMatchObjective`: a synthetic objective with a known optimum (the fraction of
  blocks equal to a target path's), for tests and demos of the evolution.

An objective has ``setup(runner, loop)`` (the checks that can fail before any work),
``__call__(genotype, seed) -> Evaluation``, ``metric_keys`` and ``after_search(best, work_dir)``.
Candidates are scored one per rank (the official search spread them over GPUs); every rank
calibrates on the same training batches, with the same augmentation (the official search
calibrated every candidate on the same global batches, :mod:`.bn_calibration`), and evaluates
on the whole search split (:class:`DetNASCandidateSampler`), so a score does not depend on where
it was computed.
"""
import copy
import os.path as osp
import time
from typing import Dict, Iterator, NamedTuple, Optional

import numpy as np
import torch
from mmdet.registry import DATA_SAMPLERS, TASK_UTILS
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.model import is_model_wrapper, revert_sync_batchnorm
from torch.utils.data import Sampler

from .backbone import slice_supernet_state_dict
from .bn_calibration import calibrate_bn
from .genotype import load_genotype
from .path_hook import find_supernet

COCO_SUFFIXES = ('mAP', 'mAP_50', 'mAP_75', 'mAP_s', 'mAP_m', 'mAP_l')


class Evaluation(NamedTuple):
    metrics: Dict[str, float]
    cost: Dict[str, float]


@DATA_SAMPLERS.register_module()
class DetNASCandidateSampler(Sampler):
    """Every index on every rank (``DefaultSampler`` would shard), shuffled from ``seed + epoch``
    if ``shuffle``: each rank calibrates and scores its candidate on the same images."""

    def __init__(self, dataset, shuffle: bool = False, seed: Optional[int] = None):
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


@TASK_UTILS.register_module()
class DetNASSupernetObjective:
    """Fitness of a path on the fine-tuned supernet: BN recalibration, then AP on the search
    split.

    Args:
        bn_calibration (dict): :func:`calibrate_bn` arguments ``num_iters`` (paper 500) and
            ``cumulative``.
        search_dataloader, search_evaluator (dict): the held-out split; default: the config's
            top-level ``search_dataloader`` / ``search_evaluator`` (one metric).
        export (bool): write ``best_subnet.pth`` after the search: the detector sliced to the
            best path, with the BN statistics it was scored with.
    """

    def __init__(self,
                 bn_calibration: Optional[dict] = None,
                 search_dataloader: Optional[dict] = None,
                 search_evaluator: Optional[dict] = None,
                 export: bool = True):
        self.bn_calibration = dict(num_iters=500, cumulative=False)
        unknown = set(bn_calibration or {}) - set(self.bn_calibration)
        if unknown:
            raise ValueError(f'bn_calibration: unknown keys {sorted(unknown)}; known: '
                             f'{sorted(self.bn_calibration)}')
        self.bn_calibration.update(bn_calibration or {})
        self.search_dataloader_cfg = search_dataloader
        self.search_evaluator_cfg = search_evaluator
        self.export = export
        self.metric_keys = None
        self._kept = None  # (genotype, score, BN buffers) of this rank's best candidate

    def setup(self, runner, loop) -> None:
        if loop.supernet_weights is None:
            raise ValueError('DetNASSupernetObjective scores paths of the COCO-fine-tuned '
                             'supernet: set load_from=<step 2 checkpoint> (README, "Search")')
        cfg = runner.cfg
        self.search_dataloader_cfg = self.search_dataloader_cfg or cfg.get('search_dataloader')
        self.search_evaluator_cfg = self.search_evaluator_cfg or cfg.get('search_evaluator')
        if self.search_dataloader_cfg is None or self.search_evaluator_cfg is None:
            raise ValueError('DetNASSupernetObjective scores candidates on a split held out of '
                             'train: set `search_dataloader` and `search_evaluator` (README)')
        ev = self.search_evaluator_cfg
        if isinstance(ev, (list, tuple)):
            raise ValueError('search_evaluator must hold one metric')
        if ev.get('ann_file') and not osp.isfile(ev['ann_file']):
            raise FileNotFoundError(f'search_evaluator.ann_file {ev["ann_file"]} not found; make '
                                    'the search split first (README, "Search")')
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if get_world_size() > 1:  # each rank scores its own candidate: no SyncBN across ranks
            model = revert_sync_batchnorm(model)
        self.model, self.supernet = model, find_supernet(model)
        self.supernet.sample_per_forward = False
        self.logger, self.calibration_loader = runner.logger, loop.dataloader
        self.calibration_seed = loop.seed  # one seed for all candidates: the same batches
        self.score_key = loop.score_key
        loader_cfg = copy.deepcopy(self.search_dataloader_cfg)
        loader_cfg['sampler'] = dict(type='DetNASCandidateSampler', shuffle=False)
        self.search_loader = runner.build_dataloader(loader_cfg)
        evaluator = runner.build_evaluator(self.search_evaluator_cfg)
        self.metric = evaluator.metrics[0]
        self.metric.dataset_meta = self.search_loader.dataset.metainfo
        self.prefix = f'{self.metric.prefix}/' if self.metric.prefix else ''
        if ev.get('type') == 'CocoMetric':
            metrics = ev.get('metric', 'bbox')
            self.metric_keys = {
                f'{self.prefix}{m}_{s}'
                for m in ([metrics] if isinstance(metrics, str) else metrics)
                for s in COCO_SUFFIXES
            }

    def _set_path(self, genotype):
        self.supernet.set_choice(list(genotype))
        calibrate_bn(
            self.model, self.calibration_loader, seed=self.calibration_seed, **self.bn_calibration)

    def __call__(self, genotype, seed: int) -> Evaluation:
        t0 = time.time()
        self._set_path(genotype)
        num_dets = 0
        with torch.no_grad():
            for data in self.search_loader:
                outputs = self.model.val_step(data)
                num_dets += sum(len(s.pred_instances) for s in outputs)
                # as Evaluator.process, on this rank only: ranks score different candidates
                self.metric.process(data_batch=data, data_samples=[s.to_dict() for s in outputs])
        if len(self.metric.results) != len(self.search_loader.dataset):
            raise RuntimeError(f'scored {len(self.metric.results)} of the '
                               f'{len(self.search_loader.dataset)} search images; every rank '
                               'must see the whole split')
        if num_dets == 0 and self.metric_keys is not None:
            self.logger.warning('[search] the path detected nothing on the search split: every '
                                'metric is 0')
            metrics = {k: 0.0 for k in self.metric_keys}
        else:
            metrics = {
                self.prefix + k: float(v)
                for k, v in self.metric.compute_metrics(self.metric.results).items()
            }
        self.metric.results.clear()
        score = metrics.get(self.score_key, 0.0)  # a missing key is the loop's error to raise
        if self._kept is None or score > self._kept[1]:
            buffers = {
                n: b.detach().cpu().clone()
                for n, b in self.model.named_buffers()
                if n.endswith(('running_mean', 'running_var', 'num_batches_tracked'))
            }
            self._kept = (list(genotype), score, buffers)
        return Evaluation(metrics, dict(eval_s=round(time.time() - t0, 2)))

    def after_search(self, best, work_dir) -> None:
        """Save ``best_subnet.pth``: the detector sliced to the best path, with the BN statistics
        it was scored with (kept by the rank that scored it in this run), or recalibrated when
        they are gone (the best was scored before a resume)."""
        if not self.export or best is None:
            return
        kept = self._kept[2] if self._kept and self._kept[0] == best.genotype else None
        if get_world_size() > 1:
            kept = next((k for k in all_gather_object(kept) if k is not None), None)
        if kept is None:
            self._set_path(best.genotype)
            bn_stats = 'recalibrated at export'
        else:
            self.supernet.set_choice(list(best.genotype))
            self.model.load_state_dict(kept, strict=False)
            self.model.eval()
            bn_stats = 'as scored'
        if get_rank() != 0:
            return
        prefix = next(n for n, m in self.model.named_modules() if m is self.supernet) + '.'
        state = slice_supernet_state_dict(self.model.state_dict(), best.genotype, prefix=prefix)
        meta = dict(
            genotype=best.genotype,
            score=best.score,
            bn_stats=bn_stats,
            channel_shuffle=self.supernet.channel_shuffle,  # the fixed backbone needs the same
            stage_repeats=self.supernet.stage_repeats,
            stage_out_channels=self.supernet.stage_out_channels)
        path = osp.join(work_dir, 'best_subnet.pth')
        torch.save(dict(meta=meta, state_dict={k: v.cpu() for k, v in state.items()}), path)
        self.logger.info(f'[search] best path sliced to {path} (BN statistics {bn_stats})')


@TASK_UTILS.register_module()
class DetNASMatchObjective:
    """Synthetic fitness: the fraction of blocks whose choice equals ``target``'s (a genotype
    file, a name in ``genotypes/`` or a dict), so ``target`` is the unique optimum (1.0) when it
    satisfies the FLOPs limit. Metric key ``synthetic/match``."""

    metric_keys = {'synthetic/match'}

    def __init__(self, target):
        self.target = load_genotype(target)['genotype']

    def setup(self, runner, loop) -> None:
        if len(self.target) != loop.num_blocks:
            raise ValueError(f'the target has {len(self.target)} blocks, the supernet '
                             f'{loop.num_blocks}')

    def __call__(self, genotype, seed: int) -> Evaluation:
        return Evaluation(
            {'synthetic/match': float(np.mean(np.asarray(genotype) == np.asarray(self.target)))},
            {})

    def after_search(self, best, work_dir) -> None:
        """Nothing to export: no supernet weights were used."""
