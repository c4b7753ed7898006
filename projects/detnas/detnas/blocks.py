"""ShuffleNetV2 choice blocks of DetNAS (Chen et al., NeurIPS 2019, Sec. 3.2 and Fig. 2).

Facts (rewritten, not copied) from megvii-model/DetNAS
``maskrcnn_benchmark/modeling/backbone/shuffle_blocks.py`` (``blocks_key``, ``Blocks``,
``ShuffleNetV2BlockSearched``), identical in megvii-model/ShuffleNet-Series ``DetNAS/``:

* four candidates per choice block: ShuffleNetV2 3x3 / 5x5 / 7x7 and Xception 3x3;
* ``shuffle_kxk`` branch: 1x1 conv-BN-ReLU -> kxk depthwise conv-BN -> 1x1 conv-BN;
  ``xception_3x3`` branch: three (3x3 depthwise conv-BN -> 1x1 conv-BN) with ReLU after the first
  two; every branch is followed by a ReLU;
* mid channels = block out channels // 2;
* stride 1: channel split, one half goes through the branch (C/2 -> C/2), the other is kept,
  then the two are concatenated (kept half first); the split is ``channel_shuffle1`` in the
  supernet (``Supernet-ImageNet/shuffle_blocks.py``, and ``CHANNEL_SHUFFLE_METHOD: 1`` in the
  ``*_search.yaml`` configs) and ``channel_shuffle2`` in the fixed networks (the default of
  ``maskrcnn_benchmark/config/defaults.py``, the released models), see
  :func:`channel_split_shuffle`;
* stride 2: the whole input goes through the branch (C_in -> C_out - C_in) and through a projection
  branch (kxk depthwise conv-BN -> 1x1 conv-BN-ReLU, k of the candidate, 3 for Xception).
"""
import torch
import torch.nn as nn
from mmcv.cnn import build_norm_layer

CHOICES = ('shuffle_3x3', 'shuffle_5x5', 'shuffle_7x7', 'xception_3x3')
"""Candidate names in the official index order (0, 1, 2, 3 of ``blocks_key``)."""

SHUFFLES = (1, 2)
"""The official channel splits, by their ``CHANNEL_SHUFFLE_METHOD`` number."""


def check_shuffle(method) -> int:
    """``method`` if it is one of :data:`SHUFFLES` (an int, not a bool or a string), else a
    ValueError naming the two."""
    if type(method) is not int or method not in SHUFFLES:
        raise ValueError(f'channel_shuffle must be 1 (the official supernet) or 2 (the official '
                         f'fixed networks), got {method!r}')
    return method


def channel_split_shuffle(x, method: int = 2):
    """Channel shuffle (groups=2) and split into the kept half and the branch's half.

    ``method=2`` (official ``channel_shuffle2``, the fixed networks): even channels, odd
    channels. ``method=1`` (official ``channel_shuffle1``, the supernet): the groups=2 shuffle
    interleaves the two halves (0, C/2, 1, C/2+1, ...) and the split takes the first and the
    second half of that order, so the kept half is channels 0..C/4-1 and C/2..3C/4-1
    interleaved, the branch's half the other two quarters. With the same weights the two
    methods compute different functions.
    """
    check_shuffle(method)
    b, c, h, w = x.shape
    if method == 1:
        assert c % 4 == 0, f'channel_shuffle1 needs a channel count divisible by 4, got {c}'
        x = x.reshape(b, 2, c // 2, h, w).transpose(1, 2).reshape(b, c, h, w)
        return x[:, :c // 2], x[:, c // 2:]
    assert c % 2 == 0, f'channel split needs an even channel count, got {c}'
    x = x.reshape(b, c // 2, 2, h, w)
    return x[:, :, 0], x[:, :, 1]


def _norm(norm_cfg, channels):
    return build_norm_layer(norm_cfg, channels)[1]


class DWPW(nn.Sequential):
    """Optional depthwise kxk conv + BN, then 1x1 conv + BN (+ ReLU)."""

    def __init__(self, in_ch, out_ch, kernel, stride, norm_cfg, relu, depthwise=True):
        layers = []
        if depthwise:
            layers += [
                nn.Conv2d(in_ch, in_ch, kernel, stride, kernel // 2, groups=in_ch, bias=False),
                _norm(norm_cfg, in_ch)
            ]
        layers += [nn.Conv2d(in_ch, out_ch, 1, bias=False), _norm(norm_cfg, out_ch)]
        if relu:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)


def _shuffle_branch(in_ch, out_ch, mid_ch, kernel, stride, norm_cfg):
    return nn.Sequential(
        nn.Conv2d(in_ch, mid_ch, 1, bias=False), _norm(norm_cfg, mid_ch), nn.ReLU(inplace=True),
        nn.Conv2d(mid_ch, mid_ch, kernel, stride, kernel // 2, groups=mid_ch, bias=False),
        _norm(norm_cfg, mid_ch), nn.Conv2d(mid_ch, out_ch, 1, bias=False), _norm(norm_cfg, out_ch))


def _xception_branch(in_ch, out_ch, mid_ch, stride, norm_cfg):
    return nn.Sequential(
        DWPW(in_ch, mid_ch, 3, stride, norm_cfg, relu=True),
        DWPW(mid_ch, mid_ch, 3, 1, norm_cfg, relu=True),
        DWPW(mid_ch, out_ch, 3, 1, norm_cfg, relu=False))


class ShuffleChoiceBlock(nn.Module):
    """One candidate of a DetNAS choice block.

    Args:
        choice (str): one of :data:`CHOICES`.
        in_channels (int): input channels.
        out_channels (int): output channels.
        stride (int): 1 (channel split + shuffle) or 2 (projection branch).
        norm_cfg (dict): norm layer config (``dict(type='SyncBN')`` for the paper's detectors).
        channel_shuffle (int): the split of a stride-1 block, 1 (supernet) or 2 (fixed
            networks), see :func:`channel_split_shuffle`.
    """

    def __init__(self,
                 choice,
                 in_channels,
                 out_channels,
                 stride,
                 norm_cfg=dict(type='BN'),
                 channel_shuffle: int = 2):
        super().__init__()
        if choice not in CHOICES:
            raise ValueError(f'unknown DetNAS choice {choice!r}; expected one of {CHOICES}')
        assert stride in (1, 2)
        self.choice, self.stride = choice, stride
        self.channel_shuffle = check_shuffle(channel_shuffle)
        kernel = int(choice.split('_')[1][0])
        mid = out_channels // 2
        if stride == 1:
            assert in_channels == out_channels and in_channels % 2 == 0
            b_in, b_out = in_channels // 2, out_channels // 2
            self.proj = None
        else:
            assert out_channels > in_channels
            b_in, b_out = in_channels, out_channels - in_channels
            self.proj = DWPW(in_channels, in_channels, kernel, 2, norm_cfg, relu=True)
        if choice.startswith('xception'):
            self.branch = _xception_branch(b_in, b_out, mid, stride, norm_cfg)
        else:
            self.branch = _shuffle_branch(b_in, b_out, mid, kernel, stride, norm_cfg)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        if self.proj is None:
            keep, x = channel_split_shuffle(x, self.channel_shuffle)
        else:
            keep = self.proj(x)
        return torch.cat((keep, self.relu(self.branch(x))), dim=1)
