"""The released Hit-Detector counted as the paper counts: parameters exactly (Table 2's 27.12M
with Table 1's breakdown) and FLOPs by the official counter's convention (272.3G), with Faster
R-CNN R-50-FPN as the calibration (41.76M, 197.4G). The derived figures are counted by hand
from the official code. Counts run on the ``meta`` device (shapes only)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.hitdet.hitdet import count_paper_flops, detector_paper_flops, paper_param_count
from paper_report import resolve_config

HITDET = 'projects/hitdet/configs/faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-1x_coco.py'
FPN_R50 = 'mmdet::faster_rcnn/faster-rcnn_r50_fpn_1x_coco.py'


def _build(path):
    init_default_scope('mmdet')
    cfg = Config.fromfile(resolve_config(path))
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def hitdet():
    return _build(HITDET)


@pytest.fixture(scope='module')
def fpn_r50():
    return _build(FPN_R50)


def test_released_detector_parameters_exactly(hitdet):
    # mmdet 0.6 convention: 81-way fc_cls, class-specific 324-way fc_reg, RPN included
    assert paper_param_count(hitdet) == dict(
        total=27123916, backbone=13881848, neck=2715952, rpn_head=593935, roi_head=9932181)
    assert paper_param_count(hitdet, mmdet06=False)['total'] == 27121864  # mmdet 3.x, 80 classes
    assert sum(p.numel() for p in hitdet.parameters()) == 27121864
    head = hitdet.roi_head.bbox_head
    assert (head.fc_cls.out_features, head.fc_reg.out_features) == (81, 320)


def test_fpn_r50_parameters_exactly(fpn_r50):
    assert paper_param_count(fpn_r50)['total'] == 41757156  # Table 2: 41.76M


def _close(value, target, rel=1e-3):
    return abs(value - target) <= rel * target


def test_flops_by_the_papers_counter():
    """Input 800x1216, 1000 RoIs. Hit-Detector: 272.3G (Table 2; derived 272.3G, conv/FC MACs
    alone 269.4G). FPN-R50: derived 197.5G, conv/FC alone 196.7G (Table 2: 197.4G)."""
    hd = detector_paper_flops(_build(HITDET).to('meta'))
    assert _close(hd['total'], 272.3e9) and round(hd['total'] / 1e9, 1) == 272.3
    assert _close(hd['conv'] + hd['linear'], 269.4e9)
    assert hd['total'] == sum(hd[k] for k in ('backbone', 'neck', 'rpn_head', 'roi_head'))
    # the neck's pooling and upsampling are functional calls: 0 in the official counter
    assert hd['pool'] == hd['upsample'] == 0 and hd['relu'] > 0 and hd['bn'] > 0
    r50 = detector_paper_flops(_build(FPN_R50).to('meta'))
    assert _close(r50['total'], 197.5e9) and round(r50['total'] / 1e9, 1) == 197.4
    assert _close(r50['conv'] + r50['linear'], 196.7e9)
    assert r50['pool'] == 1 * 64 * 400 * 608  # the stem's max-pool input


def test_counter_convention_on_small_modules():
    """flops_counter.py (mmdet 0.6): conv MACs + bias per output, linear without bias, BN 2 and
    ReLU 1 per element, module pools per input element, functional ops not counted."""
    model = nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 8, 3, padding=1, groups=4, bias=False), nn.Upsample(scale_factor=2),
        nn.Flatten(), nn.Linear(8 * 8 * 8, 5))
    x = torch.zeros(2, 3, 8, 8)
    total, per_module = count_paper_flops(model, lambda: F.relu(model(x)))
    conv1 = 2 * 64 * (27 * 4) + 2 * 64 * 4
    bn = relu = 2 * 4 * 64
    pool = 2 * 4 * 64
    conv2 = 2 * 16 * (9 * 1 * 8)
    up = 2 * 8 * 64
    linear = 2 * 512 * 5
    assert total == conv1 + 2 * bn + relu + pool + conv2 + up + linear
    assert per_module['0']['conv_bias'] == 2 * 64 * 4 and per_module['7']['linear'] == linear
