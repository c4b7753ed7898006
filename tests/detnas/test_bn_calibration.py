"""BN recalibration of a candidate path (issue 5, points 5 and 7): statistics are reset, then
re-estimated from training batches exactly as intended (cumulative: the batch statistics;
official momentum: the momentum update from 0/1), layers frozen by norm_eval are left alone."""
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

from projects.detnas.detnas import calibrate_bn, find_supernet
from benchmark import random_batch

CFG = 'projects/detnas/configs/retinanet_detnas-supernet-toy_fpn_1xb8-6e_toy.py'


def _detector(**backbone):
    cfg = Config.fromfile(CFG)
    cfg.model.backbone.update(backbone)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return model


def _stem_stats(model, batch):
    """Mean and (unbiased) variance per channel of the stem BN's input for ``batch``."""
    data = model.data_preprocessor(batch, True)
    with torch.no_grad():
        y = find_supernet(model).stem[0](data['inputs'])
    return y.mean((0, 2, 3)), y.var((0, 2, 3), unbiased=True)


@pytest.fixture(scope='module')
def batches():
    return [random_batch(2, (64, 64), 6, 'cpu', seed=s) for s in (0, 1)]


def test_cumulative_calibration_gives_the_data_statistics(batches):
    model = _detector()
    bn = find_supernet(model).stem[1]
    bn.running_mean.fill_(5.0)  # stale supernet statistics
    n = calibrate_bn(model, batches, num_iters=2, cumulative=True)
    assert n > 20 and not model.training and bn.momentum == 0.1  # momentum restored
    (m0, v0), (m1, v1) = _stem_stats(model, batches[0]), _stem_stats(model, batches[1])
    torch.testing.assert_close(bn.running_mean, (m0 + m1) / 2, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(bn.running_var, (v0 + v1) / 2, rtol=1e-4, atol=1e-4)
    assert int(bn.num_batches_tracked) == 2


def test_official_calibration_resets_then_updates_with_momentum(batches):
    model = _detector()
    bn = find_supernet(model).stem[1]
    bn.running_mean.fill_(5.0)
    bn.running_var.fill_(7.0)
    calibrate_bn(model, batches[:1], num_iters=1, cumulative=False)
    mean, var = _stem_stats(model, batches[0])
    # reset to 0 / 1 first (official bn_statistic), then one momentum-0.1 update
    torch.testing.assert_close(bn.running_mean, 0.1 * mean, rtol=1e-4, atol=1e-4)
    torch.testing.assert_close(bn.running_var, 0.9 + 0.1 * var, rtol=1e-4, atol=1e-4)


def test_frozen_bn_is_not_reset_and_empty_loader_is_refused(batches):
    model = _detector(norm_eval=True)
    bn = find_supernet(model).stem[1]
    bn.running_mean.fill_(5.0)
    calibrate_bn(model, batches, num_iters=2, cumulative=True)
    assert torch.all(bn.running_mean == 5.0)  # norm_eval keeps the backbone BN frozen
    with pytest.raises(ValueError, match='empty dataloader'):
        calibrate_bn(model, [], num_iters=1)
