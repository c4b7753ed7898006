"""Auto-head: the searched RoI box head (:class:`AutoHeadBBoxHeadBase` wiring,
:class:`AutoHeadBBoxHead` the fixed head of a genotype, registered in mmdet's ``MODELS``).

Structure (the paper's as described by the secondary note [MARS]: M cells of 7 nodes, each cell
reading the two previous cells' outputs, cells allowed to differ, no reduction cell; the rest is
DARTS's cell, quark0/darts @f276dd3 ``cnn/model_search.py`` ``Cell``)::

    x (R, C, 7, 7) RoI features;  s_{-2} = s_{-1} = x
    cell k: nodes 0, 1 = s_{k-2}, s_{k-1};  node 2 + i = sum of its edges op(node j), j < 2 + i
            out = norm(conv1x1(concat(nodes 2..5)))  (4C -> C)
    after the last cell: flatten -> FC 512 -> ReLU -> fc_cls / fc_reg (mmdet's ConvFCBBoxHead)

It is an mmdet :class:`~mmdet.models.roi_heads.bbox_heads.ConvFCBBoxHead` (one shared FC,
mmdet's targets, losses and post-processing) with the cells run first, used as the ``bbox_head``
of mmdet's ``StandardRoIHead``. DARTS's per-cell ``preprocess`` 1x1 convs are left out: every
state here already has C channels (no reduction, the output conv brings the concat back to C).
"""
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.registry import MODELS

from .genotype import (NUM_STEPS, CheckpointGenotype, genotype_key, genotype_to_dict,
                       load_component, load_genotype)
from .ops import build_op


class HeadPosition(NamedTuple):
    """One edge of the Auto-head: cell ``cell``, into intermediate node ``node`` (0..3) from
    ``input`` (0 / 1: the outputs of cells k-2 / k-1, 2 + i: intermediate node i)."""
    cell: int
    node: int
    input: int
    channels: int

    @property
    def key(self) -> str:
        return f'{self.node}_{self.input}'

    @property
    def path(self) -> str:
        """The edge's op module path in the head."""
        return f'cells.{self.cell}.edges.{self.key}'


class AutoHeadCell(nn.Module):
    """One cell: its edges' ops (``edges[f'{node}_{input}']``) and the output conv."""

    def __init__(self, edges: Dict[str, nn.Module], channels: int, norm_cfg: Optional[dict]):
        super().__init__()
        self.edges = nn.ModuleDict(edges)
        out = [nn.Conv2d(NUM_STEPS * channels, channels, 1, bias=False)]
        if norm_cfg is not None:
            out.append(build_norm_layer(norm_cfg, channels)[1])
        self.out = nn.Sequential(*out)

    def forward(self, s0, s1):
        states = [s0, s1]
        for i in range(NUM_STEPS):
            terms = [
                op(states[int(k.split('_')[1])]) for k, op in self.edges.items()
                if int(k.split('_')[0]) == i
            ]
            states.append(sum(terms))
        return self.out(torch.cat(states[2:], dim=1))


class AutoHeadBBoxHeadBase(ConvFCBBoxHead):
    """The Auto-head wiring; the op of every edge comes from :meth:`make_op`.

    **The hook.** ``cell_edges`` (given by the subclass) lists per cell the ``(node, input)``
    edges that exist; the base calls ``make_op(position)`` (:class:`HeadPosition`) for each,
    after mmdet's FC layers are built; the op must keep the shape ``(R, C, 7, 7)``. Whatever
    ``make_op`` reads must be set before ``super().__init__()``.

    Args:
        cell_edges (list[list[tuple[int, int]]]): per cell, its ``(node, input)`` edges.
        norm_cfg (dict, optional): norm of the ops and the cells' output convs (None: none, the
            search's setting; BN at retrain).
        fc_out_channels (int): the FC after the cells (512, see the README).
        num_shared_fcs (int): 1.
        **kwargs: mmdet ``ConvFCBBoxHead``/``BBoxHead`` arguments (``in_channels`` = C,
            ``roi_feat_size``, ``num_classes``, ``bbox_coder``, losses, ...).
    """

    def __init__(self,
                 cell_edges,
                 norm_cfg: Optional[dict] = None,
                 fc_out_channels: int = 512,
                 num_shared_fcs: int = 1,
                 **kwargs):
        for key in ('num_shared_convs', 'num_cls_convs', 'num_reg_convs', 'num_cls_fcs',
                    'num_reg_fcs'):
            if kwargs.get(key):
                raise ValueError(f'{type(self).__name__}: {key} is not part of the Auto-head '
                                 '(searched cells + shared FCs)')
            kwargs.pop(key, None)
        super().__init__(
            num_shared_fcs=num_shared_fcs,
            fc_out_channels=fc_out_channels,
            norm_cfg=norm_cfg,
            **kwargs)
        self.cell_norm_cfg = norm_cfg
        self.positions: List[HeadPosition] = []
        cells = []
        for c, pairs in enumerate(cell_edges):
            edges = {}
            for node, inp in pairs:
                pos = HeadPosition(c, node, inp, self.in_channels)
                self.positions.append(pos)
                edges[pos.key] = self.make_op(pos)
            cells.append(AutoHeadCell(edges, self.in_channels, norm_cfg))
        self.cells = nn.ModuleList(cells)

    def make_op(self, position: HeadPosition) -> nn.Module:
        raise NotImplementedError(f'{type(self).__name__} must implement make_op')

    def forward_cells(self, x):
        """The cells on RoI features ``(R, C, 7, 7)``: the last cell's output."""
        s0 = s1 = x
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return s1

    def forward(self, x):
        return super().forward(self.forward_cells(x))


@MODELS.register_module()
class AutoHeadBBoxHead(CheckpointGenotype, AutoHeadBBoxHeadBase):
    """The fixed Auto-head of a genotype's ``head`` component. The genotype is part of the
    ``state_dict`` (:class:`~.genotype.CheckpointGenotype`): the weights of another network are
    refused.

    Args:
        genotype (str | dict | AutoFPNGenotype): a YAML path, a dict or a loaded genotype; it
            must hold ``head``.
        norm_cfg (dict, optional): BN at retrain (default); ``None`` for the search's form.
        **kwargs: :class:`AutoHeadBBoxHeadBase` arguments.
    """

    def __init__(self, genotype, norm_cfg: Optional[dict] = dict(type='BN'), **kwargs):
        self.genotype = load_component(genotype, 'head')
        self.op_names = {
            (c, j, inp): op
            for c, cell in enumerate(self.genotype)
            for j, node in enumerate(cell)
            for op, inp in node
        }
        super().__init__(
            cell_edges=[[(j, inp) for j, node in enumerate(cell) for _, inp in node]
                        for cell in self.genotype],
            norm_cfg=norm_cfg,
            **kwargs)

    def make_op(self, position):
        op = self.op_names[(position.cell, position.node, position.input)]
        return build_op(op, position.channels, self.cell_norm_cfg)

    def op_paths(self) -> Dict[str, str]:
        """Module path of every edge's op -> its op name."""
        return {p.path: self.op_names[(p.cell, p.node, p.input)] for p in self.positions}

    def genotype_state(self) -> dict:
        genotype = load_genotype(dict(head=self.genotype))
        return dict(genotype=genotype_to_dict(genotype)['head'], key=genotype_key(genotype))
