"""Initialisation and anchors as the SpineNet paper's code (tensorflow/tpu @7dc921f,
models/official/detection): nn_ops.py conv2d_fixed_padding, heads.py RetinanetHead,
dataloader/anchor.py. The recipe values themselves are pinned in test_configs.py."""
import math

import pytest
import torch
import torch.nn as nn
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import projects.spinenet.spinenet  # noqa: F401
from projects.spinenet.spinenet.tf_init import TFVarianceScalingInit

COCO_49S = 'projects/spinenet/configs/retinanet_spinenet-49S_syncbn_8xb32-lsj-350e_coco-640.py'


def test_tf_variance_scaling_has_variance_one_over_fan_in_and_is_cut_at_two_std():
    torch.manual_seed(0)
    conv = nn.Conv2d(64, 256, 3, bias=True)
    TFVarianceScalingInit(layer='Conv2d')(conv)
    w, fan_in = conv.weight.detach(), 64 * 9
    assert w.var().item() == pytest.approx(1 / fan_in, rel=0.03)
    raw_std = math.sqrt(1 / fan_in) / 0.87962566103423978
    assert w.abs().max().item() <= 2 * raw_std + 1e-7
    assert torch.all(conv.bias == 0)
    fan_out = nn.Conv2d(64, 256, 1)
    TFVarianceScalingInit(layer='Conv2d', mode='fan_out', scale=2.0)(fan_out)
    assert fan_out.weight.var().item() == pytest.approx(2 / 256, rel=0.05)


@pytest.mark.parametrize('kwargs', [dict(mode='fan'), dict(scale=0), dict(scale='1')])
def test_tf_variance_scaling_refuses_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='TFVarianceScaling'):
        TFVarianceScalingInit(layer='Conv2d', **kwargs)


@pytest.fixture(scope='module')
def detector(repo):
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(repo / COCO_49S))
    cfg.model.backbone.norm_cfg = cfg.model.bbox_head.norm_cfg = dict(type='BN')
    torch.manual_seed(0)
    model = MODELS.build(cfg.model)
    model.init_weights()
    return cfg, model


def test_backbone_convs_have_tf_fan_in_variance_not_kaiming_fan_out(detector):
    _, model = detector
    convs = [m for m in model.backbone.modules() if isinstance(m, nn.Conv2d)]
    assert convs
    for conv in convs:
        fan_in = conv.weight[0].numel()
        if fan_in * conv.weight.shape[0] < 20000:
            continue  # too few weights for a tight variance estimate
        var = conv.weight.var().item()
        assert var == pytest.approx(1 / fan_in, rel=0.1), conv


def test_head_predictors_start_at_1e5_and_the_class_prior(detector):
    _, model = detector
    head = model.bbox_head
    for conv in list(head.cls_convs) + list(head.reg_convs):  # N(0, 0.01), zero bias
        assert conv.weight.std().item() == pytest.approx(0.01, rel=0.1)
        assert torch.all(conv.bias == 0)
    for pred in (head.retina_cls, head.retina_reg):  # N(0, 1e-5)
        assert pred.weight.std().item() == pytest.approx(1e-5, rel=0.1)
    prior = -math.log((1 - 0.01) / 0.01)
    assert torch.allclose(head.retina_cls.bias, torch.full_like(head.retina_cls.bias, prior))
    assert torch.all(head.retina_reg.bias == 0)


def test_anchor_centres_at_half_stride(detector):
    cfg, _ = detector
    gen = TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    strides = cfg.model.bbox_head.anchor_generator.strides
    anchors = gen.grid_priors([(2, 2)] * len(strides), device='cpu')
    for stride, level in zip(strides, anchors):
        centres = (level[:, :2] + level[:, 2:]) / 2
        xs = sorted({round(x, 3) for x in centres[:, 0].tolist()})
        assert xs == pytest.approx([stride / 2, stride * 1.5]), stride
