"""Auto-FPN's resource term: the expected cost of the architecture weights.

Paper (secondary note [MARS]; the formulas are images there): forward time is not differentiable
in the architecture weights, so the resource cost is modelled from **parameters, FLOPs and
memory access cost (MAC)**; loss = task loss + lambda * cost; a larger lambda gives a smaller
network (three resource levels). The form and the normalisation are not published. Ours (the
reference note's proposal)::

    C(beta) = sum_edges sum_o softmax(beta_edge)_o * (P_o / P_ref + F_o / F_ref + MAC_o / MAC_ref)

* ``P_o, F_o, MAC_o``: candidate o's parameters, multiply-accumulates and memory accesses at
  its edge, counted once at the nominal input (``objective.nominal_forward``). An edge's cost
  includes its align conv (:mod:`.neck`) for every op but ``none``: ``none`` removes the edge.
* Counted over convolutions and linear layers (norm, activations and resizing are left out):
  FLOPs = multiply-accumulates (one per weight per output element, the suite's convention);
  MAC = input + output + weight elements of each layer (ShuffleNet V2's memory access cost,
  Ma et al., ECCV 2018, Sec. 2, G1, for every conv rather than only 1x1).
* ``X_ref`` = the sum over the edges of the largest candidate's X: every normalised term lies
  in [0, 1], so C in [0, 3] (3 only with every edge at its costliest op; a decoded architecture
  keeps 2 edges per node and stays below), and lambda is free of the model's size and input
  resolution.
"""
from typing import Dict, List, NamedTuple

import torch
import torch.nn as nn

TERMS = ('params', 'flops', 'mac')


class Resources(NamedTuple):
    params: float  # parameters
    flops: float  # multiply-accumulates
    mac: float  # memory accesses (elements)


@torch.no_grad()
def count_resources(module: nn.Module, shape) -> Resources:
    """Params, MACs and memory accesses of ``module``'s convs and linears on a zero input of
    ``shape`` (the module in eval mode; every layer it runs is counted once per call)."""
    totals = dict(flops=0, mac=0)
    ran = {}

    def conv_hook(m, inp, out):
        totals['flops'] += out.numel() * (m.in_channels // m.groups) * m.kernel_size[0] * \
            m.kernel_size[1]
        totals['mac'] += inp[0].numel() + out.numel() + m.weight.numel()
        ran[id(m)] = m

    def linear_hook(m, inp, out):
        totals['flops'] += out.numel() * m.in_features
        totals['mac'] += inp[0].numel() + out.numel() + m.weight.numel()
        ran[id(m)] = m

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
    params = sum(p.numel() for m in ran.values() for p in m.parameters(recurse=False))
    return Resources(float(params), float(totals['flops']), float(totals['mac']))


class ExpectedCost:
    """Per-candidate resources of every edge of ``module``, and the expected cost.

    Args:
        objective: has ``nominal_forward()`` (it runs ``module`` at the nominal input).
        module (nn.Module): the searched supernet (neck or box head); has
            ``search_positions()``: position name -> ``mixed`` (path of its
            :class:`~.mixed_op.MixedOp`) and ``overhead`` (paths of modules the edge costs
            besides its op unless the op is ``none``).
    """

    def __init__(self, objective, module: nn.Module):
        positions = module.search_positions()
        modules = dict(module.named_modules())
        shapes = {}

        def record(name):

            def hook(mod, inp):  # returns nothing: the input is left as it is
                shapes.setdefault(name, tuple(inp[0].shape))

            return hook

        names = {p['mixed'] for p in positions.values()}
        names |= {o for p in positions.values() for o in p['overhead']}
        hooks = [modules[n].register_forward_pre_hook(record(n)) for n in names]
        was_training = module.training
        module.eval()
        try:
            objective.nominal_forward()
        finally:
            module.train(was_training)
            for h in hooks:
                h.remove()
        missing = sorted(n for n in names if n not in shapes)
        if missing:
            raise RuntimeError(f'nominal_forward() did not run {missing[:3]} ...')
        self.mixed = {name: modules[p['mixed']] for name, p in positions.items()}
        self.raw: Dict[str, torch.Tensor] = {}  # name -> (candidates, 3): params, flops, mac
        for name, p in positions.items():
            mixed = self.mixed[name]
            overhead = torch.zeros(3)
            for o in p['overhead']:
                overhead += torch.tensor(count_resources(modules[o], shapes[o]))
            rows = []
            for op_name, op in zip(mixed.names, mixed.ops):
                if op_name == 'none':
                    rows.append(torch.zeros(3))
                else:
                    rows.append(overhead + torch.tensor(count_resources(op, shapes[p['mixed']])))
            self.raw[name] = torch.stack(rows).double()
        self.ref = sum(t.max(0).values for t in self.raw.values()).clamp(min=1e-12)
        self.table = {n: (t / self.ref).sum(1).float() for n, t in self.raw.items()}

    def _weights(self, name):
        m = self.mixed[name]
        return m.weights()

    def expected(self) -> torch.Tensor:
        """C(beta): differentiable in the architecture weights."""
        return sum(self._weights(n) @ self.table[n].to(self._weights(n)) for n in self.table)

    @torch.no_grad()
    def expected_terms(self) -> Dict[str, float]:
        """The expected parameters (M), GFLOPs and MAC (M elements) of the searched module's
        edges."""
        total = sum(self._weights(n).double().cpu() @ self.raw[n] for n in self.raw)
        return dict(
            params_m=float(total[0]) / 1e6,
            gflops=float(total[1]) / 1e9,
            mac_m=float(total[2]) / 1e6)

    def of_choice(self, choice: Dict[str, str]) -> Dict[str, float]:
        """Cost (normalised C) and resources of the edges a genotype builds
        (``choice``: position name -> op)."""
        cost, total = 0., torch.zeros(3, dtype=torch.float64)
        for name, op in choice.items():
            i = self.mixed[name].names.index(op)
            cost += float(self.table[name][i])
            total += self.raw[name][i]
        return dict(
            cost=cost,
            params_m=float(total[0]) / 1e6,
            gflops=float(total[1]) / 1e9,
            mac_m=float(total[2]) / 1e6)

    def names(self) -> List[str]:
        return list(self.table)
