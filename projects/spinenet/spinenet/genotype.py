"""SpineNet genotypes: a list of block specs, as plain data.

A block spec is ``(level, block_fn, (parent0, parent1), is_output)``, the encoding of the official
code (tensorflow/tpu ``models/official/detection/modeling/architecture/spinenet.py``,
``SPINENET_BLOCK_SPECS`` / ``BlockSpec``). Parent indices address the growing list of block
outputs, where ``0 .. num_init_blocks - 1`` are the stem's L2 bottleneck blocks and block ``k`` of
the spec gets index ``num_init_blocks + k`` (paper Sec. 3.1: parents are "any block with a lower
ordering or block from the stem network").

On disk (``genotypes/*.yaml``, ``best_genotype.yaml``) a genotype is::

    blocks:                       # one row per scale-permuted block, in build order
    - [2, bottleneck, [0, 1], false]
    - ...
    num_init_blocks: 2            # optional, default 2
"""
import json
import os.path as osp
from typing import Iterable, List, NamedTuple, Sequence, Tuple, Union

import torch
import yaml

BLOCK_FNS = ('bottleneck', 'residual')
NUM_INIT_BLOCKS = 2
INIT_LEVEL = 2
_PROJECT = osp.dirname(osp.dirname(osp.abspath(__file__)))
REPO_ROOT = osp.dirname(osp.dirname(_PROJECT))
# The published SpineNet-49 spec (tensorflow/tpu spinenet.py SPINENET_BLOCK_SPECS).
DEFAULT_GENOTYPE = osp.join(_PROJECT, 'genotypes', 'spinenet49.yaml')


class GenotypeError(ValueError):
    """A genotype that does not describe a valid SpineNet; the message names the block."""


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


class BlockSpec(NamedTuple):
    """One scale-permuted block: its level, block type, two parents and output flag."""
    level: int
    block_fn: str
    input_offsets: Tuple[int, int]
    is_output: bool

    def to_list(self) -> list:
        return [
            int(self.level),
            str(self.block_fn), [int(p) for p in self.input_offsets],
            bool(self.is_output)
        ]


def _as_spec(row, idx: int) -> BlockSpec:
    """One block spec from a list/tuple/dict row; wrong types are refused, not coerced."""
    if isinstance(row, BlockSpec):
        row = tuple(row)
    if isinstance(row, dict):
        try:
            row = (row['level'], row['block_fn'], row.get('input_offsets', row.get('parents')),
                   row.get('is_output', False))
        except KeyError as e:
            raise GenotypeError(f'block {idx}: missing key {e} in {row}') from None
    if not isinstance(row, (list, tuple)) or len(row) != 4:
        raise GenotypeError(f'block {idx}: expected [level, block_fn, [parent0, parent1], '
                            f'is_output], got {row!r}')
    level, block_fn, parents, is_output = row
    if not isinstance(parents, (list, tuple)) or len(parents) != 2:
        raise GenotypeError(f'block {idx}: needs exactly two parents, got {parents!r}')
    if isinstance(level, bool) or not isinstance(level, int):
        raise GenotypeError(f'block {idx}: level must be an int, got {level!r}')
    if not isinstance(block_fn, str):
        raise GenotypeError(f'block {idx}: block_fn must be one of {BLOCK_FNS}, got {block_fn!r}')
    if any(isinstance(p, bool) or not isinstance(p, int) for p in parents):
        raise GenotypeError(f'block {idx}: parent indices must be ints, got {parents!r}')
    if not isinstance(is_output, bool):
        raise GenotypeError(f'block {idx}: is_output must be true or false, got {is_output!r}')
    return BlockSpec(level, block_fn, (parents[0], parents[1]), is_output)


def _parse(genotype) -> Tuple[List[BlockSpec], int]:
    num_init = NUM_INIT_BLOCKS
    if isinstance(genotype, dict):
        if 'blocks' not in genotype:
            raise GenotypeError(f"a genotype dict needs a 'blocks' list, got keys "
                                f'{sorted(genotype)}')
        num_init = genotype.get('num_init_blocks', NUM_INIT_BLOCKS)
        if isinstance(num_init, bool) or not isinstance(num_init, int) or num_init < 1:
            raise GenotypeError(f'num_init_blocks must be a positive int, got {num_init!r}')
        genotype = genotype['blocks']
    if not isinstance(genotype, (list, tuple)) or not genotype:
        raise GenotypeError(f'a genotype is a non-empty list of block specs (or a dict with '
                            f"'blocks'), got {genotype!r}")
    return [_as_spec(row, i) for i, row in enumerate(genotype)], num_init


def load_genotype(genotype) -> Tuple[List[BlockSpec], int]:
    """Block specs and ``num_init_blocks`` from a YAML path, a dict or a list of rows.

    Errors name the file (for a path), the entry and what was expected.
    """
    if not isinstance(genotype, str):
        return _parse(genotype)
    path = genotype
    if not osp.isfile(path) and osp.isfile(osp.join(REPO_ROOT, path)):
        path = osp.join(REPO_ROOT, path)  # configs name files from the repo root
    if not osp.isfile(path):
        raise GenotypeError(f'genotype file not found: {genotype}')
    with open(path) as f:
        data = yaml.safe_load(f)
    try:
        return _parse(data)
    except GenotypeError as e:
        raise GenotypeError(f'{genotype}: {e}') from None


def validate_genotype(specs: Sequence[BlockSpec],
                      num_init_blocks: int = NUM_INIT_BLOCKS,
                      min_level: int = 3,
                      max_level: int = 7,
                      levels: Iterable[int] = range(1, 8)) -> None:
    """Raise :class:`GenotypeError` naming the first bad block; return None when valid.

    Checks: known block type and level, two distinct parents that exist before the block, at
    most one output per level, every output level in ``[min_level, max_level]`` present.
    """
    levels = set(levels)
    outputs = {}
    for i, spec in enumerate(specs):
        name = f'block {i} (index {num_init_blocks + i}, {tuple(spec)})'
        if spec.block_fn not in BLOCK_FNS:
            raise GenotypeError(f'{name}: block_fn must be one of {BLOCK_FNS}')
        if spec.level not in levels:
            raise GenotypeError(f'{name}: level {spec.level} not in {sorted(levels)}')
        for p in spec.input_offsets:
            if p < 0 or p >= num_init_blocks + i:
                raise GenotypeError(
                    f'{name}: parent {p} does not exist yet (valid: 0..{num_init_blocks + i - 1})')
        if spec.input_offsets[0] == spec.input_offsets[1]:
            raise GenotypeError(f'{name}: the two parents must differ')
        if spec.is_output:
            if not min_level <= spec.level <= max_level:
                raise GenotypeError(
                    f'{name}: output level {spec.level} outside [{min_level}, {max_level}]')
            if spec.level in outputs:
                raise GenotypeError(f'{name}: duplicate output level {spec.level} '
                                    f'(already block {outputs[spec.level]})')
            outputs[spec.level] = i
    missing = [lvl for lvl in range(min_level, max_level + 1) if lvl not in outputs]
    if missing:
        raise GenotypeError(f'no output block for level(s) {missing}: the genotype needs one '
                            f'output block per level {min_level}..{max_level}')


def genotype_to_dict(specs: Sequence[Union[BlockSpec, tuple]],
                     num_init_blocks: int = NUM_INIT_BLOCKS,
                     **meta) -> dict:
    specs, _ = load_genotype([list(s) if not isinstance(s, BlockSpec) else s for s in specs])
    out = dict(meta)
    out['num_init_blocks'] = int(num_init_blocks)
    out['blocks'] = [s.to_list() for s in specs]
    return out


class _FlowRowDumper(yaml.SafeDumper):
    """Writes each block row on one line: ``- [2, bottleneck, [0, 1], false]``."""


def _represent_list(dumper, data):
    flow = all(not isinstance(v, (list, dict))
               for v in data) or (len(data) == 4 and isinstance(data[2], list))
    return dumper.represent_sequence('tag:yaml.org,2002:seq', data, flow_style=flow)


_FlowRowDumper.add_representer(list, _represent_list)


def dump_genotype(specs, path: str, num_init_blocks: int = NUM_INIT_BLOCKS, **meta) -> dict:
    data = genotype_to_dict(specs, num_init_blocks, **meta)
    with open(path, 'w') as f:
        yaml.dump(data, f, Dumper=_FlowRowDumper, sort_keys=False, default_flow_style=False)
    return data


def genotype_key(specs: Sequence[BlockSpec]) -> str:
    """A canonical string of a genotype (used to deduplicate and to resume a search)."""
    return ';'.join(f'{s.level}{s.block_fn[0]}{s.input_offsets[0]},{s.input_offsets[1]}'
                    f'{"o" if s.is_output else ""}' for s in specs)
