"""The SpineNet backbone (Du et al., CVPR 2020), built from a genotype plus the paper's scaling.

Structure (paper Sec. 3, Fig. 5; tensorflow/tpu ``models/official/detection/modeling/architecture/
spinenet.py`` and ``nn_blocks.py`` for the details the paper leaves out):

* stem: 7x7/2 conv (64) + BN + act, 3x3/2 max-pool, then ``num_init_blocks`` L2 bottleneck block
  groups (filters ``64 * filter_size_scale``);
* each scale-permuted block: resample both parents to the block's level and width, sum them, add
  every earlier block of the same level and width that nothing consumed yet (output blocks only;
  paper: "intermediate blocks with no connection to a higher-ordered block are connected to the
  output block at the same level"), act, then a bottleneck/residual block group repeated
  ``block_repeats`` times;
* resampling (``Resample``): 1x1 conv to ``alpha * C`` (C = the parent's filters, i.e. a
  bottleneck's output / 4), down: 3x3 stride-2 conv then max-pool for larger ratios, up:
  nearest; then 1x1 conv (BN, no act) to the target block's input width (4x filters for a
  bottleneck);
* every max-pool (stem and resampling) pads as TF's ``padding='SAME'`` does
  (:func:`same_max_pool`): on an even size the one padded row and column go after the data, not
  one on each side; the stride-2 convs pad symmetrically, as tpu ``conv2d_fixed_padding`` does;
* endpoints P3..P7: 1x1 conv to ``endpoints_num_filters`` + BN + act on the output blocks;
* blocks that no output depends on (searched genotypes can have them, the published ones do not)
  are not built: the TF graph computes and discards them, here they would only leave parameters
  without gradients, which DDP (``find_unused_parameters=False``) rejects.

The spatial size of level ``l`` is ``ceil(input / 2**l)``, as in the TF code; where a stride or
up-sampling factor does not land there exactly (inputs not divisible by 128), a nearest resize
fixes the size.
"""
import math
from typing import Dict, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn import build_activation_layer, build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .genotype import (DEFAULT_GENOTYPE, INIT_LEVEL, CheckpointGenotype, GenotypeError,
                       genotype_key, genotype_to_dict, load_genotype, validate_genotype)

# Base filters per level: tensorflow/tpu spinenet.py FILTER_SIZE_MAP (paper Sec. 3.3: L5-L7 at 256).
FILTER_SIZE_MAP = {1: 32, 2: 64, 3: 128, 4: 256, 5: 256, 6: 256, 7: 256}
EXPANSION = {'bottleneck': 4, 'residual': 1}


def _act(act_cfg):
    return build_activation_layer(dict(act_cfg)) if act_cfg else nn.Identity()


class ConvNormAct(nn.Sequential):
    """conv (no bias) + norm + optional activation."""

    def __init__(self, cin, cout, k, stride=1, norm_cfg=None, act_cfg=None):
        super().__init__()
        self.add_module('conv', nn.Conv2d(cin, cout, k, stride, k // 2, bias=False))
        self.add_module('bn', build_norm_layer(norm_cfg, cout)[1])
        if act_cfg:
            self.add_module('act', _act(act_cfg))


def same_max_pool(x: torch.Tensor, kernel: int, stride: int) -> torch.Tensor:
    """TF's ``max_pooling2d(padding='SAME')`` (tpu spinenet.py, stem and ``resample_with_alpha``):
    output ``ceil(n / stride)``; the padding, ignored by the max, is split with the odd one at
    the end (PyTorch's ``padding=k // 2`` puts one on each side, which shifts every window on an
    even size)."""
    pads = []
    for n in reversed(x.shape[-2:]):  # F.pad: (left, right, top, bottom)
        total = max((math.ceil(n / stride) - 1) * stride + kernel - n, 0)
        pads += [total // 2, total - total // 2]
    return F.max_pool2d(F.pad(x, pads, value=float('-inf')), kernel, stride)


class SameMaxPool2d(nn.Module):
    """:func:`same_max_pool` as a layer (the stem's 3x3/2 pool)."""

    def __init__(self, kernel: int, stride: int):
        super().__init__()
        self.kernel, self.stride = kernel, stride

    def forward(self, x):
        return same_max_pool(x, self.kernel, self.stride)

    def extra_repr(self):
        return f'kernel={self.kernel}, stride={self.stride}, padding=SAME'


class DropPath(nn.Module):
    """Per-sample drop of the residual branch ("drop connect" / stochastic depth, protocol C)."""

    def __init__(self, rate: float = 0.):
        super().__init__()
        self.rate = rate

    def forward(self, x):
        if not self.training or not self.rate:
            return x
        keep = 1. - self.rate
        mask = x.new_empty(x.shape[0], 1, 1, 1).bernoulli_(keep)
        return x * mask / keep


class SpineBlock(nn.Module):
    """ResNet bottleneck (1x1, 3x3, 1x1 x4) or residual (3x3, 3x3) block, stride 1."""

    def __init__(self, block_fn, cin, filters, norm_cfg, act_cfg, drop_path=0.):
        super().__init__()
        cout = filters * EXPANSION[block_fn]
        self.shortcut = (
            ConvNormAct(cin, cout, 1, norm_cfg=norm_cfg) if cin != cout else nn.Identity())
        if block_fn == 'bottleneck':
            self.body = nn.Sequential(
                ConvNormAct(cin, filters, 1, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvNormAct(filters, filters, 3, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvNormAct(filters, cout, 1, norm_cfg=norm_cfg))
        else:
            self.body = nn.Sequential(
                ConvNormAct(cin, filters, 3, norm_cfg=norm_cfg, act_cfg=act_cfg),
                ConvNormAct(filters, cout, 3, norm_cfg=norm_cfg))
        self.drop_path = DropPath(drop_path)
        self.act = _act(act_cfg)

    def forward(self, x):
        return self.act(self.drop_path(self.body(x)) + self.shortcut(x))


class BlockGroup(nn.Sequential):
    """``repeats`` blocks; only the first may project (tpu spinenet.py ``block_group``)."""

    def __init__(self, block_fn, cin, filters, repeats, norm_cfg, act_cfg, drop_path=0.):
        blocks = []
        for _ in range(repeats):
            blocks.append(SpineBlock(block_fn, cin, filters, norm_cfg, act_cfg, drop_path))
            cin = filters * EXPANSION[block_fn]
        super().__init__(*blocks)


class Resample(nn.Module):
    """Cross-scale connection (paper Fig. 5): alpha-scaled 1x1, resize, 1x1 to the target width."""

    def __init__(self, cin, parent_filters, src_level, dst_level, cout, alpha, norm_cfg, act_cfg):
        super().__init__()
        mid = int(parent_filters * alpha)
        self.src_level, self.dst_level = src_level, dst_level
        self.squeeze = ConvNormAct(cin, mid, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.down = None
        if src_level < dst_level:
            self.down = ConvNormAct(mid, mid, 3, stride=2, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.expand = ConvNormAct(mid, cout, 1, norm_cfg=norm_cfg)

    def forward(self, x, size):
        x = self.squeeze(x)
        if self.down is not None:
            width, target = x.shape[-1], size[-1]
            x = self.down(x)
            if width // target > 2:  # tpu resample_with_alpha: pool size and stride from widths
                stride = 2 if width % target else width // target // 2
                x = same_max_pool(x, 3 if width / target <= 4 else 5, stride)
        if tuple(x.shape[-2:]) != tuple(size):
            x = F.interpolate(x, size=size, mode='nearest')
        return self.expand(x)


@MODELS.register_module()
class SpineNet(CheckpointGenotype, BaseModule):
    """Scale-permuted backbone built from block specs and the paper's scaling.

    Args:
        genotype: YAML path, dict with ``blocks`` or a list of ``(level, block_fn, (p0, p1),
            is_output)`` rows (see :mod:`.genotype`). Default: the published SpineNet-49 spec
            (``projects/spinenet/genotypes/spinenet49.yaml``).
        filter_size_scale, endpoints_num_filters, resample_alpha, block_repeats: the scaling of
            paper Sec. 3.4 / tpu ``SCALING_MAP`` (49S: 0.65, 128, 0.5, 1; 49: 1.0, 256, 0.5, 1;
            96: 1.0, 256, 0.5, 2; 143: 1.0, 256, 1.0, 3; 190: 1.3, 512, 1.0, 4).
        min_level, max_level: the endpoint levels (P3-P7).
        stem_channels: width of the 7x7 stem conv (64, not scaled, as in the TF code).
        filter_size_map: base filters per level (tpu ``FILTER_SIZE_MAP``).
        drop_path_rate: stochastic depth ("init_drop_connect_rate" of the TF configs); block i of
            N drops with ``rate * (i + 1) / N``.
        norm_cfg, act_cfg: BN/SyncBN and relu/swish.
    """

    def __init__(self,
                 genotype=None,
                 filter_size_scale: float = 1.0,
                 endpoints_num_filters: int = 256,
                 resample_alpha: float = 0.5,
                 block_repeats: int = 1,
                 min_level: int = 3,
                 max_level: int = 7,
                 stem_channels: int = 64,
                 filter_size_map: Optional[Dict[int, int]] = None,
                 drop_path_rate: float = 0.,
                 norm_cfg=dict(type='BN', momentum=0.01, eps=1e-4),
                 act_cfg=dict(type='ReLU'),
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if genotype is None:
            genotype = DEFAULT_GENOTYPE
        specs, num_init = load_genotype(genotype)
        fmap = {int(k): int(v) for k, v in (filter_size_map or FILTER_SIZE_MAP).items()}
        try:
            validate_genotype(specs, num_init, min_level, max_level, levels=fmap.keys())
        except GenotypeError as e:
            where = genotype if isinstance(genotype, str) else 'genotype'
            raise GenotypeError(f'{where}: {e}') from None
        self.specs, self.num_init_blocks = specs, num_init
        self.min_level, self.max_level = min_level, max_level
        self.out_levels = list(range(min_level, max_level + 1))

        def filters(level):
            return int(fmap[level] * filter_size_scale)

        self.stem = nn.Sequential(
            ConvNormAct(3, stem_channels, 7, stride=2, norm_cfg=norm_cfg, act_cfg=act_cfg),
            SameMaxPool2d(3, stride=2))
        # (level, block_fn, channels) of every block output, stem blocks first
        nodes = [(INIT_LEVEL, 'bottleneck', filters(INIT_LEVEL) * 4)] * num_init
        fused_all = []  # per block: indices of unconsumed blocks summed into it
        consumed = [0] * num_init
        for spec in specs:
            cin = filters(spec.level) * EXPANSION[spec.block_fn]
            for p in spec.input_offsets:
                consumed[p] += 1
            fused = []
            if spec.is_output:
                for j, (jlevel, _, jch) in enumerate(nodes):
                    if consumed[j] == 0 and jlevel == spec.level and jch == cin:
                        fused.append(j)
                        consumed[j] += 1
            fused_all.append(fused)
            nodes.append((spec.level, spec.block_fn, cin))
            consumed.append(0)
        self.nodes = nodes
        self.output_index = {s.level: num_init + i for i, s in enumerate(specs) if s.is_output}
        self.used = self._used_blocks(specs, fused_all, num_init, self.output_index.values())

        self.init_blocks = nn.ModuleList()
        cin = stem_channels
        for k in range(num_init):
            if k not in self.used:
                break  # the stem blocks form a chain: nothing after an unused one is used
            self.init_blocks.append(
                BlockGroup('bottleneck', cin, filters(INIT_LEVEL), block_repeats, norm_cfg,
                           act_cfg))
            cin = nodes[k][2]
        self.resamples = nn.ModuleList()
        self.blocks = nn.ModuleList()
        self.fused = fused_all
        n = len(specs)
        for i, spec in enumerate(specs):
            if num_init + i not in self.used:  # pruned: keeps the indices aligned, no params
                self.resamples.append(nn.ModuleList())
                self.blocks.append(nn.Identity())
                continue
            width = filters(spec.level)
            cin = nodes[num_init + i][2]
            pair = nn.ModuleList()
            for p in spec.input_offsets:
                plevel, pfn, pch = nodes[p]
                pair.append(
                    Resample(pch, pch // EXPANSION[pfn], plevel, spec.level, cin, resample_alpha,
                             norm_cfg, act_cfg))
            self.resamples.append(pair)
            rate = drop_path_rate * (i + 1) / n if drop_path_rate else 0.
            self.blocks.append(
                nn.Sequential(
                    _act(act_cfg),
                    BlockGroup(spec.block_fn, cin, width, block_repeats, norm_cfg, act_cfg, rate)))
        self.endpoints = nn.ModuleList([
            ConvNormAct(
                nodes[self.output_index[lvl]][2],
                endpoints_num_filters,
                1,
                norm_cfg=norm_cfg,
                act_cfg=act_cfg) for lvl in self.out_levels
        ])

        if init_cfg is None:
            self.init_cfg = [
                # tpu nn_ops.conv2d_fixed_padding: tf.variance_scaling_initializer() (tf_init.py)
                dict(type='TFVarianceScaling', layer='Conv2d', scale=1.0, mode='fan_in'),
                dict(type='Constant', layer=['_BatchNorm', 'GroupNorm'], val=1)
            ]

    @staticmethod
    def _used_blocks(specs, fused, num_init, outputs) -> set:
        """Indices of the blocks an output depends on (through parents and fusion)."""
        used = set(outputs)
        for k in range(num_init + len(specs) - 1, num_init - 1, -1):
            if k in used:
                used.update(specs[k - num_init].input_offsets)
                used.update(fused[k - num_init])
        stem = [k for k in used if k < num_init]
        used.update(range(max(stem) + 1 if stem else 0))
        return used

    def genotype_state(self) -> dict:
        return dict(
            genotype=genotype_to_dict(self.specs, self.num_init_blocks),
            key=f'{self.num_init_blocks}:{genotype_key(self.specs)}')

    def forward(self, x: torch.Tensor) -> Sequence[torch.Tensor]:
        h, w = x.shape[-2:]
        sizes = {
            lvl: (math.ceil(h / 2**lvl), math.ceil(w / 2**lvl))
            for lvl in set(n[0] for n in self.nodes)
        }
        feat = self.stem(x)
        feats = []
        for block in self.init_blocks:
            feat = block(feat)
            feats.append(feat)
        feats += [None] * (self.num_init_blocks - len(feats))  # unused stem blocks
        for k, spec in enumerate(self.specs, start=self.num_init_blocks):
            if k not in self.used:
                feats.append(None)
                continue
            size = sizes[spec.level]
            p0, p1 = spec.input_offsets
            pair = self.resamples[k - self.num_init_blocks]
            y = pair[0](feats[p0], size) + pair[1](feats[p1], size)
            for j in self.fused[k - self.num_init_blocks]:
                y = y + feats[j]
            feats.append(self.blocks[k - self.num_init_blocks](y))
        return tuple(
            ep(feats[self.output_index[lvl]]) for ep, lvl in zip(self.endpoints, self.out_levels))
