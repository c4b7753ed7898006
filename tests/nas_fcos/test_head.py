"""NASFCOSGenotypeHead: ops with GN where the official code puts it, share levels, separate
towers, centerness on the classification tower, FCOS losses."""
import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from projects.nas_fcos.nas_fcos import (HEAD_OPS, PUBLISHED_GENOTYPE, NASFCOSGenotypeHead,
                                        genotype_to_dict, load_genotype)
from projects.nas_fcos.nas_fcos.ops import ConvNormAct, DeformConvNormAct, SepConv

torch.set_num_threads(1)
STRIDES = [8, 16, 32, 64, 128]
C = 32


def _n(module):
    return sum(p.numel() for p in module.parameters())


def _genotype(head, share_level):
    data = genotype_to_dict(load_genotype(PUBLISHED_GENOTYPE))
    return dict(data, head=list(head), share_level=share_level)


def _head(head=(5, 1, 5, 0, 4, 4), share_level=0, **kw):
    kw.setdefault('norm_cfg', dict(type='GN', num_groups=8, requires_grad=True))
    kw.setdefault(
        'test_cfg',
        ConfigDict(
            nms_pre=1000, score_thr=0.0, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100))
    return NASFCOSGenotypeHead(
        _genotype(head, share_level),
        num_classes=3,
        in_channels=C,
        feat_channels=C,
        strides=STRIDES,
        **kw)


def _feats(batch=1, size=32):
    return [torch.randn(batch, C, size // 2**i, size // 2**i) for i in range(5)]


def _towers(head):
    return [head.cls_split, head.cls_shared, head.reg_split, head.reg_shared]


def test_published_head_matches_mmdet_param_count_and_op_types():
    head = NASFCOSGenotypeHead(
        PUBLISHED_GENOTYPE, num_classes=80, in_channels=256, feat_channels=256, strides=STRIDES)
    assert _n(head) == 4368946  # mmdet 3.3.0 NASFCOSHead, same towers and predictors
    kinds = [type(m).__name__ for m in head.cls_shared]
    assert kinds == [
        'DeformConvNormAct', 'ConvNormAct', 'DeformConvNormAct', 'ConvNormAct', 'Identity',
        'Identity'
    ]
    dcn, conv3, _, conv1 = list(head.cls_shared)[:4]
    # layer_factory.py:37-51: DCN with bias, plain convs without, GN(32) after each
    assert dcn.conv.bias is not None and dcn.conv.deform_groups == 2
    assert conv3.conv.bias is None and conv3.conv.kernel_size == (3, 3)
    assert conv1.conv.bias is None and conv1.conv.kernel_size == (1, 1)
    assert all(
        isinstance(m.norm, torch.nn.GroupNorm) and m.norm.num_groups == 32
        for m in (dcn, conv3, conv1))


@pytest.mark.parametrize('share_level', range(7))
def test_share_level_copies_layers_below_it(share_level):
    head = _head(share_level=share_level)
    base = _head(share_level=0)
    one_copy = _n(base.cls_shared) + _n(base.reg_shared)
    per_layer = [_n(m) for m in base.cls_shared]
    split = 2 * sum(per_layer[:share_level])
    shared = 2 * sum(per_layer[share_level:])
    assert _n(head.cls_split) + _n(head.reg_split) == 5 * split
    assert _n(head.cls_shared) + _n(head.reg_shared) == shared
    towers = sum(_n(t) for t in _towers(head))
    assert towers == 5 * split + shared
    if share_level == 0:
        assert towers == one_copy
    if share_level == 6:
        assert towers == 5 * one_copy
    assert all(len(level) == share_level for level in head.cls_split)
    assert len(head.cls_shared) == 6 - share_level


def test_per_level_layers_start_as_copies_and_are_used_by_their_level():
    torch.manual_seed(0)
    head = _head(head=(1, 0, 2, 3, 5, 4), share_level=6).eval()
    # micro_heads.py:72-76: deep copies of one freshly built layer
    w = [level[0].conv.weight for level in head.cls_split]
    assert all(torch.equal(w[0], v) for v in w[1:]) and w[0] is not w[1]
    feats = _feats()
    with torch.no_grad():
        before = head(feats)
        head.cls_split[2][0].conv.weight.add_(0.5)  # level 2 (stride 32) only
        after = head(feats)
    changed = [not torch.allclose(a, b) for a, b in zip(before[0], after[0])]
    assert changed == [False, False, True, False, False]


def test_towers_are_separate_and_centerness_reads_the_cls_tower():
    torch.manual_seed(0)
    head = _head().eval()
    assert all(a is not b for a, b in zip(head.cls_shared, head.reg_shared))
    feats = _feats()
    with torch.no_grad():
        cls0, box0, ctr0 = head(feats)
        head.reg_shared[1].conv.weight.add_(torch.randn_like(head.reg_shared[1].conv.weight))
        cls1, box1, ctr1 = head(feats)
    assert all(torch.equal(a, b) for a, b in zip(cls0 + ctr0, cls1 + ctr1))
    assert not any(torch.allclose(a, b) for a, b in zip(box0, box1))
    assert all((b > 0).all() for b in box0)  # exp(scale * reg), norm_reg_targets False


def test_every_head_op_builds_with_its_norm():
    head = _head(head=(0, 1, 2, 3, 4, 5), share_level=3)
    layers = list(head.cls_split[0]) + list(head.cls_shared)
    assert [type(m) for m in layers
            ] == [ConvNormAct, ConvNormAct, SepConv, SepConv, torch.nn.Identity, DeformConvNormAct]
    assert layers[3].depthwise.dilation == (3, 3) and layers[3].depthwise.bias is None
    cls, box, ctr = head(_feats(batch=2))
    assert [tuple(t.shape) for t in cls] == [(2, 3, 32 // 2**i, 32 // 2**i) for i in range(5)]
    assert [t.shape[1] for t in box] == [4] * 5 and [t.shape[1] for t in ctr] == [1] * 5


def test_init_zero_offsets_and_prior_bias():
    head = _head()
    head.init_weights()
    offs = [m.conv.conv_offset for m in head.modules() if isinstance(m, DeformConvNormAct)]
    assert len(offs) == 4 and all(o.weight.abs().sum() == 0 for o in offs)
    # micro_heads.py:98-108: N(0, 0.01), cls bias -log((1 - 0.01) / 0.01)
    assert torch.allclose(head.conv_cls.bias, torch.full((3, ), -4.59512), atol=1e-4)
    assert head.conv_reg.weight.std() < 0.02 and head.conv_reg.bias.abs().sum() == 0


def test_loss_and_predict_run():
    torch.manual_seed(0)
    head = _head()
    feats = _feats(batch=1, size=32)
    meta = dict(img_shape=(256, 256), pad_shape=(256, 256), scale_factor=(1.0, 1.0))
    gt = InstanceData(bboxes=torch.tensor([[20., 30., 120., 150.]]), labels=torch.tensor([1]))
    losses = head.loss_by_feat(*head(feats), [gt], [meta])
    assert set(losses) == {'loss_cls', 'loss_bbox', 'loss_centerness'}
    sum(losses.values()).backward()
    head.eval()
    sample = DetDataSample(metainfo=meta)
    with torch.no_grad():
        res = head.predict(feats, [sample])
    assert len(res) == 1 and res[0].bboxes.shape[-1] == 4


def test_refuses_decoder_only_genotypes_and_channel_mismatch():
    data = genotype_to_dict(load_genotype(PUBLISHED_GENOTYPE))
    with pytest.raises(ValueError, match='decoder-only'):
        NASFCOSGenotypeHead(dict(decoder=data['decoder']), num_classes=3, in_channels=C)
    # a leading skip passes in_channels on; the first conv maps them to feat_channels
    head = NASFCOSGenotypeHead(
        _genotype((4, 0, 4, 4, 4, 4), 0),
        num_classes=3,
        in_channels=C,
        feat_channels=2 * C,
        norm_cfg=dict(type='GN', num_groups=8))
    assert head.cls_shared[1].conv.weight.shape[:2] == (2 * C, C)
    with pytest.raises(ValueError, match='all skip_connect'):
        NASFCOSGenotypeHead(
            _genotype([HEAD_OPS.index('skip_connect')] * 6, 0),
            num_classes=3,
            in_channels=C,
            feat_channels=2 * C)
