"""BN recalibration of a candidate path: statistics are reset, then
re-estimated from training batches exactly as intended (cumulative: the batch statistics;
official momentum: the momentum update from 0/1), layers frozen by norm_eval are left alone.
With several ranks every candidate is calibrated on the same images, with
the same augmentation, whatever rank scores it and whatever it scored before."""
import mmengine.dataset.sampler
import mmengine.runner.runner
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from projects.detnas.detnas import CHOICES, calibrate_bn, find_supernet
from projects.detnas.detnas.bn_calibration import calibration_dataloader_cfg
from benchmark import random_batch

CFG = 'projects/detnas/configs/retinanet_detnas-supernet-toy_fpn_1xb8-16e_toy.py'
SEARCH_TOY = 'projects/detnas/configs/detnas_search_retinanet-toy_toy.py'


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


def _as_rank(monkeypatch, rank, world=2):
    """What a rank of ``--launcher pytorch`` sees: its rank in the worker seeds (Runner) and in
    DefaultSampler's shard (mmengine.dataset.sampler)."""
    monkeypatch.setattr(mmengine.runner.runner, 'get_rank', lambda: rank)
    monkeypatch.setattr(mmengine.dataset.sampler, 'get_dist_info', lambda: (rank, world))


def _ramp(x):
    """Column weights: a checksum of ``x * _ramp(x)`` tells an image from its mirror image."""
    return torch.arange(x.shape[-1], dtype=x.dtype)


def _calibrate(model, state, loader, genotypes, num_iters=2):
    """Calibrate ``genotypes`` in turn, as the search does on one rank; returns what the model
    saw per candidate (img_id, flip, pixel checksum) and the BN buffers after the last one."""
    model.load_state_dict(state)
    seen = []
    hook = model.register_forward_pre_hook(
        lambda m, args, kw: seen.append([(s.img_id, s.flip, float((x * _ramp(x)).sum()))
                                         for s, x in zip(kw['data_samples'], kw['inputs'])]),
        with_kwargs=True)
    per_candidate = []
    for g in genotypes:
        find_supernet(model).set_choice(g)
        calibrate_bn(model, loader, num_iters=num_iters, cumulative=False, seed=0)
        per_candidate.append(seen[-num_iters:])
    hook.remove()
    buffers = {n: b.clone() for n, b in model.named_buffers() if 'running' in n}
    return per_candidate, buffers


@pytest.mark.parametrize('num_workers', [0, 1])
def test_every_rank_calibrates_every_candidate_on_the_same_images(monkeypatch, toy_coco,
                                                                  num_workers):
    init_default_scope('mmdet')  # as the Runner does: CocoDataset, DetNASCandidateSampler
    cfg = Config.fromfile(SEARCH_TOY)
    cfg.train_dataloader.num_workers = num_workers
    cfg.train_dataloader.persistent_workers = num_workers > 0
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    state = {k: v.clone() for k, v in model.state_dict().items()}
    blocks = model.backbone.num_blocks
    a, b = ['shuffle_3x3'] * blocks, [CHOICES[i % 4] for i in range(blocks)]
    runs, shards, orders = {}, {}, {}
    for rank in (0, 1):
        _as_rank(monkeypatch, rank)
        # the training loader shards by rank; the calibration loader does not
        shards[rank] = list(
            Runner.build_dataloader(cfg.train_dataloader, seed=0).batch_sampler.sampler)
        loader = Runner.build_dataloader(
            calibration_dataloader_cfg(cfg.train_dataloader, 0), seed=0)
        orders[rank] = list(loader.batch_sampler.sampler)
        # rank 0 scored another candidate first: its history must not matter
        runs[rank] = _calibrate(model, state, loader, [a, b] if rank == 0 else [b])
    assert not set(shards[0]) & set(shards[1])  # the rank is really simulated
    assert orders[0] == orders[1] and sorted(orders[0]) == list(range(len(loader.dataset)))
    (seen0, bufs0), (seen1, bufs1) = runs[0], runs[1]
    assert seen0[0] == seen0[1] == seen1[0]  # candidates a, b on rank 0 and b on rank 1
    flips = [f for batch in seen1[0] for _, f, _ in batch]
    assert len(flips) == 16 and 0 < sum(flips) < 16  # the pipeline does flip at random
    assert bufs0.keys() == bufs1.keys() and all(torch.equal(bufs0[k], bufs1[k]) for k in bufs0)
