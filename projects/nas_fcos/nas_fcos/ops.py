"""The NAS-FCOS op set: decoder (FPN) ops, aggregations, head ops.

Each op follows ``maskrcnn_benchmark/nas/modeling/layer_factory.py`` of the official code
(Lausannen/NAS-FCOS @d586b28); line numbers below refer to that file. Layers are plain torch
modules with PyTorch's default initialisation, as in the official code (which re-initialises
none of them); the deformable convolution is mmcv's ``ModulatedDeformConv2dPack`` (DCNv2, the
same computation as the official ``layers/dcn_v2.py`` ``DCN``: offset/mask conv with bias,
zero-initialised, ``chunk(3)`` into two offset halves and a sigmoid mask).

Decoder ops take a norm config (BN in the official decoder), head ops a norm config too (GN(32)
in the official head, ``layer_factory.py:37-51``).
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmcv.ops import ModulatedDeformConv2dPack

from .genotype import AGG_OPS, FPN_OPS, HEAD_OPS


class SepConv(nn.Module):
    """Depthwise k x k (dilation d, 'same' padding) -> pointwise 1x1 -> norm -> ReLU, no biases.

    ``layer_factory.py:142-160`` (``SepConv``, BN) and ``:163-181`` (``GN_SepConv``, GN).
    Paddings 1, 3 and 12 for 3x3, 3x3 dil 3 and 5x5 dil 6 (``:22-26``) are ``d * (k - 1) / 2``.
    """

    def __init__(self, in_channels, out_channels, kernel_size, dilation, norm_cfg):
        super().__init__()
        self.depthwise = nn.Conv2d(
            in_channels,
            in_channels,
            kernel_size,
            padding=dilation * (kernel_size - 1) // 2,
            dilation=dilation,
            groups=in_channels,
            bias=False)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.act(self.norm(self.pointwise(self.depthwise(x))))


class ConvNormAct(nn.Module):
    """k x k conv without bias -> norm -> ReLU.

    Head ``conv1x1``/``conv3x3`` (``layer_factory.py:40-47``, GN) and the decoder's input
    adapters (``conv_bn_relu``, ``:60-66``, used by ``micro_decoders.py:29-33``).
    """

    def __init__(self, in_channels, out_channels, kernel_size, norm_cfg):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = nn.ReLU(inplace=False)

    def forward(self, x):
        return self.act(self.norm(self.conv(x)))


def modulated_deform_conv2d_torch(x, offset, mask, weight, bias, padding, dilation, deform_groups):
    """Modulated deformable conv (stride 1) in plain torch ops, for fast CPU training.

    The computation of mmcv's ``modulated_deform_conv2d`` (the official ``dcn_v2_conv``):
    output(p) = sum_k w_k * mask_k(p) * x(p + p_k + offset_k(p)) + bias, with ``offset``
    holding (dy, dx) per deformable group and kernel position, ``mask`` one value per group and
    position, and bilinear sampling that reads 0 outside the map (mmcv
    ``dmcn_im2col_bilinear``). Here the sampling is ``F.grid_sample`` and the sum one matmul,
    so autograd gives the backward; on CPU this is ~4x faster than mmcv's kernel (forward +
    backward, 64 channels, 20x20 and 40x40 maps).
    """
    n, c, h, w = x.shape
    kh, kw = weight.shape[-2:]
    k = kh * kw
    g = deform_groups
    dtype = x.dtype
    base_y = torch.arange(h, dtype=dtype, device=x.device).view(1, h, 1)
    base_x = torch.arange(w, dtype=dtype, device=x.device).view(1, 1, w)
    ky = (torch.arange(kh, dtype=dtype, device=x.device) * dilation - padding).repeat_interleave(kw)
    kx = (torch.arange(kw, dtype=dtype, device=x.device) * dilation - padding).repeat(kh)
    off = offset.view(n, g, k, 2, h, w)
    py = base_y + ky.view(k, 1, 1) + off[:, :, :, 0]  # (n, g, k, h, w), pixel units
    px = base_x + kx.view(k, 1, 1) + off[:, :, :, 1]
    # pixel -> [-1, 1] with align_corners=False: x_norm = (2 * x + 1) / size - 1
    grid = torch.stack([(2 * px + 1) / w - 1, (2 * py + 1) / h - 1], dim=-1)
    sampled = F.grid_sample(
        x.reshape(n * g, c // g, h, w),
        grid.view(n * g, k * h, w, 2),
        mode='bilinear',
        padding_mode='zeros',
        align_corners=False)  # (n * g, c / g, k * h, w)
    sampled = sampled.view(n, g, c // g, k, h, w) * mask.view(n, g, 1, k, h, w)
    out = weight.reshape(weight.shape[0], c * k) @ sampled.reshape(n, c * k, h * w)
    out = out.view(n, -1, h, w)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


class DeformConvNormAct(nn.Module):
    """Modulated deformable 3x3 conv (DCNv2, with bias) -> norm -> ReLU.

    ``layer_factory.py:243-264`` (``DefConv`` with BN in the decoder, ``GN_DefConv`` in the
    head), ``DCN(C, C, 3, stride=1, padding=1, deformable_groups=2)``. The offset/mask conv
    (``conv_offset``, official ``conv_offset_mask``: 3 * 2 * 9 = 54 channels) starts at zero,
    so the op starts as a plain 3x3 conv with a 0.5 mask (``dcn_v2.py:105-116``).

    ``impl``: 'mmcv' (default) runs mmcv's kernel; 'torch' the same computation with the same
    parameters in torch ops (:func:`modulated_deform_conv2d_torch`), for CPU training (toy).
    """

    def __init__(self, in_channels, out_channels, norm_cfg, deform_groups=2, impl='mmcv'):
        super().__init__()
        if impl not in ('mmcv', 'torch'):
            raise ValueError(f"deform impl must be 'mmcv' or 'torch', got {impl!r}")
        self.impl = impl
        self.conv = ModulatedDeformConv2dPack(
            in_channels,
            out_channels,
            3,
            stride=1,
            padding=1,
            deform_groups=deform_groups,
            bias=True)
        self.norm = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = nn.ReLU(inplace=True)

    def reset_offsets(self):
        nn.init.zeros_(self.conv.conv_offset.weight)
        nn.init.zeros_(self.conv.conv_offset.bias)

    def _deform(self, x):
        if self.impl == 'mmcv':
            return self.conv(x)
        conv = self.conv
        o1, o2, mask = torch.chunk(conv.conv_offset(x), 3, dim=1)  # as mmcv's Pack.forward
        offset = torch.cat((o1, o2), dim=1)
        return modulated_deform_conv2d_torch(x, offset, mask.sigmoid(), conv.weight, conv.bias,
                                             conv.padding[0], conv.dilation[0], conv.deform_groups)

    def forward(self, x):
        return self.act(self.norm(self._deform(x)))


def resize_pair(x, y, mode='bilinear'):
    """Upsample the smaller of ``x``, ``y`` to the other's size (``layer_factory.py:267-275``).

    Sizes are compared as (H, W) tuples, as the official ``resize`` and mmcv's
    ``BaseMergeCell`` do. ``mode``: 'bilinear' (official ``nn.Upsample(mode='bilinear')``,
    align_corners False) or 'nearest' (mmdet 3.3.0 ``NASFCOS_FPN`` through mmcv's
    ``ConcatCell(upsample_mode='nearest')``).
    """
    kwargs = dict(align_corners=False) if mode == 'bilinear' else {}
    sx, sy = tuple(x.shape[-2:]), tuple(y.shape[-2:])
    if sx > sy:
        y = F.interpolate(y, size=sx, mode=mode, **kwargs)
    elif sx < sy:
        x = F.interpolate(x, size=sy, mode=mode, **kwargs)
    return x, y


class ParamSum(nn.Module):
    """``psum``: a * x + b * y, per-channel a and b initialised to 1 (``layer_factory.py:278-289``).
    """

    def __init__(self, channels, upsample_mode='bilinear'):
        super().__init__()
        self.upsample_mode = upsample_mode
        self.a = nn.Parameter(torch.ones(channels))
        self.b = nn.Parameter(torch.ones(channels))

    def forward(self, x, y):
        x, y = resize_pair(x, y, self.upsample_mode)
        return self.a[None, :, None, None] * x + self.b[None, :, None, None] * y


class ConcatReduce(nn.Module):
    """``cat``: concat -> norm(2C) -> ReLU -> grouped 1x1 conv 2C -> C (groups=C, no bias).

    ``layer_factory.py:292-305``. Output channel g reads concat channels 2g and 2g+1, so the
    first half of the output comes from the first branch and the second half from the second.
    """

    def __init__(self, channels, norm_cfg, upsample_mode='bilinear'):
        super().__init__()
        self.upsample_mode = upsample_mode
        self.norm = build_norm_layer(norm_cfg, 2 * channels)[1]
        self.act = nn.ReLU(inplace=False)
        self.conv = nn.Conv2d(2 * channels, channels, 1, groups=channels, bias=False)

    def forward(self, x, y):
        x, y = resize_pair(x, y, self.upsample_mode)
        return self.conv(self.act(self.norm(torch.cat([x, y], dim=1))))


def build_fpn_op(name, channels, norm_cfg, deform_groups=2, deform_impl='mmcv'):
    """A decoder op by name (``layer_factory.py:20-28``, ``OPS``; stride 1 only)."""
    if name == 'sep_conv_3x3':
        return SepConv(channels, channels, 3, 1, norm_cfg)
    if name == 'sep_conv_3x3_dil3':
        return SepConv(channels, channels, 3, 3, norm_cfg)
    if name == 'sep_conv_5x5_dil6':
        return SepConv(channels, channels, 5, 6, norm_cfg)
    if name == 'skip_connect':
        return nn.Identity()
    if name == 'def_conv_3x3':
        return DeformConvNormAct(channels, channels, norm_cfg, deform_groups, deform_impl)
    raise KeyError(f'unknown FPN op {name!r}; ops are {FPN_OPS}')


def build_agg_op(name, channels, norm_cfg, upsample_mode='bilinear'):
    """An aggregation by name (``layer_factory.py:31-34``, ``AGG_OPS``)."""
    if name == 'psum':
        return ParamSum(channels, upsample_mode)
    if name == 'cat':
        return ConcatReduce(channels, norm_cfg, upsample_mode)
    raise KeyError(f'unknown aggregation {name!r}; aggregations are {AGG_OPS}')


def build_head_op(name, in_channels, out_channels, norm_cfg, deform_groups=2, deform_impl='mmcv'):
    """A head op by name (``layer_factory.py:37-51``, ``HEAD_OPS``): GN(32) after every conv,
    conv1x1/conv3x3/sep convs without bias, DCN with bias; ``skip_connect`` is an identity
    without norm (``in_channels`` must equal ``out_channels``)."""
    if name == 'conv1x1':
        return ConvNormAct(in_channels, out_channels, 1, norm_cfg)
    if name == 'conv3x3':
        return ConvNormAct(in_channels, out_channels, 3, norm_cfg)
    if name == 'sep_conv_3x3':
        return SepConv(in_channels, out_channels, 3, 1, norm_cfg)
    if name == 'sep_conv_3x3_dil3':
        return SepConv(in_channels, out_channels, 3, 3, norm_cfg)
    if name == 'skip_connect':
        if in_channels != out_channels:
            raise ValueError(f'skip_connect needs in_channels == out_channels, got '
                             f'{in_channels} -> {out_channels}')
        return nn.Identity()
    if name == 'def_conv_3x3':
        return DeformConvNormAct(in_channels, out_channels, norm_cfg, deform_groups, deform_impl)
    raise KeyError(f'unknown head op {name!r}; ops are {HEAD_OPS}')


def reset_deform_offsets(module):
    """Zero the offset/mask convs of every deformable op below ``module`` (official init)."""
    for m in module.modules():
        if isinstance(m, DeformConvNormAct):
            m.reset_offsets()
