"""The resource term of Hit-Detector's search loss: expected FLOPs of the mixed ops (Sec. 3.4).

Paper: "C(alpha) indicates FLOPs of the backbone part and can be decomposed as linear sum of each
operations"; C(beta), C(gamma) likewise; loss = L_det + lambda (C(alpha) + C(beta) + C(gamma)),
lambda = 0.01 (Eqs. 6-7 are not readable in the copy; the form below is the note's reading).
Here C(component) = sum over its positions of ``softmax(arch_alpha) . flops``, where ``flops[i]``
is candidate i's cost at that position, counted once at the nominal input size
(``objective.nominal_forward``) in GFLOPs = 1e9 multiply-accumulates of its convolutions and
linear layers (BN and activations are left out: per op they are a small, nearly constant share).
A component's costs are multiplied by ``objective.cost_scale`` where it names one: the RoI head's
candidates run once per RoI, so they count at the objective's number of RoIs (1000 on COCO).
"""
from typing import Dict, List

import torch
import torch.nn as nn

from .mixed_op import mixed_ops


@torch.no_grad()
def count_gmacs(module: nn.Module, shape) -> float:
    """Multiply-accumulates (x1e-9) of ``module``'s convs and linears on a zero input."""
    total = [0]

    def conv_hook(m, inp, out):
        total[0] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * m.kernel_size[1]

    def linear_hook(m, inp, out):
        total[0] += out.numel() * m.in_features

    hooks = []
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            hooks.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            hooks.append(m.register_forward_hook(linear_hook))
    was_training = module.training
    module.eval()
    try:
        p = next(module.parameters(), None)
        module(torch.zeros(shape, device=p.device if p is not None else 'cpu'))
    finally:
        module.train(was_training)
        for h in hooks:
            h.remove()
    return total[0] / 1e9


class ExpectedCost:
    """Per-candidate GFLOPs of every position of ``objective.model``, and their expectations.

    Args:
        objective: has ``nominal_forward()`` and may have ``cost_scale`` (see
            :mod:`.objectives`).
        supernet (nn.Module): the (unwrapped) model the component names refer to.
        components (dict): component -> module names of its positions.
    """

    def __init__(self, objective, supernet: nn.Module, components: Dict[str, List[str]]):
        shapes = {}

        def record(mod, inp):  # a pre-hook that returns nothing leaves the input as it is
            shapes.setdefault(mod, tuple(inp[0].shape))

        hooks = [m.register_forward_pre_hook(record) for _, m in mixed_ops(supernet)]
        was_training = supernet.training
        supernet.eval()  # no BN statistics are updated by this dummy pass
        try:
            objective.nominal_forward()
        finally:
            supernet.train(was_training)
            for h in hooks:
                h.remove()
        modules = dict(supernet.named_modules())
        self.components = components
        self.table: Dict[str, torch.Tensor] = {}
        scale = getattr(objective, 'cost_scale', {})
        for comp, names in components.items():
            for name in names:
                m = modules[name]
                self.table[name] = scale.get(comp, 1) * torch.tensor(
                    [count_gmacs(op, shapes[m]) for op in m.ops])
        self._modules = {name: modules[name] for names in components.values() for name in names}

    def expected(self) -> Dict[str, torch.Tensor]:
        """C(component) for every component (differentiable in the architecture weights)."""
        out = {}
        for comp, names in self.components.items():
            terms = [
                self._modules[n].probabilities() @ self.table[n].to(self._modules[n].arch_alpha)
                for n in names
            ]
            out[comp] = sum(terms) if terms else torch.zeros(())
        return out

    def decoded(self) -> float:
        """GFLOPs of the ops the architecture weights pick now."""
        total = 0.
        for n, m in self._modules.items():
            total += float(self.table[n][int(m.arch_alpha.argmax())])
        return total
