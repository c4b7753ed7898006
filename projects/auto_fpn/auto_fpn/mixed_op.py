"""The continuous relaxation of one edge (DARTS; Auto-FPN's "gradient-based architecture search").

A :class:`MixedOp` holds every candidate op of its edge and its own architecture weights
``arch_alpha`` (the paper's beta for the edge); its output is
``sum_o softmax(arch_alpha)_o * op_o(x)`` (DARTS, quark0/darts @f276dd3
``cnn/model_search.py`` ``MixedOp``; the Auto-FPN formula itself is an image in the only
readable description of the paper).

The architecture weights are ordinary parameters named ``*.arch_alpha``: :func:`arch_parameters`
and :func:`weight_parameters` split a model into the two groups that the search optimises on the
two halves of the training set.
"""
from typing import Dict, Iterator, List, Tuple

import torch
import torch.nn as nn

ARCH_NAME = 'arch_alpha'


class MixedOp(nn.Module):
    """Softmax-weighted sum of candidate ops (all map the input to the same shape).

    Args:
        ops (dict): op name -> module, in the order of the op set.
    """

    def __init__(self, ops: Dict[str, nn.Module]):
        super().__init__()
        if not ops:
            raise ValueError('a mixed op needs at least one candidate')
        self.names: List[str] = list(ops)
        self.ops = nn.ModuleList(ops.values())
        self.arch_alpha = nn.Parameter(torch.zeros(len(self.names)))  # uniform at the start

    def weights(self) -> torch.Tensor:
        """``softmax(arch_alpha)``: a distribution over the candidates."""
        return torch.softmax(self.arch_alpha, dim=0)

    def forward(self, x):
        w = self.weights()
        return sum(wi * op(x) for wi, op in zip(w, self.ops))

    def best(self, exclude=('none', )) -> Tuple[str, float]:
        """The candidate of the highest weight outside ``exclude`` and its weight (DARTS's
        decoding ignores ``none``)."""
        w = self.weights().detach()
        pairs = [(float(wi), -i, n) for i, (n, wi) in enumerate(zip(self.names, w))
                 if n not in exclude]
        if not pairs:
            raise ValueError(f'no candidate outside {exclude} ({self.names})')
        weight, _, name = max(pairs)  # ties: the first in the op set's order
        return name, weight


def mixed_ops(model: nn.Module) -> Iterator[Tuple[str, MixedOp]]:
    """``(module name, mixed op)`` of every searchable edge, in module order."""
    for name, m in model.named_modules():
        if isinstance(m, MixedOp):
            yield name, m


def arch_parameters(model: nn.Module) -> List[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.split('.')[-1] == ARCH_NAME]


def weight_parameters(model: nn.Module) -> List[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.split('.')[-1] != ARCH_NAME]
