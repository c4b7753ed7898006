"""DetNAS genotypes: a list of 20 or 40 choice names, stored as YAML with the widths they need.

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
import os.path as osp

import yaml

from .blocks import CHOICES

# The paper's two search-space sizes (official detnasnet.py; papers.md section 1(a)).
SPACE_300M = dict(stage_repeats=[4, 4, 8, 4], stage_out_channels=[16, 64, 160, 320, 640, 1024])
SPACE_1_3G = dict(stage_repeats=[8, 8, 16, 8], stage_out_channels=[48, 96, 240, 480, 960, 1024])
SPACE_3_8G = dict(stage_repeats=[8, 8, 16, 8], stage_out_channels=[72, 172, 432, 864, 1728, 1728])

GENOTYPE_DIR = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'genotypes')


class GenotypeError(ValueError):
    """An invalid DetNAS genotype (wrong length or unknown op), naming the bad block."""


def normalize_channels(stage_out_channels):
    """Return ``[stem, c2, c3, c4, c5, last]``; drops the official leading ``-1``."""
    chs = list(stage_out_channels)
    if len(chs) == 7 and chs[0] == -1:
        chs = chs[1:]
    if len(chs) != 6 or any(not isinstance(c, int) or c <= 0 for c in chs):
        raise GenotypeError('stage_out_channels must be [stem, s1, s2, s3, s4, last] '
                            f'(positive ints), got {stage_out_channels}')
    return chs


def validate_genotype(genotype, num_blocks):
    """Check a genotype (list of choice names or official indices 0-3); return the name list.

    Raises:
        GenotypeError: wrong length, or an unknown op (the message names the block index).
    """
    if isinstance(genotype, (str, bytes)) or not hasattr(genotype, '__len__'):
        raise GenotypeError(f'a genotype is a list of {num_blocks} choices, got {genotype!r}')
    if len(genotype) != num_blocks:
        raise GenotypeError(f'genotype has {len(genotype)} blocks, this space has {num_blocks} '
                            f'(stage_repeats sum)')
    names = []
    for i, op in enumerate(genotype):
        if isinstance(op, int) and not isinstance(op, bool) and 0 <= op < len(CHOICES):
            op = CHOICES[op]
        if op not in CHOICES:
            raise GenotypeError(f'block {i}: unknown op {op!r}; expected one of {CHOICES}')
        names.append(op)
    return names


def load_genotype(path_or_dict):
    """Load a genotype YAML (a path, a name in ``genotypes/``, or an already loaded dict).

    Returns a dict with ``genotype`` (validated names), ``stage_repeats``, ``stage_out_channels``
    (normalized) and the other keys of the file.
    """
    if isinstance(path_or_dict, dict):
        data = dict(path_or_dict)
    else:
        path = path_or_dict
        if not osp.exists(path):
            cand = osp.join(GENOTYPE_DIR, path if path.endswith('.yaml') else path + '.yaml')
            if osp.exists(cand):
                path = cand
        with open(path) as f:
            data = yaml.safe_load(f)
    for key in ('genotype', 'stage_repeats', 'stage_out_channels'):
        if key not in data:
            raise GenotypeError(f'genotype file lacks {key!r}: {path_or_dict}')
    data['stage_out_channels'] = normalize_channels(data['stage_out_channels'])
    data['stage_repeats'] = [int(r) for r in data['stage_repeats']]
    data['genotype'] = validate_genotype(data['genotype'], sum(data['stage_repeats']))
    return data


def dump_genotype(path, genotype, stage_repeats, stage_out_channels, **extra):
    """Write a genotype YAML that :func:`load_genotype` and the fixed backbone read."""
    data = dict(extra)
    data.update(
        stage_repeats=list(stage_repeats),
        stage_out_channels=normalize_channels(stage_out_channels),
        genotype=validate_genotype(genotype, sum(stage_repeats)))
    with open(path, 'w') as f:
        yaml.safe_dump(data, f, sort_keys=False)
