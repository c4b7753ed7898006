"""Hit-Detector's search spaces as data: the three 8-op sub-spaces and the searchable positions.

**Sub-spaces** (:data:`SUBSPACES`). After screening, each component searches over 8 ops of the
32-op pool (:data:`~.ops.OP_POOL`). Two versions exist and both are kept, in canonical names
(:mod:`.ops`), each list in its source's order:

* ``'paper'``: the lists printed in Hit-Detector App. 6.2. The printed backbone list shows
  ``ir_k5_d1_e3`` twice; the second one is taken as ``ir_k5_d1_e6`` (inferred: the released backbone
  uses ``ir_k5_e6`` = ``ir_k5_d1_e6`` seven times and it is otherwise missing
  from the list).
  The list as printed is :data:`PAPER_BACKBONE_AS_PRINTED`.
* ``'code'``: the released code's ``PRIMITIVES`` lists. Neck:
  ``necks/auto_neck/hit_neck_search.py:10-19`` (shares only the four sep ops with the paper's
  list and has ``conv_1x1``, outside the paper's pool: :data:`~.ops.CODE_ONLY_OPS`); head:
  ``bbox_heads/auto_head/mbblock_head_search.py:10-17`` (**6** ops: the paper's list without
  ``conv_k3_d1``/``conv_k5_d1``). The code has no backbone sub-space (``fbnet_blocks.py``
  ``PRIMITIVES`` is FBNet's 24-entry vocabulary, not a screened list): ``'code'`` is None there.

:data:`RELEASED_SUBSPACE` says which list the released network's genotype is written in: the
neck genotype ``[7, 7, 6, 5, 5, 7, 7, 5]`` indexes the code's neck list
(``configs/nas_trinity/2stage_hitdet.py:24``), the head genotype names ops of the code's head
list (``:49``); the released backbone's ops all lie in the paper's (resolved) list. Every
released op is in both lists of its component where both exist (tested).

**Positions** (:class:`Position`): what a searchable slot of a component takes and gives. The
fixed networks and the search's supernet build one block per position (the ``make_block`` hook
of the base classes in :mod:`.backbone`, :mod:`.neck`, :mod:`.roi_head`):

* backbone: 20 blocks in the official width groups 48/96/184/256/352, 4 blocks each, the first
  of each group at stride 2 except the 256 group (stride 1) (``fbnet_arch.py:33-61``); a fixed
  stem before (3x3 conv stride 2 -> 16 channels, **with bias**, BN, ReLU, ``fbnet.py:39-40``) and
  a fixed tail after (``ir_k3_e3`` -> 1024, then a 1x1 conv without bias -> BN -> ReLU to 2048,
  ``fbnet_arch.py:41``, ``fbnet_blocks.py:39``). ``out_indices`` (4, 8, 16, 22) over the 23
  layers give C2..C5 = 48, 96, 256, 2048 channels at strides 4, 8, 16, 32.
* neck: 4 laterals on C2..C5 (``in_channels[i]`` -> 256) and 4 blocks after the top-down pass
  (256 -> 256), all stride 1 (``hit_neck_search.py:35-42``).
* head: 4 blocks on the 7x7 RoI features, 256 -> 256, stride 1
  (``mbblock_head_search.py:41-44``; ``2stage_hitdet.py:46-52``).

Dilation is a property of the op (``_d2``), never of the position. ``nominal_size`` is the
spatial size the official code passes to each op as ``input_size`` (backbone input 800,
``fbnet.py:29``; neck [160, 80, 40, 20], ``hit_neck_search.py:33``; head 7,
``mbblock_head_search.py:38``); the official blocks ignore it, a FLOPs table can use it.
"""
from typing import NamedTuple

from .ops import ALIASES, OP_POOL

COMPONENTS = ('backbone', 'neck', 'head')


def _canon(names):
    return tuple(ALIASES.get(n, n) for n in names)


#: Hit-Detector App. 6.2, backbone, as printed (ir_k5_d1_e3 twice).
PAPER_BACKBONE_AS_PRINTED = ('ir_k3_d1_e3', 'ir_k3_d1_e6', 'ir_k3_d2_e3', 'ir_k5_d1_e3',
                             'ir_k5_d1_e3', 'ir_k5_d2_e6', 'ir_k5_d3_e6', 'ir_k7_d1_e6')

SUBSPACES = {
    'backbone': {
        # App. 6.2, the duplicate (5th entry) resolved as ir_k5_d1_e6 (INFERRED, see above)
        'paper': ('ir_k3_d1_e3', 'ir_k3_d1_e6', 'ir_k3_d2_e3', 'ir_k5_d1_e3', 'ir_k5_d1_e6',
                  'ir_k5_d2_e6', 'ir_k5_d3_e6', 'ir_k7_d1_e6'),
        'code':
        None,  # the released code has no backbone sub-space list
    },
    'neck': {
        # App. 6.2
        'paper': ('conv_k3_d3', 'conv_k5_d1', 'ir_k3_d2_e1', 'ir_k5_d1_e3', 'sep_k3_d1',
                  'sep_k3_d3', 'sep_k5_d2', 'sep_k5_d3'),
        # hit_neck_search.py:10-19, official order (the released genotype indexes it)
        'code':
        _canon(('conv_1x1', 'ir_k3_e6_d3', 'ir_k5_e6', 'ir_k5_e6_d3', 'sd_k3_d1', 'sd_k3_d3',
                'sd_k5_d2', 'sd_k5_d3')),
    },
    'head': {
        # App. 6.2
        'paper': ('ir_k3_d1_e3', 'ir_k3_d1_e6', 'ir_k3_d2_e6', 'ir_k5_d1_e3', 'ir_k5_d1_e6',
                  'ir_k7_d1_e6', 'conv_k3_d1', 'conv_k5_d1'),
        # mbblock_head_search.py:10-17, official order; 6 ops
        'code':
        _canon(('ir_k3_e3', 'ir_k3_e6', 'ir_k3_e6_r2', 'ir_k5_e3', 'ir_k5_e6', 'ir_k7_e6')),
    },
}

#: Which list of :data:`SUBSPACES` the released genotype is written in (see the module doc).
RELEASED_SUBSPACE = {'backbone': 'paper', 'neck': 'code', 'head': 'code'}


def subspace(component, which='paper'):
    """The op names (canonical) of ``component``'s sub-space ``which`` ('paper' or 'code')."""
    if component not in SUBSPACES:
        raise KeyError(f'component must be one of {COMPONENTS}, got {component!r}')
    if which not in ('paper', 'code'):
        raise KeyError(f"which must be 'paper' or 'code', got {which!r}")
    ops = SUBSPACES[component][which]
    if ops is None:
        raise KeyError(f'the released code has no {component} sub-space list; use '
                       f"which='paper'")
    return ops


class Position(NamedTuple):
    """One searchable slot of a component (what ``make_block(position, spec)`` receives).

    Attributes:
        component: 'backbone', 'neck' or 'head'.
        index: 0-based index within the component = index in the genotype's list.
        name: readable label ('g48.0' = first block of the 48-channel group, 'lateral.C2',
            'post.P2', 'block0').
        in_channels / out_channels: the block maps (N, in_channels, H, W) to
            (N, out_channels, H / stride, W / stride).
        stride: 1 or 2.
        nominal_size: the official ``input_size`` of the block (see the module doc).
    """
    component: str
    index: int
    name: str
    in_channels: int
    out_channels: int
    stride: int
    nominal_size: int


# ---- backbone (fbnet_arch.py:33-61, 'fbnet_hit') -------------------------------------------------
BACKBONE_INPUT_SIZE = 800  # fbnet.py:29
BACKBONE_STEM_CHANNELS = 16  # conv3x3 stride 2, bias=True (fbnet.py:39-40)
#: (width, blocks, stride of the first block) per official width group
BACKBONE_GROUPS = ((48, 4, 2), (96, 4, 2), (184, 4, 2), (256, 4, 1), (352, 4, 2))
#: the fixed tail: ir_k3_e3 -> 1024 (stride 1), conv1 (1x1, no bias, BN, ReLU) -> 2048
BACKBONE_TAIL_OP = 'ir_k3_d1_e3'
BACKBONE_TAIL_CHANNELS = (1024, 2048)
BACKBONE_NUM_POSITIONS = 20
#: layer indices (0 = stem, 1..20 = positions, 21, 22 = tail) returned as C2..C5
BACKBONE_OUT_INDICES = (4, 8, 16, 22)
BACKBONE_OUT_CHANNELS = (48, 96, 256, 2048)
BACKBONE_OUT_STRIDES = (4, 8, 16, 32)

# ---- neck (2stage_hitdet.py:10-26, hit_neck_search.py, search_pafpn.py) --------------------------
NECK_IN_CHANNELS = (48, 96, 256, 2048)
NECK_OUT_CHANNELS = 256
NECK_NOMINAL_SIZES = (160, 80, 40, 20)  # hit_neck_search.py:33
NECK_LEVELS = ('2', '3', '4', '5')
NECK_NUM_POSITIONS = 8

# ---- RoI head (2stage_hitdet.py:44-62, mbblock_head_search.py) -----------------------------------
HEAD_NUM_POSITIONS = 4
HEAD_CHANNELS = 256
HEAD_ROI_SIZE = 7
HEAD_FC_CHANNELS = 512

NUM_POSITIONS = {
    'backbone': BACKBONE_NUM_POSITIONS,
    'neck': NECK_NUM_POSITIONS,
    'head': HEAD_NUM_POSITIONS
}


def make_divisible(value, divisor=8, min_value=None):
    """Round ``value`` to a multiple of ``divisor`` (not below ``min_value`` or 90% of value),
    the MobileNet rule (as mmdet's ``make_divisible``)."""
    min_value = min_value or divisor
    new = max(min_value, int(value + divisor / 2) // divisor * divisor)
    if new < 0.9 * value:
        new += divisor
    return new


def scale_width(channels, widen_factor=1.0):
    """``channels`` times ``widen_factor``, rounded by :func:`make_divisible` (unchanged at 1)."""
    if widen_factor == 1.0:
        return channels
    return make_divisible(channels * widen_factor)


def backbone_widths(widen_factor=1.0):
    """``(stem, group widths (5), tail widths (2))`` at ``widen_factor``."""
    return (scale_width(BACKBONE_STEM_CHANNELS, widen_factor),
            tuple(scale_width(w, widen_factor) for w, _, _ in BACKBONE_GROUPS),
            tuple(scale_width(w, widen_factor) for w in BACKBONE_TAIL_CHANNELS))


def backbone_positions(widen_factor=1.0):
    """The 20 backbone positions (official widths at ``widen_factor`` 1)."""
    stem, widths, _ = backbone_widths(widen_factor)
    size = BACKBONE_INPUT_SIZE // 2  # fbnet.py:41, floor division as the official code
    positions, in_channels = [], stem
    for g, ((base, blocks, first_stride), width) in enumerate(zip(BACKBONE_GROUPS, widths)):
        for b in range(blocks):
            stride = first_stride if b == 0 else 1
            positions.append(
                Position('backbone', len(positions), f'g{base}.{b}', in_channels, width, stride,
                         size))
            size //= stride
            in_channels = width
    return tuple(positions)


def neck_positions(in_channels=NECK_IN_CHANNELS, out_channels=NECK_OUT_CHANNELS):
    """The 8 neck positions: laterals on C2..C5, then the blocks after the top-down pass."""
    if len(in_channels) != 4:
        raise ValueError(f'the Hit-Detector neck takes 4 levels (C2..C5), got in_channels='
                         f'{list(in_channels)}')
    lateral = [
        Position('neck', i, f'lateral.C{lvl}', c, out_channels, 1, s)
        for i, (lvl, c, s) in enumerate(zip(NECK_LEVELS, in_channels, NECK_NOMINAL_SIZES))
    ]
    post = [
        Position('neck', 4 + i, f'post.P{lvl}', out_channels, out_channels, 1, s)
        for i, (lvl, s) in enumerate(zip(NECK_LEVELS, NECK_NOMINAL_SIZES))
    ]
    return tuple(lateral + post)


def head_positions(channels=HEAD_CHANNELS, num_blocks=HEAD_NUM_POSITIONS):
    """The RoI head's positions: ``num_blocks`` blocks, ``channels`` -> ``channels``, stride 1."""
    return tuple(
        Position('head', i, f'block{i}', channels, channels, 1, HEAD_ROI_SIZE)
        for i in range(num_blocks))


def positions(component, **kwargs):
    """The positions of ``component`` ('backbone', 'neck', 'head'), official sizes by default."""
    return dict(
        backbone=backbone_positions, neck=neck_positions, head=head_positions)[component](**kwargs)


assert all(op in OP_POOL for c in COMPONENTS for op in SUBSPACES[c]['paper'])
