"""NASFCOSDecoder: any valid genotype builds and runs, the official output rule, both forms,
the published decoder's parameters piece by piece, DCN offsets, errors before any layer."""
import random
from unittest import mock

import pytest
import torch
import torch.nn.functional as F

from projects.nas_fcos.nas_fcos import (AGG_OPS, FPN_OPS, PUBLISHED_GENOTYPE, GenotypeError,
                                        NASFCOSDecoder, collected_nodes, load_genotype)
from projects.nas_fcos.nas_fcos.ops import ConcatReduce, DeformConvNormAct, ParamSum, SepConv

torch.set_num_threads(1)
CH = [4, 8, 8, 16]  # tiny C2..C5


def _inputs(h=64, w=48, chans=CH, batch=1):
    return [torch.randn(batch, c, -(-h // s), -(-w // s)) for c, s in zip(chans, (4, 8, 16, 32))]


def _n(module):
    return sum(p.numel() for p in module.parameters())


def _random_genotype(rng):
    """A random valid decoder genotype (the same space as the official controller's)."""
    while True:
        cells = [[
            rng.randrange(4 + k),
            rng.randrange(4 + k),
            rng.randrange(len(FPN_OPS)),
            rng.randrange(len(FPN_OPS)),
            rng.randrange(len(AGG_OPS))
        ] for k in range(7)]
        if len(collected_nodes(cells)) >= 3:
            return dict(decoder=cells)


def _reference_forward(neck, inputs):
    """The official MicroDecoder_v2.forward (micro_decoders.py:96-130), written out again with
    the official bookkeeping of _collect_inds over the neck's own layers."""
    feats = [
        neck.adapters[f'c{i + 2}'](x) if f'c{i + 2}' in neck.adapters else None
        for i, x in enumerate(inputs)
    ]
    collect = []
    for ind, (cell, layer) in enumerate(zip(neck.genotype.decoder, neck.cells)):
        for pos in (cell.in1, cell.in2):
            if pos in collect:
                collect.remove(pos)
        feats.append(layer.agg(layer.op1(feats[cell.in1]), layer.op2(feats[cell.in2])))
        collect.append(3 + (ind + 1))
    results = []
    for block_idx, i in enumerate(collect[-3:]):
        mid = feats[i]
        for j in collect[:-3]:
            mid = mid + F.interpolate(feats[j], size=mid.shape[2:], mode='bilinear')
        results.insert(0, F.interpolate(mid, size=inputs[3 - block_idx].shape[2:], mode='bilinear'))
    p6 = neck.extra_convs[0](results[-1])
    return results + [p6, neck.extra_convs[1](F.relu(p6))]


@pytest.mark.parametrize('mode', ['bilinear', 'nearest'])
def test_published_forward_shapes(mode):
    neck = NASFCOSDecoder(PUBLISHED_GENOTYPE, in_channels=CH, out_channels=16, upsample_mode=mode)
    outs = neck(_inputs(100, 76, batch=2))
    # P3..P5 take the sizes of C3..C5; P6/P7 halve with padding 1
    assert [tuple(o.shape) for o in outs] == [(2, 16, 13, 10), (2, 16, 7, 5), (2, 16, 4, 3),
                                              (2, 16, 2, 2), (2, 16, 1, 1)]


@pytest.mark.parametrize('seed', range(6))
def test_random_genotypes_build_and_match_the_official_forward(seed):
    rng = random.Random(seed)
    genotype = _random_genotype(rng)
    torch.manual_seed(seed)
    neck = NASFCOSDecoder(genotype, in_channels=CH, out_channels=8).eval()
    for m in neck.modules():  # non-zero offsets and psum weights: the check means something
        if isinstance(m, DeformConvNormAct):
            m.conv.conv_offset.weight.data.normal_(0, 0.1)
        if isinstance(m, ParamSum):
            m.a.data.uniform_(0.5, 1.5)
    x = _inputs(64, 96)
    with torch.no_grad():
        outs, ref = neck(x), _reference_forward(neck, x)
    assert len(outs) == 5
    for u, v in zip(outs, ref):
        assert torch.equal(u, v)


def test_output_rule_adds_every_other_collected_node():
    """Four collected nodes: the first one is added to P5, P4 and P3 (micro_decoders.py:114-126);
    with all-skip cells and psum at unit weights everything is a sum of adapted inputs."""
    genotype = dict(decoder=[[3, 3, 3, 3, 0], [2, 2, 3, 3, 0], [1, 1, 3, 3, 0], [4, 5, 3, 3, 0],
                             [0, 6, 3, 3, 0], [3, 2, 3, 3, 0], [1, 3, 3, 3, 0]])
    neck = NASFCOSDecoder(genotype, in_channels=CH, out_channels=8).eval()
    assert neck.collected == [7, 8, 9, 10]
    assert sorted(neck.adapters) == ['c2', 'c3', 'c4', 'c5']
    x = _inputs(64, 64)
    with torch.no_grad():
        a = {i: neck.adapters[f'c{i + 2}'](x[i]) for i in range(4)}
        outs = neck(x)

    def up(t, ref):
        return F.interpolate(t, size=ref.shape[-2:], mode='bilinear', align_corners=False)

    n4, n5, n6 = 2 * a[3], 2 * a[2], 2 * a[1]
    n7 = up(n4, n5) + n5
    n8 = a[0] + up(n6, a[0])
    n9 = up(a[3], a[2]) + a[2]
    n10 = a[1] + up(a[3], a[1])
    p5 = up(n8 + up(n7, n8), x[3])
    p4 = up(n9 + up(n7, n9), x[2])
    p3 = up(n10 + up(n7, n10), x[1])
    for u, v in zip(outs[:3], (p3, p4, p5)):
        assert torch.allclose(u, v, atol=1e-5)


def test_published_parameters_piece_by_piece():
    """specs 1(a): neck 10,690,696 = adapters 919,040 + 12 DCN ops 8,580,744 + 7 cat 10,752 +
    P6/P7 1,180,160 (mmdet form); the official form adds the dead C2 adapter (66,048)."""
    neck = NASFCOSDecoder(PUBLISHED_GENOTYPE)
    assert _n(neck.adapters) == (512 + 1024 + 2048) * 256 + 3 * 2 * 256 == 919040
    dcn = [m for m in neck.modules() if isinstance(m, DeformConvNormAct)]
    assert len(dcn) == 12
    # weight + bias + offset/mask conv (54 = 3 * 2 groups * 9) + BN
    assert sum(_n(m) for m in dcn) == 12 * (256 * 256 * 9 + 256 + 256 * 54 * 9 + 54 + 512)
    cats = [m for m in neck.modules() if isinstance(m, ConcatReduce)]
    assert len(cats) == 7 and sum(_n(m) for m in cats) == 7 * (2 * 512 + 512) == 10752
    assert _n(neck.extra_convs) == 2 * (256 * 256 * 9 + 256) == 1180160
    assert _n(neck) == 10690696
    official = NASFCOSDecoder(PUBLISHED_GENOTYPE, adapt_unused_inputs=True)
    assert _n(official) == 10756744 == _n(neck) + 256 * 256 + 512


def test_forms_differ_only_inside_cells():
    torch.manual_seed(0)
    bil = NASFCOSDecoder(PUBLISHED_GENOTYPE, in_channels=CH, out_channels=16).eval()
    near = NASFCOSDecoder(
        PUBLISHED_GENOTYPE, in_channels=CH, out_channels=16, upsample_mode='nearest').eval()
    near.load_state_dict(bil.state_dict())
    dead = NASFCOSDecoder(
        PUBLISHED_GENOTYPE, in_channels=CH, out_channels=16, adapt_unused_inputs=True).eval()
    dead.load_state_dict(bil.state_dict(), strict=False)
    x = _inputs(64, 64)
    with torch.no_grad():
        a, b, c = bil(x), near(x), dead(x)
    for u, w in zip(a, c):
        assert torch.equal(u, w)
    # n7 = cat(dconv(C3), C5 upsampled), used by P3 and P4 -> the modes differ there
    assert not torch.allclose(a[0], b[0]) and not torch.allclose(a[1], b[1])


def test_every_op_and_aggregation_builds():
    genotype = dict(decoder=[[3, 2, 0, 1, 0], [1, 4, 2, 3, 1], [0, 5, 4, 0, 0], [2, 3, 1, 2, 1],
                             [6, 7, 3, 4, 0], [1, 2, 4, 4, 1], [0, 3, 2, 2, 1]])
    neck = NASFCOSDecoder(genotype, in_channels=CH, out_channels=8)
    kinds = {type(m).__name__ for m in neck.modules()}
    assert {'SepConv', 'Identity', 'DeformConvNormAct', 'ParamSum', 'ConcatReduce'} <= kinds
    dil = [(m.depthwise.kernel_size, m.depthwise.dilation, m.depthwise.padding)
           for m in neck.modules() if isinstance(m, SepConv)]
    assert {((3, 3), (1, 1), (1, 1)), ((3, 3), (3, 3), (3, 3)), ((5, 5), (6, 6), (12, 12))} \
        == set(dil)
    outs = neck(_inputs(96, 64))
    outs[0].sum().backward()


def test_deform_offsets_start_at_zero_after_any_init():
    neck = NASFCOSDecoder(
        PUBLISHED_GENOTYPE,
        in_channels=CH,
        out_channels=8,
        init_cfg=dict(type='Normal', layer='Conv2d', std=0.5))
    neck.init_weights()
    offsets = [m.conv.conv_offset for m in neck.modules() if isinstance(m, DeformConvNormAct)]
    assert offsets and all(o.weight.abs().sum() == 0 and o.bias.abs().sum() == 0 for o in offsets)
    assert neck.adapters['c3'].conv.weight.std() > 0.3  # the init_cfg did run


@pytest.mark.parametrize('hw', [(9, 7), (1, 3)])
def test_torch_deform_impl_equals_mmcv(hw):
    """Same parameters, same outputs and gradients (input, weights, offset/mask conv), with
    offsets that send samples outside the map."""
    torch.manual_seed(0)
    a = DeformConvNormAct(8, 6, dict(type='BN'), deform_groups=2, impl='mmcv')
    b = DeformConvNormAct(8, 6, dict(type='BN'), deform_groups=2, impl='torch')
    a.conv.conv_offset.weight.data.normal_(0, 0.3)
    a.conv.conv_offset.bias.data.normal_(0, 2.0)
    b.load_state_dict(a.state_dict())
    x = torch.randn(3, 8, *hw)
    xa, xb = x.clone().requires_grad_(), x.clone().requires_grad_()
    ya, yb = a.conv(xa), b._deform(xb)
    assert torch.allclose(ya, yb, atol=1e-5)
    g = torch.randn_like(ya)
    (ya * g).sum().backward()
    (yb * g).sum().backward()
    assert torch.allclose(xa.grad, xb.grad, atol=1e-5)
    for pa, pb in zip(a.conv.parameters(), b.conv.parameters()):  # measured: <= 1e-6 relative
        assert (pa.grad - pb.grad).abs().max() <= 1e-5 * pa.grad.abs().max()


def test_invalid_genotype_fails_before_any_layer():
    bad = dict(decoder=[[3, 3, 4, 4, 1]] * 6 + [[3, 11, 4, 4, 1]])
    with mock.patch('projects.nas_fcos.nas_fcos.decoder.build_fpn_op') as build:
        with pytest.raises(GenotypeError, match=r'decoder cell 6 .*in2=11 is not one of 0..9'):
            NASFCOSDecoder(bad)
        build.assert_not_called()


def test_bad_arguments():
    with pytest.raises(ValueError, match='C2.*C5'):
        NASFCOSDecoder(PUBLISHED_GENOTYPE, in_channels=[512, 1024, 2048])
    with pytest.raises(ValueError, match='upsample_mode'):
        NASFCOSDecoder(PUBLISHED_GENOTYPE, upsample_mode='bicubic')
    with pytest.raises(ValueError, match='deform_impl'):
        NASFCOSDecoder(PUBLISHED_GENOTYPE, deform_impl='cuda')


def test_head_part_is_ignored_and_decoder_only_genotypes_build():
    g = load_genotype(PUBLISHED_GENOTYPE)
    a = NASFCOSDecoder(g, in_channels=CH, out_channels=8)
    b = NASFCOSDecoder(dict(decoder=[list(c) for c in g.decoder]), in_channels=CH, out_channels=8)
    assert _n(a) == _n(b)
