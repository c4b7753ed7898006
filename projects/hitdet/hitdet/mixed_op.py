"""The relaxation of one searchable position (Hit-Detector Sec. 3.2-3.3, Eq. 4-5; DARTS).

A :class:`MixedOp` holds every candidate op of its (sub-)space and its own architecture weights
``arch_alpha`` (one row of the paper's alpha / beta / gamma matrix). Its output is
``sum_i w_i * op_i(x)`` ("each intermediate node is computed as a weighted sum based on all
candidates") with one of two relaxations:

* ``'softmax'`` (the end-to-end search, Sec. 3.3, Eq. 5; DARTS): ``w = softmax(arch_alpha)``. The
  paper's Eq. 5 is not readable in the copy; the softmax is DARTS's.
* ``'score'`` (the screening, Sec. 3.2, Eq. 4): ``w = arch_alpha`` itself, the row of the
  paper's "layer-wise score matrix", non-negative (the search loop projects it after each step),
  started at ``1 / N`` (the uniform softmax's function). A score of 0 turns its op off, which is
  what the column-sparse penalty ``mu * sum_i ||alpha[:, i]||_2`` drives whole columns to; on
  softmax logits a zero column means "uniform" and the penalty would flatten every position.

Decoding picks the op with the highest weight ("choosing operation with the highest score in
each layer").

The architecture weights are ordinary parameters named ``*.arch_alpha``: :func:`arch_parameters`
and :func:`weight_parameters` split a model into the two groups that the search optimises on the
two halves of the training set. Screening removes candidates with :meth:`MixedOp.keep`.
"""
from typing import Dict, Iterator, List, Sequence, Tuple

import torch
import torch.nn as nn

ARCH_NAME = 'arch_alpha'


class MixedOp(nn.Module):
    """Weighted sum of candidate ops (all map the same input to the same output shape), softmax
    weights until :meth:`use_scores`.

    Args:
        ops (dict): op name -> module, in the order of the (sub-)space.
    """

    def __init__(self, ops: Dict[str, nn.Module]):
        super().__init__()
        if not ops:
            raise ValueError('a mixed op needs at least one candidate')
        self.names: List[str] = list(ops)
        self.ops = nn.ModuleList(ops.values())
        self.arch_alpha = nn.Parameter(torch.zeros(len(self.names)))  # uniform at the start
        self.relaxation = 'softmax'

    @torch.no_grad()
    def use_scores(self) -> None:
        """Switch to the screening's relaxation: the weights are the scores ``arch_alpha``,
        set to ``1 / N`` each (the function of the uniform softmax)."""
        self.relaxation = 'score'
        self.arch_alpha.fill_(1. / len(self.names))

    def weights(self) -> torch.Tensor:
        """The op weights of the forward pass: softmax probabilities, or the scores."""
        if self.relaxation == 'score':
            return self.arch_alpha
        return torch.softmax(self.arch_alpha, dim=0)

    def probabilities(self) -> torch.Tensor:
        """The op distribution at this position: the weights normalised to sum to 1 (the scores
        over their sum; all-zero scores read as uniform)."""
        w = self.weights()
        if self.relaxation == 'score':
            total = w.sum()
            return w / total if float(total) > 0 else torch.full_like(w, 1. / len(w))
        return w

    def forward(self, x):
        w = self.weights()
        return sum(wi * op(x) for wi, op in zip(w, self.ops))

    def chosen(self) -> str:
        """The op of the highest weight (the decoded architecture at this position)."""
        return self.names[int(self.arch_alpha.argmax())]

    @torch.no_grad()
    def keep(self, names: Sequence[str]) -> None:
        """Drop every candidate not in ``names`` (their weights go too; a new parameter)."""
        missing = [n for n in names if n not in self.names]
        if missing:
            raise ValueError(f'cannot keep {missing}: not candidates of this position '
                             f'({self.names})')
        idx = [self.names.index(n) for n in names]
        self.ops = nn.ModuleList(self.ops[i] for i in idx)
        self.arch_alpha = nn.Parameter(self.arch_alpha.detach()[idx].clone())
        self.names = [self.names[i] for i in idx]


def mixed_ops(model: nn.Module) -> Iterator[Tuple[str, MixedOp]]:
    """``(module name, mixed op)`` of every searchable position, in module order."""
    for name, m in model.named_modules():
        if isinstance(m, MixedOp):
            yield name, m


def arch_parameters(model: nn.Module) -> List[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.split('.')[-1] == ARCH_NAME]


def weight_parameters(model: nn.Module) -> List[nn.Parameter]:
    return [p for n, p in model.named_parameters() if n.split('.')[-1] != ARCH_NAME]
