"""The evolutionary algorithm of DetNAS step 3 (paper Sec. 3.3, Alg. 1), framework-free.

Follows megvii-model/DetNAS ``distributed_arch_search/search.py`` (``EvolutionTrainer``) and
``arch_search_config.py``: a first population of ``population_num`` random legal candidates;
after each generation the ``select_num`` best candidates evaluated so far are the parents;
the next population is ``mutation_num`` mutants (each gene redrawn with probability
``mutation_prob``), ``crossover_num`` children of uniform crossover of two parents, and random
candidates up to ``population_num``. A candidate is *legal* when it satisfies the FLOPs limit and
has never been evaluated (``legal()`` rejects visited candidates, so nothing is scored twice);
we also reject duplicates inside one population. Candidates are tuples of choice indices.

:class:`Evolution` is the search algorithm of :class:`.DetNASSearchLoop`, free of the runner:
``propose()`` returns the next population (the first one while nothing has been scored),
``update(candidates, scores)`` adds their scores to the memory the parents are drawn from, and
``state_dict()`` holds that memory and the random state.

Deviation: the official mutation/crossover loops decrement their try counter only on success,
so they can spin forever when few legal children exist; here each operator stops after
``10 x num`` draws (the official intent) and random candidates fill the rest of the population.
"""
import random


class Evolution:
    """Population bookkeeping and the genetic operators.

    Args:
        num_blocks (int): genes per candidate (20 or 40 choice blocks).
        num_choices (int): states per gene (4 candidates per choice block).
        population_num, select_num, mutation_num, crossover_num (int): paper: 50, 10, 20, 20.
        mutation_prob (float): per-gene mutation probability (paper: 0.1).
        is_legal (callable, optional): ``cand -> bool``, the resource constraint (FLOPs limit).
        seed (int): seed of the operators' random generator.
        max_random_tries (int): draws per random candidate before the constraint is declared
            unsatisfiable.
    """

    def __init__(self,
                 num_blocks,
                 num_choices=4,
                 population_num=50,
                 select_num=10,
                 mutation_num=20,
                 mutation_prob=0.1,
                 crossover_num=20,
                 is_legal=None,
                 seed=0,
                 max_random_tries=10000):
        if mutation_num + crossover_num > population_num:
            raise ValueError(f'mutation_num ({mutation_num}) + crossover_num ({crossover_num}) '
                             f'exceeds population_num ({population_num})')
        if not 0 < select_num <= population_num:
            raise ValueError(f'select_num must be in 1..population_num, got {select_num}')
        self.num_blocks = num_blocks
        self.num_choices = num_choices
        self.population_num = population_num
        self.select_num = select_num
        self.mutation_num = mutation_num
        self.mutation_prob = mutation_prob
        self.crossover_num = crossover_num
        self.is_legal = is_legal or (lambda cand: True)
        self.max_random_tries = max_random_tries
        self.rng = random.Random(seed)
        self.scores = {}  # every candidate scored so far -> score

    # ------------------------------------------------------------------ operators
    def _accept(self, cand, seen, out):
        if cand in seen or cand in out or not self.is_legal(cand):
            return False
        out.append(cand)
        return True

    def random_candidates(self, num, seen, out=None):
        """Append ``num`` new legal random candidates to ``out`` (and return it)."""
        out = [] if out is None else out
        target = len(out) + num
        tries = 0
        while len(out) < target:
            cand = tuple(self.rng.randrange(self.num_choices) for _ in range(self.num_blocks))
            if not self._accept(cand, seen, out):
                tries += 1
                if tries > self.max_random_tries * max(num, 1):
                    raise RuntimeError(
                        f'found only {len(out)} of {target} legal unseen random candidates in '
                        f'{tries} draws: the FLOPs limit is too tight or the space is exhausted')
        return out

    def mutation(self, parents, num, seen, out):
        """Up to ``num`` mutants of random parents (each gene redrawn with ``mutation_prob``)."""
        got = 0
        for _ in range(10 * num):
            if got == num:
                break
            cand = list(self.rng.choice(parents))
            for i in range(self.num_blocks):
                if self.rng.random() < self.mutation_prob:
                    cand[i] = self.rng.randrange(self.num_choices)
            got += self._accept(tuple(cand), seen, out)
        return got

    def crossover(self, parents, num, seen, out):
        """Up to ``num`` uniform crossovers of two random parents."""
        got = 0
        for _ in range(10 * num):
            if got == num:
                break
            p1, p2 = self.rng.choice(parents), self.rng.choice(parents)
            cand = tuple(self.rng.choice((a, b)) for a, b in zip(p1, p2))
            got += self._accept(cand, seen, out)
        return got

    # ----------------------------------------------------------------- populations
    def initial_population(self, seen=()):
        """``population_num`` random legal candidates (generation 0)."""
        return self.random_candidates(self.population_num, set(seen))

    def parents(self, scores):
        """The ``select_num`` best candidates of ``scores`` (dict cand -> score), best first."""
        ranked = sorted(scores, key=lambda c: scores[c], reverse=True)
        return ranked[:self.select_num]

    def next_population(self, scores):
        """Mutation + crossover from the top ``select_num`` of ``scores``, random fill."""
        seen = set(scores)
        parents = self.parents(scores)
        out = []
        self.mutation(parents, self.mutation_num, seen, out)
        self.crossover(parents, self.crossover_num, seen, out)
        return self.random_candidates(self.population_num - len(out), seen, out)

    # --------------------------------------------------------------- search algorithm
    def propose(self):
        """The next population: random while nothing is scored, else bred from the best."""
        if not self.scores:
            return self.initial_population()
        return self.next_population(self.scores)

    def update(self, candidates, scores):
        """Remember the scores of a finished population."""
        for cand, score in zip(candidates, scores):
            self.scores[tuple(cand)] = float(score)
        top = self.parents(self.scores)
        return dict(scored=len(self.scores), top_mean=sum(self.scores[c] for c in top) / len(top))

    def state_dict(self):
        version, internal, gauss = self.rng.getstate()
        return dict(
            rng=[version, list(internal), gauss],
            scores=[[list(c), s] for c, s in self.scores.items()])

    def load_state_dict(self, state):
        version, internal, gauss = state['rng']
        self.rng.setstate((version, tuple(internal), gauss))
        self.scores = {tuple(c): s for c, s in state['scores']}
