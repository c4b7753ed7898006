"""The NAS-FPN search space as a sequence of controller decisions.

Paper Sec. 3.1 and Fig. 3: a pyramid cell has a fixed number of merging cells; for each one
the controller makes four predictions, each with its own softmax classifier:

1. input 0 among all nodes available so far (the input pyramid P3..P7 and earlier cells);
2. input 1 among the same nodes, without replacement;
3. the output level: for the intermediate cells any level but stride 8 ("not allowed ... for
   intermediate merging cells", i.e. 4..7); for the last five, the output cells, the
   controller predicts the order in which P3..P7 are produced (a permutation, so levels already
   produced are masked);
4. the binary op: sum or global-pooling attention.

Every cell appends its node to the candidates (Fig. 3, "pushed back into the stack"). The last
five cells are the outputs, as in the published genotype and the Vertex re-implementation
(``tunable_nasfpn_search_space.py``: intermediate blocks, then 5 output blocks).
"""
import numpy as np

from .genotype import BINARY_OPS, MergingCellSpec, validate_genotype

KINDS = ('input0', 'input1', 'level', 'op')


class NASFPNSearchSpace:
    """Encode/decode genotypes as ``4 * num_cells`` integer decisions, with validity masks.

    Args:
        num_cells (int): merging cells per pyramid cell (7 in the published cell).
        min_level (int), max_level (int): pyramid levels (3..7).
        intermediate_levels (tuple): levels an intermediate cell may output (paper: no P3).
    """

    def __init__(self, num_cells=7, min_level=3, max_level=7, intermediate_levels=(4, 5, 6, 7)):
        self.min_level = min_level
        self.max_level = max_level
        self.levels = tuple(range(min_level, max_level + 1))
        self.num_inputs = len(self.levels)
        if num_cells < self.num_inputs:
            raise ValueError(f'num_cells={num_cells} < {self.num_inputs} output cells')
        self.num_cells = num_cells
        self.num_intermediate = num_cells - self.num_inputs
        self.intermediate_levels = tuple(intermediate_levels)
        assert set(self.intermediate_levels) <= set(self.levels)
        self.ops = BINARY_OPS
        self.num_choices = dict(
            input0=self.num_inputs + num_cells - 1,
            input1=self.num_inputs + num_cells - 1,
            level=len(self.levels),
            op=len(self.ops))

    @property
    def num_decisions(self):
        return 4 * self.num_cells

    def kind(self, t):
        return KINDS[t % 4]

    def mask(self, t, prefix):
        """Boolean mask of the valid choices of decision ``t`` after decisions ``prefix``."""
        cell, kind = divmod(t, 4)
        m = np.zeros(self.num_choices[KINDS[kind]], dtype=bool)
        if kind in (0, 1):
            m[:self.num_inputs + cell] = True
            if kind == 1:
                m[prefix[t - 1]] = False
        elif kind == 2:
            if cell < self.num_intermediate:
                for lv in self.intermediate_levels:
                    m[self.levels.index(lv)] = True
            else:
                m[:] = True
                for c in range(self.num_intermediate, cell):
                    m[prefix[4 * c + 2]] = False
        else:
            m[:] = True
        return m

    def decode(self, actions):
        """Decisions -> validated genotype (tuple of :class:`MergingCellSpec`)."""
        actions = [int(a) for a in actions]
        assert len(actions) == self.num_decisions, len(actions)
        cells = []
        for c in range(self.num_cells):
            i0, i1, lv, op = actions[4 * c:4 * c + 4]
            cells.append(
                MergingCellSpec(self.levels[lv], self.ops[op], (i0, i1), c
                                >= self.num_intermediate))
        return validate_genotype(cells, self.min_level, self.max_level)

    def encode(self, genotype):
        """Genotype -> decisions (the inverse of :meth:`decode`); checks the space's rules."""
        cells = validate_genotype(genotype, self.min_level, self.max_level)
        if len(cells) != self.num_cells:
            raise ValueError(f'genotype has {len(cells)} cells, the space {self.num_cells}')
        actions = []
        for c in cells:
            actions += [c.inputs[0], c.inputs[1], self.levels.index(c.level), self.ops.index(c.op)]
        for t, a in enumerate(actions):
            if not self.mask(t, actions[:t])[a]:
                raise ValueError(f'genotype is outside the search space at merging cell {t // 4}'
                                 f' ({KINDS[t % 4]} = {a})')
        return actions

    def random_actions(self, rng):
        """Uniformly random valid decisions (the random-search baseline)."""
        actions = []
        for t in range(self.num_decisions):
            choices = np.flatnonzero(self.mask(t, actions))
            actions.append(int(rng.choice(choices)))
        return actions
