"""The NAS-FCOS controller: an LSTM that emits one phase's decisions, trained with PPO.

The paper trains "an LSTM controller" with reinforcement learning and gives no settings; its
search code was never released. Its helpers are those of nas-segm-pytorch (Nekrasov et al.,
CVPR 2019; the inferred ancestor, see README "Deviations"), whose defaults we take
(``src/utils/default_args.py``, ``src/rl/agent.py``, ``src/rl/gradient_estimators.py``): a
2-layer LSTM with 100 units, PPO with clip 0.1, Adam lr 1e-4, a moving-average reward baseline
with decay 0.95, one PPO epoch per batch, no entropy bonus, gradient norm clipped at 2.0. Ours:
one softmax classifier per decision (the decisions have different numbers of choices), the
previous decision embedded as the next input, and the advantage divided by the batch's RMS.
"""
from typing import List

import torch
import torch.nn as nn


class NASFCOSController(nn.Module):
    """Autoregressive LSTM policy over the decisions of a :class:`NASFCOSSearchSpace`."""

    def __init__(self, space, hidden_size: int = 100, num_layers: int = 2):
        super().__init__()
        self.space = space
        self.hidden_size = hidden_size
        self.start = nn.Parameter(torch.zeros(1, 1, hidden_size))
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers)
        self.heads = nn.ModuleList(nn.Linear(hidden_size, n) for n in space.choices)
        self.embeds = nn.ModuleList(nn.Embedding(n, hidden_size) for n in space.choices)
        for head in self.heads:  # start from the uniform policy
            nn.init.zeros_(head.weight)
            nn.init.zeros_(head.bias)

    def forward(self, batch_size=1, actions=None, generator=None):
        """Sample (``actions=None``) or score given ``actions`` (B, T).

        Returns ``(actions LongTensor (B, T), log_prob (B,), entropy (B,))``.
        """
        if actions is not None:
            actions = torch.as_tensor(actions, dtype=torch.long)
            batch_size = actions.shape[0]
        x = self.start.expand(1, batch_size, -1)
        state = None
        chosen, logp, ent = [], 0., 0.
        for t, head in enumerate(self.heads):
            out, state = self.lstm(x, state)
            log_probs = torch.log_softmax(head(out[0]), dim=-1)
            if actions is None:
                a = torch.multinomial(log_probs.exp().detach(), 1, generator=generator)[:, 0]
            else:
                a = actions[:, t]
            logp = logp + log_probs.gather(1, a[:, None])[:, 0]
            ent = ent - (log_probs.exp() * log_probs).sum(-1)
            chosen.append(a)
            x = self.embeds[t](a)[None]
        return torch.stack(chosen, 1), logp, ent


class PPO:
    """Clipped-surrogate policy gradient (Schulman et al. 2017) for :class:`NASFCOSController`:
    the search algorithm of :class:`.NASFCOSSearchLoop`, free of the runner (``propose`` ->
    ``update``; ``state_dict`` holds the controller, Adam, the baseline and the sampler).

    ``propose`` draws again where the space rejects a sample (a decoder with fewer than 3
    collected outputs, official ``judge()``); the update uses the accepted samples only.
    """

    def __init__(self,
                 controller: NASFCOSController,
                 lr: float = 1e-4,
                 clip: float = 0.1,
                 epochs: int = 1,
                 entropy_weight: float = 0.0,
                 baseline_decay: float = 0.95,
                 grad_clip: float = 2.0,
                 seed: int = 0,
                 max_redraws: int = 1000):
        self.controller = controller
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.clip, self.epochs, self.entropy_weight = clip, epochs, entropy_weight
        self.baseline_decay, self.grad_clip = baseline_decay, grad_clip
        self.max_redraws = max_redraws
        self.baseline = None
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def propose(self, batch_size: int) -> List[List[int]]:
        out = []
        for _ in range(self.max_redraws):
            actions, _, _ = self.controller(batch_size, generator=self.generator)
            out += [a for a in actions.tolist() if self.controller.space.valid(a)]
            if len(out) >= batch_size:
                return out[:batch_size]
        raise RuntimeError(f'the controller drew fewer than {batch_size} valid genotypes in '
                           f'{self.max_redraws} batches')

    def update(self, actions, rewards):
        actions = torch.as_tensor(actions, dtype=torch.long)
        rewards = torch.as_tensor(rewards, dtype=torch.float32)
        with torch.no_grad():
            _, old_log_prob, _ = self.controller(actions=actions)
        mean = float(rewards.mean())
        if self.baseline is None:
            self.baseline = mean
        adv = rewards - self.baseline
        self.baseline = self.baseline_decay * self.baseline + (1 - self.baseline_decay) * mean
        adv = adv / (float(adv.pow(2).mean().sqrt()) + 1e-8)
        stats = {}
        for _ in range(self.epochs):
            _, logp, ent = self.controller(actions=actions)
            ratio = torch.exp(logp - old_log_prob)
            surr = torch.min(ratio * adv, ratio.clamp(1 - self.clip, 1 + self.clip) * adv)
            loss = -surr.mean() - self.entropy_weight * ent.mean()
            self.optimizer.zero_grad()
            loss.backward()
            if self.grad_clip:
                nn.utils.clip_grad_norm_(self.controller.parameters(), self.grad_clip)
            self.optimizer.step()
            stats = dict(loss=loss.item(), entropy=ent.mean().item())
        stats.update(baseline=self.baseline, reward_mean=mean)
        return stats

    def state_dict(self):
        return dict(
            controller=self.controller.state_dict(),
            optimizer=self.optimizer.state_dict(),
            baseline=self.baseline,
            generator=self.generator.get_state())

    def load_state_dict(self, state):
        self.controller.load_state_dict(state['controller'])
        self.optimizer.load_state_dict(state['optimizer'])
        self.baseline = state['baseline']
        self.generator.set_state(state['generator'])
