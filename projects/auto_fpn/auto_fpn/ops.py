"""Auto-FPN's candidate operations, written after DARTS's definitions.

Sources: DARTS (Liu et al., ICLR 2019), quark0/darts @f276dd3 ``cnn/operations.py``:

* ``SepConv``: (ReLU -> depthwise k x k -> 1x1 -> BN) twice;
* ``ReLUConvBN``: ReLU -> k x k conv -> BN; here with a dilation r (padding r (k - 1) / 2) for
  the dilated convs, which are dense, not DARTS's dilated *separable* ``DilConv``: the paper's
  list (as quoted by the secondary note [MARS]) calls only the 3x3 / 5x5 "depthwise-separable
  conv" separable, and adds the "dilated conv" with rates 2 and 3 because dilated convs worked
  in TridentNet, whose dilated convs are dense 3x3 convs;
* ``Identity`` (``skip_connect``), ``Zero`` (``none``: ``x.mul(0.)``).

Every conv has no bias (DARTS). ``norm_cfg=None`` drops the norm layers: the Auto-FPN search
runs without normalisation ("Searching with BN will decrease the performance by 1.7%", the
paper's tip 3, quoted in a secondary note); the retrained network has BN
(``norm_cfg=dict(type='BN')``).

The two op sets (the paper's Auto-fusion list and our reading of the Auto-head's, see the
project README, "Published / reconstructed"):

* :data:`FUSION_OPS`: none, skip_connect, dilated 3x3 and 5x5 at rates 2 and 3, separable 3x3
  and 5x5 (Auto-fusion, 8 ops: the paper's list);
* :data:`HEAD_OPS`: none, skip_connect, separable 3x3 and 5x5, plain 3x3 and 5x5 convs
  (Auto-head: no dilated convs, "3x3 and 5x5 convs added"; the exact list is not published).

All ops keep the shape ``(N, C, H, W)`` (stride 1; Auto-FPN has no reduction cells).
"""
from typing import Callable, Dict, Optional

import torch.nn as nn
from mmcv.cnn import build_norm_layer

FUSION_OPS = ('none', 'skip_connect', 'dil_conv_3x3', 'dil_conv_5x5', 'dil_conv_3x3_r3',
              'dil_conv_5x5_r3', 'sep_conv_3x3', 'sep_conv_5x5')
HEAD_OPS = ('none', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'conv_3x3', 'conv_5x5')
OP_SETS = dict(fusion=FUSION_OPS, head=HEAD_OPS)


def _norm(norm_cfg: Optional[dict], channels: int):
    return [] if norm_cfg is None else [build_norm_layer(norm_cfg, channels)[1]]


class Zero(nn.Module):
    """``none``: no connection (DARTS ``Zero`` at stride 1). It only exists in the supernet."""

    def forward(self, x):
        return x.mul(0.)


class ReLUConvBN(nn.Sequential):
    """ReLU -> dense k x k conv at dilation r (no bias) -> norm (DARTS ``ReLUConvBN``, dilated):
    Auto-head's ``conv_kxk`` (r = 1) and Auto-fusion's ``dil_conv_kxk`` (r = 2, 3)."""

    def __init__(self,
                 channels: int,
                 kernel_size: int,
                 dilation: int = 1,
                 norm_cfg: Optional[dict] = None):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(
                channels,
                channels,
                kernel_size,
                padding=dilation * (kernel_size - 1) // 2,
                dilation=dilation,
                bias=False), *_norm(norm_cfg, channels))


class SepConv(nn.Sequential):
    """(ReLU -> depthwise k x k -> 1x1 -> norm) twice (DARTS ``SepConv``)."""

    def __init__(self, channels: int, kernel_size: int, norm_cfg: Optional[dict] = None):
        layers = []
        for _ in range(2):
            layers += [
                nn.ReLU(inplace=False),
                nn.Conv2d(
                    channels,
                    channels,
                    kernel_size,
                    padding=kernel_size // 2,
                    groups=channels,
                    bias=False),
                nn.Conv2d(channels, channels, 1, bias=False), *_norm(norm_cfg, channels)
            ]
        super().__init__(*layers)


OPS: Dict[str, Callable[[int, Optional[dict]], nn.Module]] = {
    'none': lambda c, norm_cfg: Zero(),
    'skip_connect': lambda c, norm_cfg: nn.Identity(),
    'dil_conv_3x3': lambda c, norm_cfg: ReLUConvBN(c, 3, 2, norm_cfg),
    'dil_conv_5x5': lambda c, norm_cfg: ReLUConvBN(c, 5, 2, norm_cfg),
    'dil_conv_3x3_r3': lambda c, norm_cfg: ReLUConvBN(c, 3, 3, norm_cfg),
    'dil_conv_5x5_r3': lambda c, norm_cfg: ReLUConvBN(c, 5, 3, norm_cfg),
    'sep_conv_3x3': lambda c, norm_cfg: SepConv(c, 3, norm_cfg),
    'sep_conv_5x5': lambda c, norm_cfg: SepConv(c, 5, norm_cfg),
    'conv_3x3': lambda c, norm_cfg: ReLUConvBN(c, 3, 1, norm_cfg),
    'conv_5x5': lambda c, norm_cfg: ReLUConvBN(c, 5, 1, norm_cfg),
}


def build_op(name: str, channels: int, norm_cfg: Optional[dict] = None) -> nn.Module:
    """The op ``name`` on ``channels`` channels (``norm_cfg=None``: no norm, the search's)."""
    if name not in OPS:
        raise KeyError(f'unknown Auto-FPN op {name!r}; ops are {sorted(OPS)}')
    return OPS[name](channels, norm_cfg)
