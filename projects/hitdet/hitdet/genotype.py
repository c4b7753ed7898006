"""Hit-Detector genotypes as plain data: one op name per searchable position of each component.

A genotype is YAML (the released one: ``projects/hitdet/genotypes/hitdet_released.yaml``)::

    backbone: [ir_k3_d1_e3, ir_k3_d1_e3, ir_k3_d2_e3, ...]   # 20 names
    neck: [sep_k5_d3, sep_k5_d3, sep_k5_d2, sep_k3_d3, ...]   # 8 names: 4 laterals, 4 post
    head: [ir_k5_d1_e6, ir_k3_d1_e6, ir_k5_d1_e6, ir_k5_d1_e6]   # 4 names
    source: '...'

Names are the canonical ones of :mod:`.ops` (``ir_k{k}_d{d}_e{e}``, ``sep_k{k}_d{d}``,
``conv_k{k}_d{d}``, and the code-only ``conv_k1_d1``); the official spellings
(``ir_k5_e6_r2``, ``sd_k5_d3``, ``conv_1x1``, ...) are accepted and stored canonical. Any op of
:data:`~.ops.OPS` is accepted at any position; whether it lies in a component's sub-space is the
search's business (:mod:`.spaces`), not the fixed network's. Positions are those of
:mod:`.spaces` (20 / 8 / 4). Other top-level keys (``source``, ``score``, ``step``, ...) are
metadata, kept by nobody.

**Partial genotypes.** A genotype holds one, two or all three components (e.g. ``backbone``
only, the paper's Table 5 experiments that replace one part of a baseline). Each fixed module
reads its own component and **fails at build time if it is missing**, naming the file and the
component; nothing falls back to the released ops silently. A search exports all three; a file
meant for the whole detector is checked with ``load_genotype(path, components=COMPONENTS)``.

Validation is strict (wrong types refused, not coerced: ``6`` is not a name, a string is not a
list); errors name the file, the component, the position (index and label) and what was
expected, before any layer is built.
"""
import json
import os
import os.path as osp
from typing import NamedTuple, Optional, Tuple

import torch
import yaml

from .ops import NOT_ALIASED, OP_POOL, OPS, canonical_op_name
from .spaces import COMPONENTS, NUM_POSITIONS, SUBSPACES, positions

RELEASED_GENOTYPE = 'projects/hitdet/genotypes/hitdet_released.yaml'


class GenotypeError(ValueError):
    """A genotype that does not describe a Hit-Detector architecture."""


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


class HitDetGenotype(NamedTuple):
    """A validated genotype: a tuple of canonical op names per component, None if absent."""
    backbone: Optional[Tuple[str, ...]] = None
    neck: Optional[Tuple[str, ...]] = None
    head: Optional[Tuple[str, ...]] = None

    @property
    def components(self):
        """The components present, in the order backbone, neck, head."""
        return tuple(c for c in COMPONENTS if getattr(self, c) is not None)


def _labels(component):
    return [p.name for p in positions(component)]


def _validate_component(raw, component, where):
    n = NUM_POSITIONS[component]
    labels = _labels(component)
    if not isinstance(raw, (list, tuple)):
        raise GenotypeError(f'{where}: {component}: expected a list of {n} op names, got '
                            f'{raw!r} ({type(raw).__name__})')
    if len(raw) != n:
        raise GenotypeError(f'{where}: {component}: {len(raw)} ops, expected {n} (positions '
                            f'{labels[0]} .. {labels[-1]})')
    names = []
    for i, op in enumerate(raw):
        at = f'{where}: {component} position {i} ({labels[i]})'
        if not isinstance(op, str):
            raise GenotypeError(f'{at}: expected an op name (str), got {op!r} '
                                f'({type(op).__name__})')
        try:
            names.append(canonical_op_name(op))
        except KeyError:
            why = f' ({NOT_ALIASED[op]})' if op in NOT_ALIASED else ''
            raise GenotypeError(
                f'{at}: {op!r} is not a Hit-Detector op{why}; expected one of the 32 pool ops '
                f'{list(OP_POOL)}, the code-only {[o for o in OPS if o not in OP_POOL]} or an '
                f'official alias of them; this component\'s sub-space (paper): '
                f'{list(SUBSPACES[component]["paper"])}') from None
    return tuple(names)


def validate_genotype(data, where='genotype', components=None):
    """A :class:`HitDetGenotype` from a dict (or a genotype), checked entry by entry.

    Args:
        data (dict | HitDetGenotype): ``backbone``/``neck``/``head`` lists (any non-empty
            subset) and metadata keys.
        where (str): what the errors start with (the file name when loading one).
        components (Sequence[str], optional): components that must be present.
    """
    if isinstance(data, HitDetGenotype):
        data = genotype_to_dict(data)
    if not isinstance(data, dict):
        raise GenotypeError(f'{where}: a genotype is a mapping with {"/".join(COMPONENTS)} '
                            f'lists of op names, got {type(data).__name__}')
    present = [c for c in COMPONENTS if c in data]
    if not present:
        raise GenotypeError(f'{where}: no component; expected at least one of {COMPONENTS} '
                            f'(keys: {sorted(map(str, data))})')
    for c in components or ():
        if c not in COMPONENTS:
            raise GenotypeError(f'unknown component {c!r}; components are {COMPONENTS}')
    missing = [c for c in components or () if c not in data]
    if missing:
        lists = ', '.join(f"no '{c}' list ({NUM_POSITIONS[c]} op names)" for c in missing)
        raise GenotypeError(f'{where}: {lists}; this genotype has {present}. A missing '
                            'component is never filled with a default.')
    return HitDetGenotype(**{c: _validate_component(data[c], c, where) for c in present})


def _repo_root():
    return osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))


def resolve_path(path):
    """``path`` as given if it exists, else relative to the repository root."""
    path = os.fspath(path)
    if not osp.isfile(path) and not osp.isabs(path) and osp.isfile(osp.join(_repo_root(), path)):
        return osp.join(_repo_root(), path)
    return path


def load_genotype(source, components=None):
    """A validated :class:`HitDetGenotype` from a YAML path, a dict or a genotype.

    Relative paths are tried from the working directory, then from the repository root. Errors
    start with the file name. ``components``: those that must be present.
    """
    if isinstance(source, (str, os.PathLike)):
        path = resolve_path(source)
        if not osp.isfile(path):
            raise FileNotFoundError(f'genotype file not found: {os.fspath(source)}')
        with open(path) as f:
            data = yaml.safe_load(f)
        return validate_genotype(data, where=os.fspath(source), components=components)
    return validate_genotype(source, components=components)


def load_component(source, component):
    """The op names (tuple) of one component of ``source`` (a path, a dict or a genotype)."""
    return getattr(load_genotype(source, components=(component, )), component)


def genotype_to_dict(genotype):
    """``{component: [names]}`` for the components present (YAML/JSON friendly)."""
    return {c: list(getattr(genotype, c)) for c in genotype.components}


def genotype_key(genotype):
    """A string equal for genotypes that build the same network (the search's dedup key):
    ``B:<20 names>|N:<8 names>|H:<4 names>`` in canonical names, ``-`` for a missing component.
    Aliases give the same key as their canonical names."""
    genotype = load_genotype(genotype)
    parts = []
    for tag, c in zip('BNH', COMPONENTS):
        ops = getattr(genotype, c)
        parts.append(f'{tag}:' + ('-' if ops is None else ','.join(ops)))
    return '|'.join(parts)


def dump_genotype(genotype, path, **meta):
    """Write ``genotype`` (validated) to ``path`` as YAML, the components first (one flow list
    per line), then the metadata (``source``, ``score``, ...); returns ``path``.

    Every value of ``meta`` must be YAML-safe. The write is atomic (temp file + rename). The file
    loads back with :func:`load_genotype` to an equal genotype.
    """
    genotype = load_genotype(genotype)
    clash = set(COMPONENTS) & set(meta)
    if clash:
        raise GenotypeError(f'metadata keys {sorted(clash)} would overwrite the genotype')
    text = ''.join(f'{c}: [{", ".join(getattr(genotype, c))}]\n' for c in genotype.components)
    if meta:
        text += yaml.safe_dump(dict(meta), sort_keys=False)
    path = os.fspath(path)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        f.write(text)
    os.replace(tmp, path)
    return path


def genotype_from_official(backbone=None, neck=None, head=None, neck_primitives=None):
    """A genotype from the official code's forms.

    Args:
        backbone (list[str]): ``predefine_archs[...]['genotypes']`` of ``fbnet_arch.py`` (22
            entries: ``'conv3'`` stem, 20 searched, ``'ir_k3_e3'``, ``'conv1'``; the fixed
            first and last two are checked and dropped) or the 20 searched names.
        neck (list[int]): ``search_neck.genotype`` indices into the code's neck ``PRIMITIVES``
            (``hit_neck_search.py:10-19``; ``neck_primitives`` to override).
        head (list[str]): ``search_head.genotype`` names (``2stage_hitdet.py:49``).
    """
    data = {}
    if backbone is not None:
        backbone = list(backbone)
        if len(backbone) == NUM_POSITIONS['backbone'] + 3:
            fixed = (backbone[0], backbone[-2], backbone[-1])
            if fixed != ('conv3', 'ir_k3_e3', 'conv1'):
                raise GenotypeError(f"official backbone: expected 'conv3' first and 'ir_k3_e3', "
                                    f"'conv1' last (fbnet_arch.py:35-41), got {fixed}")
            backbone = backbone[1:-2]
        data['backbone'] = backbone
    if neck is not None:
        prims = neck_primitives or SUBSPACES['neck']['code']
        names = []
        for i, idx in enumerate(neck):
            if isinstance(idx, bool) or not isinstance(idx, int) or not 0 <= idx < len(prims):
                raise GenotypeError(f'official neck: position {i}: expected an index 0..'
                                    f'{len(prims) - 1} into {list(prims)}, got {idx!r}')
            names.append(prims[idx])
        data['neck'] = names
    if head is not None:
        data['head'] = list(head)
    return validate_genotype(data, where='official config')
