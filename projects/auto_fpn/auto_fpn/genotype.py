"""Auto-FPN genotypes as plain data: the edges the search kept, with their ops.

A genotype is YAML with up to two components (``projects/auto_fpn/genotypes/`` holds an
example)::

    fusion:   # Auto-fusion: L layers; a layer = 4 nodes (P2..P5, strides 4..32); a node = the
              # [op, source] edges it sums (source: a node of the layer before, 0 = stride 4;
              # the layer before the first is the backbone's C2..C5)
    - [[[sep_conv_3x3, 0], [skip_connect, 1]], [[dil_conv_3x3, 1], [skip_connect, 2]], ...]
    - ...
    head:     # Auto-head: M cells; a cell = 4 intermediate nodes; a node = its [op, input]
              # edges (input 0 / 1: the outputs of the cells k-2 / k-1, 2 + i: node i)
    - [[[sep_conv_3x3, 0], [conv_5x5, 1]], [[skip_connect, 0], [conv_3x3, 2]], ...]
    source: '...'

The edge form ``[op, input]`` is DARTS's (quark0/darts @f276dd3 ``cnn/genotypes.py``:
``('sep_conv_3x3', 1)``). ``none`` is not an op of a genotype (an edge that is not kept is not
listed). Ops come from :data:`~.ops.FUSION_OPS` / :data:`~.ops.HEAD_OPS`. Other top-level keys
(``source``, ``score``, ...) are metadata.

Each fixed module reads its own component and fails at build time if it is missing, naming
the file and the component. Validation is strict (wrong types are refused, not coerced: ``'1'``
is not an index, ``True`` is not ``1``); errors name the file, component, layer or cell, node
and edge, before any layer is built.
"""
import json
import os
import os.path as osp
from typing import List, NamedTuple, Optional, Tuple

import torch
import yaml

from .ops import OP_SETS

COMPONENTS = ('fusion', 'head')
NUM_LEVELS = 4  # Auto-fusion nodes per layer: P2..P5
NUM_STEPS = 4  # Auto-head intermediate nodes per cell (DARTS's steps; 2 inputs + 4 + output = 7)
EXAMPLE_GENOTYPE = 'projects/auto_fpn/genotypes/autofpn_toy_example.yaml'

Edge = Tuple[str, int]
Node = Tuple[Edge, ...]
Stack = Tuple[Tuple[Node, ...], ...]  # layers (fusion) or cells (head)


class GenotypeError(ValueError):
    """A genotype that does not describe an Auto-FPN architecture."""


def encode_genotype_state(state: dict) -> torch.Tensor:
    """A genotype's JSON as a uint8 tensor (a module's extra state)."""
    return torch.tensor(list(json.dumps(state, sort_keys=True).encode()), dtype=torch.uint8)


def decode_genotype_state(tensor: torch.Tensor) -> dict:
    return json.loads(bytes(tensor.tolist()).decode())


class CheckpointGenotype:
    """Mixin of the fixed modules: the genotype travels with the weights (the suite's rule).

    ``get_extra_state`` puts it into the module's ``state_dict`` (``<prefix>_extra_state``: its
    JSON as a uint8 tensor, which weights-only loading accepts), so every checkpoint says which
    network it holds; ``set_extra_state`` refuses the weights of another network, which would
    otherwise load without a word whenever the shapes agree (``dil_conv_3x3`` and
    ``dil_conv_3x3_r3`` have the same weights). A subclass defines ``genotype_state() ->
    dict(genotype=..., key=...)``; the keys are compared (genotypes that build the same network
    share one).
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


class AutoFPNGenotype(NamedTuple):
    """A validated genotype: per component a tuple of layers / cells of nodes of
    ``(op, input)`` edges, None if absent."""
    fusion: Optional[Stack] = None
    head: Optional[Stack] = None

    @property
    def components(self):
        return tuple(c for c in COMPONENTS if getattr(self, c) is not None)


def num_inputs(component: str, node: int) -> int:
    """How many inputs an edge into ``node`` may come from."""
    return NUM_LEVELS if component == 'fusion' else 2 + node


def random_genotype(component: str, rng, units: int = 2, edges: int = 2) -> dict:
    """A random ``{component: ...}`` genotype (``rng``: a ``random.Random``) of ``units``
    layers (fusion) or cells (head), ``edges`` distinct inputs per node, ops drawn uniformly
    (``none`` excluded): the known optimum of a synthetic search."""
    ops = [o for o in OP_SETS[component] if o != 'none']
    stack = []
    for _ in range(units):
        nodes = []
        for j in range(NUM_LEVELS if component == 'fusion' else NUM_STEPS):
            inputs = sorted(rng.sample(range(num_inputs(component, j)), edges))
            nodes.append([[rng.choice(ops), s] for s in inputs])
        stack.append(nodes)
    return {component: stack}


def _validate_component(raw, component, where):
    unit = 'layer' if component == 'fusion' else 'cell'
    ops = [o for o in OP_SETS[component] if o != 'none']
    if not isinstance(raw, (list, tuple)) or not raw:
        raise GenotypeError(f'{where}: {component}: expected a non-empty list of {unit}s, got '
                            f'{raw!r} ({type(raw).__name__})')
    stack = []
    for u, nodes in enumerate(raw):
        at_u = f'{where}: {component} {unit} {u}'
        n = NUM_LEVELS if component == 'fusion' else NUM_STEPS
        if not isinstance(nodes, (list, tuple)) or len(nodes) != n:
            raise GenotypeError(f'{at_u}: expected a list of {n} nodes, got {nodes!r}')
        layer = []
        for j, edges in enumerate(nodes):
            at_n = f'{at_u} node {j}'
            if not isinstance(edges, (list, tuple)) or not edges:
                raise GenotypeError(f'{at_n}: expected a non-empty list of [op, input] edges, '
                                    f'got {edges!r}')
            node, seen = [], set()
            limit = num_inputs(component, j)
            for e, edge in enumerate(edges):
                at_e = f'{at_n} edge {e}'
                if not isinstance(edge, (list, tuple)) or len(edge) != 2:
                    raise GenotypeError(f'{at_e}: expected [op, input], got {edge!r}')
                op, src = edge
                if not isinstance(op, str) or op not in ops:
                    hint = ' (an edge that is not kept is left out, not given op none)' \
                        if op == 'none' else ''
                    raise GenotypeError(f'{at_e}: {op!r} is not an op of {component}{hint}; '
                                        f'expected one of {ops}')
                if isinstance(src, bool) or not isinstance(src, int) or not 0 <= src < limit:
                    raise GenotypeError(f'{at_e}: input {src!r}: expected an int in 0..'
                                        f'{limit - 1}')
                if src in seen:
                    raise GenotypeError(f'{at_e}: input {src} appears twice in this node')
                seen.add(src)
                node.append((op, src))
            layer.append(tuple(node))
        stack.append(tuple(layer))
    return tuple(stack)


def validate_genotype(data, where='genotype', components=None):
    """An :class:`AutoFPNGenotype` from a dict (or a genotype), checked entry by entry.

    Args:
        data (dict | AutoFPNGenotype): ``fusion``/``head`` (any non-empty subset) and metadata.
        where (str): what the errors start with (the file name when loading one).
        components (Sequence[str], optional): components that must be present.
    """
    if isinstance(data, AutoFPNGenotype):
        data = genotype_to_dict(data)
    if not isinstance(data, dict):
        raise GenotypeError(f'{where}: a genotype is a mapping with {"/".join(COMPONENTS)} '
                            f'lists, got {type(data).__name__}')
    for c in components or ():
        if c not in COMPONENTS:
            raise GenotypeError(f'unknown component {c!r}; components are {COMPONENTS}')
    present = [c for c in COMPONENTS if c in data]
    missing = [c for c in components or () if c not in data]
    if missing or not present:
        raise GenotypeError(f'{where}: no {" / ".join(missing or COMPONENTS)} in this genotype '
                            f'(it has {present}; keys: {sorted(map(str, data))}). A missing '
                            'component is never filled with a default.')
    return AutoFPNGenotype(**{c: _validate_component(data[c], c, where) for c in present})


def _repo_root():
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def resolve_path(path):
    """``path`` as given if it exists, else relative to the repository root."""
    path = os.fspath(path)
    if not osp.isfile(path) and not osp.isabs(path) and osp.isfile(osp.join(_repo_root(), path)):
        return osp.join(_repo_root(), path)
    return path


def load_genotype(source, components=None) -> AutoFPNGenotype:
    """A validated genotype from a YAML path, a dict or a genotype (relative paths: from the
    working directory, then from the repository root)."""
    if isinstance(source, (str, os.PathLike)):
        path = resolve_path(source)
        if not osp.isfile(path):
            raise FileNotFoundError(f'genotype file not found: {os.fspath(source)}')
        with open(path) as f:
            data = yaml.safe_load(f)
        return validate_genotype(data, where=os.fspath(source), components=components)
    return validate_genotype(source, components=components)


def load_component(source, component) -> Stack:
    """One component of ``source`` (a path, a dict or a genotype)."""
    return getattr(load_genotype(source, components=(component, )), component)


def genotype_to_dict(genotype) -> dict:
    """``{component: nested lists}`` for the components present (YAML/JSON friendly)."""
    return {
        c: [[[list(e) for e in node] for node in unit] for unit in getattr(genotype, c)]
        for c in genotype.components
    }


def live_edges(layers) -> List[List[Tuple[int, int, str]]]:
    """Per layer, the ``(target, source, op)`` edges the outputs depend on: an edge into a
    node that no edge of the next layer reads is dropped (every node of the last layer is an
    output)."""
    used = set(range(NUM_LEVELS))
    out = []
    for nodes in reversed(layers):
        edges = [(t, s, op) for t in sorted(used) for op, s in nodes[t]]
        out.append(edges)
        used = {s for _, s, _ in edges}
    return out[::-1]


def genotype_key(genotype) -> str:
    """A string equal for genotypes that build the same network (edge order within a node does
    not matter: a node is a sum)."""
    genotype = load_genotype(genotype)
    parts = []
    for c in COMPONENTS:
        stack = getattr(genotype, c)
        if stack is None:
            parts.append(f'{c}:-')
            continue
        if c == 'fusion':  # edges into nodes that no output depends on build nothing
            stack = [[tuple((op, s) for t2, s, op in layer if t2 == t) for t in range(NUM_LEVELS)]
                     for layer in live_edges(stack)]
        parts.append(f'{c}:' +
                     json.dumps([[sorted(node, key=lambda e: (e[1], e[0])) for node in unit]
                                 for unit in stack],
                                separators=(',', ':')))
    return '|'.join(parts)


def dump_genotype(genotype, path, **meta):
    """Write ``genotype`` (validated) to ``path`` as YAML, one layer / cell per line, then the
    metadata; atomic (temp file + rename). Returns ``path``."""
    genotype = load_genotype(genotype)
    clash = set(COMPONENTS) & set(meta)
    if clash:
        raise GenotypeError(f'metadata keys {sorted(clash)} would overwrite the genotype')
    text = ''
    for c, stack in genotype_to_dict(genotype).items():
        text += f'{c}:\n'
        for unit in stack:
            text += '- ' + json.dumps(unit).replace('"', '') + '\n'
    if meta:
        text += yaml.safe_dump(dict(meta), sort_keys=False)
    path = os.fspath(path)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return path
