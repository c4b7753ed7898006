"""DetNAS ShuffleNetV2 backbones: the searchable supernet and the fixed (static) network.

Structure (megvii-model/DetNAS ``maskrcnn_benchmark/modeling/backbone/detnasnet.py``,
``Supernet-ImageNet/detnasnet.py``; paper Sec. 3.2): a 3x3 stride-2 conv-BN-ReLU stem (conv with
bias, Gaussian init std 0.01), no max-pool, then four stages of ``stage_repeats`` choice blocks
whose first block has stride 2, so the stage outputs have strides 4/8/16/32 (C2-C5, fed to FPN). For
ImageNet a last 1x1 conv-BN-ReLU to ``stage_out_channels[-1]``, dropout 0.2, global average pooling
and a 1000-way FC follow (:class:`.head.DetNASImageNetHead`).
"""
import random

import torch.nn as nn
from mmcv.cnn import build_norm_layer
from mmdet.registry import MODELS
from mmengine.model import BaseModule

from .blocks import CHOICES, ShuffleChoiceBlock, check_shuffle
from .flops import get_flops_table
from .genotype import (CheckpointGenotype, GenotypeError, encode_genotype_state, load_genotype,
                       normalize_channels, normalize_repeats, validate_genotype)
from .head import DetNASImageNetHead


def _init_official(module):
    """Official init (``_initialize_weights``): conv N(0, 1/fan_in_per_group), stem N(0, 0.01),
    BN weight 1 / bias 1e-4, FC N(0, 0.01)."""
    for name, m in module.named_modules():
        if isinstance(m, nn.Conv2d):
            std = 0.01 if 'stem' in name else 1.0 / m.weight.shape[1]
            nn.init.normal_(m.weight, 0, std)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.modules.batchnorm._BatchNorm):
            if m.weight is not None:
                nn.init.ones_(m.weight)
                nn.init.constant_(m.bias, 1e-4)
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


class _DetNASBase(BaseModule):
    """Stem + per-position block construction shared by the supernet and the fixed network."""

    def __init__(self, stage_repeats, stage_out_channels, out_indices, norm_cfg, norm_eval,
                 channel_shuffle, init_cfg):
        super().__init__(init_cfg=init_cfg)
        self.channel_shuffle = check_shuffle(channel_shuffle)  # before any layer is built
        self.stage_repeats = normalize_repeats(stage_repeats)
        self.stage_out_channels = normalize_channels(stage_out_channels)
        if any(i not in range(4) for i in out_indices):
            raise ValueError(f'out_indices must be in 0..3 (C2-C5), got {out_indices}')
        self.out_indices = tuple(out_indices)
        self.norm_cfg = norm_cfg
        self.norm_eval = norm_eval
        self.num_blocks = sum(self.stage_repeats)
        stem = self.stage_out_channels[0]
        self.stem = nn.Sequential(
            nn.Conv2d(3, stem, 3, 2, 1, bias=True),
            build_norm_layer(norm_cfg, stem)[1], nn.ReLU(inplace=True))
        self.stage_ends = []
        self.block_specs = []  # (in_channels, out_channels, stride) per block position
        in_ch = stem
        for s, reps in enumerate(self.stage_repeats):
            out_ch = self.stage_out_channels[s + 1]
            for r in range(reps):
                self.block_specs.append((in_ch, out_ch, 2 if r == 0 else 1))
                in_ch = out_ch
            self.stage_ends.append(len(self.block_specs) - 1)
        self.out_channels = [self.stage_out_channels[i + 1] for i in self.out_indices]

    def _make_block(self, index, choice):
        in_ch, out_ch, stride = self.block_specs[index]
        return ShuffleChoiceBlock(choice, in_ch, out_ch, stride, self.norm_cfg,
                                  self.channel_shuffle)

    def init_weights(self):
        if self.init_cfg is None:
            _init_official(self)
        else:
            super().init_weights()

    def _run(self, x, blocks):
        x = self.stem(x)
        outs = []
        for i, block in enumerate(blocks):
            x = block(x)
            if i in self.stage_ends and self.stage_ends.index(i) in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode=True):
        super().train(mode)
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, nn.modules.batchnorm._BatchNorm):
                    m.eval()
        return self


@MODELS.register_module()
class DetNASShuffleNet(_DetNASBase):
    """DetNAS searchable backbone (supernet): every position holds all four candidates.

    Uniform single-path one-shot (paper Sec. 3.1; official ``forward(x, rngs)`` with
    ``np.random.randint(4)`` per block): in training mode each ``forward`` samples a new path
    uniformly unless ``sample_per_forward`` is False (then the path set by :meth:`set_choice`, e.g.
    broadcast by a hook, is used). In eval mode the current path is used.

    Args:
        stage_repeats (list[int]): blocks per stage, ``[4, 4, 8, 4]`` (20 blocks, 300M space) or
            ``[8, 8, 16, 8]`` (40 blocks, 1.3G / 3.8G spaces); the CPU toy cycle uses
            ``[1, 1, 2, 1]``.
        stage_out_channels (list[int]): ``[stem, s1, s2, s3, s4, last]`` widths (``last`` is the
            ImageNet head's 1x1 conv and unused by the detector backbone).
        out_indices (tuple[int]): stages returned (0-3 = C2-C5).
        norm_cfg (dict): norm config; the paper's detectors use SyncBN.
        sample_per_forward (bool): resample the path at every training forward.
        flops_bins (tuple, optional): ``(low, high, step)`` in MFLOPs of the whole ImageNet
            classifier at 224x224 counted as the official ``get_cand_flops`` (conv and FC only,
            see :mod:`.flops`): draw a FLOPs bin uniformly, then uniform paths until one falls
            in it (at most ``flops_bins_tries``; else the last draw). This is the official
            ImageNet supernet sampler (``Supernet-ImageNet/train.py``, ``get_uniform_sample_cand``,
            bins 290-360 step 10 for 300M); None = plain uniform sampling (official COCO
            fine-tuning, ``maskrcnn_benchmark/engine/trainer.py``).
        flops_bins_tries (int): draws per bin before giving up (official ``timeout=500``).
        seed (int, optional): seed of the backbone's own path sampler; None draws it from
            Python's ``random``, which the runner seeds (``randomness.seed``) before it builds
            the model, so the runner's seed fixes the path sequence.
        channel_shuffle (int): the stride-1 blocks' channel split: 1, the official supernet's
            (``Supernet-ImageNet/shuffle_blocks.py``, ``CHANNEL_SHUFFLE_METHOD: 1`` in the
            ``*_search.yaml`` configs), so official supernet weights compute what they computed
            there; 2 is the fixed networks' (see :func:`.blocks.channel_split_shuffle`).
    """

    def __init__(self,
                 stage_repeats=(4, 4, 8, 4),
                 stage_out_channels=(16, 64, 160, 320, 640, 1024),
                 out_indices=(0, 1, 2, 3),
                 norm_cfg=dict(type='BN'),
                 norm_eval=False,
                 sample_per_forward=True,
                 flops_bins=None,
                 flops_bins_tries=500,
                 seed=None,
                 channel_shuffle=1,
                 init_cfg=None):
        bins = None
        if flops_bins is not None:  # checked before any layer is built
            low, high, step = flops_bins
            if not 0 < step <= high - low:
                raise ValueError(f'flops_bins must be (low, high, step) with 0 < step <= '
                                 f'high - low, got {flops_bins}')
            bins = [(b * 1e6, (b + step) * 1e6) for b in range(low, high, step)]
        super().__init__(stage_repeats, stage_out_channels, out_indices, norm_cfg, norm_eval,
                         channel_shuffle, init_cfg)
        self._bins = bins
        self.flops_bins_tries = flops_bins_tries
        self.layers = nn.ModuleList(
            nn.ModuleDict({c: self._make_block(i, c)
                           for c in CHOICES}) for i in range(self.num_blocks))
        self.sample_per_forward = sample_per_forward
        self._rng = random.Random(random.getrandbits(64) if seed is None else seed)
        self._choice = None
        self.sample_choice()

    # --- path handling -------------------------------------------------------------------------
    def _uniform_path(self):
        return [self._rng.choice(CHOICES) for _ in range(self.num_blocks)]

    def sample_choice(self):
        """Draw a random path (uniform, or FLOPs-bin uniform with ``flops_bins``), make it
        current and return it (list of names)."""
        path = self._uniform_path()
        if self._bins is not None:
            low, high = self._rng.choice(self._bins)
            for _ in range(self.flops_bins_tries - 1):
                if low <= self.genotype_flops(path, with_head=True, count_bn=False) <= high:
                    break
                path = self._uniform_path()
        self._choice = path
        return list(self._choice)

    def set_choice(self, choice):
        """Make ``choice`` (names or official indices 0-3) the current path."""
        self._choice = validate_genotype(choice, self.num_blocks)

    def get_choice(self):
        """The current path as a list of choice names."""
        return list(self._choice)

    def forward(self, x):
        if self.training and self.sample_per_forward:
            self.sample_choice()
        return self._run(x, [layer[c] for layer, c in zip(self.layers, self._choice)])

    # --- export --------------------------------------------------------------------------------
    def fixed_config(self, genotype=None):
        """Config dict of the :class:`DetNASShuffleNetFixed` for ``genotype`` (default: current),
        with the supernet's channel split, so the sliced weights (:meth:`export_state_dict`)
        compute in it what they compute in the supernet."""
        genotype = validate_genotype(self._choice if genotype is None else genotype,
                                     self.num_blocks)
        return dict(
            type='DetNASShuffleNetFixed',
            genotype=genotype,
            stage_repeats=list(self.stage_repeats),
            stage_out_channels=list(self.stage_out_channels),
            out_indices=self.out_indices,
            norm_cfg=self.norm_cfg,
            channel_shuffle=self.channel_shuffle)

    def export_state_dict(self, genotype=None):
        """Weights of the path ``genotype`` sliced from the supernet, keyed for
        :class:`DetNASShuffleNetFixed` (``layers.{i}.{choice}.*`` -> ``layers.{i}.*``)."""
        return slice_supernet_state_dict(self.state_dict(), genotype or self._choice)

    def genotype_flops(self, genotype=None, input_size=224, with_head=False, count_bn=True):
        """Backbone FLOPs of ``genotype`` (default: current path) from the lookup table;
        ``with_head`` adds the ImageNet head, ``count_bn=False`` is the official count (conv and
        FC only, see :mod:`.flops`)."""
        table = get_flops_table(
            self.stage_repeats, self.stage_out_channels, input_size, count_bn=count_bn)
        return table.flops(self._choice if genotype is None else genotype, with_head)


def slice_supernet_state_dict(state_dict, genotype, prefix=''):
    """Slice a supernet state dict to one path.

    Args:
        state_dict (dict): supernet weights (keys ``{prefix}layers.{i}.{choice}.*``, ``stem.*``).
        genotype (list): choice names or indices, one per block.
        prefix (str): key prefix of the backbone in ``state_dict`` (e.g. ``'backbone.'``); the
            returned keys keep it, so a detector's checkpoint can be sliced as a whole.

    Returns:
        dict: a state dict that loads (strictly) into :class:`DetNASShuffleNetFixed`, with the
        path as its genotype (``{prefix}_extra_state``).
    """
    out = {}
    layer_prefix = prefix + 'layers.'
    num = 1 + max(
        int(k[len(layer_prefix):].split('.')[0]) for k in state_dict if k.startswith(layer_prefix))
    names = validate_genotype(genotype, num)
    for k, v in state_dict.items():
        if not k.startswith(layer_prefix):
            out[k] = v
            continue
        idx, choice, rest = k[len(layer_prefix):].split('.', 2)
        if names[int(idx)] == choice:
            out[f'{layer_prefix}{idx}.{rest}'] = v
    out[prefix + '_extra_state'] = encode_genotype_state(fixed_genotype_state(names))
    return out


def fixed_genotype_state(names):
    """What :class:`DetNASShuffleNetFixed` stores of its genotype (see ``CheckpointGenotype``)."""
    return dict(genotype=list(names), key=','.join(names))


@MODELS.register_module()
class DetNASShuffleNetFixed(CheckpointGenotype, _DetNASBase):
    """A static DetNAS backbone built from a genotype alone.

    Args:
        genotype (str | dict | list): a genotype YAML path, a name in ``projects/detnas/genotypes``
            (e.g. ``'detnas_coco_fpn_300m'``), a loaded dict, or a list of choices, one per
            block (then ``stage_repeats`` / ``stage_out_channels`` are required).
        stage_repeats, stage_out_channels: override / complete the YAML's widths.
        out_indices, norm_cfg, norm_eval, init_cfg: as :class:`DetNASShuffleNet`.
        channel_shuffle (int): 2, the released networks' channel split (the default of the
            official ``CHANNEL_SHUFFLE_METHOD``); 1 for weights sliced from a supernet
            (``best_subnet.pth``), which splits as the official supernet does.
    """

    def __init__(self,
                 genotype,
                 stage_repeats=None,
                 stage_out_channels=None,
                 out_indices=(0, 1, 2, 3),
                 norm_cfg=dict(type='BN'),
                 norm_eval=False,
                 channel_shuffle=2,
                 init_cfg=None):
        if isinstance(genotype, (str, dict)):
            data = load_genotype(genotype)
            genotype = data['genotype']
            stage_repeats = stage_repeats or data['stage_repeats']
            stage_out_channels = stage_out_channels or data['stage_out_channels']
        if stage_repeats is None or stage_out_channels is None:
            raise GenotypeError('a genotype list needs stage_repeats and stage_out_channels')
        # the genotype is checked before any layer (the stem) is built
        genotype = validate_genotype(genotype, sum(normalize_repeats(stage_repeats)))
        super().__init__(stage_repeats, stage_out_channels, out_indices, norm_cfg, norm_eval,
                         channel_shuffle, init_cfg)
        self.genotype = genotype
        self.layers = nn.ModuleList(self._make_block(i, c) for i, c in enumerate(self.genotype))

    def genotype_state(self) -> dict:
        return fixed_genotype_state(self.genotype)

    def forward(self, x):
        return self._run(x, self.layers)


class DetNASClassifier(nn.Module):
    """Fixed backbone (C5 only) + :class:`DetNASImageNetHead`: the network whose params/FLOPs the
    paper reports (ShuffleNet-Series ``DetNAS/README.md`` table)."""

    def __init__(self, genotype, num_classes=1000, **kwargs):
        super().__init__()
        self.backbone = DetNASShuffleNetFixed(genotype, out_indices=(3, ), **kwargs)
        chs = self.backbone.stage_out_channels
        self.head = DetNASImageNetHead(chs[4], chs[5], num_classes)

    def forward(self, x):
        return self.head(self.backbone(x)[-1])
