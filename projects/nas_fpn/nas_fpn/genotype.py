"""NAS-FPN genotypes: a pyramid cell as a list of merging cells, as plain data.

A merging cell is ``(output_level, binary_op, (input0, input1), is_output)``, the block-spec
form of the official TPU code (``tensorflow/tpu``
``models/official/detection/modeling/architecture/nasfpn.py``, ``NASFPN_BLOCK_SPECS``).
Inputs index the list of nodes: ``0..num_inputs-1`` are the input pyramid P3..P7 (levels
``min_level..max_level``) and every merging cell appends one node. Paper, Sec. 3 and Fig. 3:
each cell picks two candidate layers, an output resolution and a binary op (sum or global
pooling); the last five cells produce the outputs P3..P7 (their levels a permutation).

A genotype is stored as YAML::

    cells:
    - [4, attention, [1, 3], false]
    - ...

``best_genotype.yaml`` of the search loop has this format, so a retrain config reads it as is.
"""
import json
import os.path as osp
from collections import namedtuple

import torch
import yaml

BINARY_OPS = ('sum', 'attention')

MergingCellSpec = namedtuple('MergingCellSpec', ['level', 'op', 'inputs', 'is_output'])


class GenotypeError(ValueError):
    """A genotype that does not describe a valid NAS-FPN cell."""


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


def _repo_root():
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def _cell_from_raw(raw, idx):
    """One merging cell from a list/tuple or a dict; raises naming cell ``idx``."""
    where = f'merging cell {idx} ({raw!r})'
    if isinstance(raw, dict):
        keys = {'level', 'op', 'inputs', 'is_output'}
        if set(raw) != keys:
            raise GenotypeError(f'{where}: expected keys {sorted(keys)}')
        raw = (raw['level'], raw['op'], raw['inputs'], raw['is_output'])
    if not isinstance(raw, (list, tuple)) or len(raw) != 4:
        raise GenotypeError(f'{where}: expected (output_level, binary_op, (input0, input1), '
                            'is_output)')
    level, op, inputs, is_output = raw
    if isinstance(level, bool) or not isinstance(level, int):
        raise GenotypeError(f'{where}: output_level must be an int, got {level!r}')
    if op not in BINARY_OPS:
        raise GenotypeError(f'{where}: binary_op must be one of {BINARY_OPS}, got {op!r}')
    if (not isinstance(inputs, (list, tuple)) or len(inputs) != 2
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in inputs)):
        raise GenotypeError(f'{where}: inputs must be two node indices, got {inputs!r}')
    if not isinstance(is_output, bool):
        raise GenotypeError(f'{where}: is_output must be true/false, got {is_output!r}')
    return MergingCellSpec(level, op, (inputs[0], inputs[1]), is_output)


def validate_genotype(cells, min_level=3, max_level=7):
    """Check a list of merging cells; returns it as a tuple of :class:`MergingCellSpec`.

    Rules (paper Sec. 3.1; TPU ``_build_feature_pyramid``): levels within
    ``[min_level, max_level]``; two distinct inputs among the nodes that exist before the cell;
    exactly ``max_level - min_level + 1`` output cells, which are the last cells and whose levels
    are a permutation of the pyramid levels. Errors name the offending cell.
    """
    if isinstance(cells, dict):
        if 'cells' not in cells:
            raise GenotypeError(f"a genotype dict needs a 'cells' list, got keys {sorted(cells)}")
        cells = cells['cells']
    if not isinstance(cells, (list, tuple)) or not cells:
        raise GenotypeError(f'a genotype is a non-empty list of merging cells (or a dict with '
                            f"'cells'), got {cells!r}")
    num_inputs = max_level - min_level + 1
    specs = []
    for idx, raw in enumerate(cells):
        spec = _cell_from_raw(raw, idx)
        where = f'merging cell {idx} {tuple(spec)}'
        if not min_level <= spec.level <= max_level:
            raise GenotypeError(f'{where}: output_level {spec.level} outside '
                                f'[{min_level}, {max_level}]')
        num_nodes = num_inputs + idx
        for i in spec.inputs:
            if not 0 <= i < num_nodes:
                raise GenotypeError(f'{where}: input {i} does not exist yet (nodes 0..'
                                    f'{num_nodes - 1} are available)')
        if spec.inputs[0] == spec.inputs[1]:
            raise GenotypeError(f'{where}: the two inputs must differ')
        specs.append(spec)
    flags = [s.is_output for s in specs]
    if len(specs) < num_inputs:
        raise GenotypeError(f'the genotype has {len(specs)} merging cells; the last '
                            f'{num_inputs} must be the outputs P{min_level}..P{max_level}')
    for idx, flag in enumerate(flags):
        if flag != (idx >= len(flags) - num_inputs):
            raise GenotypeError(f'merging cell {idx} {tuple(specs[idx])}: is_output must be '
                                f'{not flag}; the last {num_inputs} merging cells (and only '
                                f'they) are outputs; is_output flags are {flags}')
    out_levels = [s.level for s in specs[-num_inputs:]]
    if sorted(out_levels) != list(range(min_level, max_level + 1)):
        seen = set()
        for k, lv in enumerate(out_levels):
            if lv in seen:
                idx = len(specs) - num_inputs + k
                raise GenotypeError(f'merging cell {idx} {tuple(specs[idx])}: output level {lv} '
                                    'is produced twice; output levels must be a permutation '
                                    f'of {min_level}..{max_level}')
            seen.add(lv)
    return tuple(specs)


def load_genotype(source, min_level=3, max_level=7):
    """A validated genotype from a list of cells, a dict with ``cells`` or a YAML path.

    Relative paths are tried from the working directory, then from the repository root.
    """
    if isinstance(source, str):
        path = source
        if not osp.isfile(path) and osp.isfile(osp.join(_repo_root(), path)):
            path = osp.join(_repo_root(), path)
        if not osp.isfile(path):
            raise FileNotFoundError(f'genotype file not found: {source}')
        with open(path) as f:
            data = yaml.safe_load(f)
        try:
            return validate_genotype(data, min_level, max_level)
        except GenotypeError as e:
            raise GenotypeError(f'{source}: {e}') from None
    return validate_genotype(source, min_level, max_level)


def genotype_to_list(cells):
    """Plain lists (YAML/JSON friendly) ``[[level, op, [in0, in1], is_output], ...]``."""
    return [[int(c.level),
             str(c.op), [int(c.inputs[0]), int(c.inputs[1])],
             bool(c.is_output)] for c in cells]


def canonical_cells(cells, min_level=3, max_level=7):
    """The cells with the input order that does not change the network made canonical.

    The input order of a merging cell only matters for global-pooling attention between two
    nodes of the same level: sum is symmetric, and attention picks its gate by node level
    (paper Fig. 4b, TPU ``global_attention``: the coarser input; mmcv: the finer), taking a
    fixed input only on a tie (:func:`.ops.global_attention`). Other cells sort their inputs.
    """
    levels = list(range(min_level, max_level + 1)) + [c.level for c in cells]
    out = []
    for c in cells:
        i0, i1 = c.inputs
        if c.op == 'sum' or levels[i0] != levels[i1]:
            i0, i1 = sorted((i0, i1))
        out.append(MergingCellSpec(c.level, c.op, (i0, i1), c.is_output))
    return tuple(out)


def genotype_key(cells, min_level=3, max_level=7):
    """A string equal for genotypes that build the same network (the search's dedup key)."""
    return ';'.join(f'{c.level}{c.op[0]}{c.inputs[0]},{c.inputs[1]}{"o" if c.is_output else ""}'
                    for c in canonical_cells(cells, min_level, max_level))


def dump_genotype(cells, path, **meta):
    """Write ``cells`` (validated) to ``path`` as YAML, with optional metadata keys first."""
    cells = validate_genotype(cells)
    text = yaml.safe_dump(dict(meta), sort_keys=False) if meta else ''
    text += 'cells:\n' + ''.join('- ' + yaml.safe_dump(c, default_flow_style=True).strip() + '\n'
                                 for c in genotype_to_list(cells))
    with open(path, 'w') as f:
        f.write(text)
    return path
