"""Recipe values of the TPU-form configs, read from the configs as mmengine loads them, against
the official code (tensorflow/tpu models/official/detection, rev. 7dc921f): box loss
(modeling/losses.py RetinanetBoxLoss + retinanet_config.py), BN (configs/base_config.py
batch_norm_activation), anchors (dataloader/anchor.py), the mmdet form's laterals, and the
search budget (paper Fig. 5)."""
import itertools

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS, TASK_UTILS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import projects.nas_fpn.nas_fpn  # noqa: F401

C = 'projects/nas_fpn/configs/'
TPU_FORM = [
    C + 'retinanet_r50_nasfpn-tpu-7x256_8xb8-crop640-50e_coco.py',
    C + 'retinanet_r50_nasfpn-tpu-7x256_8xb8-crop1024-50e_coco.py',
    C + 'retinanet_r50_nasfpn-tpu-7x384_8xb8-crop1280-50e_coco.py',
    C + 'retinanet_r50-scratch_nasfpn-tpu-7x256_8xb32-350e_coco-640.py',
    C + 'nasfpn_search_r10_nasfpn-3x256_1xb64-512-10e_coco.py',
]
MMDET_FORM = [
    C + 'retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py',
    C + 'retinanet_r50_nasfpn-7x256_1xb8-crop640-50e_coco.py',
]
SEARCH = C + 'nasfpn_search_r10_nasfpn-3x256_1xb64-512-10e_coco.py'


@pytest.fixture(scope='module')
def cfgs():
    return {p: Config.fromfile(p) for p in TPU_FORM + MMDET_FORM}


@pytest.mark.parametrize('path', TPU_FORM)
def test_tpu_form_recipe_values(cfgs, path):
    model = cfgs[path].model
    head = model.bbox_head
    # retinanet_config.py retinanet_loss: huber_loss_delta 0.1, box_loss_weight 50 -> beta 0.1,
    # weight 50 * 0.1 / 4 = 1.25 (test_box_loss_equals_the_tpu_formula)
    assert dict(head.loss_bbox) == dict(type='SmoothL1Loss', beta=0.1, loss_weight=1.25)
    assert head.loss_cls.type == 'FocalLoss'
    assert head.loss_cls.alpha == 0.25 and head.loss_cls.gamma == 1.5
    # dataloader/anchor.py: centres at stride/2 + k*stride
    assert head.anchor_generator.center_offset == 0.5
    # base_config.py batch_norm_activation: momentum 0.997 (PyTorch 0.003), epsilon 1e-4
    for part in ('backbone', 'neck', 'bbox_head'):
        norm = model[part].norm_cfg
        assert norm.type in ('SyncBN', 'BN'), (part, norm)
        assert norm.momentum == 0.003 and norm.eps == 1e-4, (part, norm)
    # nasfpn.py resample_feature_map: 1x1 conv only where the width differs
    neck = model.neck
    assert neck.lateral_conv == 'if_width_differs' and neck.extra_level_conv is False
    assert neck.attention_pool == 'max' and neck.attention_gate_from == 'coarser'
    # heads.py RetinanetHead: predictors at N(0, 1e-5) (test_tpu_head_predictors_start_at_1e5)
    assert head.type == 'RetinaSepBNHeadTPU' and head.get('predictor_std', 1e-5) == 1e-5
    # train-time matching, retinanet_config.py: match / unmatched threshold 0.5
    assert model.train_cfg.assigner.pos_iou_thr == 0.5
    assert model.train_cfg.assigner.neg_iou_thr == 0.5


def test_paper_configs_use_syncbn(cfgs):
    for path in TPU_FORM[:4] + MMDET_FORM[:1]:
        for part in ('backbone', 'neck', 'bbox_head'):
            assert cfgs[path].model[part].norm_cfg.type == 'SyncBN', (path, part)


@pytest.mark.parametrize('path', MMDET_FORM)
def test_mmdet_form_keeps_mmdet_values(cfgs, path):
    """mmdet's own recipe (configs/nas_fpn/retinanet_r50_nasfpn_crop640-50e_coco.py)."""
    model = cfgs[path].model
    assert model.neck.lateral_conv == 'always' and model.neck.extra_level_conv is True
    assert model.bbox_head.type == 'RetinaSepBNHead'
    assert model.bbox_head.loss_bbox.type == 'L1Loss'
    assert model.bbox_head.loss_cls.gamma == 2.0
    assert model.bbox_head.anchor_generator.get('center_offset', 0.0) == 0.0


def test_box_loss_equals_the_tpu_formula():
    """TPU: box_loss_weight * sum(huber_delta(target - pred) over the 4 coordinates of the
    positives) / (4 * num_pos), huber as tf.losses.huber_loss; mmdet: the config's loss with
    avg_factor = num_pos (AnchorHead.loss_by_feat_single with the PseudoSampler)."""
    torch.manual_seed(0)
    init_default_scope('mmdet')
    cfg = Config.fromfile(TPU_FORM[0])
    loss = MODELS.build(cfg.model.bbox_head.loss_bbox)
    pred, target = torch.randn(50, 4) * 0.3, torch.randn(50, 4) * 0.3
    weight = torch.zeros(50, 4)
    weight[:13] = 1  # 13 positive anchors
    num_pos = 13
    diff = (pred - target)[:num_pos]
    huber = F.huber_loss(diff, torch.zeros_like(diff), delta=0.1, reduction='sum')
    tpu = 50 * huber / (4 * num_pos)
    ours = loss(pred, target, weight, avg_factor=num_pos)
    assert torch.allclose(ours, tpu, rtol=1e-5), (ours, tpu)


def _tpu_anchors(image, min_level=3, max_level=7, num_scales=3, ratios=(1.0, 2.0, 0.5), size=4):
    """tensorflow/tpu dataloader/anchor.py Anchor._generate_boxes, in numpy, as (x1, y1, x2, y2)."""
    out = []
    for level in range(min_level, max_level + 1):
        stride = 2**level
        boxes = []
        for scale, ratio in itertools.product(range(num_scales), ratios):
            base = size * stride * 2**(scale / num_scales)
            hx, hy = base * ratio**0.5 / 2, base * ratio**-0.5 / 2
            xv, yv = np.meshgrid(
                np.arange(stride / 2, image, stride), np.arange(stride / 2, image, stride))
            xv, yv = xv.ravel(), yv.ravel()
            boxes.append(np.stack([xv - hx, yv - hy, xv + hx, yv + hy], 1))
        out.append(np.concatenate(boxes))
    return out


def test_anchor_centres_at_half_stride():
    """The tpu form's anchors are the TPU anchors: centres at stride/2 + k*stride, same boxes."""
    init_default_scope('mmdet')
    cfg = Config.fromfile(TPU_FORM[0])
    gen = TASK_UTILS.build(cfg.model.bbox_head.anchor_generator)
    image = 128
    sizes = [(image // s, image // s) for s in (8, 16, 32, 64, 128)]
    anchors = gen.grid_priors(sizes, device='cpu')
    for stride, a, tpu in zip((8, 16, 32, 64, 128), anchors, _tpu_anchors(image)):
        centres = ((a[:, :2] + a[:, 2:]) / 2).numpy()
        k = (centres - stride / 2) / stride
        assert np.allclose(k, np.round(k)) and k.min() == 0, stride
        assert centres.min() == stride / 2
        ours = np.array(sorted(map(tuple, a.numpy().round(3))))
        ref = np.array(sorted(map(tuple, tpu.round(3))))
        assert ours.shape == ref.shape and np.allclose(ours, ref, atol=1e-3), stride
    # mmdet's default (the mmdet form) puts them at k*stride
    default = TASK_UTILS.build(Config.fromfile(MMDET_FORM[0]).model.bbox_head.anchor_generator)
    a = default.grid_priors(sizes, device='cpu')[0]
    assert ((a[:, :2] + a[:, 2:]) / 2).min() == 0


def test_search_budget_is_the_papers():
    """Paper Fig. 5: 12,000 controller steps, 24,000 sampled architectures."""
    loop = Config.fromfile(SEARCH).train_cfg
    assert loop.num_steps == 12000 and loop.samples_per_step == 2
    assert loop.num_steps * loop.samples_per_step == 24000


def test_tpu_head_predictors_start_at_1e5(cfgs):
    """heads.py RetinanetHead: stacked convs N(0, 0.01), predictors N(0, 1e-5), class bias at the
    prior 0.01; mmdet's RetinaSepBNHead starts its predictors at 0.01."""
    init_default_scope('mmdet')
    head_cfg = cfgs[TPU_FORM[0]].model.bbox_head.copy()
    head_cfg.update(norm_cfg=dict(type='BN'), num_classes=80)
    torch.manual_seed(0)
    head = MODELS.build(head_cfg)
    head.init_weights()
    for pred in (head.retina_cls, head.retina_reg):
        assert pred.weight.std().item() == pytest.approx(1e-5, rel=0.1)
    assert torch.allclose(
        head.retina_cls.bias, torch.full_like(head.retina_cls.bias, -4.59512), atol=1e-4)
    assert head.cls_convs[0][0].conv.weight.std().item() == pytest.approx(0.01, rel=0.1)
    with pytest.raises(ValueError, match='predictor_std'):
        MODELS.build(dict(head_cfg, predictor_std=0))
