"""DetNAS evolution: the genetic operators follow the paper's settings,
and on a synthetic fitness with a known optimum under a FLOPs limit (targets drawn at random from
the space, several seeds) the evolution finds it while random search with the same number of
evaluations does not."""
import random

import numpy as np
import pytest

from projects.detnas.detnas import CHOICES, Evolution, get_flops_table, load_genotype

# the 300M space's 20 blocks, for which the paper set its evolution, at the toy widths
SPACE_20 = ([4, 4, 8, 4], [16, 32, 64, 128, 256, 256])


def _flops_problem(seed=None):
    """Fitness = fraction of genes equal to a target path; FLOPs limit = that path's FLOPs. The
    target (the published RetinaNet-300M path, or one drawn at random with ``seed``) is the unique
    optimum (score 1) and it is legal."""
    table = get_flops_table(*SPACE_20)
    if seed is None:
        target = tuple(
            CHOICES.index(c) for c in load_genotype('detnas_coco_retinanet_300m')['genotype'])
    else:
        rng = random.Random(seed)
        target = tuple(rng.randrange(len(CHOICES)) for _ in range(20))
    limit = table.flops([CHOICES[i] for i in target])

    def legal(cand):
        return table.flops([CHOICES[i] for i in cand]) <= limit

    def fitness(cand):
        return float(np.mean(np.asarray(cand) == np.asarray(target)))

    return legal, fitness, target


def _evolve(evolution, fitness, generations):
    scores = {}
    population = evolution.initial_population()
    for g in range(generations):
        for cand in population:
            if cand not in scores:
                scores[cand] = fitness(cand)
        if g < generations - 1:
            population = evolution.next_population(scores)
    return scores


def test_population_composition_and_legality():
    legal, fitness, _ = _flops_problem()
    evo = Evolution(
        20,
        population_num=50,
        select_num=10,
        mutation_num=20,
        crossover_num=20,
        mutation_prob=0.1,
        is_legal=legal,
        seed=0)
    first = evo.initial_population()
    assert len(first) == 50 and len(set(first)) == 50 and all(legal(c) for c in first)
    scores = {c: fitness(c) for c in first}
    nxt = evo.next_population(scores)
    assert len(nxt) == 50 and len(set(nxt)) == 50
    assert not set(nxt) & set(scores)  # an evaluated candidate is never proposed again
    assert all(legal(c) for c in nxt)
    parents = evo.parents(scores)
    assert len(parents) == 10 and [scores[p] for p in parents] == sorted(scores.values())[::-1][:10]
    # 20 mutants, each one gene-redraw away from a parent on about 10% of the genes
    mutants = []
    evo.mutation(parents, 20, set(scores), mutants)
    dist = [min(sum(a != b for a, b in zip(m, p)) for p in parents) for m in mutants]
    assert len(mutants) == 20 and 1 <= np.mean(dist) <= 4
    # crossover children take every gene from one of two parents
    children = []
    evo.crossover(parents, 20, set(scores), children)
    assert children and all(
        all(g in {p[i]
                  for p in parents} for i, g in enumerate(c)) for c in children)


def test_state_round_trip_reproduces_the_search():
    legal, fitness, _ = _flops_problem()
    a = Evolution(20, is_legal=legal, seed=3)
    pop = a.propose()
    a.update(pop, [fitness(c) for c in pop])
    state = a.state_dict()
    b = Evolution(20, is_legal=legal, seed=99)
    b.load_state_dict(state)
    assert b.scores == a.scores
    assert a.propose() == b.propose()


def test_bad_settings_and_unsatisfiable_limit():
    with pytest.raises(ValueError, match='exceeds population_num'):
        Evolution(20, population_num=10, mutation_num=8, crossover_num=8)
    evo = Evolution(20, is_legal=lambda c: False, max_random_tries=5)
    with pytest.raises(RuntimeError, match='FLOPs limit is too tight'):
        evo.initial_population()


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_evolution_finds_known_optimum_better_than_random(seed):
    """Paper settings (population 50, top 10, 20 mutations p=0.1, 20 crossovers, 10 random, 20
    generations: <= 1000 evaluations) on a random target whose FLOPs are the limit."""
    legal, fitness, target = _flops_problem(seed)
    scores = _evolve(Evolution(20, is_legal=legal, seed=seed), fitness, 20)
    budget = len(scores)
    assert budget <= 1000
    random_best = max(
        fitness(c)
        for c in Evolution(20, is_legal=legal, seed=100 + seed).random_candidates(budget, set()))
    best = max(scores, key=scores.get)
    assert best == target  # the optimum itself
    assert scores[best] >= random_best + 0.2
