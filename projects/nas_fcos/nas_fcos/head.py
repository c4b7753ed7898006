"""``NASFCOSGenotypeHead``: the searched NAS-FCOS head, built from a genotype's head part.

Follows ``maskrcnn_benchmark/nas/modeling/micro_heads.py`` (``MicroHead_v2``, lines 17-155) of
the official code (Lausannen/NAS-FCOS @d586b28):

* 6 layers (``SEARCH.HEAD.NUM_HEAD_LAYERS``), each one of :data:`.genotype.HEAD_OPS`; conv1x1,
  conv3x3 and the separable convs have no bias and are followed by GN(32) + ReLU, the
  deformable conv has a bias (+ GN + ReLU), ``skip_connect`` is an identity
  (``layer_factory.py:37-51``);
* the classification and the regression tower apply the same op sequence with separate
  weights (``micro_heads.py:66-80``);
* share level ``s``: layers ``< s`` get one copy per pyramid level (deep copies of one freshly
  built layer, ``:72-76``), layers ``>= s`` are shared by the levels (``:77-80``);
* predictors are 3x3 convs (``:84-96``): classes and centerness on the classification tower
  (``centerness_on_reg = False``, ``:32,141-144``), box on the regression tower, scaled per
  level and exponentiated (``norm_reg_targets = False``, ``:146-154``); they start at N(0, 0.01)
  with the classification bias at prior 0.01 (``:98-108``). The towers keep PyTorch's default
  initialisation, as the official head does.

Losses, targets and post-processing are mmdet's ``FCOSHead``, which this head subclasses.
"""
import copy

import torch.nn as nn
from mmcv.cnn import Scale
from mmdet.models.dense_heads.fcos_head import FCOSHead
from mmdet.models.utils import multi_apply
from mmdet.registry import MODELS

from .genotype import HEAD_OPS, CheckpointGenotype, canonical_genotype, load_genotype
from .ops import build_head_op, reset_deform_offsets

PREDICTOR_INIT = dict(
    type='Normal',
    std=0.01,
    override=[
        dict(name='conv_reg', type='Normal', std=0.01),
        dict(name='conv_centerness', type='Normal', std=0.01),
        dict(name='conv_cls', type='Normal', std=0.01, bias_prob=0.01)
    ])


@MODELS.register_module()
class NASFCOSGenotypeHead(CheckpointGenotype, FCOSHead):
    """FCOS head whose towers are the NAS-FCOS searched head.

    Args:
        genotype (str | dict | NASFCOSGenotype): a YAML path (the same file as the decoder's,
            e.g. a search's ``best_genotype.yaml``), a dict with ``head`` and ``share_level``
            (the decoder part is validated too) or a loaded genotype.
        num_classes (int): number of classes.
        in_channels (int): channels of the pyramid levels.
        deform_groups (int): deformable groups of ``def_conv_3x3`` (official: 2).
        deform_impl (str): 'mmcv' (default) or 'torch' (same computation in torch ops, for CPU
            training; see :class:`.ops.DeformConvNormAct`).
        norm_cfg (dict): norm after each head conv (official: GN, 32 groups).
        init_cfg (dict | list[dict]): default: the predictors only (official); towers keep
            PyTorch's default initialisation. DCN offsets are zeroed after any ``init_cfg``.
        **kwargs: ``FCOSHead``/``AnchorFreeHead`` arguments (``feat_channels``, ``strides``,
            ``regress_ranges``, losses, ``centerness_on_reg``, ``norm_on_bbox``, ...);
            ``stacked_convs`` is ignored (the genotype gives the layers).
    """

    def __init__(self,
                 genotype,
                 num_classes,
                 in_channels,
                 deform_groups=2,
                 deform_impl='mmcv',
                 norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
                 init_cfg=PREDICTOR_INIT,
                 **kwargs):
        if deform_impl not in ('mmcv', 'torch'):
            raise ValueError(f"deform_impl must be 'mmcv' or 'torch', got {deform_impl!r}")
        genotype = load_genotype(genotype)
        if genotype.head is None:
            raise ValueError('NASFCOSGenotypeHead needs a genotype with `head` and '
                             '`share_level`; this one is decoder-only (use FCOSHead with it)')
        # set before FCOSHead.__init__, which calls _init_layers()
        object.__setattr__(self, '_pending', (genotype, deform_groups, deform_impl))
        super().__init__(
            num_classes=num_classes,
            in_channels=in_channels,
            norm_cfg=norm_cfg,
            init_cfg=copy.deepcopy(init_cfg),
            **kwargs)

    def genotype_state(self) -> dict:
        _, ops, split = canonical_genotype(self.genotype)
        return dict(
            genotype=dict(
                head=[int(o) for o in self.genotype.head],
                share_level=int(self.genotype.share_level)),
            key=f'{list(ops)}/{split}')

    @property
    def share_level(self):
        return self.genotype.share_level

    def _build_tower(self):
        """(per-level layers: list over levels of lists, shared layers: list)."""
        split = [[] for _ in self.strides]
        shared = []
        chn = self.in_channels
        for i, op in enumerate(self.genotype.head):
            name = HEAD_OPS[op]
            out = chn if name == 'skip_connect' else self.feat_channels
            layer = build_head_op(name, chn, out, self.norm_cfg, self.deform_groups,
                                  self.deform_impl)
            chn = out
            if i < self.genotype.share_level:
                for per_level in split:
                    per_level.append(copy.deepcopy(layer))
            else:
                shared.append(layer)
        if chn != self.feat_channels:
            raise ValueError(f'the head ops are all skip_connect: in_channels {self.in_channels}'
                             f' must equal feat_channels {self.feat_channels}')
        return (nn.ModuleList([nn.ModuleList(layers) for layers in split]), nn.ModuleList(shared))

    def _init_layers(self):
        self.genotype, self.deform_groups, self.deform_impl = self.__dict__.pop('_pending')
        self.cls_split, self.cls_shared = self._build_tower()
        self.reg_split, self.reg_shared = self._build_tower()
        self.conv_cls = nn.Conv2d(self.feat_channels, self.cls_out_channels, 3, padding=1)
        self.conv_reg = nn.Conv2d(self.feat_channels, 4, 3, padding=1)
        self.conv_centerness = nn.Conv2d(self.feat_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList([Scale(1.0) for _ in self.strides])

    def init_weights(self):
        super().init_weights()
        reset_deform_offsets(self)

    def forward(self, x):
        """Like ``FCOSHead.forward``, with the level index for the per-level layers."""
        return multi_apply(self.forward_single, x, self.scales, self.strides, list(range(len(x))))

    def forward_single(self, x, scale, stride, level=0):
        cls_feat, reg_feat = x, x
        for layer in self.cls_split[level]:
            cls_feat = layer(cls_feat)
        for layer in self.cls_shared:
            cls_feat = layer(cls_feat)
        for layer in self.reg_split[level]:
            reg_feat = layer(reg_feat)
        for layer in self.reg_shared:
            reg_feat = layer(reg_feat)
        cls_score = self.conv_cls(cls_feat)
        bbox_pred = self.conv_reg(reg_feat)
        centerness = self.conv_centerness(reg_feat if self.centerness_on_reg else cls_feat)
        # same post-processing as FCOSHead.forward_single (mmdet 3.3.0)
        bbox_pred = scale(bbox_pred).float()
        if self.norm_on_bbox:
            bbox_pred = bbox_pred.clamp(min=0)
            if not self.training:
                bbox_pred *= stride
        else:
            bbox_pred = bbox_pred.exp()
        return cls_score, bbox_pred, centerness


def mmdet_head_key_map(num_layers=4):
    """Name map mmdet 3.3.0 ``NASFCOSHead`` -> ``NASFCOSGenotypeHead`` (published genotype,
    share level 0): mmdet's ``cls_convs.i``/``reg_convs.i`` (ConvModule: ``conv``, ``gn``) are
    our shared layers ``i`` (``conv``, ``norm``); predictors and scales keep their names."""
    pairs = []
    for tower in ('cls', 'reg'):
        for i in range(num_layers):
            pairs.append((f'{tower}_convs.{i}.conv.', f'{tower}_shared.{i}.conv.'))
            pairs.append((f'{tower}_convs.{i}.gn.', f'{tower}_shared.{i}.norm.'))
    return sorted(pairs, key=lambda p: -len(p[0]))


def convert_mmdet_head_state_dict(state_dict, prefix=''):
    """Rename mmdet ``NASFCOSHead`` keys under ``prefix`` (e.g. 'bbox_head.') to ours."""
    pairs = mmdet_head_key_map()
    out = {}
    for key, value in state_dict.items():
        rest = key[len(prefix):] if key.startswith(prefix) else None
        for src, dst in pairs:
            if rest is not None and rest.startswith(src):
                key = prefix + dst + rest[len(src):]
                break
        out[key] = value
    return out
