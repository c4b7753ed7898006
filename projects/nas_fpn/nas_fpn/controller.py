"""The NAS-FPN controller: an RNN that emits the cell decisions, trained with PPO.

Paper Sec. 3: "an RNN controller ... trained with Proximal Policy Optimization", reward = the
proxy task's AP on held-out images; each decision has its own softmax classifier. The paper
publishes no controller size or PPO hyper-parameters; ours (all constructor arguments, defaults
listed in the README) follow common NAS practice: one-layer LSTM with 64 units fed the
embedding of the previous decision, one softmax classifier (linear layer) per decision of every
merging cell, illegal choices masked, Adam, clip 0.2, a few PPO epochs per batch, an
exponential-moving-average reward baseline. One classifier per decision *kind*, shared by the
seven cells, stalled far from random synthetic targets (README, "Deviations").
"""
import numpy as np
import torch
import torch.nn as nn

from .search_space import KINDS


class LSTMController(nn.Module):
    """Autoregressive LSTM policy over :class:`NASFPNSearchSpace` decisions."""

    def __init__(self, space, hidden_size=64):
        super().__init__()
        self.space = space
        self.hidden_size = hidden_size
        self.start = nn.Parameter(torch.zeros(1, hidden_size))
        self.lstm = nn.LSTMCell(hidden_size, hidden_size)
        # one softmax classifier per decision, one embedding of the chosen value per kind
        self.heads = nn.ModuleList(
            nn.Linear(hidden_size, space.num_choices[space.kind(t)])
            for t in range(space.num_decisions))
        self.embeds = nn.ModuleDict(
            {k: nn.Embedding(space.num_choices[k], hidden_size)
             for k in KINDS})
        for head in self.heads:
            nn.init.zeros_(head.weight)  # start from the uniform policy over valid choices
            nn.init.zeros_(head.bias)

    def forward(self, batch_size=1, actions=None, generator=None):
        """Sample (``actions=None``) or score given ``actions`` (B, T).

        Returns ``(actions LongTensor (B, T), log_prob (B,), entropy (B,))``.
        """
        space = self.space
        if actions is not None:
            actions = torch.as_tensor(actions, dtype=torch.long)
            batch_size = actions.shape[0]
        x = self.start.expand(batch_size, -1)
        h = x.new_zeros(batch_size, self.hidden_size)
        c = x.new_zeros(batch_size, self.hidden_size)
        chosen = [[] for _ in range(batch_size)]
        logp = x.new_zeros(batch_size)
        ent = x.new_zeros(batch_size)
        for t in range(space.num_decisions):
            h, c = self.lstm(x, (h, c))
            logits = self.heads[t](h)
            mask = torch.as_tensor(np.stack([space.mask(t, chosen[b]) for b in range(batch_size)]))
            logits = logits.masked_fill(~mask, float('-inf'))
            log_probs = torch.log_softmax(logits, dim=-1)
            probs = log_probs.exp()
            if actions is None:
                a = torch.multinomial(probs.detach(), 1, generator=generator).squeeze(1)
            else:
                a = actions[:, t]
            logp = logp + log_probs.gather(1, a[:, None]).squeeze(1)
            ent = ent - (probs * log_probs.masked_fill(~mask, 0.0)).sum(-1)
            for b in range(batch_size):
                chosen[b].append(int(a[b]))
            x = self.embeds[space.kind(t)](a)
        return torch.as_tensor(chosen, dtype=torch.long), logp, ent


class PPOTrainer:
    """Clipped-surrogate policy gradient (PPO, Schulman et al. 2017) for the controller: the
    search algorithm of :class:`.NASFPNSearchLoop`, free of the runner (``propose`` ->
    ``update``; ``state_dict`` holds the controller, Adam, the baseline and the sampler's state).

    ``update(actions, rewards)`` runs ``epochs`` passes of
    ``-min(r * A, clip(r, 1 - eps, 1 + eps) * A) - entropy_weight * H`` with
    ``r = exp(log_prob - old_log_prob)``, where ``old_log_prob`` is the probability of the
    actions under the controller that proposed them (the controller before this update), and
    advantage ``A`` = reward minus an exponential moving average baseline, divided by the root
    mean square of these differences over the batch. The RMS is at least the batch's reward std
    and at least ``|mean A|``, so ``|A| <= sqrt(batch)`` always: a batch of equal rewards (e.g. a
    repeated genotype) gives ``A = +-1`` or 0 instead of ``(r - baseline) / (0 + eps)``.
    """

    def __init__(self,
                 controller,
                 lr=5e-3,
                 clip=0.2,
                 epochs=4,
                 entropy_weight=0.05,
                 baseline_decay=0.9,
                 normalize_advantage=True,
                 seed=0):
        self.controller = controller
        self.optimizer = torch.optim.Adam(controller.parameters(), lr=lr)
        self.clip = clip
        self.epochs = epochs
        self.entropy_weight = entropy_weight
        self.baseline_decay = baseline_decay
        self.normalize_advantage = normalize_advantage
        self.baseline = None
        self.generator = torch.Generator().manual_seed(seed)

    @torch.no_grad()
    def propose(self, batch_size):
        """Sample ``batch_size`` decision sequences (lists of ints) from the controller."""
        actions, _, _ = self.controller(batch_size, generator=self.generator)
        return actions.tolist()

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
        if self.normalize_advantage:
            adv = adv / (float(adv.pow(2).mean().sqrt()) + 1e-8)
        stats = {}
        for _ in range(self.epochs):
            _, logp, ent = self.controller(actions=actions)
            ratio = torch.exp(logp - old_log_prob)
            surr = torch.min(ratio * adv, ratio.clamp(1 - self.clip, 1 + self.clip) * adv)
            loss = -surr.mean() - self.entropy_weight * ent.mean()
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            stats = dict(loss=loss.item(), entropy=ent.mean().item())
        stats.update(baseline=self.baseline, reward_mean=mean, advantage_max=adv.abs().max().item())
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
