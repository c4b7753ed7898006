"""Hit-Detector ops and sub-spaces: the 32-op pool, the official block definitions behind one
uniform constructor, the paper's and the code's sub-space lists, and every released op."""
import pytest
import torch
import torch.nn as nn

from projects.hitdet.hitdet import (ALIASES, CODE_ONLY_OPS, NOT_ALIASED, OP_POOL, OPS,
                                    PAPER_BACKBONE_AS_PRINTED, RELEASED_GENOTYPE, RELEASED_SUBSPACE,
                                    SUBSPACES, ConvBlock, MBBlock, SepBlock, build_op,
                                    canonical_op_name, load_genotype, parse_op_name, subspace)

# The official names of the released network (ggjy/HitDet.pytorch @38aee61):
# fbnet_arch.py:36-40 (searched backbone), hit_neck_search.py:10-19 + 2stage_hitdet.py:24 (neck),
# 2stage_hitdet.py:49 (head).
OFFICIAL_BACKBONE = [
    'ir_k3_e3', 'ir_k3_e3', 'ir_k3_e3_r2', 'ir_k3_e3', 'ir_k5_e6', 'ir_k5_e6', 'ir_k3_e3',
    'ir_k3_e3', 'ir_k7_e6', 'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k5_e3', 'ir_k5_e6', 'ir_k5_e6_r2',
    'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k7_e6', 'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k5_e6'
]
NECK_PRIMITIVES = [
    'conv_1x1', 'ir_k3_e6_d3', 'ir_k5_e6', 'ir_k5_e6_d3', 'sd_k3_d1', 'sd_k3_d3', 'sd_k5_d2',
    'sd_k5_d3'
]
OFFICIAL_NECK = [NECK_PRIMITIVES[i] for i in [7, 7, 6, 5, 5, 7, 7, 5]]
HEAD_PRIMITIVES = ['ir_k3_e3', 'ir_k3_e6', 'ir_k3_e6_r2', 'ir_k5_e3', 'ir_k5_e6', 'ir_k7_e6']
OFFICIAL_HEAD = ['ir_k5_e6', 'ir_k3_e6', 'ir_k5_e6', 'ir_k5_e6']


def test_pool_has_the_papers_32_ops():
    assert len(OP_POOL) == len(set(OP_POOL)) == 32
    kinds = [parse_op_name(n) for n in OP_POOL]
    ir = {(k, d, e) for kind, k, d, e in kinds if kind == 'ir'}
    assert ir == {(k, d, e)
                  for k in (3, 5)
                  for d in (1, 2, 3)
                  for e in (1, 3, 6)} | {(7, 1, 1), (7, 1, 6)}
    for kind in ('sep', 'conv'):
        assert {(k, d)
                for kd, k, d, _ in kinds if kd == kind} == {(k, d)
                                                            for k in (3, 5)
                                                            for d in (1, 2, 3)}
    assert set(OPS) == set(OP_POOL) | set(CODE_ONLY_OPS) and CODE_ONLY_OPS == ('conv_k1_d1', )


def test_subspaces_paper_and_code():
    for component in ('backbone', 'neck', 'head'):
        paper = subspace(component, 'paper')
        assert len(paper) == len(set(paper)) == 8 and set(paper) <= set(OP_POOL)
    # App. 6.2 prints ir_k5_d1_e3 twice; the duplicate is resolved as ir_k5_d1_e6
    assert PAPER_BACKBONE_AS_PRINTED.count('ir_k5_d1_e3') == 2
    assert [a for a, b in zip(PAPER_BACKBONE_AS_PRINTED, SUBSPACES['backbone']['paper'])
            if a != b] == ['ir_k5_d1_e3']
    assert set(SUBSPACES['backbone']['paper']) - set(PAPER_BACKBONE_AS_PRINTED) == {'ir_k5_d1_e6'}
    assert SUBSPACES['backbone']['code'] is None
    with pytest.raises(KeyError, match='no backbone sub-space'):
        subspace('backbone', 'code')
    # the code's lists, official order (the released neck genotype indexes it)
    assert SUBSPACES['neck']['code'] == tuple(canonical_op_name(n) for n in NECK_PRIMITIVES)
    assert len(SUBSPACES['neck']['code']) == 8
    head_code = SUBSPACES['head']['code']
    assert head_code == tuple(canonical_op_name(n) for n in HEAD_PRIMITIVES) and len(head_code) == 6
    assert set(SUBSPACES['head']['paper']) - set(head_code) == {'conv_k3_d1', 'conv_k5_d1'}
    # code vs paper neck: only the four sep ops are shared
    shared = set(SUBSPACES['neck']['paper']) & set(SUBSPACES['neck']['code'])
    assert shared == {'sep_k3_d1', 'sep_k3_d3', 'sep_k5_d2', 'sep_k5_d3'}


def test_every_released_op_is_expressible():
    released = load_genotype(RELEASED_GENOTYPE)
    official = dict(backbone=OFFICIAL_BACKBONE, neck=OFFICIAL_NECK, head=OFFICIAL_HEAD)
    for component, names in official.items():
        canon = [canonical_op_name(n) for n in names]
        assert tuple(canon) == getattr(released, component)
        assert set(canon) <= set(OP_POOL)
        assert set(canon) <= set(SUBSPACES[component][RELEASED_SUBSPACE[component]])
        assert set(canon) <= set(SUBSPACES[component]['paper'])  # in both lists
    # fixed tail of the backbone: ir_k3_e3 (fbnet_arch.py:41)
    assert canonical_op_name('ir_k3_e3') == 'ir_k3_d1_e3'


def test_aliases_and_refused_names():
    assert all(v in OPS for v in ALIASES.values())
    assert canonical_op_name('sd_k5_d3') == 'sep_k5_d3'
    assert canonical_op_name('ir_k5_e6_r2') == canonical_op_name('ir_k5_e6_d2') == 'ir_k5_d2_e6'
    assert canonical_op_name('ir_k3_e6_d3') == 'ir_k3_d3_e6'
    assert canonical_op_name('conv_1x1') == 'conv_k1_d1'
    # the official MBBlock's 7th argument is the dilation: 's2' ops are dilated, expansion 1
    assert canonical_op_name('ir_k3_s2') == canonical_op_name('ir_k3_e1_d2') == 'ir_k3_d2_e1'
    assert canonical_op_name('ir_k5_s2') == 'ir_k5_d2_e1'
    for name, why in NOT_ALIASED.items():
        assert name not in ALIASES
        with pytest.raises(KeyError, match='not a Hit-Detector op'):
            canonical_op_name(name)


def _count(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize('name', sorted(OPS))
def test_uniform_constructor_shapes(name):
    torch.manual_seed(0)
    x = torch.randn(2, 8, 9, 11)
    norm = dict(type='BN')
    for cin, cout, stride in ((8, 8, 1), (8, 12, 2)):
        op = OPS[name](cin, cout, stride, norm).eval()
        y = op(x[:, :cin])
        assert y.shape == (2, cout, -(-9 // stride), -(-11 // stride)), name
    assert type(build_op(name, 8, 8, 1)) is type(op)


def test_mbblock_is_the_official_block():
    """fbnet_blocks.py:127-155: 1x1 -> BN -> ReLU, kxk dw (dilation) -> BN -> ReLU, 1x1 -> BN,
    residual iff in == out and stride 1; no biases; expansion relative to in_channels."""
    op = OPS['ir_k5_d2_e6'](16, 16, 1, dict(type='BN')).eval()
    assert isinstance(op, MBBlock) and op.use_residual
    c1, c2, c3 = op.conv1, op.conv2, op.conv3
    assert (c1.conv.in_channels, c1.conv.out_channels, c1.conv.kernel_size) == (16, 96, (1, 1))
    assert (c2.conv.groups, c2.conv.kernel_size, c2.conv.dilation,
            c2.conv.padding) == (96, (5, 5), (2, 2), (4, 4))
    assert all(c.conv.bias is None for c in (c1, c2, c3))
    assert isinstance(c1.relu, nn.ReLU) and isinstance(c2.relu, nn.ReLU)
    assert isinstance(c3.relu, nn.Identity)
    x = torch.randn(1, 16, 7, 7)
    assert torch.allclose(op(x), c3(c2(c1(x))) + x)
    # e = 1 still has the first 1x1 conv (fbnet_blocks.py:135); stride 2 -> no residual
    op = OPS['ir_k3_d1_e1'](16, 16, 2, dict(type='BN'))
    assert not op.use_residual and op.conv1.conv.out_channels == 16
    # parameters: 1x1 + dw + 1x1 weights and 3 BNs
    op = OPS['ir_k7_d1_e6'](48, 96, 2, dict(type='BN'))
    mid = 48 * 6
    assert _count(op) == 48 * mid + 2 * mid + mid * 49 + 2 * mid + mid * 96 + 2 * 96


def test_sep_and_conv_blocks_are_the_official_ones():
    """hit_ops.py:155-186: SepBlock = dw kxk (dilation) -> BN -> ReLU, 1x1 -> BN (+ x when the
    shapes match); ConvBlock = kxk conv with bias -> BN, no activation, no residual."""
    sep = OPS['sep_k3_d3'](32, 32, 1, dict(type='BN')).eval()
    assert isinstance(sep, SepBlock) and sep.use_residual
    assert sep.conv1.conv.groups == 32 and sep.conv1.conv.dilation == (3, 3)
    x = torch.randn(1, 32, 6, 6)
    assert torch.allclose(sep(x), sep.conv2(sep.conv1(x)) + x)
    sep = OPS['sep_k5_d3'](48, 256, 1, dict(type='BN'))
    assert not sep.use_residual and _count(sep) == 48 * 25 + 96 + 48 * 256 + 512
    conv = OPS['conv_k5_d2'](8, 8, 1, dict(type='BN')).eval()
    assert isinstance(conv, ConvBlock) and conv.conv.conv.bias is not None
    assert isinstance(conv.conv.relu, nn.Identity)
    assert conv.conv.conv.padding == (4, 4)
    y = conv(torch.randn(2, 8, 9, 9))
    assert (y < 0).any()  # no activation
    assert _count(conv) == 8 * 8 * 25 + 8 + 16
