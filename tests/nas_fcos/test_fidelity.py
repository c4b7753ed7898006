"""Fidelity of the published architecture.

(a) Under mmdet's conventions (mmdet 3.3.0's NAS-FCOS config with our neck and head swapped in,
    nearest upsampling inside cells, no C2 adapter): the same 38,567,674 parameters as mmdet's
    model and, after a weight copy, the same neck and head outputs (atol 1e-5, CPU).
(b) The official form (bilinear, dead C2 adapter, FrozenBN as buffers): the parameter counts
    derived from the official code (specs_nasfcos_hitdet_autofpn.md 1(a)).
(c) What mmengine's counter sees of the deformable convs.
"""
import os.path as osp

import mmdet
import pytest
import torch
from mmdet.registry import MODELS
from mmengine.analysis import FlopAnalyzer, get_model_complexity_info
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.nas_fcos.nas_fcos import (PUBLISHED_GENOTYPE, NASFCOSDecoder,
                                        convert_mmdet_head_state_dict,
                                        convert_mmdet_neck_state_dict)
from projects.nas_fcos.nas_fcos.ops import DeformConvNormAct

MMDET_CFG = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', 'nas_fcos',
    'nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py')
CONFIGS = 'projects/nas_fcos/configs/'
OURS_MMDET_FORM = CONFIGS + 'nas-fcos_r50-caffe_nas-fcos-fpn-mmdet_nas-fcos-head_4xb4-1x_coco.py'
OURS_R50 = CONFIGS + 'nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head_4xb4-90k_coco.py'
OURS_MBV2 = CONFIGS + 'nas-fcos_mobilenetv2_nas-fcos-fpn_nas-fcos-head_4xb4-90k_coco.py'


def _n(module):
    return sum(p.numel() for p in module.parameters())


def _build(path, **neck):
    cfg = Config.fromfile(path)
    cfg.model.backbone.init_cfg = None  # no download
    cfg.model.neck.update(neck)
    init_default_scope('mmdet')
    return MODELS.build(cfg.model)


@pytest.fixture(scope='module')
def pair():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    return _build(MMDET_CFG), _build(OURS_MMDET_FORM)


def test_mmdet_form_has_mmdets_parameters(pair):
    ref, ours = pair
    assert _n(ours) == _n(ref) == 38567674
    assert _n(ours.neck) == _n(ref.neck) == 10690696
    assert _n(ours.bbox_head) == _n(ref.bbox_head) == 4368946
    # trainable only: the caffe R-50's frozen stem/res2 and every frozen BN affine excluded
    trainable = sum(p.numel() for p in ours.parameters() if p.requires_grad)
    assert trainable == sum(p.numel() for p in ref.parameters() if p.requires_grad) == 38292154


def test_mmdet_form_outputs_equal_mmdet_after_weight_copy(pair):
    ref, ours = pair
    torch.manual_seed(1)
    for m in ref.modules():  # non-trivial statistics and offsets: the check means something
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.GroupNorm)):
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
        if hasattr(m, 'conv_offset'):
            m.conv_offset.weight.data.normal_(0, 0.02)
            m.conv_offset.bias.data.normal_(0, 0.5)
    sd = convert_mmdet_neck_state_dict(ref.state_dict(), prefix='neck.')
    sd = convert_mmdet_head_state_dict(sd, prefix='bbox_head.')
    for module in ('neck', 'bbox_head'):  # mmdet's weights are of the published genotype
        sd[f'{module}._extra_state'] = getattr(ours, module).get_extra_state()
    ours.load_state_dict(sd, strict=True)
    ref.eval()
    ours.eval()
    x = torch.randn(1, 3, 160, 224)
    with torch.no_grad():
        feats = ref.backbone(x)
        a, b = ref.neck(feats), ours.neck(feats)
        assert len(a) == len(b) == 5
        for u, v in zip(a, b):
            assert u.shape == v.shape and torch.allclose(u, v, atol=1e-5, rtol=0)
        ha, hb = ref.bbox_head(a), ours.bbox_head(a)
        for u, v in zip(sum(ha, []), sum(hb, [])):
            assert u.shape == v.shape and torch.allclose(u, v, atol=1e-5, rtol=0)
        # the offsets were live: a zero-offset copy gives other outputs
        for m in ours.neck.modules():
            if isinstance(m, DeformConvNormAct):
                m.reset_offsets()
        assert not torch.allclose(ours.neck(feats)[0], a[0], atol=1e-3)


def test_mmdet_config_runs_under_this_torch(pair):
    """mmdet 3.3.0's own NAS-FCOS config builds, predicts and computes losses on CPU here; its
    FrozenBN-style backbone BN has eps=0, which torch only refuses in training mode."""
    ref, _ = pair
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    meta = dict(
        img_shape=(128, 160), pad_shape=(128, 160), ori_shape=(128, 160), scale_factor=(1.0, 1.0))
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 10., 60., 80.]]), labels=torch.tensor([3]))
    ref.train()  # norm_eval=True keeps the backbone BN in eval mode
    losses = ref(torch.randn(1, 3, 128, 160), [sample], mode='loss')
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    bn = ref.backbone.bn1
    assert bn.eps == 0 and not bn.training
    bn.train()
    with pytest.raises(ValueError, match='batch_norm eps must be positive during training'):
        bn(torch.randn(2, 64, 4, 4))
    bn.eval()


def test_official_form_counts():
    torch.set_num_threads(1)
    official = _build(OURS_R50, adapt_unused_inputs=True)
    assert _n(official.neck) == 10756744
    # official R_50_NAS_head: FrozenBatchNorm2d keeps the backbone BN affine as buffers
    frozen_bn = sum(p.numel() for m in official.backbone.modules()
                    if isinstance(m, torch.nn.BatchNorm2d) for p in m.parameters())
    assert frozen_bn == 53120 and _n(official) - frozen_bn == 38580602
    assert _n(NASFCOSDecoder(PUBLISHED_GENOTYPE, upsample_mode='bilinear')) == 10690696


def test_mobilenetv2_detector_has_the_papers_16_1m():
    """Official Mobile_NAS_head (16,075,194 derived from the official code; paper 16.1M): the
    official MobileNetV2 ends at the 320-channel block; mmdet's always adds a 1x1 conv to 1280
    channels (`conv2`) that out_indices (1, 2, 4, 6) never return."""
    torch.set_num_threads(1)
    model = _build(OURS_MBV2, adapt_unused_inputs=True)
    assert model.backbone.out_indices == (1, 2, 4, 6)
    conv2 = _n(model.backbone.conv2)
    assert conv2 == 320 * 1280 + 2 * 1280
    assert _n(model) - conv2 == 16075194
    assert _n(model.neck) == 10756744 - (256 + 512 + 1024 + 2048 - 24 - 32 - 96 - 320) * 256
    shipped = _build(OURS_MBV2)  # the retrain config: no dead C2 adapter
    assert _n(shipped) == 16075194 - (24 * 256 + 2 * 256) + conv2 == 16480698


def test_what_mmengine_counts_of_deformable_convs():
    """Parameters: all of them. FLOPs: the offset/mask conv (a plain Conv2d) only; the
    modulated deformable conv itself (mmcv's autograd Function) is an unsupported op, 0."""
    torch.set_num_threads(1)
    neck = NASFCOSDecoder(PUBLISHED_GENOTYPE, in_channels=[8, 16, 32, 64], out_channels=32).eval()
    xs = [torch.randn(1, c, 64 // s, 64 // s) for c, s in zip((8, 16, 32, 64), (4, 8, 16, 32))]
    info = get_model_complexity_info(neck, inputs=(xs, ), show_table=False, show_arch=False)
    assert info['params'] == _n(neck)
    op = DeformConvNormAct(32, 32, dict(type='BN')).eval()
    flops = FlopAnalyzer(op, (torch.randn(1, 32, 8, 8), )).by_module()
    offset_macs = 32 * 54 * 9 * 8 * 8
    assert flops['conv.conv_offset'] == offset_macs
    assert flops['conv'] == offset_macs  # + 0 for the 32 * 32 * 9 * 8 * 8 deformable MACs
