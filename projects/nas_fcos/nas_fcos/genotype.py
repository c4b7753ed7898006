"""NAS-FCOS genotypes as plain data: the decoder (FPN) cells, the head ops, the share level.

The encoding is the official one (Lausannen/NAS-FCOS @d586b28, ``configs/search/*.yaml``,
``SEARCH.DECODER.CONFIG``), with the op lists of ``maskrcnn_benchmark/nas/rl/genotypes.py:5-25``
in their official order, so that an index means the same op here and there:

* **decoder**: 7 cells (``SEARCH.DECODER.NUM_CELLS``), each ``[in1, in2, op1, op2, agg]``.
  ``in1``/``in2`` index the pool of nodes: 0..3 are the backbone levels C2..C5 (each adapted
  to the decoder width by 1x1 conv + BN + ReLU), every cell appends one node (the first cell
  is node 4). ``op1`` is applied to ``in1``, ``op2`` to ``in2`` (indices into :data:`FPN_OPS`),
  and ``agg`` (index into :data:`AGG_OPS`) merges the two after the smaller one is upsampled
  to the larger (``micro_decoders.py:46-72``, ``layer_factory.py:267-305``).
* **head**: 6 op indices into :data:`HEAD_OPS` (``SEARCH.HEAD.NUM_HEAD_LAYERS``), applied in
  sequence in the classification and the regression tower (``micro_heads.py:66-80``).
* **share_level** ``s`` in 0..6: head layers with index ``< s`` have one copy per pyramid level,
  layers ``>= s`` are shared by all levels (``micro_heads.py:36-80``).

A genotype is stored as YAML (``genotypes/nas_fcos_published.yaml``)::

    decoder:
    - [3, 3, 4, 4, 1]
    - ...
    head: [5, 1, 5, 0, 4, 4]
    share_level: 0

``head`` and ``share_level`` may be left out together: a decoder-only genotype (the official
``*_NAS_densebox.yaml`` models, searched FPN with the standard FCOS head). Other top-level keys
(``source``, ``score``, ``step``, ...) are metadata and are ignored.

Cell outputs that no later cell consumes are *collected* (``micro_decoders.py:50-68``); the
last three collected nodes give P5, P4, P3, every other collected node is resized and added to
each of them (``micro_decoders.py:113-126``). The official ``judge()`` (``:76-84``) rejects
genotypes with fewer than 3 collected nodes; :func:`validate_genotype` does the same, before any
layer is built.
"""
import json
import numbers
import os
import os.path as osp
from typing import NamedTuple, Optional, Tuple

import torch
import yaml

# maskrcnn_benchmark/nas/rl/genotypes.py:5-11 (OP_NAMES), official order.
FPN_OPS = ('sep_conv_3x3', 'sep_conv_3x3_dil3', 'sep_conv_5x5_dil6', 'skip_connect', 'def_conv_3x3')
# genotypes.py:13-16 (AGG_NAMES).
AGG_OPS = ('psum', 'cat')
# genotypes.py:18-25 (HEAD_OP_NAMES).
HEAD_OPS = ('conv1x1', 'conv3x3', 'sep_conv_3x3', 'sep_conv_3x3_dil3', 'skip_connect',
            'def_conv_3x3')

BACKBONE_LEVELS = ('C2', 'C3', 'C4', 'C5')
BACKBONE_STRIDES = (4, 8, 16, 32)  # micro_decoders.py:45 (_pools_stride)
NUM_CELLS = 7  # configs/search/R_50_NAS_head.yaml:34
NUM_HEAD_LAYERS = 6  # R_50_NAS_head.yaml:37
MIN_COLLECTED = 3  # micro_decoders.py:76-84, judge()
OUTPUT_LEVELS = ('P5', 'P4', 'P3')  # the last three collected nodes, in this order

PUBLISHED_GENOTYPE = 'projects/nas_fcos/genotypes/nas_fcos_published.yaml'


class GenotypeError(ValueError):
    """A genotype that does not describe a valid NAS-FCOS architecture."""


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


class DecoderCell(NamedTuple):
    """One decoder cell ``[in1, in2, op1, op2, agg]`` (official integer encoding)."""
    in1: int
    in2: int
    op1: int
    op2: int
    agg: int


class NASFCOSGenotype(NamedTuple):
    """A validated genotype. ``head``/``share_level`` are None for a decoder-only genotype."""
    decoder: Tuple[DecoderCell, ...]
    head: Optional[Tuple[int, ...]] = None
    share_level: Optional[int] = None

    @property
    def has_head(self):
        return self.head is not None


class DecodedCell(NamedTuple):
    """A decoder cell in words: the node it makes, its inputs, ops, aggregation and stride."""
    node: int
    name: str
    inputs: Tuple[str, str]
    ops: Tuple[str, str]
    agg: str
    stride: int


class DecodedOutput(NamedTuple):
    """``level = resize_to(main + sum(added))``: which nodes make one output level."""
    level: str
    main: str
    added: Tuple[str, ...]
    stride: int  # stride of the main node, before the resize to ``resized_to``
    resized_to: str


class DecodedDecoder(NamedTuple):
    """What a decoder genotype builds (see :func:`decode_genotype`)."""
    cells: Tuple[DecodedCell, ...]
    collected: Tuple[str, ...]
    outputs: Tuple[DecodedOutput, ...]  # P5, P4, P3
    unused_inputs: Tuple[str, ...]  # backbone levels no cell reads
    unused_ops: Tuple[str, ...]
    unused_aggs: Tuple[str, ...]

    def describe(self):
        """Multi-line text: one line per cell, then the output formulas."""
        lines = [
            f'{c.name} = {c.agg}({c.ops[0]}({c.inputs[0]}), {c.ops[1]}({c.inputs[1]})) '
            f'@ stride {c.stride}' for c in self.cells
        ]
        lines.append('collected: ' + ', '.join(self.collected))
        for o in self.outputs:
            terms = ' + '.join((o.main, ) + o.added)
            lines.append(f'{o.level} = resize_to_{o.resized_to}({terms})  '
                         f'[{o.main} at stride {o.stride}]')
        return '\n'.join(lines)


def node_name(index):
    """``C2..C5`` for the backbone levels 0..3, ``n<k>`` for the node that cell ``k-4`` makes."""
    if index < len(BACKBONE_LEVELS):
        return BACKBONE_LEVELS[index]
    return f'n{index}'


def _is_int(value):
    """Integers only: bool, '3', 3.0 and 2.7 are refused (numpy integers are integers)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and \
        type(value).__name__ != 'bool_'


def _index(value, what, choices, where):
    if not _is_int(value):
        raise GenotypeError(f'{where}: {what} must be an integer index, got {value!r} '
                            f'({type(value).__name__})')
    value = int(value)
    if not 0 <= value < len(choices):
        listing = ', '.join(f'{i}={n}' for i, n in enumerate(choices))
        raise GenotypeError(f'{where}: {what}={value} is not one of 0..{len(choices) - 1} '
                            f'({listing})')
    return value


def collected_nodes(cells, num_inputs=len(BACKBONE_LEVELS)):
    """Node indices that no later cell consumes, in the official order (``micro_decoders.py``
    ``_collect_inds``: a cell removes its inputs from the list, then appends its own node)."""
    collected = []
    for k, cell in enumerate(cells):
        for pos in (cell[0], cell[1]):
            if pos in collected:
                collected.remove(pos)
        collected.append(num_inputs + k)
    return collected


def _validate_decoder(raw, num_cells, where):
    if not isinstance(raw, (list, tuple)):
        raise GenotypeError(f'{where}: decoder must be a list of cells [in1, in2, op1, op2, agg], '
                            f'got {raw!r}')
    if num_cells is not None and len(raw) != num_cells:
        raise GenotypeError(f'{where}: decoder has {len(raw)} cells, expected {num_cells} '
                            '(SEARCH.DECODER.NUM_CELLS)')
    if not raw:
        raise GenotypeError(f'{where}: decoder has no cell')
    cells = []
    for k, c in enumerate(raw):
        at = f'{where}: decoder cell {k} {c!r}'
        if not isinstance(c, (list, tuple)) or len(c) != 5:
            raise GenotypeError(f'{at}: expected [in1, in2, op1, op2, agg], 5 integers')
        num_nodes = len(BACKBONE_LEVELS) + k
        pool = [node_name(i) for i in range(num_nodes)]
        ins = [_index(c[i], name, pool, at) for i, name in ((0, 'in1'), (1, 'in2'))]
        ops = [_index(c[i], name, FPN_OPS, at) for i, name in ((2, 'op1'), (3, 'op2'))]
        agg = _index(c[4], 'agg', AGG_OPS, at)
        cells.append(DecoderCell(ins[0], ins[1], ops[0], ops[1], agg))
    collected = collected_nodes(cells)
    if len(collected) < MIN_COLLECTED:
        raise GenotypeError(
            f'{where}: decoder collects {len(collected)} output node(s) '
            f'({", ".join(node_name(i) for i in collected)}), at least {MIN_COLLECTED} are '
            'needed for P5/P4/P3 (official judge(): every other cell output is consumed by a '
            'later cell)')
    return tuple(cells)


def _validate_head(head, share_level, num_head_layers, where):
    if not isinstance(head, (list, tuple)):
        raise GenotypeError(f'{where}: head must be a list of {num_head_layers} op indices, '
                            f'got {head!r}')
    if num_head_layers is not None and len(head) != num_head_layers:
        raise GenotypeError(f'{where}: head has {len(head)} layers, expected {num_head_layers} '
                            '(SEARCH.HEAD.NUM_HEAD_LAYERS)')
    ops = tuple(
        _index(op, 'op', HEAD_OPS, f'{where}: head layer {i} ({op!r})')
        for i, op in enumerate(head))
    if not _is_int(share_level):
        raise GenotypeError(f'{where}: share_level must be an integer 0..{len(ops)}, got '
                            f'{share_level!r} ({type(share_level).__name__})')
    share_level = int(share_level)
    if not 0 <= share_level <= len(ops):
        raise GenotypeError(f'{where}: share_level={share_level} outside 0..{len(ops)} (layers '
                            'below it are per level, the others shared)')
    return ops, share_level


def validate_genotype(data, num_cells=NUM_CELLS, num_head_layers=NUM_HEAD_LAYERS, where='genotype'):
    """A :class:`NASFCOSGenotype` from a dict (or a genotype), checked entry by entry.

    Wrong types are refused, not coerced. Errors name ``where`` (e.g. the file), the cell or
    head layer and what was expected. ``num_cells``/``num_head_layers`` = None accept any count.
    """
    if isinstance(data, NASFCOSGenotype):
        data = genotype_to_dict(data)
    if not isinstance(data, dict):
        raise GenotypeError(f"{where}: a genotype is a mapping with 'decoder' (and 'head', "
                            f"'share_level'), got {type(data).__name__}")
    if 'decoder' not in data:
        raise GenotypeError(f"{where}: no 'decoder' key (keys: {sorted(data)})")
    decoder = _validate_decoder(data['decoder'], num_cells, where)
    has_head, has_share = 'head' in data, 'share_level' in data
    if has_head != has_share:
        missing = 'share_level' if has_head else 'head'
        raise GenotypeError(f"{where}: '{missing}' is missing; 'head' and 'share_level' go "
                            'together (or both are left out for a decoder-only genotype)')
    if not has_head:
        return NASFCOSGenotype(decoder)
    head, share_level = _validate_head(data['head'], data['share_level'], num_head_layers, where)
    return NASFCOSGenotype(decoder, head, share_level)


def _repo_root():
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def resolve_path(path):
    """``path`` as given if it exists, else relative to the repository root."""
    path = os.fspath(path)
    if not osp.isfile(path) and not osp.isabs(path) and osp.isfile(osp.join(_repo_root(), path)):
        return osp.join(_repo_root(), path)
    return path


def load_genotype(source, num_cells=NUM_CELLS, num_head_layers=NUM_HEAD_LAYERS):
    """A validated :class:`NASFCOSGenotype` from a YAML path, a dict or a genotype.

    Relative paths are tried from the working directory, then from the repository root.
    Errors start with the file name.
    """
    if isinstance(source, (str, os.PathLike)):
        path = resolve_path(source)
        if not osp.isfile(path):
            raise FileNotFoundError(f'genotype file not found: {source}')
        with open(path) as f:
            data = yaml.safe_load(f)
        return validate_genotype(data, num_cells, num_head_layers, where=os.fspath(source))
    return validate_genotype(source, num_cells, num_head_layers)


def genotype_to_dict(genotype):
    """Plain lists/ints (YAML/JSON friendly); no head keys for a decoder-only genotype."""
    out = dict(decoder=[[int(v) for v in c] for c in genotype.decoder])
    if genotype.head is not None:
        out['head'] = [int(v) for v in genotype.head]
        out['share_level'] = int(genotype.share_level)
    return out


def genotype_from_official(config, head_share_level=None, head_ops=None):
    """A genotype from the official ``SEARCH.DECODER.CONFIG`` list.

    The official list wraps each cell in a list and, for ``*_NAS_head`` models, appends
    ``[share_level]`` and the head ops: ``[[[3,3,4,4,1]], ..., [0], [5,1,5,0,4,4]]``
    (``R_50_NAS_head.yaml:32``; ``micro_decoders.py:143`` keeps the first NUM_CELLS entries).
    """
    cells, rest = [], list(config)
    while rest and isinstance(rest[0], (list, tuple)) and rest[0] and \
            isinstance(rest[0][0], (list, tuple)):
        cells.append(list(rest.pop(0)[0]))
    data = dict(decoder=cells)
    if rest:
        if len(rest) != 2 or len(rest[0]) != 1:
            raise GenotypeError(f'official config: after the cells expected [share_level] and '
                                f'the head ops, got {rest!r}')
        data.update(share_level=rest[0][0], head=list(rest[1]))
    if head_ops is not None:
        data.update(head=list(head_ops), share_level=head_share_level)
    return validate_genotype(data, num_cells=len(cells), where='official config')


def decode_genotype(genotype):
    """The decoder in words (:class:`DecodedDecoder`): per cell its inputs, ops, aggregation and
    stride (the smaller of its inputs' strides, ``micro_decoders.py:66-72``), the collected
    nodes and how they make P5/P4/P3 (``micro_decoders.py:113-126``)."""
    genotype = load_genotype(genotype, num_cells=None, num_head_layers=None)
    strides = list(BACKBONE_STRIDES)
    cells = []
    for k, c in enumerate(genotype.decoder):
        node = len(BACKBONE_LEVELS) + k
        stride = min(strides[c.in1], strides[c.in2])
        strides.append(stride)
        cells.append(
            DecodedCell(node, node_name(node), (node_name(c.in1), node_name(c.in2)),
                        (FPN_OPS[c.op1], FPN_OPS[c.op2]), AGG_OPS[c.agg], stride))
    collected = collected_nodes(genotype.decoder)
    others = tuple(node_name(i) for i in collected[:-3])
    outputs = tuple(
        DecodedOutput(level, node_name(i), others, strides[i], 'C' + level[1])
        for level, i in zip(OUTPUT_LEVELS, collected[-3:]))
    read = {i for c in genotype.decoder for i in (c.in1, c.in2)}
    used_ops = {FPN_OPS[o] for c in genotype.decoder for o in (c.op1, c.op2)}
    used_aggs = {AGG_OPS[c.agg] for c in genotype.decoder}
    return DecodedDecoder(
        tuple(cells), tuple(node_name(i) for i in collected), outputs,
        tuple(n for i, n in enumerate(BACKBONE_LEVELS) if i not in read),
        tuple(o for o in FPN_OPS if o not in used_ops),
        tuple(a for a in AGG_OPS if a not in used_aggs))


def canonical_genotype(genotype):
    """The genotype with the choices that do not change the network made canonical.

    * a ``psum`` cell is symmetric (``a*x + b*y``, both weights initialised to 1,
      ``layer_factory.py:278-289``): its two (input, op) branches are sorted. A ``cat`` cell
      is not: the grouped 1x1 after the concatenation mixes channel pairs of one branch only,
      so the branch order changes the network and is kept.
    * head ``skip_connect`` layers are identities without parameters, wherever they stand:
      they are dropped, and the share level becomes the number of remaining layers that sit
      below it (per-level copies of an identity are the same identity).

    The result is a ``(decoder, head, split)`` tuple, not a genotype (its head may be shorter).
    """
    genotype = load_genotype(genotype, num_cells=None, num_head_layers=None)
    cells = []
    for c in genotype.decoder:
        if AGG_OPS[c.agg] == 'psum':
            (i1, o1), (i2, o2) = sorted([(c.in1, c.op1), (c.in2, c.op2)])
            c = DecoderCell(i1, i2, o1, o2, c.agg)
        cells.append(tuple(c))
    if genotype.head is None:
        return tuple(cells), None, None
    skip = HEAD_OPS.index('skip_connect')
    ops = tuple(o for o in genotype.head if o != skip)
    split = sum(1 for i, o in enumerate(genotype.head) if o != skip and i < genotype.share_level)
    return tuple(cells), ops, split


def genotype_key(genotype):
    """A string equal for genotypes that build the same network (the search's dedup key).

    ``D:<cells>|H:<head ops without skips>/<split>``; ``H:-`` for a decoder-only genotype.
    """
    cells, ops, split = canonical_genotype(genotype)
    dec = ','.join('.'.join(str(v) for v in c) for c in cells)
    head = '-' if ops is None else '.'.join(str(o) for o in ops) + f'/{split}'
    return f'D:{dec}|H:{head}'


def dump_genotype(genotype, path, **meta):
    """Write ``genotype`` (validated) to ``path`` as YAML, metadata keys first; returns path.

    Every value of ``meta`` must be YAML-safe (str, numbers, lists, dicts). The file loads back
    with :func:`load_genotype` to an equal genotype.
    """
    genotype = validate_genotype(genotype, num_cells=None, num_head_layers=None)
    clash = {'decoder', 'head', 'share_level'} & set(meta)
    if clash:
        raise GenotypeError(f'metadata keys {sorted(clash)} would overwrite the genotype')
    data = genotype_to_dict(genotype)
    text = yaml.safe_dump(dict(meta), sort_keys=False) if meta else ''
    text += 'decoder:\n' + ''.join(f'- {c}\n' for c in data['decoder'])
    if 'head' in data:
        text += f"head: {data['head']}\nshare_level: {data['share_level']}\n"
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return path
