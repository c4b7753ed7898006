"""Hit-Detector's trinity supernet: backbone, neck and RoI head with a mixed op at every position.

Sec. 3.3: "each intermediate node is computed as a weighted sum based on all candidates"; the
backbone's weights are the paper's alpha (20 x N), the neck's beta (8 x N), the head's gamma
(4 x N). The wiring is the released network's (:class:`.HitDetBackboneBase`,
:class:`.HitDetNeckBase`, :class:`.HitDetBBoxHeadBase`); only the blocks differ: each position is
a :class:`.MixedOp` over the component's candidates, given as

* a list of op names;
* ``'paper'`` / ``'code'``: the sub-space of :data:`.spaces.SUBSPACES` (the end-to-end search);
* ``'pool'``: the 32-op pool (screening);
* a YAML path: ``screened_ops.yaml`` of a screening run (its list for this component).
"""
import os.path as osp

import yaml
from mmdet.registry import MODELS

from .backbone import HitDetBackboneBase
from .genotype import resolve_path
from .mixed_op import MixedOp
from .neck import HitDetNeckBase
from .ops import OP_POOL, OPS
from .roi_head import HitDetBBoxHeadBase
from .spaces import subspace


def resolve_candidates(candidates, component):
    """The candidate op names of ``component`` (see the module docstring)."""
    if candidates == 'pool':
        return list(OP_POOL)
    if candidates in ('paper', 'code'):
        return list(subspace(component, candidates))
    if isinstance(candidates, str):
        path = resolve_path(candidates)
        if not osp.isfile(path):
            raise FileNotFoundError(f'candidates file not found: {candidates} (a screening '
                                    "run's screened_ops.yaml, or 'paper' / 'code' / 'pool')")
        with open(path) as f:
            data = yaml.safe_load(f)
        if not isinstance(data, dict) or component not in data:
            raise ValueError(f'{candidates}: no {component!r} list of ops')
        candidates = data[component]
    if not isinstance(candidates, (list, tuple)) or not candidates:
        raise ValueError(f'{component} candidates: a non-empty list of op names, got '
                         f'{candidates!r}')
    unknown = [op for op in candidates if not isinstance(op, str) or op not in OPS]
    if unknown:
        raise ValueError(f'{component} candidates: unknown ops {unknown}')
    if len(set(candidates)) != len(candidates):
        raise ValueError(f'{component} candidates: duplicates in {list(candidates)}')
    return list(candidates)


def _mixed(candidates, spec, norm_cfg):
    return MixedOp({
        op: OPS[op](spec.in_channels, spec.out_channels, spec.stride, norm_cfg)
        for op in candidates
    })


@MODELS.register_module()
class HitDetSuperBackbone(HitDetBackboneBase):
    """The backbone supernet: a mixed op at each of the 20 positions (alpha)."""

    def __init__(self, candidates='paper', **kwargs):
        self.candidates = resolve_candidates(candidates, 'backbone')
        super().__init__(**kwargs)

    def make_block(self, position, spec):
        return _mixed(self.candidates, spec, self.norm_cfg)


@MODELS.register_module()
class HitDetSuperNeck(HitDetNeckBase):
    """The neck supernet: a mixed op at each of the 8 positions (beta)."""

    def __init__(self, candidates='paper', **kwargs):
        self.candidates = resolve_candidates(candidates, 'neck')
        super().__init__(**kwargs)

    def make_block(self, position, spec):
        return _mixed(self.candidates, spec, self.norm_cfg)


@MODELS.register_module()
class HitDetSuperBBoxHead(HitDetBBoxHeadBase):
    """The RoI head supernet: a mixed op at each of the 4 positions (gamma)."""

    def __init__(self, candidates='paper', **kwargs):
        self.candidates = resolve_candidates(candidates, 'head')
        super().__init__(**kwargs)

    def make_block(self, position, spec):
        return _mixed(self.candidates, spec, self.norm_cfg)
