"""BatchNorm recalibration of one supernet path before it is scored (DetNAS step 3).

Batch statistics accumulated while the supernet trained many paths do not fit any single path,
so each candidate's BN statistics are recomputed on training data before evaluation: the
official ``bn_statistic`` (megvii-model/DetNAS@aa92a90 ``distributed_arch_search/test_server.py``
L211-277) sets every ``running_mean`` to 0 and ``running_var`` to 1, then runs 500 training-mode
forward passes without gradients (8 images per batch) and evaluates. mmrazor calls this
``norm_training``.

Same images for every candidate, wherever it runs. The official search calibrates each
candidate data-parallel on all GPUs, so every candidate sees the same 500 global batches (the
maskrcnn-benchmark ``DistributedSampler`` shuffles from ``seed=epoch=0``,
``maskrcnn_benchmark/data/samplers/distributed.py`` L42-46). Our ranks score *different*
candidates, so each rank must iterate the whole, same-seeded batch sequence itself:
:func:`calibration_dataloader_cfg` replaces the rank shard by :class:`.DetNASCandidateSampler`
and seeds the data workers without the rank, :class:`DetNASCalibrationBatchSampler` forgets
the previous candidate's pass, and :func:`calibrate_bn` ``(seed=...)`` runs under
fixed random states, so the random flips and the detector's random RoI sampling are the same for
every candidate on every rank (``tests/detnas/test_recipe_fidelity.py``).
"""
import random
from contextlib import contextmanager

import numpy as np
import torch
from mmdet.datasets.samplers import AspectRatioBatchSampler
from mmdet.registry import DATA_SAMPLERS
from torch.nn.modules.batchnorm import _BatchNorm


@DATA_SAMPLERS.register_module()
class DetNASCalibrationBatchSampler(AspectRatioBatchSampler):
    """mmdet's ``AspectRatioBatchSampler`` (the official calibration groups by aspect ratio too:
    maskrcnn-benchmark ``DATALOADER.ASPECT_RATIO_GROUPING``), with empty buckets at the start of
    every pass. mmdet's keeps its buckets between passes, and a pass cut short (the calibration
    stops after ``num_iters`` batches) leaves its last batch there, so the next candidate's first
    batch would depend on what was calibrated before it."""

    def __iter__(self):
        self._aspect_ratio_buckets = [[] for _ in range(2)]
        return super().__iter__()


def calibration_worker_init(worker_id: int, seed: int) -> None:
    """Seed a calibration data worker from ``seed`` and its id only (mmengine's default also
    adds ``num_workers * rank``, which would give each rank other random flips)."""
    worker_seed = (seed + worker_id) % 2**32
    random.seed(worker_seed)
    np.random.seed(worker_seed)
    torch.manual_seed(worker_seed)


def calibration_dataloader_cfg(dataloader: dict, seed: int) -> dict:
    """The dataloader config of the BN calibration batches, from the training one.

    Every index on every rank, in one order shuffled from ``seed`` (not a ``DefaultSampler``
    shard), batched afresh in every pass (:class:`DetNASCalibrationBatchSampler`), workers
    re-created for every pass (``persistent_workers=False``) and seeded without the rank, so
    every pass yields the same batches, augmentation included.
    """
    cfg = dict(dataloader)
    cfg['sampler'] = dict(type='DetNASCandidateSampler', shuffle=True, seed=seed)
    batch_sampler = cfg.get('batch_sampler') or {}
    if str(batch_sampler.get('type', '')).split('.')[-1] == 'AspectRatioBatchSampler':
        cfg['batch_sampler'] = dict(batch_sampler, type='DetNASCalibrationBatchSampler')
    cfg['worker_init_fn'] = dict(type=calibration_worker_init, seed=seed)
    cfg['persistent_workers'] = False
    return cfg


@contextmanager
def fixed_random_state(seed: int):
    """Seed Python's ``random``, NumPy and torch (CPU and the current CUDA device) for the block,
    then restore the states they had, so the caller's random sequence is left as it was."""
    py_state, np_state = random.getstate(), np.random.get_state()
    devices = [torch.cuda.current_device()] if torch.cuda.is_available() else []
    with torch.random.fork_rng(devices=devices):
        random.seed(seed)
        np.random.seed(seed % 2**32)
        torch.manual_seed(seed)
        try:
            yield
        finally:
            random.setstate(py_state)
            np.random.set_state(np_state)


def calibrate_bn(model, dataloader, num_iters=500, cumulative=False, seed=None):
    """Reset and re-estimate the running statistics of every BN layer that trains.

    Args:
        model: an MMDetection detector (``data_preprocessor`` and ``mode='loss'`` forward).
        dataloader: training batches (MMEngine format), e.g. built from
            :func:`calibration_dataloader_cfg`.
        num_iters (int): forward passes (paper: 500).
        cumulative (bool): False = the layers' own momentum, as the official code (after 500
            iterations at momentum 0.1 the reset values are forgotten); True = an exact average
            over the ``num_iters`` batches (PyTorch's ``momentum=None``), which suits few
            iterations, e.g. on the toy set.
        seed (int, optional): run under :func:`fixed_random_state` ``(seed)``, so that every
            call with the same seed sees the same batches and augmentation (with num_workers=0
            the pipeline draws from this process) and the same random RoI sampling; None leaves
            the random states alone.

    Returns:
        int: the number of BN layers recalibrated. The model is left in eval mode.
    """
    if seed is not None:
        with fixed_random_state(seed):
            return calibrate_bn(model, dataloader, num_iters, cumulative)
    model.train()
    layers = [
        m for m in model.modules()
        if isinstance(m, _BatchNorm) and m.track_running_stats and m.training
    ]
    momenta = [m.momentum for m in layers]
    for m in layers:
        m.reset_running_stats()  # mean 0, var 1, num_batches_tracked 0
        if cumulative:
            m.momentum = None
    done = 0
    try:
        with torch.no_grad():
            while done < num_iters:
                before = done
                for data in dataloader:
                    data = model.data_preprocessor(data, True)
                    model(**data, mode='loss')
                    done += 1
                    if done >= num_iters:
                        break
                if done == before:
                    raise ValueError('BN calibration got an empty dataloader')
    finally:
        for m, momentum in zip(layers, momenta):
            m.momentum = momentum
        model.eval()
    return len(layers)
