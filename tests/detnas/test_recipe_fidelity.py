"""DetNAS recipe values taken from the official code: each is read from the config
(``Config.fromfile``) and pinned to the official value, with its source line in
megvii-model/DetNAS@aa92a90 (README, "Differences from the official code"). The behaviours
behind them are tested elsewhere: the calibration images in test_bn_calibration.py, the
off-path weights in test_path_hook.py."""
from functools import lru_cache

import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from projects.detnas.detnas.bn_calibration import calibration_dataloader_cfg

CFG = 'projects/detnas/configs/'
RETRAIN = [
    'faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py',
    'faster-rcnn_detnas-coco-fpn-1.3g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py',
    'faster-rcnn_detnas-coco-fpn-3.8g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py',
    'retinanet_detnas-coco-retinanet-300m_fpn_syncbn_8xb2-90k_coco.py',
]
SUPERNET_FT = [
    'faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py',
    'retinanet_detnas-300m-supernet_fpn_syncbn_8xb2-90k_coco.py',
]
SEARCH = ['detnas_search_faster-rcnn-300m_coco.py', 'detnas_search_retinanet-300m_coco.py']
# maskrcnn_benchmark/pytorch_distributed_syncbn/syncbn.py L93-98: DistributedSyncBN momentum 0.01,
# 0.1 when cfg.MODEL.BACKBONE.CONV_BODY contains 'search' (the *_search.yaml configs)
SYNCBN_MOMENTUM_RETRAIN, SYNCBN_MOMENTUM_SEARCH = 0.01, 0.1


@lru_cache(maxsize=None)
def _cfg(name):
    """The config, loaded once for the read-only tests of this module."""
    return Config.fromfile(CFG + name)


def _norms(cfg):
    """{where: norm_cfg} of the detector parts that have a norm."""
    m = cfg.model
    head = m.roi_head.bbox_head if 'roi_head' in m else m.bbox_head
    found = dict(
        backbone=m.backbone.get('norm_cfg'), neck=m.neck.get('norm_cfg'), head=head.get('norm_cfg'))
    return {k: v for k, v in found.items() if v is not None}


def _syncbn_parts(name):
    # Faster R-CNN: FPN.USE_SYNCBN and ROI_BOX_HEAD.USE_SYNCBN True (*_1x.yaml L11/L26,
    # *_search.yaml L12/L27); RetinaNet: both left at their default False (defaults.py L109,
    # L314): SyncBN in the backbone only
    return {'backbone'} if 'retinanet' in name else {'backbone', 'neck', 'head'}


@pytest.mark.parametrize('name', RETRAIN + SUPERNET_FT + SEARCH)
def test_syncbn_momentum_is_the_official_one(name):
    cfg = _cfg(name)
    momentum = SYNCBN_MOMENTUM_RETRAIN if name in RETRAIN else SYNCBN_MOMENTUM_SEARCH
    norms = _norms(cfg)
    assert set(norms) == _syncbn_parts(name)
    for where, norm in norms.items():
        assert (where, norm.type, norm.momentum) == (where, 'SyncBN', momentum)


def test_every_bn_layer_of_the_supernet_detector_has_the_search_momentum():
    # (the retrain detectors are built, and checked alike, in test_configs.py)
    cfg = Config.fromfile(CFG + SUPERNET_FT[0])
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    momenta = {m.momentum for m in model.modules() if isinstance(m, _BatchNorm)}
    assert momenta == {cfg.norm_cfg.momentum} == {SYNCBN_MOMENTUM_SEARCH}


@pytest.mark.parametrize('name', SUPERNET_FT)
def test_off_path_weights_are_frozen_by_default(name):
    # default = Supernet-ImageNet/train.py L229-231 (zero grads -> None); the released COCO
    # trainer's decay/momentum (engine/trainer.py L112-114, L125, L133) is the opt-in flag
    hooks = _cfg(name).custom_hooks
    assert [(h.type, h.off_path_decay_momentum) for h in hooks] == [('DetNASPathHook', False)]


@pytest.mark.parametrize('name', SEARCH)
def test_calibration_batches_are_the_same_on_every_rank(name):
    # distributed_arch_search/test_server.py L252-268: every candidate calibrated on the same
    # global batches (DistributedSampler seeded with epoch 0, samplers/distributed.py L42-46),
    # grouped by aspect ratio (defaults.py L86)
    cfg = _cfg(name)
    loader = calibration_dataloader_cfg(cfg.train_dataloader, seed=0)
    assert loader['sampler'] == dict(type='DetNASCandidateSampler', shuffle=True, seed=0)
    assert loader['batch_sampler']['type'] == 'DetNASCalibrationBatchSampler'
    assert loader['persistent_workers'] is False
    assert loader['worker_init_fn']['seed'] == 0
    assert loader['batch_size'] == 8  # SOLVER.IMS_PER_BATCH = 8 in test_server.py L386


@pytest.mark.parametrize('name', RETRAIN + SUPERNET_FT)
def test_input_and_warmup_are_the_official_ones(name):
    cfg = _cfg(name)
    pre = cfg.model.data_preprocessor
    # PIXEL_MEAN [0, 0, 0] (the DetNAS yamls), PIXEL_STD [1, 1, 1] and TO_BGR255 (defaults.py
    # L53-55): BGR 0-255 as the ImageNet ToBGRTensor
    assert (pre.mean, pre.std, pre.bgr_to_rgb) == ([0., 0., 0.], [1., 1., 1.], False)
    # WARMUP_FACTOR 1/3, WARMUP_ITERS 500, linear (defaults.py L411-413)
    warmup = next(s for s in cfg.param_scheduler if s.type == 'LinearLR')
    got = (warmup.start_factor, warmup.begin, warmup.end, warmup.by_epoch)
    assert got == (1 / 3, 0, 500, False)
