"""DetNAS genotypes: a list of 20 or 40 choice names (5 in the toy space), stored as YAML with
the widths they need.

YAML layout (see ``projects/detnas/genotypes/``)::

    name: DetNAS-COCO-FPN-300M
    source: <where the list comes from>
    stage_repeats: [4, 4, 8, 4]
    stage_out_channels: [16, 64, 160, 320, 640, 1024]   # stem, stage 1-4, last 1x1 conv
    genotype: [shuffle_7x7, shuffle_5x5, ...]

``stage_out_channels`` is the official ``[-1, stem, s1, s2, s3, s4, last]`` list without the
leading ``-1`` (megvii-model/DetNAS ``maskrcnn_benchmark/modeling/backbone/detnasnet.py``); the
official 7-entry form is accepted too.
"""
import json
import os.path as osp

import torch
import yaml

from .blocks import CHOICES

# The paper's two search-space sizes (official detnasnet.py; papers.md section 1(a)).
SPACE_300M = dict(stage_repeats=[4, 4, 8, 4], stage_out_channels=[16, 64, 160, 320, 640, 1024])
SPACE_1_3G = dict(stage_repeats=[8, 8, 16, 8], stage_out_channels=[48, 96, 240, 480, 960, 1024])
SPACE_3_8G = dict(stage_repeats=[8, 8, 16, 8], stage_out_channels=[72, 172, 432, 864, 1728, 1728])

GENOTYPE_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'genotypes')


class GenotypeError(ValueError):
    """An invalid DetNAS genotype (wrong length or unknown op), naming the bad block."""


def encode_genotype_state(state: dict) -> torch.Tensor:
    """A genotype's JSON as a uint8 tensor (a module's extra state)."""
    return torch.tensor(list(json.dumps(state, sort_keys=True).encode()), dtype=torch.uint8)


def decode_genotype_state(tensor: torch.Tensor) -> dict:
    return json.loads(bytes(tensor.tolist()).decode())


class CheckpointGenotype:
    """Mixin of the modules built from a genotype: the genotype travels with the weights.

    ``get_extra_state`` puts it into the module's ``state_dict`` (``<prefix>_extra_state``: its
    JSON as a uint8 tensor, which weights-only loading and jit tracing accept), so every checkpoint
    says which network it holds; ``set_extra_state`` refuses the
    weights of another network, which would otherwise load without a word whenever the shapes
    happen to agree. A subclass defines ``genotype_state() -> dict(genotype=..., key=...)``; the
    keys are compared (genotypes that build the same network share one).
    """

    def genotype_state(self) -> dict:
        raise NotImplementedError

    def get_extra_state(self):
        return encode_genotype_state(self.genotype_state())

    def set_extra_state(self, state):
        theirs, mine = decode_genotype_state(state), self.genotype_state()
        if theirs['key'] != mine['key']:
            raise GenotypeError(
                f'{type(self).__name__}: the checkpoint holds the weights of the genotype '
                f'{theirs["genotype"]}, but this model was built with {mine["genotype"]}. Build '
                "it with the checkpoint's genotype (the run's best_genotype.yaml: --cfg-options "
                '<module>.genotype=<file>) to evaluate what was trained.')


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def normalize_channels(stage_out_channels):
    """Return ``[stem, c2, c3, c4, c5, last]``; drops the official leading ``-1``.

    The widths must build ShuffleNetV2 blocks: a stride-2 block widens its input (its main
    branch makes ``out - in`` channels), so stem < s1 < s2 < s3 < s4, and the stride-1 blocks
    split their channels in half, so s1..s4 are even.
    """
    if not isinstance(stage_out_channels, (list, tuple)):
        raise GenotypeError('stage_out_channels must be a list [stem, s1, s2, s3, s4, last], '
                            f'got {stage_out_channels!r}')
    chs = list(stage_out_channels)
    if len(chs) == 7 and chs[0] == -1:
        chs = chs[1:]
    if len(chs) != 6 or not all(_is_int(c) and c > 0 for c in chs):
        raise GenotypeError('stage_out_channels must be [stem, s1, s2, s3, s4, last] '
                            f'(positive ints), got {stage_out_channels!r}')
    if not all(a < b for a, b in zip(chs[:4], chs[1:5])):
        raise GenotypeError('stage_out_channels: stem < s1 < s2 < s3 < s4 is needed (a stride-2 '
                            f'block widens its input), got {stage_out_channels!r}')
    odd = [f's{i}={c}' for i, c in enumerate(chs[1:5], 1) if c % 2]
    if odd:
        raise GenotypeError(f'stage_out_channels: {", ".join(odd)} must be even (a stride-1 '
                            'block splits its channels in half)')
    return chs


def normalize_repeats(stage_repeats):
    """``stage_repeats`` as a list of 4 positive ints (wrong types are refused)."""
    if (not isinstance(stage_repeats, (list, tuple)) or len(stage_repeats) != 4
            or not all(_is_int(r) and r > 0 for r in stage_repeats)):
        raise GenotypeError(f'stage_repeats must be a list of 4 positive ints, got '
                            f'{stage_repeats!r}')
    return list(stage_repeats)


def validate_genotype(genotype, num_blocks):
    """Check a genotype (list of choice names or official indices 0-3); return the name list.

    Raises:
        GenotypeError: wrong length, or an unknown op (the message names the block index).
    """
    if not isinstance(genotype, (list, tuple)):
        raise GenotypeError(f'a genotype is a list of {num_blocks} choices, got {genotype!r}')
    if len(genotype) != num_blocks:
        raise GenotypeError(f'genotype has {len(genotype)} blocks, this space has {num_blocks} '
                            f'(stage_repeats sum)')
    names = []
    for i, op in enumerate(genotype):
        if _is_int(op) and 0 <= op < len(CHOICES):
            op = CHOICES[op]
        if not isinstance(op, str) or op not in CHOICES:
            raise GenotypeError(f'block {i}: unknown op {op!r}; expected one of {CHOICES} or an '
                                'index 0-3')
        names.append(op)
    return names


def _parse(data):
    if not isinstance(data, dict):
        raise GenotypeError('a genotype file holds a mapping with genotype, stage_repeats and '
                            f'stage_out_channels, got {data!r}')
    for key in ('genotype', 'stage_repeats', 'stage_out_channels'):
        if key not in data:
            raise GenotypeError(f'{key!r} is missing (keys: {sorted(data)})')
    data = dict(data)
    data['stage_out_channels'] = normalize_channels(data['stage_out_channels'])
    data['stage_repeats'] = normalize_repeats(data['stage_repeats'])
    data['genotype'] = validate_genotype(data['genotype'], sum(data['stage_repeats']))
    return data


def load_genotype(path_or_dict):
    """Load a genotype YAML (a path, a name in ``genotypes/``, or an already loaded dict).

    Returns a dict with ``genotype`` (validated names), ``stage_repeats``, ``stage_out_channels``
    (normalized) and the other keys of the file. Errors name the file, the entry and what was
    expected.
    """
    if isinstance(path_or_dict, dict):
        return _parse(path_or_dict)
    if not isinstance(path_or_dict, str):
        raise GenotypeError(f'a genotype is a YAML path, a name in {GENOTYPE_DIR} or a dict, got '
                            f'{path_or_dict!r}')
    path = path_or_dict
    if not osp.exists(path):
        cand = osp.join(GENOTYPE_DIR, path if path.endswith('.yaml') else path + '.yaml')
        if not osp.exists(cand):
            raise GenotypeError(f'genotype file not found: {path} (nor {cand})')
        path = cand
    with open(path) as f:
        data = yaml.safe_load(f)
    try:
        return _parse(data)
    except GenotypeError as e:
        raise GenotypeError(f'{path}: {e}') from None


def dump_genotype(genotype, path, stage_repeats, stage_out_channels, **meta):
    """Write a genotype YAML that :func:`load_genotype` and the fixed backbone read (the
    suite's argument order: genotype, path, then what it needs and metadata)."""
    data = dict(meta)
    data.update(
        stage_repeats=normalize_repeats(list(stage_repeats)),
        stage_out_channels=normalize_channels(list(stage_out_channels)),
        genotype=validate_genotype(list(genotype), sum(stage_repeats)))
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)
