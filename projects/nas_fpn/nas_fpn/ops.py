"""The pieces of a NAS-FPN merging cell: resampling, the two binary ops, R-C-B after merge.

Paper Sec. 3.1 / Fig. 4: inputs are resized to the output resolution by nearest-neighbour
upsampling or max pooling; the binary op is *sum* or *global pooling* (attention); the merged
layer is followed by ReLU -> 3x3 conv -> BN. Neither binary op has parameters.
"""
import math

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule


def resample(x, size):
    """Resize ``x`` to spatial ``size``: max-pool down (kernel = stride = ratio), nearest up.

    When the ratio is not integral (odd sizes), ``x`` is zero-padded symmetrically to a
    multiple of ``size`` before pooling, as mmcv's ``BaseMergeCell._resize`` does; the TPU code
    pools with 'SAME' padding, which is the same for the power-of-two sizes it is fed.
    """
    size = tuple(int(s) for s in size)
    cur = tuple(x.shape[-2:])
    if cur == size:
        return x
    if cur < size:
        return F.interpolate(x, size=size, mode='nearest')
    if cur[0] % size[0] or cur[1] % size[1]:
        ph = math.ceil(cur[0] / size[0]) * size[0] - cur[0]
        pw = math.ceil(cur[1] / size[1]) * size[1] - cur[1]
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=0.0)
    kernel = (x.shape[-2] // size[0], x.shape[-1] // size[1])
    return F.max_pool2d(x, kernel_size=kernel, stride=kernel)


def binary_sum(x0, x1, level0=None, level1=None, **kwargs):
    """Paper Fig. 4(a): element-wise sum."""
    return x0 + x1


def global_attention(x0, x1, level0, level1, pool='max', gate_from='coarser'):
    """Paper Fig. 4(b), global pooling: ``base + other * sigmoid(pool_HW(base))``.

    ``pool='max', gate_from='coarser'`` is the paper/TPU form (``global_attention(feat0,
    feat1)`` with ``feat0`` the higher-level input; ties take input0). ``pool='avg',
    gate_from='finer'`` is mmcv's ``GlobalPoolingCell`` as mmdet's NASFPN wires it
    (``x2 + sigmoid(avgpool(x2)) * x1`` with ``x2`` the finer input; ties take input1).
    Both inputs are already resampled to the output level.
    """
    coarser_is_0 = level0 >= level1
    if gate_from == 'coarser':
        base, other = (x0, x1) if coarser_is_0 else (x1, x0)
    elif gate_from == 'finer':
        base, other = (x1, x0) if coarser_is_0 else (x0, x1)
    else:
        raise ValueError(f'gate_from must be coarser or finer, got {gate_from!r}')
    if pool == 'max':
        gate = torch.amax(base, dim=(-2, -1), keepdim=True)
    elif pool == 'avg':
        gate = F.adaptive_avg_pool2d(base, (1, 1))
    else:
        raise ValueError(f'pool must be max or avg, got {pool!r}')
    return base + gate.sigmoid() * other


BINARY_OP_FNS = dict(sum=binary_sum, attention=global_attention)


def build_post_merge_conv(channels, norm_cfg, conv_bias=True):
    """ReLU -> 3x3 conv -> BN applied to the merged node (paper Fig. 6 "R-C-B")."""
    return ConvModule(
        channels,
        channels,
        3,
        padding=1,
        bias=conv_bias,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        order=('act', 'conv', 'norm'))
