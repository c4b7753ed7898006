"""``GenotypeNASFPN``: a NAS-FPN neck built from a genotype of merging cells.

The input pyramid P3..P7 (C3..C5 through 1x1 laterals, P6/P7 from the top level) feeds
``stack_times`` identical cells ("N@C": N stacked cells of C channels, paper Sec. 3 and
Table 1). Each cell runs the genotype's merging cells in order (see :mod:`.genotype`),
appending one node per merging cell; output merging cells also add every node of the same level
that no merging cell consumed (paper Sec. 3.1; TPU ``_build_feature_pyramid``), then the last
five nodes, sorted by level, are the cell's P3..P7.

Two conventions are selectable (README, "Two forms"):

* mmdet's (defaults): ``attention_pool='avg', attention_gate_from='finer'``, laterals
  ``ConvModule`` 1x1 + BN without bias on every backbone level (``lateral_conv='always'``, also
  where the width already equals ``out_channels``), P6/P7 = 1x1 conv + BN + max-pool(2) -- the
  same parameters and numerics as ``mmdet.models.necks.NASFPN`` for the published genotype;
* the paper/TPU reference: ``attention_pool='max', attention_gate_from='coarser'``,
  ``lateral_bias=True``, ``lateral_conv='if_width_differs'`` and ``extra_level_conv=False``
  (P6/P7 by max-pooling P5; a 1x1 conv + BN only where the width differs, as
  ``resample_feature_map`` in ``tensorflow/tpu models/official/detection/modeling/architecture/
  nasfpn.py``, rev. 7dc921f).
"""
import torch.nn as nn
from mmcv.cnn import ConvModule
from mmdet.registry import MODELS
from mmengine.model import BaseModule, ModuleList

from .genotype import CheckpointGenotype, genotype_key, genotype_to_list, load_genotype
from .ops import BINARY_OP_FNS, build_post_merge_conv, resample


@MODELS.register_module()
class GenotypeNASFPN(CheckpointGenotype, BaseModule):
    """NAS-FPN neck whose cell is given as data.

    Args:
        in_channels (list[int]): channels of the backbone outputs.
        out_channels (int): C of N@C, the width of every pyramid node.
        genotype (str | list | dict): a YAML path (e.g. ``best_genotype.yaml``), a list of
            merging cells or a dict with ``cells``.
        stack_times (int): N of N@C, the number of stacked cells.
        num_outs (int): number of output levels (5: P3..P7).
        start_level (int): first backbone output used (1 for ResNet C3 with out_indices 0..3).
        end_level (int): last backbone output used (-1: the last).
        norm_cfg (dict): norm after laterals, extra levels and post-merge convs.
        attention_pool (str): 'avg' (mmdet) or 'max' (paper/TPU) global pooling.
        attention_gate_from (str): 'finer' (mmdet) or 'coarser' (paper/TPU) input pooled.
        lateral_bias (bool | str): bias of the 1x1 laterals ('auto': none when normed).
        lateral_conv (str): 'always' (mmdet: a 1x1 lateral on every backbone level) or
            'if_width_differs' (TPU: identity where the width already equals out_channels).
        extra_level_conv (bool): 1x1 conv before pooling into P6/P7 (mmdet) or pool only.
        post_conv_bias (bool): bias of the post-merge 3x3 conv (True in both references).
        min_level (int): pyramid level of the first output (3).
    """

    def __init__(self,
                 in_channels,
                 out_channels,
                 genotype,
                 stack_times=7,
                 num_outs=5,
                 start_level=0,
                 end_level=-1,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 attention_pool='avg',
                 attention_gate_from='finer',
                 lateral_bias='auto',
                 lateral_conv='always',
                 extra_level_conv=True,
                 post_conv_bias=True,
                 min_level=3,
                 init_cfg=dict(type='Caffe2Xavier', layer='Conv2d')):
        super().__init__(init_cfg=init_cfg)
        assert isinstance(in_channels, (list, tuple))
        assert attention_pool in ('avg', 'max'), attention_pool
        assert attention_gate_from in ('finer', 'coarser'), attention_gate_from
        if lateral_conv not in ('always', 'if_width_differs'):
            raise ValueError(
                f"lateral_conv must be 'always' or 'if_width_differs', got {lateral_conv!r}")
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.stack_times = stack_times
        self.min_level = min_level
        self.max_level = min_level + num_outs - 1
        self.genotype = load_genotype(genotype, self.min_level, self.max_level)
        self.attention_kwargs = dict(pool=attention_pool, gate_from=attention_gate_from)
        self.start_level = start_level
        self.end_level = len(in_channels) if end_level == -1 else end_level + 1
        num_backbone = self.end_level - start_level
        assert 0 < num_backbone <= num_outs, 'more backbone levels than outputs'

        self.lateral_convs = nn.ModuleList()
        for c in self.in_channels[start_level:self.end_level]:
            if lateral_conv == 'if_width_differs' and c == out_channels:
                # TPU resample_feature_map: the 1x1 conv + BN only when the widths differ
                self.lateral_convs.append(nn.Identity())
            else:
                self.lateral_convs.append(
                    ConvModule(
                        c, out_channels, 1, bias=lateral_bias, norm_cfg=norm_cfg, act_cfg=None))
        self.extra_downsamples = nn.ModuleList()
        for _ in range(num_outs - num_backbone):
            layers = []
            if extra_level_conv:
                layers.append(
                    ConvModule(out_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))
            layers.append(nn.MaxPool2d(2, 2))
            self.extra_downsamples.append(nn.Sequential(*layers))

        self.stages = ModuleList()
        for _ in range(stack_times):
            self.stages.append(
                ModuleList([
                    build_post_merge_conv(out_channels, norm_cfg, post_conv_bias)
                    for _ in self.genotype
                ]))

    def genotype_list(self):
        return genotype_to_list(self.genotype)

    def _cell(self, convs, feats):
        """One pyramid cell: ``feats`` = [P3..P7] -> new [P3..P7]."""
        sizes = {self.min_level + i: f.shape[-2:] for i, f in enumerate(feats)}
        nodes = list(feats)
        levels = list(range(self.min_level, self.max_level + 1))
        consumed = [0] * len(nodes)
        for spec, conv in zip(self.genotype, convs):
            i0, i1 = spec.inputs
            size = sizes[spec.level]
            x0, x1 = resample(nodes[i0], size), resample(nodes[i1], size)
            consumed[i0] += 1
            consumed[i1] += 1
            if spec.op == 'sum':
                x = BINARY_OP_FNS['sum'](x0, x1)
            else:
                x = BINARY_OP_FNS['attention'](x0, x1, levels[i0], levels[i1],
                                               **self.attention_kwargs)
            if spec.is_output:
                for j in range(len(nodes)):
                    if consumed[j] == 0 and levels[j] == spec.level:
                        consumed[j] += 1
                        x = x + nodes[j]
            nodes.append(conv(x))
            levels.append(spec.level)
            consumed.append(0)
        outs = sorted(zip(levels[-self.num_outs:], nodes[-self.num_outs:]), key=lambda t: t[0])
        return [x for _, x in outs]

    def genotype_state(self) -> dict:
        return dict(
            genotype=genotype_to_list(self.genotype),
            key=genotype_key(self.genotype, self.min_level, self.max_level))

    def forward(self, inputs):
        feats = [
            lateral(inputs[self.start_level + i]) for i, lateral in enumerate(self.lateral_convs)
        ]
        for down in self.extra_downsamples:
            feats.append(down(feats[-1]))
        for convs in self.stages:
            feats = self._cell(convs, feats)
        return tuple(feats)
