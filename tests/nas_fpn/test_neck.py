"""GenotypeNASFPN: shapes, both attention forms, N@C scaling, unconsumed-node sums."""
import pytest
import torch

from projects.nas_fpn.nas_fpn import GenotypeNASFPN, load_genotype
from projects.nas_fpn.nas_fpn.ops import global_attention, resample

PUBLISHED = 'projects/nas_fpn/genotypes/nasfpn_7cell.yaml'
torch.set_num_threads(1)


def _inputs(hw=64, chans=(8, 16, 32)):
    return [torch.randn(2, c, hw // 2**i, hw // 2**i) for i, c in enumerate(chans)]


@pytest.mark.parametrize('form', [
    dict(),
    dict(
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        lateral_conv='if_width_differs',
        extra_level_conv=False)
])
def test_forward_shapes(form):
    neck = GenotypeNASFPN([8, 16, 32], 16, PUBLISHED, stack_times=2, **form)
    outs = neck(_inputs())
    assert [tuple(o.shape) for o in outs] == [(2, 16, 64 // 2**i, 64 // 2**i) for i in range(5)]


def test_odd_input_sizes():
    neck = GenotypeNASFPN([8, 16, 32], 16, PUBLISHED, stack_times=1)
    ins = [torch.randn(1, 8, 50, 38), torch.randn(1, 16, 25, 19), torch.randn(1, 32, 13, 10)]
    outs = neck(ins)
    assert [tuple(o.shape[-2:]) for o in outs[:3]] == [(50, 38), (25, 19), (13, 10)]


def test_n_at_c_scaling():
    """N@C: params of the cells grow linearly in N and quadratically in C."""

    def cells(n, c):
        neck = GenotypeNASFPN([256, 512, 1024], c, PUBLISHED, stack_times=n)
        return sum(p.numel() for p in neck.stages.parameters())

    assert cells(7, 256) == 7 * cells(1, 256)
    assert cells(7, 256) == 7 * 7 * (256 * 256 * 9 + 256 + 2 * 256)
    assert cells(7, 384) == 7 * 7 * (384 * 384 * 9 + 384 + 2 * 384)


def test_attention_forms():
    fine, coarse = torch.randn(1, 4, 8, 8), torch.randn(1, 4, 8, 8)
    # paper / TPU: coarser + finer * sigmoid(globalmax(coarser)); input0 = P6 (coarser)
    tpu = global_attention(coarse, fine, 6, 4, pool='max', gate_from='coarser')
    ref = coarse + fine * coarse.amax(dim=(2, 3), keepdim=True).sigmoid()
    assert torch.allclose(tpu, ref)
    # mmcv GlobalPoolingCell as wired by mmdet: finer + sigmoid(avg(finer)) * coarser
    mm = global_attention(coarse, fine, 6, 4, pool='avg', gate_from='finer')
    assert torch.allclose(mm, fine + fine.mean(dim=(2, 3), keepdim=True).sigmoid() * coarse)


def test_unconsumed_same_level_nodes_are_added():
    """Output cell 4 (P5) adds the unused input P5, cell 5 (P7) the unused P7 (TPU rule)."""
    torch.manual_seed(0)
    neck = GenotypeNASFPN(
        [16, 16, 16],
        16,
        PUBLISHED,
        stack_times=1,
        norm_cfg=None,
        lateral_conv='if_width_differs',  # identity laterals: sums readable
        extra_level_conv=False,
        init_cfg=None)
    for conv in neck.stages[0]:  # identity-like post-merge convs to read the sums back
        torch.nn.init.zeros_(conv.conv.weight)
        torch.nn.init.zeros_(conv.conv.bias)
        conv.conv.weight.data[:, :, 1, 1] = torch.eye(16)
    ins = [torch.rand(1, 16, 32 // 2**i, 32 // 2**i) for i in range(3)]
    p3, p4, p5, p6, p7 = neck(ins)
    genotype = load_genotype(PUBLISHED)
    assert genotype[4].level == 5 and genotype[5].level == 7
    # rebuild P5_out by hand: relu(attention(P3_out, P4_out) + P5)
    p6_in = resample(ins[2], (4, 4))
    p7_in = resample(p6_in, (2, 2))
    relu = torch.relu
    kw = dict(pool='avg', gate_from='finer')  # mmdet form, the constructor's default
    n5 = relu(global_attention(resample(p6_in, (16, 16)), ins[1], 6, 4, **kw))
    n6 = relu(ins[1] + n5)
    n7 = relu(ins[0] + resample(n6, (32, 32)))
    n8 = relu(n6 + resample(n7, (16, 16)))
    att = global_attention(resample(n7, (8, 8)), resample(n8, (8, 8)), 3, 4, **kw)
    n9 = relu(att + ins[2])  # + the unconsumed input P5
    assert torch.allclose(p5, n9, atol=1e-6)
    att7 = global_attention(resample(n6, (2, 2)), resample(n9, (2, 2)), 4, 5, **kw)
    assert torch.allclose(p7, relu(att7 + p7_in), atol=1e-6)  # + the unconsumed input P7


def test_down_resampling_is_the_tpu_same_pool_on_divisible_sizes():
    """tpu nasfpn.py ``resample_feature_map`` pools with pool_size = strides = 2**(level gap) and
    padding='SAME', which pads nothing when the size is a multiple of the stride (the configs
    pad inputs to 128): every window is [k * s, k * s + s - 1], hand-computed on x[r, c] = 8 r + c.
    PyTorch's max-pool with padding would shift them."""
    x = torch.arange(64.).view(1, 1, 8, 8)
    assert resample(x, (2, 2)).flatten().tolist() == [27., 31., 59., 63.]
    assert resample(x, (4, 4)).flatten().tolist() == [
        8. * (2 * a + 1) + 2 * b + 1 for a in range(4) for b in range(4)
    ]
