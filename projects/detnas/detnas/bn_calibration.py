"""BatchNorm recalibration of one supernet path before it is scored (DetNAS step 3).

Batch statistics accumulated while the supernet trained many paths do not fit any single path,
so each candidate's BN statistics are recomputed on training data before evaluation: the
official ``bn_statistic`` (megvii-model/DetNAS ``distributed_arch_search/test_server.py``) sets
every ``running_mean`` to 0 and ``running_var`` to 1, then runs 500 training-mode forward passes
without gradients (8 images per batch) and evaluates. mmrazor calls this ``norm_training``.
"""
import torch
from torch.nn.modules.batchnorm import _BatchNorm


def calibrate_bn(model, dataloader, num_iters=500, cumulative=False):
    """Reset and re-estimate the running statistics of every BN layer that trains.

    Args:
        model: an MMDetection detector (``data_preprocessor`` and ``mode='loss'`` forward).
        dataloader: training batches (MMEngine format).
        num_iters (int): forward passes (paper: 500).
        cumulative (bool): False = the layers' own momentum, as the official code (after 500
            iterations at momentum 0.1 the reset values are forgotten); True = an exact average
            over the ``num_iters`` batches (PyTorch's ``momentum=None``), which suits few
            iterations, e.g. on the toy set.

    Returns:
        int: the number of BN layers recalibrated. The model is left in eval mode.
    """
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
