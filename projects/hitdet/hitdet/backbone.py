"""The Hit-Detector backbone: the wiring (:class:`HitDetBackboneBase`) and the fixed network built
from a genotype (:class:`HitDetBackbone`, registered in mmdet's ``MODELS``).

Official: ggjy/HitDet.pytorch @38aee61 ``mmdet/models/backbones/fbnet.py`` (``FBNet``, arch
``'fbnet_hit'`` of ``fbnet_arch.py:33-61``). The 23 layers, in ``self.layers`` as officially::

    layers[0]       stem: 3x3 conv stride 2 -> 16, with bias, BN, ReLU      (fbnet.py:39-40)
    layers[1..20]   the 20 searchable positions (spaces.backbone_positions)
    layers[21]      ir_k3_e3 -> 1024                                        (fbnet_arch.py:41)
    layers[22]      conv1: 1x1 conv, no bias -> BN -> ReLU, -> 2048          (fbnet_blocks.py:39)

``forward`` returns the outputs of ``layers[i]`` for ``i`` in ``out_indices`` (4, 8, 16, 22):
C2..C5 with 48, 96, 256, 2048 channels at strides 4, 8, 16, 32 (``fbnet.py:69-77``). The module
names equal the official ones (``layers.<i>.conv1.conv.weight``, ...), so an official backbone
state dict (``fbhit_7747.pth``) maps key for key (not checked: the file is not public here).
"""
import torch.nn as nn
from mmdet.registry import MODELS
from mmengine.model import BaseModule
from torch.nn.modules.batchnorm import _BatchNorm

from .genotype import CheckpointGenotype, load_component
from .ops import DEFAULT_NORM_CFG, OPS, ConvBNReLU
from .spaces import (BACKBONE_NUM_POSITIONS, BACKBONE_OUT_INDICES, BACKBONE_TAIL_OP,
                     backbone_positions, backbone_widths)


class HitDetBackboneBase(BaseModule):
    """The backbone's wiring; the 20 searchable blocks come from :meth:`make_block`.

    **The hook.** A subclass implements ``make_block(position, spec) -> nn.Module``. It is
    called from this ``__init__``, once per position, in order 0..19; ``spec`` is a
    :class:`~.spaces.Position` (``in_channels``, ``out_channels``, ``stride`` at this
    backbone's ``widen_factor``, ``name``, ``nominal_size``). The block must map
    ``(N, spec.in_channels, H, W)`` to ``(N, spec.out_channels, H', W')`` with ``H' =
    ceil(H / spec.stride)`` (every pool op does, with ``OPS[name](spec.in_channels,
    spec.out_channels, spec.stride, self.norm_cfg)``). Whatever ``make_block`` reads must be
    set before ``super().__init__()`` is called (plain Python values; modules and parameters
    only after). ``forward`` runs block ``p`` as ``self.forward_block(p, block, x)``, by default
    ``block(x)``: override it to pass more (e.g. architecture weights) to the blocks. The fixed
    stem and tail are built here, not through the hook.

    Args:
        widen_factor (float): multiplies every width (stem, groups, tail), rounded to a multiple
            of 8 (1.0: the official widths).
        out_indices (Sequence[int]): layers returned (0 = stem, 1..20 = positions, 21/22 = tail).
        norm_cfg (dict): norm of every block (official: SyncBN, ``fbnet_blocks.py:13``).
        norm_eval (bool): keep norm layers in eval mode while training.
        init_cfg: mmengine init config. None: the official init (Kaiming normal fan-out on every
            conv, zero biases, BN weight 1; ``fbnet.py:56-65`` = what the layers get at build).
    """

    def __init__(self,
                 widen_factor=1.0,
                 out_indices=BACKBONE_OUT_INDICES,
                 norm_cfg=DEFAULT_NORM_CFG,
                 norm_eval=False,
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.widen_factor = widen_factor
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.positions = backbone_positions(widen_factor)
        stem, _, tail = backbone_widths(widen_factor)
        layers = [ConvBNReLU(3, stem, 3, stride=2, bias=True, norm_cfg=norm_cfg)]
        channels = [stem]
        for p, spec in enumerate(self.positions):
            layers.append(self.make_block(p, spec))
            channels.append(spec.out_channels)
        layers.append(OPS[BACKBONE_TAIL_OP](channels[-1], tail[0], 1, norm_cfg))
        layers.append(ConvBNReLU(tail[0], tail[1], 1, norm_cfg=norm_cfg))
        channels += list(tail)
        self.layers = nn.ModuleList(layers)
        self.layer_channels = tuple(channels)
        self.out_indices = tuple(out_indices)
        for i in self.out_indices:
            if not 0 <= i < len(layers):
                raise ValueError(f'out_indices: {i} outside 0..{len(layers) - 1}')
        self.out_channels = [channels[i] for i in self.out_indices]

    def make_block(self, position, spec):
        """The block at ``position`` (0..19), see the class doc."""
        raise NotImplementedError(f'{type(self).__name__} must implement make_block')

    def forward_block(self, position, block, x):
        """Run the block of ``position`` on ``x`` (override to pass architecture weights)."""
        return block(x)

    def forward(self, x):
        outs = []
        for i, layer in enumerate(self.layers):
            if 1 <= i <= BACKBONE_NUM_POSITIONS:
                x = self.forward_block(i - 1, layer, x)
            else:
                x = layer(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self


@MODELS.register_module()
class HitDetBackbone(CheckpointGenotype, HitDetBackboneBase):
    """The fixed backbone of a genotype's ``backbone`` list (20 op names).

    Args:
        genotype (str | dict | HitDetGenotype): a YAML path, a dict or a loaded genotype; it
            must hold ``backbone`` (see :mod:`.genotype`).
        **kwargs: :class:`HitDetBackboneBase` arguments.
    """

    def __init__(self, genotype, **kwargs):
        self.ops = load_component(genotype, 'backbone')  # before the blocks are built
        super().__init__(**kwargs)

    def genotype_state(self) -> dict:
        return dict(genotype=list(self.ops), key=','.join(self.ops))

    def make_block(self, position, spec):
        return OPS[self.ops[position]](spec.in_channels, spec.out_channels, spec.stride,
                                       self.norm_cfg)
