"""The RNN controller of the search, trained with REINFORCE.

SpineNet (Sec. 3, 5.1) uses "the recurrent neural network (RNN) based controller proposed in
[44]" (Zoph & Le, ICLR 2017) and "reinforcement learning"; it gives no controller size, optimiser
or baseline. We follow [44] where SpineNet is silent: an LSTM that emits one decision per step
(the previous decision, embedded, is the next input), two layers of 35 units, Adam with lr 6e-4,
REINFORCE with an exponential-moving-average baseline of the reward.

Unpublished choices, ours: baseline decay 0.95; entropy bonus weight 1e-4; illegal choices
masked out before the softmax (the space's permutation/window rules); one embedding table per
decision kind; one softmax head (linear layer) per decision step; the advantage divided by a
running RMS (see :class:`Reinforce`). The per-step heads matter: with one head per decision kind
the controller stalled far below the synthetic optimum (README, "Deviations"; the budget that
reaches it is stated by ``tests/spinenet/test_search.py``).
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from .search_space import SpineNetSearchSpace


class SpineNetController(nn.Module):
    """LSTM policy over the decision sequence of a :class:`SpineNetSearchSpace`.

    Sampling runs step by step (each choice is the next input); scoring given actions runs the
    LSTM over the whole known input sequence at once and the heads per decision kind, which gives
    the same log-probabilities and entropies (see ``tests/spinenet/test_search.py``).
    """

    def __init__(self,
                 space: SpineNetSearchSpace,
                 hidden_size: int = 35,
                 num_layers: int = 2,
                 temperature: float = 1.0,
                 tanh_constant: Optional[float] = None):
        super().__init__()
        self.space = space
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.temperature, self.tanh_constant = temperature, tanh_constant
        self.kind_names = list(space.kinds)
        self.embed = nn.ModuleDict({
            k: nn.Embedding(n + 1, hidden_size)
            for k, n in space.kinds.items()
        })  # index n = "start"
        # one softmax classifier per decision step (see the module docstring)
        self.heads = nn.ModuleList([nn.Linear(hidden_size, space.kinds[k]) for k, _ in space.steps])
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)
        # steps grouped by kind, for scoring all steps of a kind with one batched matmul
        steps_of: Dict[str, List[int]] = {}
        for t, (kind, _) in enumerate(space.steps):
            steps_of.setdefault(kind, []).append(t)
        self._steps_of = steps_of
        offsets, o = {}, 0
        for k, n in space.kinds.items():
            offsets[k], o = o, o + n + 1
        self._embed_offset = offsets  # row of (kind, 0) in the concatenated embedding tables

    def _scale(self, logits):
        logits = logits / self.temperature
        if self.tanh_constant:
            logits = self.tanh_constant * torch.tanh(logits)
        return logits

    def forward(self,
                batch_size: int = 1,
                actions: Optional[Sequence[Sequence[int]]] = None,
                generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """Sample ``batch_size`` decision sequences, or score the given ``actions``.

        Returns ``actions`` (B, T) long, ``log_prob`` (B,) and ``entropy`` (B,).
        """
        if actions is not None:
            return self._score(torch.as_tensor(actions, dtype=torch.long))
        space = self.space
        dev = self.heads[0].weight.device
        # the LSTM one step at a time, written out (nn.LSTM's gate layout i, f, g, o): a
        # length-1 nn.LSTM call per step costs 2-3x more on CPU
        weights = [(getattr(self.lstm, f'weight_ih_l{k}'), getattr(self.lstm, f'weight_hh_l{k}'),
                    getattr(self.lstm, f'bias_ih_l{k}') + getattr(self.lstm, f'bias_hh_l{k}'))
                   for k in range(self.num_layers)]
        hs = [torch.zeros(batch_size, self.hidden_size, device=dev)] * self.num_layers
        cs = list(hs)
        prev_kind = self.kind_names[0]
        x = self.embed[prev_kind](
            torch.full((batch_size, ), space.kinds[prev_kind], dtype=torch.long, device=dev))
        chosen: List[List[int]] = [[] for _ in range(batch_size)]
        log_prob = torch.zeros(batch_size, device=dev)
        entropy = torch.zeros(batch_size, device=dev)
        for t, (kind, _) in enumerate(space.steps):
            h = x
            for k, (w_ih, w_hh, b) in enumerate(weights):
                gi, gf, gg, go = torch.addmm(b, h, w_ih.t()).addmm(hs[k], w_hh.t()).chunk(4, 1)
                cs[k] = torch.sigmoid(gf) * cs[k] + torch.sigmoid(gi) * torch.tanh(gg)
                hs[k] = h = torch.sigmoid(go) * torch.tanh(cs[k])
            logits = self._scale(self.heads[t](h))
            mask = torch.tensor([space.mask(t, chosen[i]) for i in range(batch_size)],
                                dtype=torch.bool,
                                device=dev)
            logp = torch.log_softmax(logits.masked_fill(~mask, float('-inf')), dim=-1)
            a = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            log_prob = log_prob + logp.gather(1, a[:, None]).squeeze(1)
            entropy = entropy - (logp.exp() * logp.masked_fill(~mask, 0.)).sum(-1)
            for i in range(batch_size):
                chosen[i].append(int(a[i]))
            x = self.embed[kind](a)
        return dict(
            actions=torch.tensor(chosen, dtype=torch.long), log_prob=log_prob, entropy=entropy)

    def _score(self, actions: torch.Tensor) -> Dict[str, torch.Tensor]:
        """log-probability and entropy of known ``actions`` (B, T): one LSTM call, no loop."""
        space = self.space
        dev = self.heads[0].weight.device
        batch_size, num_steps = actions.shape
        assert num_steps == len(space.steps), (num_steps, len(space.steps))
        acts = actions.to(dev)
        # inputs: "start" of the first kind, then each step's action embedded by its kind
        table = torch.cat([self.embed[k].weight for k in self.kind_names])
        first = self.kind_names[0]
        rows = [torch.full((batch_size, ), self._embed_offset[first] + space.kinds[first])]
        rows += [actions[:, t] + self._embed_offset[k] for t, (k, _) in enumerate(space.steps)]
        idx = torch.stack(rows[:num_steps]).to(dev)  # (T, B)
        out, _ = self.lstm(table[idx])  # (T, B, H)
        log_prob = torch.zeros(batch_size, device=dev)
        entropy = torch.zeros(batch_size, device=dev)
        rows_list = actions.tolist()
        for kind, steps in self._steps_of.items():
            weight = torch.stack([self.heads[t].weight for t in steps])  # (S, n, H)
            bias = torch.stack([self.heads[t].bias for t in steps])  # (S, n)
            logits = self._scale(torch.einsum('sbh,snh->sbn', out[steps], weight) + bias[:, None])
            mask = torch.tensor([[space.mask(t, r) for r in rows_list] for t in steps],
                                dtype=torch.bool,
                                device=dev)  # (S, B, n)
            logp = torch.log_softmax(logits.masked_fill(~mask, float('-inf')), dim=-1)
            a = acts[:, steps].t()  # (S, B)
            log_prob = log_prob + logp.gather(2, a[..., None]).squeeze(2).sum(0)
            entropy = entropy - (logp.exp() * logp.masked_fill(~mask, 0.)).sum((0, 2))
        return dict(actions=actions, log_prob=log_prob, entropy=entropy)


class Reinforce:
    """REINFORCE with an exponential-moving-average baseline (Zoph & Le 2017, Sec. 3.2): the
    search algorithm of :class:`.SpineNetSearchLoop`, free of the runner (``propose`` ->
    ``update``; ``state_dict`` holds the controller, Adam, the baseline and the sampler's state).

    The advantage ``r - baseline`` is divided by the root of an EMA (same decay, the current batch
    included) of its square, so neither the step nor the weight of the entropy bonus depends on
    the scale of the reward (proxy AP differences are ~0.01); including the current batch bounds
    the normalised advantage by ``sqrt(batch / (1 - baseline_decay))``.
    """

    def __init__(self,
                 controller: SpineNetController,
                 lr: float = 6e-4,
                 baseline_decay: float = 0.95,
                 entropy_weight: float = 1e-4,
                 seed: int = 0):
        self.controller = controller
        self.generator = torch.Generator().manual_seed(seed)
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.baseline: Optional[float] = None
        self.adv_sq: Optional[float] = None  # EMA of (reward - baseline)^2

    @torch.no_grad()
    def propose(self, batch_size: int) -> List[List[int]]:
        """Sample ``batch_size`` decision sequences from the controller."""
        return self.controller(batch_size, generator=self.generator)['actions'].tolist()

    def update(self, actions, rewards) -> Dict[str, float]:
        """One policy-gradient step on the sampled ``actions`` with their ``rewards``."""
        rewards = torch.as_tensor(rewards, dtype=torch.float32)
        mean_r = float(rewards.mean())
        if self.baseline is None:
            self.baseline = mean_r
        adv = rewards - self.baseline
        d = self.baseline_decay
        sq = float((adv**2).mean())
        self.adv_sq = sq if self.adv_sq is None else d * self.adv_sq + (1 - d) * sq
        adv = adv / (self.adv_sq**0.5 + 1e-8)
        out = self.controller(actions=actions)
        loss = -(adv * out['log_prob']).mean() - self.entropy_weight * out['entropy'].mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = d * self.baseline + (1 - d) * mean_r
        return dict(
            loss=float(loss.detach()),
            baseline=self.baseline,
            mean_reward=mean_r,
            entropy=float(out['entropy'].detach().mean()))

    def state_dict(self):
        return dict(
            controller=self.controller.state_dict(),
            optimizer=self.optimizer.state_dict(),
            baseline=self.baseline,
            adv_sq=self.adv_sq,
            generator=self.generator.get_state())

    def load_state_dict(self, state):
        self.controller.load_state_dict(state['controller'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.baseline = state['baseline']
        self.adv_sq = state['adv_sq']
        self.generator.set_state(state['generator'])
