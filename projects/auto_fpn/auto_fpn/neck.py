"""Auto-fusion: the searched neck (:class:`AutoFusionNeckBase` wiring, :class:`AutoFusionNeck`
the fixed neck of a genotype, registered in mmdet's ``MODELS``).

Structure (the paper's, as described by the secondary note [MARS]; L and the resampling are
ours, see the project README)::

    layer 0 = the backbone's C2..C5 (strides 4, 8, 16, 32)
    layer l = 4 nodes P2..P5; node t = sum over its edges (s -> t) of op(align(node s of l-1))
    outputs = the 4 nodes of the last layer, then P6 = max_pool(kernel 1, stride 2)(P5)
              (mmdet FPN's extra level, for the two-stage detector's 5 anchor levels)

``align`` makes the source node's map match the target node's channels and size: a 1x1 conv
(no bias; + norm at retrain) where the channels or the levels differ, and resizing between
levels: nearest upsampling or, downwards, zero padding to a multiple of the target size and max
pooling (mmcv's merge-cell convention, ``mmcv/ops/merge_cells.py`` ``BaseMergeCell._resize``;
written here, not imported). The conv runs at the smaller of the two resolutions (1x1 conv and
nearest upsampling commute; downwards the pool comes first), so an edge's cost does not depend
on its direction more than the resolution requires. An edge between the same level of two
layers of equal channels has no align (``skip_connect`` there is free): nothing is to be
aligned there; the figure [MARS] describes shows the 1x1 conv on every edge (a deviation, see
the project README, "Deviations").
"""
import json
import math
from typing import Dict, List, NamedTuple, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .genotype import (NUM_LEVELS, CheckpointGenotype, genotype_to_dict, live_edges, load_component,
                       load_genotype)
from .ops import build_op

DEFAULT_IN_CHANNELS = (256, 512, 1024, 2048)  # ResNet-50 C2..C5


def resize_to(x: torch.Tensor, size: Sequence[int]) -> torch.Tensor:
    """``x`` at spatial ``size``: nearest upsampling, or zero padding to a multiple of ``size``
    then max pooling (mmcv's merge-cell convention)."""
    size = tuple(int(s) for s in size)
    h, w = x.shape[-2:]
    if (h, w) == size:
        return x
    if h <= size[0] and w <= size[1]:
        return F.interpolate(x, size=size, mode='nearest')
    ph, pw = math.ceil(h / size[0]) * size[0] - h, math.ceil(w / size[1]) * size[1] - w
    if ph or pw:
        x = F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), mode='constant', value=0.)
    kernel = (x.shape[-2] // size[0], x.shape[-1] // size[1])
    return F.max_pool2d(x, kernel_size=kernel, stride=kernel)


class FusionPosition(NamedTuple):
    """One edge of the Auto-fusion: layer ``layer`` (0-based), from node ``source`` of the
    layer before (or backbone level) to node ``target`` (0 = P2, stride 4)."""
    layer: int
    target: int
    source: int
    in_channels: int
    channels: int

    @property
    def key(self) -> str:
        return f'{self.target}_{self.source}'

    @property
    def path(self) -> str:
        """The edge's module path in the neck."""
        return f'layers.{self.layer}.{self.key}'

    @property
    def needs_conv(self) -> bool:
        return self.in_channels != self.channels or self.source != self.target


class FusionEdge(nn.Module):
    """``op(align(x))``: ``align`` = 1x1 conv (if any) and resizing to the target's size."""

    def __init__(self, conv: Optional[nn.Module], op: nn.Module):
        super().__init__()
        self.align = conv
        self.op = op

    def aligned(self, x, size):
        if self.align is None:
            return resize_to(x, size)
        if x.shape[-2] > size[0]:  # downwards: pool first, the conv at the target's size
            return self.align(resize_to(x, size))
        return resize_to(self.align(x), size)

    def forward(self, x, size):
        return self.op(self.aligned(x, size))


class AutoFusionNeckBase(BaseModule):
    """The Auto-fusion wiring; the op of every edge comes from :meth:`make_op`.

    **The hook.** ``edges`` (given by the subclass) lists per layer the ``(target, source)``
    pairs that exist; the base builds each edge's align and calls ``make_op(position)``
    (:class:`FusionPosition`) for its op, which must keep the shape
    ``(N, channels, H, W)``. Whatever ``make_op`` reads must be set before
    ``super().__init__()``.

    Args:
        edges (list[list[tuple[int, int]]]): per layer, its ``(target, source)`` edges.
        in_channels (Sequence[int]): channels of C2..C5 (ResNet-50: 256, 512, 1024, 2048).
        out_channels (int): channels of every node and output (256).
        num_outs (int): 4, or 5 with P6 (max pool of the last level, kernel 1, stride 2).
        norm_cfg (dict, optional): norm after each align conv and in the ops (None: none, the
            search's setting; BN at retrain).
        init_cfg: mmengine init config (default: PyTorch's, as DARTS).
    """

    def __init__(self,
                 edges,
                 in_channels=DEFAULT_IN_CHANNELS,
                 out_channels=256,
                 num_outs=5,
                 norm_cfg: Optional[dict] = None,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if len(in_channels) != NUM_LEVELS:
            raise ValueError(f'in_channels: {NUM_LEVELS} levels (C2..C5), got {in_channels}')
        if num_outs < NUM_LEVELS:
            raise ValueError(f'num_outs must be >= {NUM_LEVELS}, got {num_outs}')
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.norm_cfg = norm_cfg
        self.positions: List[FusionPosition] = []
        self.layers = nn.ModuleList()
        for layer, pairs in enumerate(edges):
            modules = nn.ModuleDict()
            for target, source in pairs:
                pos = FusionPosition(layer, target, source,
                                     self.in_channels[source] if layer == 0 else out_channels,
                                     out_channels)
                self.positions.append(pos)
                modules[pos.key] = FusionEdge(self._align(pos), self.make_op(pos))
            self.layers.append(modules)

    def _align(self, pos: FusionPosition) -> Optional[nn.Module]:
        if not pos.needs_conv:
            return None
        layers = [nn.Conv2d(pos.in_channels, pos.channels, 1, bias=False)]
        if self.norm_cfg is not None:
            layers.append(build_norm_layer(self.norm_cfg, pos.channels)[1])
        return nn.Sequential(*layers)

    def make_op(self, position: FusionPosition) -> nn.Module:
        raise NotImplementedError(f'{type(self).__name__} must implement make_op')

    def forward(self, inputs):
        if len(inputs) != NUM_LEVELS:
            raise ValueError(f'{type(self).__name__} takes {NUM_LEVELS} levels (C2..C5), got '
                             f'{len(inputs)}')
        sizes = [tuple(x.shape[-2:]) for x in inputs]
        nodes: Dict[int, torch.Tensor] = dict(enumerate(inputs))
        for modules in self.layers:
            new = {}
            for key, edge in modules.items():
                target, source = map(int, key.split('_'))
                y = edge(nodes[source], sizes[target])
                new[target] = y if target not in new else new[target] + y
            nodes = new
        outs = [nodes[t] for t in range(NUM_LEVELS)]
        while len(outs) < self.num_outs:
            outs.append(F.max_pool2d(outs[-1], 1, stride=2))
        return tuple(outs)


@MODELS.register_module()
class AutoFusionNeck(CheckpointGenotype, AutoFusionNeckBase):
    """The fixed Auto-fusion neck of a genotype's ``fusion`` component.

    Only the edges the outputs depend on are built (:func:`live_edges`). The genotype is part of
    the ``state_dict`` (:class:`~.genotype.CheckpointGenotype`): the weights of another network
    are refused.

    Args:
        genotype (str | dict | AutoFPNGenotype): a YAML path, a dict or a loaded genotype; it
            must hold ``fusion``.
        norm_cfg (dict, optional): BN at retrain (default); ``None`` for the search's form (the
            head search's fixed neck, whose weights come from the fusion search).
        **kwargs: :class:`AutoFusionNeckBase` arguments.
    """

    def __init__(self, genotype, norm_cfg: Optional[dict] = dict(type='BN'), **kwargs):
        self.genotype = load_component(genotype, 'fusion')
        live = live_edges(self.genotype)
        self.op_names = {
            (layer, t, s): op
            for layer, edges in enumerate(live)
            for t, s, op in edges
        }
        super().__init__(
            edges=[[(t, s) for t, s, _ in edges] for edges in live], norm_cfg=norm_cfg, **kwargs)

    def make_op(self, position):
        op = self.op_names[(position.layer, position.target, position.source)]
        return build_op(op, position.channels, self.norm_cfg)

    def op_paths(self) -> Dict[str, str]:
        """Module path of every edge's op -> its op name."""
        return {
            f'{p.path}.op': self.op_names[(p.layer, p.target, p.source)]
            for p in self.positions
        }

    def genotype_state(self) -> dict:
        """The genotype, and a key of the edges it builds (dead edges change nothing)."""
        key = sorted((layer, t, s, op) for (layer, t, s), op in self.op_names.items())
        return dict(
            genotype=genotype_to_dict(load_genotype(dict(fusion=self.genotype)))['fusion'],
            key=json.dumps(key))
