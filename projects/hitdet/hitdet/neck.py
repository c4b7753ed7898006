"""The Hit-Detector neck: the PAFPN-style wiring (:class:`HitDetNeckBase`) and the fixed neck
built from a genotype (:class:`HitDetNeck`, registered in mmdet's ``MODELS``).

Official: ggjy/HitDet.pytorch @38aee61 ``mmdet/models/necks/search_pafpn.py`` (``SearchPAFPN``,
wiring) and ``necks/auto_neck/hit_neck_search.py`` (``HitNeck``, the 8 searched cells);
configured by ``configs/nas_trinity/2stage_hitdet.py:10-26``. With inputs C2..C5::

    L_i = cell[i](C_i)                            i = 0..3 (C2..C5 -> 256), search_pafpn.py:107
    L_i = L_i + nearest_x2(L_{i+1})               top-down, i = 2, 1, 0,  search_pafpn.py:112-113
    P_i = cell[4 + i](L_i)                        256 -> 256,             search_pafpn.py:115
    N_0 = P_0;  N_{i+1} = pa_conv[i](maxpool2(N_i) + P_{i+1})            search_pafpn.py:119-123
    N_4 = max_pool2d(N_3, kernel 1, stride 2)     the 5th output (P6),    search_pafpn.py:131-133

``pa_conv`` is a 3x3 conv with bias, no norm, no activation (``ConvModule`` with the config's
``norm_cfg=None``/``activation=None``, ``search_pafpn.py:71-78``). Outputs: 5 levels of
``out_channels`` at strides 4..64. Every Conv2d of the neck, the searched cells included, is
Xavier-uniform initialised with zero bias (``search_pafpn.py:96-99``).

The official top-down pass upsamples by ``scale_factor=2`` and the bottom-up pass max-pools by
2, so the input size must be a multiple of 32 (mmdet's ``pad_size_divisor=32``); other sizes are
refused with a message instead of a shape error deep inside.
"""
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .genotype import CheckpointGenotype, load_component
from .ops import DEFAULT_NORM_CFG, OPS
from .spaces import NECK_IN_CHANNELS, NECK_OUT_CHANNELS, neck_positions

NUM_LEVELS = 4


class HitDetNeckBase(BaseModule):
    """The neck's wiring; the 8 searchable cells come from :meth:`make_block`.

    **The hook.** A subclass implements ``make_block(position, spec) -> nn.Module``, called from
    this ``__init__`` once per position in order 0..7: positions 0..3 are the laterals on
    C2..C5 (``spec.in_channels`` = ``in_channels[i]``, ``spec.out_channels`` =
    ``out_channels``), 4..7 the cells after the top-down pass on P2..P5 (``out_channels`` ->
    ``out_channels``); all at stride 1 (``spec``: :class:`~.spaces.Position`). The block must
    keep the spatial size. Whatever ``make_block`` reads must be set before
    ``super().__init__()``. ``forward`` runs cell ``p`` as ``self.forward_block(p, cell, x)``
    (default ``cell(x)``).

    Args:
        in_channels (Sequence[int]): channels of C2..C5 (official [48, 96, 256, 2048]).
        out_channels (int): 256 officially.
        num_outs (int): 4 or 5 (5: P6 by a stride-2 max-pool of the last level).
        norm_cfg (dict): norm of the searched cells (official: SyncBN, ``2stage_hitdet.py:25``).
        init_cfg: default Xavier-uniform on every Conv2d (official ``init_weights``).
    """

    def __init__(self,
                 in_channels=NECK_IN_CHANNELS,
                 out_channels=NECK_OUT_CHANNELS,
                 num_outs=5,
                 norm_cfg=DEFAULT_NORM_CFG,
                 init_cfg=dict(type='Xavier', layer='Conv2d', distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if num_outs < NUM_LEVELS:
            raise ValueError(f'num_outs must be >= {NUM_LEVELS}, got {num_outs}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.norm_cfg = norm_cfg
        self.positions = neck_positions(self.in_channels, out_channels)
        self.cells = nn.ModuleList(
            [self.make_block(p, spec) for p, spec in enumerate(self.positions)])
        # plain convs: mmcv's ConvModule would re-initialise them (Kaiming) after init_cfg
        self.pa_convs = nn.ModuleList(
            [nn.Conv2d(out_channels, out_channels, 3, padding=1) for _ in range(NUM_LEVELS - 1)])

    def make_block(self, position, spec):
        """The cell at ``position`` (0..7), see the class doc."""
        raise NotImplementedError(f'{type(self).__name__} must implement make_block')

    def forward_block(self, position, block, x):
        """Run the cell of ``position`` on ``x`` (override to pass architecture weights)."""
        return block(x)

    def forward(self, inputs):
        if len(inputs) != NUM_LEVELS:
            raise ValueError(f'{type(self).__name__} takes {NUM_LEVELS} levels (C2..C5), got '
                             f'{len(inputs)}')
        for fine, coarse in zip(inputs[:-1], inputs[1:]):
            if tuple(fine.shape[-2:]) != tuple(2 * s for s in coarse.shape[-2:]):
                raise ValueError(
                    f'{type(self).__name__}: level sizes {[tuple(x.shape[-2:]) for x in inputs]} '
                    'do not halve exactly; the input size must be a multiple of 32 (use '
                    'pad_size_divisor=32), as for the official scale_factor=2 top-down pass')
        lat = [self.forward_block(i, self.cells[i], x) for i, x in enumerate(inputs)]
        for i in range(NUM_LEVELS - 1, 0, -1):
            lat[i - 1] = lat[i - 1] + F.interpolate(lat[i], scale_factor=2, mode='nearest')
        mid = [
            self.forward_block(NUM_LEVELS + i, self.cells[NUM_LEVELS + i], x)
            for i, x in enumerate(lat)
        ]
        outs = [mid[0]]
        for i in range(NUM_LEVELS - 1):
            outs.append(self.pa_convs[i](F.max_pool2d(outs[i], 2, stride=2) + mid[i + 1]))
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


@MODELS.register_module()
class HitDetNeck(CheckpointGenotype, HitDetNeckBase):
    """The fixed neck of a genotype's ``neck`` list (8 op names: 4 laterals, then 4 cells after
    the top-down pass).

    Args:
        genotype (str | dict | HitDetGenotype): a YAML path, a dict or a loaded genotype; it
            must hold ``neck``.
        **kwargs: :class:`HitDetNeckBase` arguments.
    """

    def __init__(self, genotype, **kwargs):
        self.ops = load_component(genotype, 'neck')  # before the cells are built
        super().__init__(**kwargs)

    def genotype_state(self) -> dict:
        return dict(genotype=list(self.ops), key=','.join(self.ops))

    def make_block(self, position, spec):
        return OPS[self.ops[position]](spec.in_channels, spec.out_channels, spec.stride,
                                       self.norm_cfg)
