"""PPO controller on a synthetic reward whose best genotype is known.

Reward = fraction of the 28 decisions equal to the published NAS-FPN cell's, so the published
cell is the unique optimum (reward 1). Budget: 200 PPO steps x 8 samples = 1600 genotypes.
The controller must reach >= 0.9 (at most 2 of 28 decisions off; in practice it reaches 1.0)
and beat the best of 1600 uniformly random valid genotypes by >= 0.2.
"""
import numpy as np
import torch

from projects.nas_fpn.nas_fpn import LSTMController, NASFPNSearchSpace, PPOTrainer, load_genotype

STEPS, BATCH = 200, 8


def test_ppo_controller_finds_the_known_best_and_beats_random():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    space = NASFPNSearchSpace()
    target = np.asarray(space.encode(load_genotype('projects/nas_fpn/genotypes/nasfpn_7cell.yaml')))

    def reward(actions):
        return float(np.mean(np.asarray(actions) == target))

    ppo = PPOTrainer(LSTMController(space))  # the defaults the search loop uses
    gen = torch.Generator().manual_seed(0)
    best = 0.0
    for _ in range(STEPS):
        actions, logp = ppo.sample(BATCH, gen)
        rewards = [reward(a.tolist()) for a in actions]
        best = max(best, max(rewards))
        ppo.update(actions, logp, rewards)
    rng = np.random.default_rng(0)
    random_best = max(reward(space.random_actions(rng)) for _ in range(STEPS * BATCH))
    assert best >= 0.9, best
    assert best >= random_best + 0.2, (best, random_best)
