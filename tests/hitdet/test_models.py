"""Hit-Detector modules: the backbone, neck and RoI head wiring of the official code, the
``make_block``/``forward_block`` hooks the search's supernet builds on, and the fixed modules
built from the released genotype."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from projects.hitdet.hitdet import (OPS, RELEASED_GENOTYPE, HitDetBackbone, HitDetBackboneBase,
                                    HitDetBBoxHead, HitDetBBoxHeadBase, HitDetNeck, HitDetNeckBase,
                                    Position, load_genotype)

NORM = dict(type='BN')


def test_released_backbone_layers_and_outputs():
    torch.set_num_threads(1)
    bb = HitDetBackbone(RELEASED_GENOTYPE, norm_cfg=NORM).eval()
    assert len(bb.layers) == 23 and bb.out_channels == [48, 96, 256, 2048]
    stem = bb.layers[0].conv
    assert (stem.out_channels, stem.stride, stem.kernel_size) == (16, (2, 2), (3, 3))
    assert stem.bias is not None  # fbnet.py:39-40
    assert bb.layer_channels == (
        16, ) + (48, ) * 4 + (96, ) * 4 + (184, ) * 4 + (256, ) * 4 + (352, ) * 4 + (1024, 2048)
    strides = [p.stride for p in bb.positions]
    assert strides == [2, 1, 1, 1] * 3 + [1, 1, 1, 1] + [2, 1, 1, 1]  # fbnet_arch.py:42-49
    tail_ir, tail_conv = bb.layers[21], bb.layers[22]
    assert tail_ir.conv3.conv.out_channels == 1024 and tail_ir.conv1.conv.out_channels == 352 * 3
    assert tail_conv.conv.kernel_size == (1, 1) and tail_conv.conv.bias is None
    assert isinstance(tail_conv.relu, nn.ReLU)
    # dilation 2 where the genotype says r2 (position 2 = ir_k3_e3_r2)
    assert bb.layers[3].conv2.conv.dilation == (2, 2) and bb.layers[1].conv2.conv.dilation == (1, 1)
    with torch.no_grad():
        outs = bb(torch.zeros(1, 3, 64, 96))
    assert [tuple(o.shape) for o in outs] == [(1, 48, 16, 24), (1, 96, 8, 12), (1, 256, 4, 6),
                                              (1, 2048, 2, 3)]


def test_widen_factor_scales_every_width():
    bb = HitDetBackbone(RELEASED_GENOTYPE, widen_factor=0.25, norm_cfg=NORM)
    assert bb.layer_channels[0] == 8 and bb.out_channels == [16, 24, 64, 512]
    assert sorted(set(p.out_channels for p in bb.positions)) == [16, 24, 48, 64, 88]


def _official_neck(neck, inputs):
    """search_pafpn.py:102-146 written out with the neck's own cells and pa convs."""
    lat = [neck.cells[i](x) for i, x in enumerate(inputs)]
    for i in range(3, 0, -1):
        lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2, mode='nearest')
    mid = [neck.cells[4 + i](x) for i, x in enumerate(lat)]
    outs = [mid[0]]
    for i in range(3):
        outs.append(neck.pa_convs[i](F.max_pool2d(outs[i], 2, stride=2) + mid[i + 1]))
    outs.append(F.max_pool2d(outs[-1], 1, stride=2))
    return outs


def test_neck_wiring_is_the_official_one():
    torch.manual_seed(0)
    neck = HitDetNeck(
        RELEASED_GENOTYPE, in_channels=[8, 12, 16, 24], out_channels=16, norm_cfg=NORM)
    neck.init_weights()
    neck.eval()
    assert [type(c).__name__ for c in neck.cells] == ['SepBlock'] * 8
    assert neck.cells[2].conv1.conv.dilation == (2, 2) and neck.cells[0].conv1.conv.dilation == (3,
                                                                                                 3)
    assert [c.bias is not None for c in neck.pa_convs] == [True] * 3
    assert all(c.bias.abs().sum() == 0 for c in neck.pa_convs)  # Xavier init, zero bias
    inputs = [torch.randn(2, c, 32 // 2**i, 48 // 2**i) for i, c in enumerate([8, 12, 16, 24])]
    with torch.no_grad():
        outs = neck(inputs)
        ref = _official_neck(neck, inputs)
    assert [tuple(o.shape) for o in outs] == [(2, 16, 32, 48), (2, 16, 16, 24), (2, 16, 8, 12),
                                              (2, 16, 4, 6), (2, 16, 2, 3)]
    for a, b in zip(outs, ref):
        assert torch.equal(a, b)
    with pytest.raises(ValueError, match='multiple of 32'):
        neck([torch.randn(1, c, 30 // 2**i, 30 // 2**i) for i, c in enumerate([8, 12, 16, 24])])


def test_released_neck_parameters():
    neck = HitDetNeck(RELEASED_GENOTYPE)
    assert sum(p.numel() for p in neck.parameters()) == 2715952
    assert [c.use_residual for c in neck.cells] == [False, False, True, False] + [True] * 4


def test_bbox_head_runs_blocks_then_one_fc():
    torch.manual_seed(0)
    head = HitDetBBoxHead(
        RELEASED_GENOTYPE, in_channels=16, fc_out_channels=32, num_classes=3, norm_cfg=NORM)
    head.init_weights()
    head.eval()
    assert [type(c).__name__ for c in head.cells] == ['MBBlock'] * 4
    assert [c.conv2.conv.kernel_size[0] for c in head.cells] == [5, 3, 5, 5]
    assert head.shared_fcs[0].in_features == 16 * 49 and len(head.shared_fcs) == 1
    assert (head.fc_cls.out_features, head.fc_reg.out_features) == (4, 12)
    x = torch.randn(5, 16, 7, 7)
    with torch.no_grad():
        cls, reg = head(x)
        y = x
        for c in head.cells:
            y = c(y)
        ref = head.fc_cls(head.relu(head.shared_fcs[0](y.flatten(1))))
    assert cls.shape == (5, 4) and reg.shape == (5, 12) and torch.allclose(cls, ref)


class _Recorder(nn.Module):

    def __init__(self, spec):
        super().__init__()
        self.spec = spec
        self.op = OPS['ir_k3_d1_e1'](spec.in_channels, spec.out_channels, spec.stride,
                                     dict(type='BN'))

    def forward(self, x, weight=None):
        assert x.shape[1] == self.spec.in_channels
        return self.op(x) * (1 if weight is None else weight)


def _hooked(base):

    class Hooked(base):

        def __init__(self, **kwargs):
            self.made, self.ran = [], []  # plain values, set before the base builds the blocks
            super().__init__(**kwargs)

        def make_block(self, position, spec):
            self.made.append((position, spec))
            return _Recorder(spec)

        def forward_block(self, position, block, x):
            self.ran.append(position)
            return block(x, weight=2.0)

    return Hooked


def test_make_block_and_forward_block_hooks():
    """The contract the search's supernet relies on: one make_block call per position, in order,
    with a Position spec; forward calls forward_block for every position, in order."""
    bb = _hooked(HitDetBackboneBase)(widen_factor=0.25, norm_cfg=NORM).eval()
    assert [p for p, _ in bb.made] == list(range(20))
    assert all(isinstance(s, Position) and s.component == 'backbone' for _, s in bb.made)
    assert bb.made[0][1][3:6] == (8, 16, 2) and bb.made[12][1].name == 'g256.0'
    with torch.no_grad():
        feats = bb(torch.zeros(1, 3, 64, 64))
    assert bb.ran == list(range(20))
    neck = _hooked(HitDetNeckBase)(
        in_channels=[f.shape[1] for f in feats], out_channels=8, norm_cfg=NORM).eval()
    assert [(s.name, s.in_channels, s.out_channels)
            for _, s in neck.made] == [('lateral.C2', 16, 8), ('lateral.C3', 24, 8),
                                       ('lateral.C4', 64, 8), ('lateral.C5', 512, 8),
                                       ('post.P2', 8, 8), ('post.P3', 8, 8), ('post.P4', 8, 8),
                                       ('post.P5', 8, 8)]
    with torch.no_grad():
        neck(feats)
    assert neck.ran == list(range(8))
    head = _hooked(HitDetBBoxHeadBase)(in_channels=8, fc_out_channels=16, num_classes=2).eval()
    assert [(s.name, s.in_channels, s.stride, s.nominal_size)
            for _, s in head.made] == [(f'block{i}', 8, 1, 7) for i in range(4)]
    with torch.no_grad():
        head(torch.zeros(3, 8, 7, 7))
    assert head.ran == [0, 1, 2, 3]
    with pytest.raises(NotImplementedError, match='make_block'):
        HitDetNeckBase()


def test_modules_record_their_ops():
    g = load_genotype(RELEASED_GENOTYPE)
    head = HitDetBBoxHead(g, in_channels=8, fc_out_channels=16, num_classes=2)
    assert head.ops == g.head
    with pytest.raises(ValueError, match='num_shared_convs is not part'):
        HitDetBBoxHead(g, in_channels=8, num_shared_convs=2)
