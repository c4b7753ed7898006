"""``NASFCOSDecoder``: the NAS-FCOS FPN ("decoder") built from any valid decoder genotype.

Follows ``maskrcnn_benchmark/nas/modeling/micro_decoders.py`` (``MicroDecoder_v2``) of the
official code (Lausannen/NAS-FCOS @d586b28):

1. C2..C5 are adapted to ``out_channels`` by 1x1 conv + BN + ReLU (``:29-33``);
2. each cell applies its two ops to two nodes of the pool, upsamples the smaller result to the
   larger and aggregates them (``:103-111``, ``layer_factory.py:267-305``); its output joins the
   pool;
3. the collected nodes (not consumed by a later cell): the last three give P5, P4, P3; every
   other collected node is bilinearly resized and added to each of them, and each sum is
   bilinearly resized to the size of C5, C4, C3 (``:113-126``);
4. P6 = conv3x3/s2(P5), P7 = conv3x3/s2(ReLU(P6)) (``modeling/backbone/fpn.py:196-213``,
   ``LastLevelP6P7`` on P5 since in == out channels).

Where mmdet 3.3.0's hard-coded port (``mmdet/models/necks/nasfcos_fpn.py``) differs from the
official network, an argument selects the behaviour (README, "Two forms"):

* ``upsample_mode``: 'bilinear' (default, official ``resize``) or 'nearest' (mmdet passes
  ``upsample_mode='nearest'`` to mmcv's ``ConcatCell``, ``nasfcos_fpn.py:98``). Only the
  upsampling inside cells changes; the output sums and resizes are bilinear in both.
* ``adapt_unused_inputs``: True builds (and runs) an adapter for every backbone level, as the
  official code does, including the C2 adapter that the published genotype never reads
  (66,048 dead parameters at 256 channels); False (default) builds adapters only for the levels
  the genotype reads: for the published genotype that is mmdet's ``adapt_convs`` (C3..C5).
  The two compute the same outputs; False also keeps DDP free of unused parameters.
"""
import torch.nn as nn
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .genotype import (AGG_OPS, BACKBONE_LEVELS, FPN_OPS, CheckpointGenotype, collected_nodes,
                       decode_genotype, genotype_key, load_genotype)
from .ops import ConvNormAct, build_agg_op, build_fpn_op, reset_deform_offsets


class DecoderCellModule(nn.Module):
    """One cell: ``agg(op1(in1), op2(in2))``."""

    def __init__(self, cell, channels, norm_cfg, upsample_mode, deform_groups, deform_impl):
        super().__init__()
        self.in1, self.in2 = cell.in1, cell.in2
        self.op1 = build_fpn_op(FPN_OPS[cell.op1], channels, norm_cfg, deform_groups, deform_impl)
        self.op2 = build_fpn_op(FPN_OPS[cell.op2], channels, norm_cfg, deform_groups, deform_impl)
        self.agg = build_agg_op(AGG_OPS[cell.agg], channels, norm_cfg, upsample_mode)

    def forward(self, nodes):
        return self.agg(self.op1(nodes[self.in1]), self.op2(nodes[self.in2]))


@MODELS.register_module()
class NASFCOSDecoder(CheckpointGenotype, BaseModule):
    """NAS-FCOS decoder (neck) from a genotype.

    Args:
        genotype (str | dict | NASFCOSGenotype): a YAML path (e.g. a search's
            ``best_genotype.yaml``), a dict with ``decoder`` (head keys are ignored here) or a
            loaded genotype.
        in_channels (Sequence[int]): channels of C2, C3, C4, C5 (backbone strides 4..32), in
            this order: genotype inputs 0..3 index them.
        out_channels (int): decoder width (official ``AGG_SIZE`` 256).
        num_outs (int): output levels, P3..P5 plus ``num_outs - 3`` extra stride-2 levels.
        upsample_mode (str): 'bilinear' (official, default) or 'nearest' (mmdet 3.3.0) for the
            upsampling inside cells.
        adapt_unused_inputs (bool): build adapters for backbone levels the genotype does not
            read (official: True; default False, see the module docstring).
        norm_cfg (dict): norm of adapters, decoder ops and ``cat`` (official: BN).
        deform_groups (int): deformable groups of ``def_conv_3x3`` (official: 2).
        deform_impl (str): 'mmcv' (default: mmcv's DCNv2 kernel) or 'torch' (the same
            computation and parameters in torch ops, ~4x faster to train on CPU; toy configs).
        init_cfg (dict, optional): extra initialisation. Default None keeps the official one:
            PyTorch's default for every conv, DCN weights uniform(+-1/sqrt(fan_in)) with zero
            bias and zero offsets, P6/P7 kaiming-uniform(a=1) with zero bias. Offsets are
            zeroed again after any ``init_cfg``.
    """

    def __init__(self,
                 genotype,
                 in_channels=(256, 512, 1024, 2048),
                 out_channels=256,
                 num_outs=5,
                 upsample_mode='bilinear',
                 adapt_unused_inputs=False,
                 norm_cfg=dict(type='BN', requires_grad=True),
                 deform_groups=2,
                 deform_impl='mmcv',
                 init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if upsample_mode not in ('bilinear', 'nearest'):
            raise ValueError(f"upsample_mode must be 'bilinear' or 'nearest', got "
                             f'{upsample_mode!r}')
        if deform_impl not in ('mmcv', 'torch'):
            raise ValueError(f"deform_impl must be 'mmcv' or 'torch', got {deform_impl!r}")
        if len(in_channels) != len(BACKBONE_LEVELS):
            raise ValueError(f'in_channels must give the channels of {BACKBONE_LEVELS} '
                             f'(genotype inputs 0..3), got {list(in_channels)}')
        if num_outs < 3:
            raise ValueError(f'num_outs must be >= 3 (P3..P5), got {num_outs}')
        self.genotype = load_genotype(genotype)
        self.decoded = decode_genotype(self.genotype)
        self.in_channels = list(in_channels)
        self.out_channels = out_channels
        self.num_outs = num_outs
        self.upsample_mode = upsample_mode
        self.adapt_unused_inputs = adapt_unused_inputs

        read = {i for c in self.genotype.decoder for i in (c.in1, c.in2)}
        self.adapted_levels = [
            i for i in range(len(BACKBONE_LEVELS)) if adapt_unused_inputs or i in read
        ]
        self.adapters = nn.ModuleDict({
            BACKBONE_LEVELS[i].lower():
            ConvNormAct(in_channels[i], out_channels, 1, norm_cfg)
            for i in self.adapted_levels
        })
        self.cells = nn.ModuleList([
            DecoderCellModule(c, out_channels, norm_cfg, upsample_mode, deform_groups, deform_impl)
            for c in self.genotype.decoder
        ])
        self.collected = collected_nodes(self.genotype.decoder)
        self.extra_convs = nn.ModuleList([
            nn.Conv2d(out_channels, out_channels, 3, stride=2, padding=1)
            for _ in range(num_outs - 3)
        ])
        self._init_extra_convs()

    def _init_extra_convs(self):
        # fpn.py:204-206 (LastLevelP6P7): kaiming_uniform_(a=1), bias 0
        for conv in self.extra_convs:
            nn.init.kaiming_uniform_(conv.weight, a=1)
            nn.init.zeros_(conv.bias)

    def genotype_state(self) -> dict:
        cells = [[int(v) for v in c] for c in self.genotype.decoder]
        return dict(genotype=cells, key=genotype_key(dict(decoder=cells)))

    def init_weights(self):
        super().init_weights()
        reset_deform_offsets(self)

    def forward(self, inputs):
        """``inputs``: C2..C5 (4 tensors); returns (P3, P4, P5, P6, P7) for ``num_outs=5``."""
        assert len(inputs) == len(BACKBONE_LEVELS), \
            f'NASFCOSDecoder takes C2..C5 (4 maps), got {len(inputs)}'
        nodes = [None] * len(BACKBONE_LEVELS)
        for i in self.adapted_levels:
            nodes[i] = self.adapters[BACKBONE_LEVELS[i].lower()](inputs[i])
        for cell in self.cells:
            nodes.append(cell(nodes))
        others = self.collected[:-3]
        outs = []
        # micro_decoders.py:117-126: collected[-3] -> C5 size, [-2] -> C4, [-1] -> C3
        for k, idx in enumerate(self.collected[-3:]):
            x = nodes[idx]
            for o in others:
                x = x + F.interpolate(
                    nodes[o], size=x.shape[-2:], mode='bilinear', align_corners=False)
            x = F.interpolate(
                x, size=inputs[3 - k].shape[-2:], mode='bilinear', align_corners=False)
            outs.insert(0, x)
        for i, conv in enumerate(self.extra_convs):
            outs.append(conv(outs[-1] if i == 0 else F.relu(outs[-1])))
        return tuple(outs)


def mmdet_neck_key_map():
    """Parameter/buffer name map mmdet 3.3.0 ``NASFCOS_FPN`` -> ``NASFCOSDecoder`` (published
    genotype, ``adapt_unused_inputs=False``): mmdet's cells ``c22_1, c22_2, c32, c02, c42, c36,
    c61`` are our cells 0..6; ``adapt_convs.0..2`` are C3..C5; ``extra_downsamples`` are P6/P7.

    Returns a list of (mmdet prefix, our prefix) pairs, longest mmdet prefix first.
    """
    pairs = [(f'adapt_convs.{i}.conv.', f'adapters.c{i + 3}.conv.') for i in range(3)]
    pairs += [(f'adapt_convs.{i}.bn.', f'adapters.c{i + 3}.norm.') for i in range(3)]
    for k, name in enumerate(('c22_1', 'c22_2', 'c32', 'c02', 'c42', 'c36', 'c61')):
        for j in (1, 2):
            pairs.append((f'fpn.{name}.input{j}_conv.conv.', f'cells.{k}.op{j}.conv.'))
            pairs.append((f'fpn.{name}.input{j}_conv.bn.', f'cells.{k}.op{j}.norm.'))
        pairs.append((f'fpn.{name}.out_conv.bn.', f'cells.{k}.agg.norm.'))
        pairs.append((f'fpn.{name}.out_conv.conv.', f'cells.{k}.agg.conv.'))
    pairs += [(f'extra_downsamples.{i}.conv.', f'extra_convs.{i}.') for i in range(2)]
    return sorted(pairs, key=lambda p: -len(p[0]))


def convert_mmdet_neck_state_dict(state_dict, prefix=''):
    """Rename mmdet ``NASFCOS_FPN`` keys (under ``prefix``, e.g. 'neck.') to ours.

    Keys outside ``prefix`` pass unchanged; a key under it that has no counterpart is an error.
    """
    pairs = mmdet_neck_key_map()
    out = {}
    for key, value in state_dict.items():
        if not key.startswith(prefix):
            out[key] = value
            continue
        rest = key[len(prefix):]
        for src, dst in pairs:
            if rest.startswith(src):
                out[prefix + dst + rest[len(src):]] = value
                break
        else:
            raise KeyError(f'no NASFCOSDecoder counterpart for mmdet key {key!r}')
    return out
