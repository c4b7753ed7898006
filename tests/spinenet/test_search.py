"""Search space round trips; the controller nears a known synthetic optimum, beats random search."""
import inspect
import io
import random
import time

import pytest
import torch
from mmengine.config import Config

from projects.spinenet.spinenet import (DEFAULT_GENOTYPE, Reinforce, SpineNetController,
                                        SpineNetSearchSpace, load_genotype, validate_genotype)


def test_published_spinenet49_is_in_the_space_and_round_trips():
    space = SpineNetSearchSpace()
    specs = load_genotype(DEFAULT_GENOTYPE)[0]
    actions = space.encode(specs)
    assert len(actions) == len(space.steps) == 10 + 5 + 15 * 3 + 10
    assert space.decode(actions) == specs


def test_random_samples_are_valid_and_respect_the_rules():
    space = SpineNetSearchSpace()
    rng = random.Random(0)
    for _ in range(100):
        specs = space.decode(space.sample_random(rng))
        validate_genotype(specs)
        inter = specs[:10]
        assert not any(s.is_output for s in inter) and all(s.is_output for s in specs[10:])
        assert sorted(s.level for s in specs[10:]) == [3, 4, 5, 6, 7]
        for b, s in enumerate(inter):  # intermediate parents within the last 5 blocks
            assert all(2 + b - 5 <= p < 2 + b for p in s.input_offsets)
            assert s.input_offsets[0] != s.input_offsets[1]
        assert space.decode(space.encode(specs)) == specs


def test_encode_rejects_genotypes_outside_the_space():
    space = SpineNetSearchSpace()
    specs = load_genotype(DEFAULT_GENOTYPE)[0]
    bad = list(specs)
    bad[9] = bad[9]._replace(input_offsets=(0, 10))  # parent 0 is outside the 5-block window
    with pytest.raises(ValueError, match='block 9'):
        space.encode(bad)


def test_controller_scores_given_actions_like_it_samples():
    space = SpineNetSearchSpace()
    torch.manual_seed(0)
    ctrl = SpineNetController(space)
    out = ctrl(3)
    again = ctrl(actions=out['actions'])
    assert torch.allclose(out['log_prob'], again['log_prob'])
    for a in out['actions']:
        validate_genotype(space.decode(a.tolist()))


@pytest.mark.parametrize('kw', [{}, dict(temperature=5., tanh_constant=2.5)])
def test_scoring_matches_sampling_in_value_and_gradient(kw):
    """Sampling steps the LSTM by hand; scoring (the REINFORCE update) runs it in one call."""
    space = SpineNetSearchSpace()
    torch.manual_seed(0)
    ctrl = SpineNetController(space, **kw)
    sampled = ctrl(5)
    (sampled['log_prob'].sum() + 0.1 * sampled['entropy'].sum()).backward()
    grads = [p.grad.clone() for p in ctrl.parameters()]
    ctrl.zero_grad()
    out = ctrl(actions=sampled['actions'])
    (out['log_prob'].sum() + 0.1 * out['entropy'].sum()).backward()
    assert torch.allclose(sampled['log_prob'], out['log_prob'], rtol=1e-5)
    assert torch.allclose(sampled['entropy'], out['entropy'], rtol=1e-5)
    for g, p in zip(grads, ctrl.parameters()):
        assert torch.allclose(g, p.grad, rtol=1e-4, atol=1e-6)


def test_reinforce_state_dict_restores_the_next_update():
    """Resume = same controller, Adam moments, baseline and advantage scale as without a stop."""
    space = SpineNetSearchSpace()
    torch.manual_seed(0)
    a = Reinforce(SpineNetController(space))
    batches = [a.propose(4) for _ in range(3)]
    for actions, rewards in zip(batches, ([.1, .2, .3, .4], [.3, .3, .5, .1])):
        a.update(actions, rewards)
    buf = io.BytesIO()  # through bytes, as SpineNetSearchLoop's search_state.pth
    torch.save(a.state_dict(), buf)
    buf.seek(0)
    b = Reinforce(SpineNetController(space))
    b.load_state_dict(torch.load(buf, weights_only=False))
    assert (b.baseline, b.adv_sq) == (a.baseline, a.adv_sq)
    assert b.propose(4) == a.propose(4)  # the sampler's state too
    for rl in (a, b):
        rl.update(batches[2], [.9, .1, .2, .6])
    assert (b.baseline, b.adv_sq) == (a.baseline, a.adv_sq)
    for pa, pb in zip(a.controller.parameters(), b.controller.parameters()):
        assert torch.equal(pa, pb)


def synthetic_reward(specs, target):
    """Fraction of (level, type, parents) decisions equal to the target genotype's."""
    hit = sum(
        (a.level == b.level) + (a.block_fn == b.block_fn) + (a.input_offsets == b.input_offsets)
        for a, b in zip(specs, target))
    return hit / (3 * len(target))


# the synthetic search: SYNTH_STEPS updates of SYNTH_BATCH samples (the COCO search's
# samples_per_step), the shipped controller settings, one CPU thread
SYNTH_STEPS, SYNTH_BATCH = 1000, 8


@pytest.mark.parametrize('seed', [0, 1])
def test_controller_nears_random_targets_and_beats_random_search_at_equal_budget(seed):
    """Reward = agreement with a target drawn at random from the space, over 45 decisions
    (optimum 1.0, reached only there). Budget 8000 samples (1000 updates of 8),
    ``Reinforce(SpineNetController(space))`` with no overrides (= the search configs, next
    test). Every seed: best >= 43/45, last-batch mean >= 0.9, both >= random search's best of
    the same budget + 0.3 (measured values: README, "Search")."""
    space = SpineNetSearchSpace()
    target = space.decode(space.sample_random(random.Random(1000 + seed)))
    assert synthetic_reward(target, target) == 1.0
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        torch.manual_seed(seed)
        rl = Reinforce(SpineNetController(space), seed=seed)  # the shipped defaults
        ctrl_scores = []
        t0 = time.time()
        for _ in range(SYNTH_STEPS):
            actions = rl.propose(SYNTH_BATCH)
            rewards = [synthetic_reward(space.decode(a), target) for a in actions]
            ctrl_scores += rewards
            rl.update(actions, rewards)
        runtime = time.time() - t0
    finally:
        torch.set_num_threads(threads)
    budget = len(ctrl_scores)
    rng = random.Random(seed)
    rand_scores = [
        synthetic_reward(space.decode(space.sample_random(rng)), target) for _ in range(budget)
    ]
    last = ctrl_scores[-SYNTH_BATCH:]
    best, last_mean = max(ctrl_scores), sum(last) / len(last)
    print(f'seed {seed}: controller best {best:.3f} last-batch mean {last_mean:.3f}; random '
          f'best {max(rand_scores):.3f}; {runtime:.0f} s')
    assert best >= 43 / 45
    assert last_mean >= 0.9
    assert min(best, last_mean) > max(rand_scores) + 0.3


def _defaults(fn):
    return {
        k: p.default
        for k, p in inspect.signature(fn).parameters.items() if p.default is not p.empty
    }


@pytest.mark.parametrize('cfg', [
    'spinenet_search_retinanet-proxy_1xb64-5e_coco-512.py',
    'spinenet_search_retinanet-proxy_toy.py',
])
def test_search_configs_use_the_tested_controller_settings(repo, cfg):
    """The searches run what the synthetic test above checked: the defaults, spelled out."""
    train_cfg = Config.fromfile(str(repo / 'projects/spinenet/configs' / cfg)).train_cfg
    tested = {**_defaults(SpineNetController.__init__), **_defaults(Reinforce.__init__)}
    ctrl = dict(train_cfg.controller)
    assert set(ctrl) >= {'hidden_size', 'num_layers', 'lr', 'baseline_decay', 'entropy_weight'}
    assert ctrl == {k: tested[k] for k in ctrl}
    if 'coco' in cfg:
        assert train_cfg.samples_per_step == SYNTH_BATCH
