"""The Hit-Detector RoI box head: 4 searched blocks on the RoI features, then one shared FC.

Official: ggjy/HitDet.pytorch @38aee61 ``mmdet/models/bbox_heads/convfc_bbox_head.py``
(``SharedFCBBoxHead(num_fcs=1, fc_out_channels=512)`` with ``search_head``, ``:142, :283-316``)
and ``bbox_heads/auto_head/mbblock_head_search.py`` (``MbblockHead``, the 4 cells,
``:37-54``); configured by ``configs/nas_trinity/2stage_hitdet.py:44-62``::

    x (R, 256, 7, 7) -> cell[0..3] (256 -> 256, stride 1) -> flatten (12544)
      -> FC 12544 -> 512 -> ReLU -> fc_cls (num_classes + 1) / fc_reg (4 * num_classes)

It is an mmdet :class:`~mmdet.models.roi_heads.bbox_heads.ConvFCBBoxHead` (one shared FC,
mmdet's targets, losses and post-processing) with the cells run first, used as ``bbox_head``
of mmdet's ``StandardRoIHead``. Init: the cells keep the official ``ConvBNReLU`` init (Kaiming
normal fan-out, ``mbblock_ops.py:71-73``); the FC layers get mmdet's ``ConvFCBBoxHead`` init
(Xavier-uniform shared FC, N(0, 0.01) ``fc_cls``, N(0, 0.001) ``fc_reg``), which is the
official one (``convfc_bbox_head.py:109-115``, ``bbox_head.py:62-68``).
"""
import torch.nn as nn
from mmdet.models.roi_heads.bbox_heads import ConvFCBBoxHead
from mmdet.registry import MODELS

from .genotype import CheckpointGenotype, load_component
from .ops import DEFAULT_NORM_CFG, OPS
from .spaces import HEAD_FC_CHANNELS, HEAD_NUM_POSITIONS, head_positions


class HitDetBBoxHeadBase(ConvFCBBoxHead):
    """The RoI head's wiring; the 4 searchable blocks come from :meth:`make_block`.

    **The hook.** A subclass implements ``make_block(position, spec) -> nn.Module``, called from
    this ``__init__`` (after mmdet's FC layers are built) once per position in order 0..3;
    ``spec`` (:class:`~.spaces.Position`) has ``in_channels == out_channels == in_channels`` of
    the head (the RoI feature channels, 256 officially), stride 1, ``nominal_size`` 7. The block
    must keep the shape ``(R, C, 7, 7)``. Whatever ``make_block`` reads must be set before
    ``super().__init__()``. ``forward`` runs block ``p`` as ``self.forward_block(p, block, x)``
    (default ``block(x)``), then mmdet's ``ConvFCBBoxHead.forward``.

    Args:
        norm_cfg (dict): norm of the searched blocks (official: SyncBN, ``2stage_hitdet.py:50``).
        fc_out_channels (int): 512 officially.
        num_shared_fcs (int): 1 officially.
        **kwargs: mmdet ``ConvFCBBoxHead``/``BBoxHead`` arguments (``in_channels``,
            ``roi_feat_size``, ``num_classes``, ``bbox_coder``, losses, ...).
    """

    def __init__(self,
                 norm_cfg=DEFAULT_NORM_CFG,
                 fc_out_channels=HEAD_FC_CHANNELS,
                 num_shared_fcs=1,
                 **kwargs):
        for key in ('num_shared_convs', 'num_cls_convs', 'num_reg_convs', 'num_cls_fcs',
                    'num_reg_fcs'):
            if kwargs.get(key):
                raise ValueError(f'{type(self).__name__}: {key} is not part of the Hit-Detector '
                                 'head (searched blocks + shared FCs)')
            kwargs.pop(key, None)
        super().__init__(
            num_shared_fcs=num_shared_fcs,
            fc_out_channels=fc_out_channels,
            norm_cfg=norm_cfg,
            **kwargs)
        self.positions = head_positions(self.in_channels, HEAD_NUM_POSITIONS)
        self.cells = nn.ModuleList(
            [self.make_block(p, spec) for p, spec in enumerate(self.positions)])

    def make_block(self, position, spec):
        """The block at ``position`` (0..3), see the class doc."""
        raise NotImplementedError(f'{type(self).__name__} must implement make_block')

    def forward_block(self, position, block, x):
        """Run the block of ``position`` on ``x`` (override to pass architecture weights)."""
        return block(x)

    def forward(self, x):
        for p, block in enumerate(self.cells):
            x = self.forward_block(p, block, x)
        return super().forward(x)


@MODELS.register_module()
class HitDetBBoxHead(CheckpointGenotype, HitDetBBoxHeadBase):
    """The fixed RoI box head of a genotype's ``head`` list (4 op names).

    Args:
        genotype (str | dict | HitDetGenotype): a YAML path, a dict or a loaded genotype; it
            must hold ``head``.
        **kwargs: :class:`HitDetBBoxHeadBase` arguments.
    """

    def __init__(self, genotype, **kwargs):
        self.ops = load_component(genotype, 'head')  # before the blocks are built
        super().__init__(**kwargs)

    def genotype_state(self) -> dict:
        return dict(genotype=list(self.ops), key=','.join(self.ops))

    def make_block(self, position, spec):
        return OPS[self.ops[position]](spec.in_channels, spec.out_channels, spec.stride,
                                       self.norm_cfg)
