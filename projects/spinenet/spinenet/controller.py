"""The RNN controller of the search, trained with REINFORCE.

SpineNet (Sec. 3, 5.1) uses "the recurrent neural network (RNN) based controller proposed in
[44]" (Zoph & Le, ICLR 2017) and "reinforcement learning"; it gives no controller size, optimiser
or baseline. We follow [44] where SpineNet is silent: an LSTM that emits one decision per step
(the previous decision, embedded, is the next input), two layers of 35 units, Adam with lr 6e-4,
REINFORCE with an exponential-moving-average baseline of the reward. Unpublished choices, ours:
baseline decay 0.95, entropy bonus weight 1e-4, illegal choices masked out before the softmax
(the search space's permutation/window rules), one embedding table and one linear head per
decision kind.
"""
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn

from .search_space import SpineNetSearchSpace


class SpineNetController(nn.Module):

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
        self.heads = nn.ModuleDict({k: nn.Linear(hidden_size, n) for k, n in space.kinds.items()})
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers)
        for p in self.parameters():
            nn.init.uniform_(p, -0.1, 0.1)

    def _logits(self, h, kind):
        logits = self.heads[kind](h) / self.temperature
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
        space = self.space
        if actions is not None:
            actions = torch.as_tensor(actions, dtype=torch.long)
            batch_size = actions.shape[0]
        dev = self.heads[self.kind_names[0]].weight.device
        state = None
        prev_kind = self.kind_names[0]
        x = self.embed[prev_kind](
            torch.full((batch_size, ), space.kinds[prev_kind], dtype=torch.long, device=dev))
        chosen: List[List[int]] = [[] for _ in range(batch_size)]
        log_prob = torch.zeros(batch_size, device=dev)
        entropy = torch.zeros(batch_size, device=dev)
        for t, (kind, _) in enumerate(space.steps):
            out, state = self.lstm(x.unsqueeze(0), state)
            logits = self._logits(out[0], kind)
            mask = torch.tensor([space.mask(t, chosen[i]) for i in range(batch_size)],
                                dtype=torch.bool,
                                device=dev)
            logits = logits.masked_fill(~mask, float('-inf'))
            logp = torch.log_softmax(logits, dim=-1)
            if actions is None:
                a = torch.multinomial(logp.exp(), 1, generator=generator).squeeze(1)
            else:
                a = actions[:, t].to(dev)
            log_prob = log_prob + logp.gather(1, a[:, None]).squeeze(1)
            p = logp.exp()
            entropy = entropy - (p * logp.masked_fill(~mask, 0.)).sum(-1)
            for i in range(batch_size):
                chosen[i].append(int(a[i]))
            x = self.embed[kind](a)
        return dict(
            actions=torch.tensor(chosen, dtype=torch.long), log_prob=log_prob, entropy=entropy)


class Reinforce:
    """REINFORCE with an exponential-moving-average baseline (Zoph & Le 2017, Sec. 3.2)."""

    def __init__(self,
                 controller: SpineNetController,
                 lr: float = 6e-4,
                 baseline_decay: float = 0.95,
                 entropy_weight: float = 1e-4):
        self.controller = controller
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.baseline_decay = baseline_decay
        self.entropy_weight = entropy_weight
        self.baseline: Optional[float] = None

    def update(self, actions, rewards) -> Dict[str, float]:
        """One policy-gradient step on the sampled ``actions`` with their ``rewards``."""
        rewards = torch.as_tensor(rewards, dtype=torch.float32)
        mean_r = float(rewards.mean())
        if self.baseline is None:
            self.baseline = mean_r
        out = self.controller(actions=actions)
        adv = rewards - self.baseline
        loss = -(adv * out['log_prob']).mean() - self.entropy_weight * out['entropy'].mean()
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * mean_r
        return dict(
            loss=float(loss.detach()),
            baseline=self.baseline,
            mean_reward=mean_r,
            entropy=float(out['entropy'].detach().mean()))

    def state_dict(self):
        return dict(
            controller=self.controller.state_dict(),
            optimizer=self.optimizer.state_dict(),
            baseline=self.baseline)

    def load_state_dict(self, state):
        self.controller.load_state_dict(state['controller'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.baseline = state['baseline']
