"""Backbone FLOPs of any DetNAS genotype from a lookup table (the official search filters
candidates by backbone FLOPs at 1x3x224x224 from a per-op table, megvii-model/DetNAS
``Supernet-ImageNet/flops.py`` / ``op_flops_dict.pkl``; our table is built, not shipped).

Counting convention: mmengine's (``mmengine.analysis.get_model_complexity_info``, fvcore
handles): one multiply-add = one FLOP; a conv counts ``out.numel() * in/groups * kh * kw`` (bias
not counted), BatchNorm in eval mode ``2 * numel`` (affine), Linear ``in * out``, adaptive average
pooling ``in.numel()``, ReLU/concat/reshape nothing. The table is built once per
``(stage_repeats, stage_out_channels, input_size, count_bn)`` by running each candidate of each
position once on the ``meta`` device (shapes only, no arithmetic).

The official code counts differently, and the search space's constraints follow it
(``count_bn=False``): convolutions and FC layers only, BatchNorm not counted. That is
``maskrcnn_benchmark/utils/complexity.py`` (hooks on ``nn.Conv2d`` only) for the search's FLOPs
limit, applied to the detection body, and ``get_cand_flops`` (conv + FC of the whole classifier)
for the FLOPs bins of ImageNet supernet training (``Supernet-ImageNet/train.py``).
"""
import functools

import torch
import torch.nn as nn

from .blocks import CHOICES, ShuffleChoiceBlock
from .genotype import normalize_channels, validate_genotype
from .head import DetNASImageNetHead


def count_module_flops(module, x, count_bn=True):
    """FLOPs of ``module(x)`` counted with hooks on conv / BN / linear / adaptive pooling, as
    mmengine counts them; ``count_bn=False`` leaves BatchNorm out (foldable into the convs)."""
    total = [0]

    def hook(m, inputs, out):
        inp = inputs[0]
        if isinstance(m, nn.Conv2d):
            k = m.kernel_size[0] * m.kernel_size[1]
            total[0] += out.numel() * (m.in_channels // m.groups) * k
        elif isinstance(m, nn.modules.batchnorm._BatchNorm) and count_bn:
            total[0] += inp.numel() * (2 if m.affine else 1)
        elif isinstance(m, nn.Linear):
            total[0] += inp.numel() * m.out_features
        elif isinstance(m, nn.AdaptiveAvgPool2d):
            total[0] += inp.numel()

    handles = [m.register_forward_hook(hook) for m in module.modules()]
    try:
        with torch.no_grad():
            out = module.eval()(x)
    finally:
        for h in handles:
            h.remove()
    return total[0], out


class FlopsTable:
    """Per-position, per-choice FLOPs of a DetNAS search space at ``input_size`` (batch 1).

    Attributes:
        stem (int): FLOPs of the stem.
        blocks (list[dict]): ``blocks[i][choice]`` = FLOPs of candidate ``choice`` at position i.
        head (int): FLOPs of the ImageNet head (last 1x1 conv-BN, pooling, FC 1000).

    ``count_bn=False`` gives the official code's count (conv and FC only, see module docstring).
    """

    def __init__(self,
                 stage_repeats,
                 stage_out_channels,
                 input_size=224,
                 num_classes=1000,
                 count_bn=True):
        chs = normalize_channels(stage_out_channels)
        self.num_blocks = sum(stage_repeats)
        meta = torch.device('meta')
        stem = nn.Sequential(nn.Conv2d(3, chs[0], 3, 2, 1), nn.BatchNorm2d(chs[0])).to(meta)
        self.stem, x = count_module_flops(stem,
                                          torch.empty(1, 3, input_size, input_size, device=meta),
                                          count_bn)
        self.blocks = []
        in_ch = chs[0]
        for s, reps in enumerate(stage_repeats):
            out_ch = chs[s + 1]
            for r in range(reps):
                row = {}
                for c in CHOICES:
                    block = ShuffleChoiceBlock(c, in_ch, out_ch, 2 if r == 0 else 1).to(meta)
                    row[c], y = count_module_flops(block, x, count_bn)
                x = y
                in_ch = out_ch
                self.blocks.append(row)
        head = DetNASImageNetHead(in_ch, chs[5], num_classes).to(meta)
        self.head, _ = count_module_flops(head, x, count_bn)

    def flops(self, genotype, with_head=False):
        """Backbone FLOPs of ``genotype`` (stem + blocks; + ImageNet head if ``with_head``)."""
        names = validate_genotype(genotype, self.num_blocks)
        total = self.stem + sum(row[c] for row, c in zip(self.blocks, names))
        return total + (self.head if with_head else 0)


@functools.lru_cache(maxsize=16)
def _table(stage_repeats, stage_out_channels, input_size, num_classes, count_bn):
    return FlopsTable(stage_repeats, stage_out_channels, input_size, num_classes, count_bn)


def get_flops_table(stage_repeats,
                    stage_out_channels,
                    input_size=224,
                    num_classes=1000,
                    count_bn=True):
    """The (cached) :class:`FlopsTable` of a search space."""
    return _table(
        tuple(stage_repeats), tuple(normalize_channels(stage_out_channels)), input_size,
        num_classes, count_bn)
