"""The Auto-FPN supernets: every edge a :class:`.MixedOp` over its op set.

* :class:`AutoFusionSuperNeck`: L layers of 4 nodes, all 16 edges between consecutive layers
  (all-to-all) mixed over :data:`.ops.FUSION_OPS`;
* :class:`AutoHeadSuperBBoxHead`: M cells of DARTS's wiring (intermediate node i reads nodes
  0..i+1: 2 + 3 + 4 + 5 = 14 edges per cell), each cell its own weights (cells may differ),
  mixed over :data:`.ops.HEAD_OPS`.

Both are built without normalisation by default (the paper's tip 3). Their architecture weights
are the ``arch_alpha`` of the mixed ops (one row of the paper's beta per edge).

**Decoding** (:meth:`decode`) is DARTS's (quark0/darts @f276dd3 ``cnn/model_search.py``
``Network.genotype._parse``): each node keeps the ``k`` incoming edges whose strongest non-none
op has the highest weight (k = 2), each with that op. **Export** (:meth:`export`) builds the
fixed module of a genotype with the supernet's weights of the chosen ops (the head search
starts from the searched neck's weights, the paper's tip 4).
"""
import copy
from typing import Dict, List, Optional, Sequence

import torch.nn as nn
from mmdet.registry import MODELS

from .genotype import NUM_LEVELS, NUM_STEPS, load_component
from .mixed_op import MixedOp
from .neck import AutoFusionNeck, AutoFusionNeckBase, live_edges
from .ops import FUSION_OPS, HEAD_OPS, OP_SETS, build_op
from .roi_head import AutoHeadBBoxHead, AutoHeadBBoxHeadBase


def resolve_candidates(candidates, component) -> List[str]:
    """The candidate op names of ``component``: ``None`` = the whole op set, or a subset of it
    (a list; ``none`` included or not)."""
    ops = OP_SETS[component]
    if candidates is None:
        return list(ops)
    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise ValueError(f'{component} candidates: a non-empty list of op names, got '
                         f'{candidates!r}')
    unknown = [o for o in candidates if o not in ops]
    if unknown:
        raise ValueError(f'{component} candidates: {unknown} are not {component} ops {ops}')
    if len(set(candidates)) != len(candidates):
        raise ValueError(f'{component} candidates: duplicates in {list(candidates)}')
    if all(o == 'none' for o in candidates):
        raise ValueError(f'{component} candidates: at least one op besides none')
    return list(candidates)


def _mixed(candidates, channels, norm_cfg):
    return MixedOp({op: build_op(op, channels, norm_cfg) for op in candidates})


def _top_edges(edges, k):
    """DARTS's rule over ``[(input, mixed op), ...]``: the ``k`` inputs whose strongest non-none
    op weighs most (ties: the earlier input), each ``[op, input]``, sorted by input."""
    scored = [(input_, *m.best()) for input_, m in edges]
    scored.sort(key=lambda e: -e[2])  # stable: ties keep the input order
    return sorted(([op, input_] for input_, op, _ in scored[:k]), key=lambda e: e[1])


def export_weights(supernet: nn.Module, fixed: nn.Module, op_paths: Dict[str, str]) -> None:
    """Copy into ``fixed`` the supernet's weights of the chosen ops (``op_paths``: the fixed
    module's op paths -> op names; the supernet has a :class:`MixedOp` at each such path) and
    of every other module of the same name; strict (every key of ``fixed`` is filled)."""
    src = supernet.state_dict()
    out = {}
    paths = sorted(op_paths, key=len, reverse=True)
    for key, value in fixed.state_dict().items():
        if key.endswith('_extra_state'):  # the fixed module's genotype (CheckpointGenotype)
            out[key] = value
            continue
        path = next((p for p in paths if key.startswith(p + '.')), None)
        if path is None:
            out[key] = src[key]
            continue
        mixed = supernet.get_submodule(path)
        idx = mixed.names.index(op_paths[path])
        out[key] = src[f'{path}.ops.{idx}.{key[len(path) + 1:]}']
    fixed.load_state_dict(out, strict=True)


@MODELS.register_module()
class AutoFusionSuperNeck(AutoFusionNeckBase):
    """The Auto-fusion supernet (see the module docstring).

    Args:
        num_layers (int): L (ours: 2).
        candidates (list[str], optional): the op set (default :data:`.ops.FUSION_OPS`).
        norm_cfg (dict, optional): None (the search runs without norm).
        **kwargs: :class:`.AutoFusionNeckBase` arguments.
    """

    def __init__(self,
                 num_layers: int = 2,
                 candidates: Optional[Sequence[str]] = None,
                 norm_cfg: Optional[dict] = None,
                 **kwargs):
        if isinstance(num_layers, bool) or not isinstance(num_layers, int) or num_layers < 1:
            raise ValueError(f'num_layers must be a positive int, got {num_layers!r}')
        self.candidates = resolve_candidates(candidates, 'fusion')
        self.fixed_kwargs = copy.deepcopy(dict(kwargs, norm_cfg=norm_cfg))
        edges = [[(t, s) for t in range(NUM_LEVELS) for s in range(NUM_LEVELS)]
                 for _ in range(num_layers)]
        super().__init__(edges=edges, norm_cfg=norm_cfg, **kwargs)

    def make_op(self, position):
        return _mixed(self.candidates, position.channels, self.norm_cfg)

    def search_positions(self) -> Dict[str, dict]:
        """Position name -> ``mixed`` (the mixed op's path) and ``overhead`` (paths of modules
        an edge costs besides its op, unless its op is ``none``: the align conv)."""
        return {
            p.path:
            dict(mixed=f'{p.path}.op', overhead=[f'{p.path}.align'] if p.needs_conv else [])
            for p in self.positions
        }

    def decode(self, k: int = 2) -> List[list]:
        """The ``fusion`` genotype the architecture weights pick (DARTS's rule per node)."""
        layers = []
        for layer, modules in enumerate(self.layers):
            nodes = []
            for t in range(NUM_LEVELS):
                edges = [(s, modules[f'{t}_{s}'].op) for s in range(NUM_LEVELS)]
                nodes.append(_top_edges(edges, k))
            layers.append(nodes)
        return layers

    def chosen_positions(self, genotype) -> Dict[str, str]:
        """Position name -> op of the edges ``genotype`` builds (its live edges)."""
        stack = load_component({'fusion': genotype} if isinstance(genotype, list) else genotype,
                               'fusion')
        return {
            f'layers.{layer}.{t}_{s}': op
            for layer, edges in enumerate(live_edges(stack))
            for t, s, op in edges
        }

    def export(self, genotype, **overrides) -> AutoFusionNeck:
        """The fixed neck of ``genotype`` (its ``fusion``) with this supernet's weights."""
        fixed = AutoFusionNeck(
            genotype=genotype, **copy.deepcopy(dict(self.fixed_kwargs, **overrides)))
        export_weights(self, fixed, fixed.op_paths())
        return fixed


@MODELS.register_module()
class AutoHeadSuperBBoxHead(AutoHeadBBoxHeadBase):
    """The Auto-head supernet (see the module docstring).

    Args:
        num_cells (int): M (ours: 2).
        candidates (list[str], optional): the op set (default :data:`.ops.HEAD_OPS`).
        norm_cfg (dict, optional): None (the search runs without norm).
        **kwargs: :class:`.AutoHeadBBoxHeadBase` arguments.
    """

    def __init__(self,
                 num_cells: int = 2,
                 candidates: Optional[Sequence[str]] = None,
                 norm_cfg: Optional[dict] = None,
                 **kwargs):
        if isinstance(num_cells, bool) or not isinstance(num_cells, int) or num_cells < 1:
            raise ValueError(f'num_cells must be a positive int, got {num_cells!r}')
        self.candidates = resolve_candidates(candidates, 'head')
        self.fixed_kwargs = copy.deepcopy(dict(kwargs, norm_cfg=norm_cfg))
        cell_edges = [[(i, j) for i in range(NUM_STEPS) for j in range(2 + i)]
                      for _ in range(num_cells)]
        super().__init__(cell_edges=cell_edges, norm_cfg=norm_cfg, **kwargs)

    def make_op(self, position):
        return _mixed(self.candidates, position.channels, self.cell_norm_cfg)

    def search_positions(self) -> Dict[str, dict]:
        return {p.path: dict(mixed=p.path, overhead=[]) for p in self.positions}

    def decode(self, k: int = 2) -> List[list]:
        """The ``head`` genotype the architecture weights pick (DARTS's rule per node)."""
        cells = []
        for cell in self.cells:
            nodes = []
            for i in range(NUM_STEPS):
                edges = [(j, cell.edges[f'{i}_{j}']) for j in range(2 + i)]
                nodes.append(_top_edges(edges, k))
            cells.append(nodes)
        return cells

    def chosen_positions(self, genotype) -> Dict[str, str]:
        stack = load_component({'head': genotype} if isinstance(genotype, list) else genotype,
                               'head')
        return {
            f'cells.{c}.edges.{j}_{inp}': op
            for c, cell in enumerate(stack)
            for j, node in enumerate(cell)
            for op, inp in node
        }

    def export(self, genotype, **overrides) -> AutoHeadBBoxHead:
        """The fixed head of ``genotype`` (its ``head``) with this supernet's weights."""
        fixed = AutoHeadBBoxHead(
            genotype=genotype, **copy.deepcopy(dict(self.fixed_kwargs, **overrides)))
        export_weights(self, fixed, fixed.op_paths())
        return fixed


SUPERNETS = dict(fusion=AutoFusionSuperNeck, head=AutoHeadSuperBBoxHead)
__all__ = [
    'AutoFusionSuperNeck', 'AutoHeadSuperBBoxHead', 'SUPERNETS', 'export_weights',
    'resolve_candidates', 'FUSION_OPS', 'HEAD_OPS'
]
