"""Fidelity: (a) mmdet's conventions reproduce mmdet's NASFPN model exactly (params, outputs
with copied weights); (b) the paper/TPU form matches the TPU zoo's R-50 NAS-FPN 7@256 at 640
(60.3M params within 2%, 140.6B FLOPs within 5%; mmengine, whole detector)."""
import os.path as osp

import mmdet
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.nas_fpn.nas_fpn import convert_mmdet_nasfpn_state_dict
from projects.nas_fpn.nas_fpn.complexity import detector_complexity

MMDET_CFG = osp.join(
    osp.dirname(mmdet.__file__), '.mim', 'configs', 'nas_fpn',
    'retinanet_r50_nasfpn_crop640-50e_coco.py')
OURS_1GPU = 'projects/nas_fpn/configs/retinanet_r50_nasfpn-7x256_1xb8-crop640-50e_coco.py'
OURS_8GPU = 'projects/nas_fpn/configs/retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py'
PAPER = 'projects/nas_fpn/configs/retinanet_r50-scratch_nasfpn-tpu-7x256_8xb32-350e_coco-640.py'


def _n(model):
    return sum(p.numel() for p in model.parameters())


def test_mmdet_conventions_equal_mmdet_nasfpn():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    init_default_scope('mmdet')
    ref = MODELS.build(Config.fromfile(MMDET_CFG).model)
    ours = MODELS.build(Config.fromfile(OURS_1GPU).model)
    assert _n(ours) == _n(ref) == 59979828
    assert _n(MODELS.build(Config.fromfile(OURS_8GPU).model)) == _n(ref)  # SyncBN form
    ref.neck.init_weights()
    for m in ref.modules():  # non-trivial BN statistics so that the check means something
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    sd = convert_mmdet_nasfpn_state_dict(ref.state_dict())
    sd['neck._extra_state'] = ours.neck.get_extra_state()  # mmdet's weights: the published cell
    ours.load_state_dict(sd, strict=True)
    ref.eval()
    ours.eval()
    x = torch.randn(1, 3, 128, 128)
    with torch.no_grad():
        feats = ref.backbone(x)
        a, b = ref.neck(feats), ours.neck(feats)
        assert len(a) == len(b) == 5
        for u, v in zip(a, b):
            assert u.shape == v.shape
            assert torch.allclose(u, v, atol=1e-5, rtol=1e-5)
        cls_a, box_a = ref.bbox_head(a)
        cls_b, box_b = ours.bbox_head(b)
        for u, v in zip(cls_a + box_a, cls_b + box_b):
            assert torch.allclose(u, v, atol=1e-5, rtol=1e-5)


def test_paper_form_params_and_flops_match_tpu_zoo():
    torch.set_num_threads(1)
    params, flops = detector_complexity(PAPER, (640, 640))
    # tensorflow/tpu MODEL_ZOO.md: R50-NAS-FPN 640x640: 60.3M params, 140.6B FLOPs
    assert abs(params - 60.3) / 60.3 < 0.02, params
    assert abs(flops - 140.6) / 140.6 < 0.05, flops


def test_mmdet_form_keeps_the_lateral_where_a_width_equals_the_neck():
    """mmdet's NASFPN builds a 1x1 lateral on every backbone level, also where the width
    already equals out_channels (C4 = 32 here); the mmdet form does too (same params, identical
    outputs after the weight copy), while the TPU form keeps the identity there (TPU
    resample_feature_map: 1x1 conv only if feat_dims != target_feat_dims)."""
    from mmdet.models.necks import NASFPN

    from projects.nas_fpn.nas_fpn import GenotypeNASFPN
    torch.set_num_threads(1)
    torch.manual_seed(0)
    chans, width, norm = [16, 32, 64], 32, dict(type='BN', requires_grad=True)
    ref = NASFPN(chans, width, num_outs=5, stack_times=2, norm_cfg=norm)
    ours = GenotypeNASFPN(
        chans, width, 'projects/nas_fpn/genotypes/nasfpn_7cell.yaml', stack_times=2, norm_cfg=norm)
    assert [type(m).__name__ for m in ours.lateral_convs] == ['ConvModule'] * 3
    assert _n(ours) == _n(ref)
    tpu = GenotypeNASFPN(
        chans,
        width,
        'projects/nas_fpn/genotypes/nasfpn_7cell.yaml',
        stack_times=2,
        norm_cfg=norm,
        lateral_bias=True,
        lateral_conv='if_width_differs',
        extra_level_conv=False)
    assert isinstance(tpu.lateral_convs[1], torch.nn.Identity)
    ref.init_weights()
    for m in ref.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.1, 0.1)
    sd = convert_mmdet_nasfpn_state_dict(ref.state_dict())
    sd['_extra_state'] = ours.get_extra_state()
    ours.load_state_dict(sd, strict=True)
    ref.eval()
    ours.eval()
    feats = [torch.randn(1, c, 64 // 2**i, 64 // 2**i) for i, c in enumerate(chans)]
    with torch.no_grad():
        a, b = ref(feats), ours(feats)
    assert len(a) == len(b) == 5
    for u, v in zip(a, b):
        assert u.shape == v.shape
        assert torch.allclose(u, v, atol=1e-5, rtol=1e-5)
