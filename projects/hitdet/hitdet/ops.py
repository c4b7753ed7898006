"""The Hit-Detector op pool: 32 candidate ops with one uniform constructor.

The paper's whole pool, N = 32 (Hit-Detector App. 6.1)::

    ir_k{3,5}_d{1,2,3}_e{1,3,6}   18 inverted-residual (MobileNetV2) blocks
    ir_k7_d1_e{1,6}                2
    sep_k{3,5}_d{1,2,3}            6 separable blocks
    conv_k{3,5}_d{1,2,3}           6 plain conv blocks

``k`` = kernel, ``d`` = dilation, ``e`` = expansion. Every op is built the same way::

    OPS[name](in_channels, out_channels, stride, norm_cfg) -> nn.Module

mapping ``(N, in_channels, H, W)`` to ``(N, out_channels, ceil(H / stride), ceil(W / stride))``.
The block definitions are the official code's (ggjy/HitDet.pytorch @38aee61; file:line below):

* :class:`MBBlock` (``ir_*``): 1x1 conv (in -> in * e) -> BN -> ReLU, k x k depthwise conv
  (dilation d, stride s) -> BN -> ReLU, 1x1 conv (-> out) -> BN; the input is added iff
  ``in == out`` and ``stride == 1``. ReLU, not ReLU6. No conv has a bias. The expansion is
  relative to ``in_channels`` and the first 1x1 conv exists for e = 1 too
  (``mmdet/models/backbones/fbnet_blocks.py:127-155``; the neck's and the head's copies,
  ``necks/auto_neck/hit_ops.py:189-222`` and ``bbox_heads/auto_head/mbblock_ops.py:136-169``,
  are the same block).
* :class:`SepBlock` (``sep_*``; the neck code calls it ``sd_*``): k x k depthwise conv (dilation
  d, stride s) -> BN -> ReLU, 1x1 conv (-> out) -> BN; the input is added iff ``in == out`` and
  ``stride == 1`` (``necks/auto_neck/hit_ops.py:168-186``).
* :class:`ConvBlock` (``conv_*``): one k x k conv (dilation d, stride s) **with bias** -> BN, no
  activation, no residual (``necks/auto_neck/hit_ops.py:155-165``, built as ``ConvBNReLU(...,
  bias=True, relu_type='none', bn_type=bn)``).

Padding is ``(k - 1) * d // 2`` everywhere (``hit_ops.py:100``). Convolutions are initialised as
the official ``ConvBNReLU`` does (``fbnet_blocks.py:76-79``): Kaiming normal, fan-out, ReLU gain;
biases zero; norms keep their default (weight 1, bias 0).

Names: :data:`OP_POOL` holds the 32 canonical names ``ir_k{k}_d{d}_e{e}``, ``sep_k{k}_d{d}``,
``conv_k{k}_d{d}``. The official code spells ops differently in each file; :data:`ALIASES` maps
every official spelling of a pool op to its canonical name (:func:`canonical_op_name`).
Official names that look alike but build a *different* block are not aliased
(:data:`NOT_ALIASED`, with the reason). The released neck's search list also has
``conv_1x1``, a block outside the paper's pool: it is :data:`CODE_ONLY_OPS` ``conv_k1_d1``,
buildable from :data:`OPS` but not part of :data:`OP_POOL`.
"""
import itertools

import torch.nn as nn
from mmcv.cnn import build_norm_layer

DEFAULT_NORM_CFG = dict(type='BN', requires_grad=True)


def _pool_names():
    ir = [f'ir_k{k}_d{d}_e{e}' for k, d, e in itertools.product((3, 5), (1, 2, 3), (1, 3, 6))
          ] + ['ir_k7_d1_e1', 'ir_k7_d1_e6']
    sep = [f'sep_k{k}_d{d}' for k, d in itertools.product((3, 5), (1, 2, 3))]
    conv = [f'conv_k{k}_d{d}' for k, d in itertools.product((3, 5), (1, 2, 3))]
    return tuple(ir + sep + conv)


#: The paper's 32 ops (App. 6.1), canonical names, in the order the appendix lists them.
OP_POOL = _pool_names()

#: Ops of the released code's search lists that are not in the paper's pool.
#: ``conv_k1_d1`` = the neck's ``conv_1x1`` = ``ConvBlock(k=1)`` (``hit_ops.py:73-75``).
CODE_ONLY_OPS = ('conv_k1_d1', )

#: Every official spelling of an op of :data:`OP_POOL` / :data:`CODE_ONLY_OPS` -> canonical name.
#: ``_rN`` (backbone and head files) and ``_dN`` (neck file) both mean dilation N; ``sd`` is the
#: neck's name of the separable block.
ALIASES = {
    # mmdet/models/backbones/fbnet_blocks.py:18-36 (FBNet PRIMITIVES), also
    # bbox_heads/auto_head/mbblock_ops.py:14-27 and necks/auto_neck/hit_ops.py:16-60
    'ir_k3_e1': 'ir_k3_d1_e1',
    'ir_k3_e1_r2': 'ir_k3_d2_e1',
    'ir_k3_e1_r3': 'ir_k3_d3_e1',
    'ir_k3_e3': 'ir_k3_d1_e3',
    'ir_k3_e3_r2': 'ir_k3_d2_e3',
    'ir_k3_e3_r3': 'ir_k3_d3_e3',
    'ir_k3_e6': 'ir_k3_d1_e6',
    'ir_k3_e6_r2': 'ir_k3_d2_e6',
    'ir_k3_e6_r3': 'ir_k3_d3_e6',
    'ir_k5_e1': 'ir_k5_d1_e1',
    'ir_k5_e1_r2': 'ir_k5_d2_e1',
    'ir_k5_e1_r3': 'ir_k5_d3_e1',
    'ir_k5_e3': 'ir_k5_d1_e3',
    'ir_k5_e6': 'ir_k5_d1_e6',
    'ir_k5_e6_r2': 'ir_k5_d2_e6',
    'ir_k5_e6_r3': 'ir_k5_d3_e6',
    'ir_k7_e6': 'ir_k7_d1_e6',
    # necks/auto_neck/hit_ops.py:19-51 (dilation written _dN)
    'ir_k3_e1_d2': 'ir_k3_d2_e1',
    'ir_k3_e6_d3': 'ir_k3_d3_e6',
    'ir_k5_e1_d2': 'ir_k5_d2_e1',
    'ir_k5_e6_d2': 'ir_k5_d2_e6',
    'ir_k5_e6_d3': 'ir_k5_d3_e6',
    # 's2' is dilation 2, not a stride or groups: MBBlock(..., expansion 1, stride, k, 2), whose
    # 7th argument is the dilation (fbnet_blocks.py:27/35, mbblock_ops.py:19/25, hit_ops.py:31/52)
    'ir_k3_s2': 'ir_k3_d2_e1',
    'ir_k5_s2': 'ir_k5_d2_e1',
    # necks/auto_neck/hit_ops.py:61-75 (neck SepBlock 'sd', ConvBlock 1x1)
    'sd_k3_d1': 'sep_k3_d1',
    'sd_k3_d3': 'sep_k3_d3',
    'sd_k5_d2': 'sep_k5_d2',
    'sd_k5_d3': 'sep_k5_d3',
    'conv_1x1': 'conv_k1_d1',
}

#: Official names that are *not* aliases of a pool op, and why (they build other blocks).
NOT_ALIASED = {
    'sep_k3': 'fbnet_blocks.py:37 / mbblock_ops.py:28: separable block without dilation and '
    'without the residual of the neck SepBlock (hit_ops.py:184-185)',
    'sep_k5': 'fbnet_blocks.py:38 / mbblock_ops.py:29: as sep_k3',
    'conv1': 'fbnet_blocks.py:39 / mbblock_ops.py:30: 1x1 conv without bias -> BN -> ReLU '
    '(the pool\'s conv block has a bias and no ReLU)',
    'conv3': 'fbnet_blocks.py:40 / mbblock_ops.py:31: 3x3 conv without bias -> BN -> ReLU',
    'conv5': 'mbblock_ops.py:32: 5x5 conv without bias -> BN -> ReLU',
    'ir_k7_e3': 'hit_ops.py:55 / mbblock_ops.py:26: k7 e3 is not in the paper\'s pool',
    'skip': 'fbnet_blocks.py:17: identity, not in the pool',
}


def canonical_op_name(name):
    """The canonical name of ``name`` (a canonical name or an official alias); KeyError if it
    names no op of :data:`OPS`."""
    if name in OPS:
        return name
    if name in ALIASES:
        return ALIASES[name]
    hint = f' ({NOT_ALIASED[name]})' if name in NOT_ALIASED else ''
    raise KeyError(f'{name!r} is not a Hit-Detector op{hint}')


def parse_op_name(name):
    """``(kind, kernel, dilation, expansion)`` of a canonical name; expansion is None for
    ``sep``/``conv``. ``'ir_k5_d2_e6'`` -> ``('ir', 5, 2, 6)``."""
    parts = name.split('_')
    kind = parts[0]
    vals = {p[0]: int(p[1:]) for p in parts[1:]}
    return kind, vals['k'], vals['d'], vals.get('e')


class ConvBNReLU(nn.Module):
    """conv -> norm -> optional ReLU, the official building unit (``fbnet_blocks.py:68-92``,
    ``hit_ops.py:95-121``). Attribute names (``conv``, ``bn``, ``relu``) are the official ones, so
    that official state-dict keys map one to one."""

    def __init__(self,
                 in_channels,
                 out_channels,
                 kernel_size,
                 stride=1,
                 dilation=1,
                 groups=1,
                 bias=False,
                 relu=True,
                 norm_cfg=DEFAULT_NORM_CFG):
        super().__init__()
        self.conv = nn.Conv2d(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=(kernel_size - 1) * dilation // 2,
            dilation=dilation,
            groups=groups,
            bias=bias)
        nn.init.kaiming_normal_(self.conv.weight, mode='fan_out', nonlinearity='relu')
        if self.conv.bias is not None:
            nn.init.constant_(self.conv.bias, 0.0)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.relu = nn.ReLU(inplace=True) if relu else nn.Identity()

    def forward(self, x):
        return self.relu(self.bn(self.conv(x)))


class MBBlock(nn.Module):
    """Inverted residual ``ir_k{k}_d{d}_e{e}`` (``fbnet_blocks.py:127-155``).

    1x1 (in -> in * e) -> BN -> ReLU; k x k depthwise, dilation d, stride s -> BN -> ReLU;
    1x1 (-> out) -> BN; ``+ x`` iff ``in == out`` and ``stride == 1``.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride,
                 kernel_size,
                 dilation=1,
                 expansion=1,
                 norm_cfg=DEFAULT_NORM_CFG):
        super().__init__()
        mid = in_channels * expansion  # fbnet_blocks.py:133
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv1 = ConvBNReLU(in_channels, mid, 1, norm_cfg=norm_cfg)
        self.conv2 = ConvBNReLU(
            mid, mid, kernel_size, stride, dilation, groups=mid, norm_cfg=norm_cfg)
        self.conv3 = ConvBNReLU(mid, out_channels, 1, relu=False, norm_cfg=norm_cfg)
        self.use_residual = in_channels == out_channels and stride == 1

    def forward(self, x):
        out = self.conv3(self.conv2(self.conv1(x)))
        return out + x if self.use_residual else out


class SepBlock(nn.Module):
    """Separable ``sep_k{k}_d{d}`` (the neck's ``sd_k{k}_d{d}``, ``hit_ops.py:168-186``).

    k x k depthwise, dilation d, stride s -> BN -> ReLU; 1x1 (-> out) -> BN; ``+ x`` iff
    ``in == out`` and ``stride == 1``.
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride,
                 kernel_size,
                 dilation=1,
                 norm_cfg=DEFAULT_NORM_CFG):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv1 = ConvBNReLU(
            in_channels,
            in_channels,
            kernel_size,
            stride,
            dilation,
            groups=in_channels,
            norm_cfg=norm_cfg)
        self.conv2 = ConvBNReLU(in_channels, out_channels, 1, relu=False, norm_cfg=norm_cfg)
        self.use_residual = in_channels == out_channels and stride == 1

    def forward(self, x):
        out = self.conv2(self.conv1(x))
        return out + x if self.use_residual else out


class ConvBlock(nn.Module):
    """Plain ``conv_k{k}_d{d}``: one k x k conv with bias (dilation d, stride s) -> BN; no
    activation, no residual (``hit_ops.py:155-165``). The official attribute nesting
    (``conv.conv``, ``conv.bn``) is kept."""

    def __init__(self,
                 in_channels,
                 out_channels,
                 stride,
                 kernel_size,
                 dilation=1,
                 norm_cfg=DEFAULT_NORM_CFG):
        super().__init__()
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv = ConvBNReLU(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            dilation,
            bias=True,
            relu=False,
            norm_cfg=norm_cfg)

    def forward(self, x):
        return self.conv(x)


def _make_builder(name):
    kind, k, d, e = parse_op_name(name)

    def build(in_channels, out_channels, stride, norm_cfg=DEFAULT_NORM_CFG):
        if kind == 'ir':
            return MBBlock(in_channels, out_channels, stride, k, d, e, norm_cfg=norm_cfg)
        if kind == 'sep':
            return SepBlock(in_channels, out_channels, stride, k, d, norm_cfg=norm_cfg)
        return ConvBlock(in_channels, out_channels, stride, k, d, norm_cfg=norm_cfg)

    build.__name__ = f'build_{name}'
    build.__doc__ = f'``{name}``: ``(in_channels, out_channels, stride, norm_cfg) -> nn.Module``.'
    return build


#: canonical name -> ``builder(in_channels, out_channels, stride, norm_cfg) -> nn.Module``, for
#: the 32 pool ops and :data:`CODE_ONLY_OPS`. Aliases are resolved by :func:`build_op`.
OPS = {name: _make_builder(name) for name in OP_POOL + CODE_ONLY_OPS}


def build_op(name, in_channels, out_channels, stride, norm_cfg=DEFAULT_NORM_CFG):
    """``OPS[canonical_op_name(name)](in_channels, out_channels, stride, norm_cfg)``."""
    return OPS[canonical_op_name(name)](in_channels, out_channels, stride, norm_cfg)
