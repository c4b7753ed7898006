"""The SpineNet search space as a sequence of discrete decisions (paper Sec. 3.1, 5.1).

Decisions, in the order the paper describes them ("we first search for scale permutations for the
intermediate and output blocks then determine cross-scale connections between blocks", then block
adjustments):

1. scale permutation of the intermediate blocks: the order of a fixed multiset of base levels
   (default the ResNet-50-derived R0-SP53 blocks minus the outputs: {L2: 1, L3: 3, L4: 5, L5: 1},
   paper Table 1; the same multiset as google/vertex-ai-nas ``spinenet_v2_search_space``);
2. scale permutation of the output blocks: the order of L3..L7;
3. per block: level offset in {-1, 0, 1, 2} (intermediate blocks only), block type in
   {residual, bottleneck}, and two distinct parents: intermediate blocks pick among the last
   ``window`` = 5 blocks built (stem included), output blocks among all earlier blocks (Sec. 5.1).

A point of the space is a list of action indices; :meth:`decode` turns it into block specs and
:meth:`encode` does the reverse for any genotype inside the space (SpineNet-49 is one).
"""
import random
from typing import Dict, List, Optional, Sequence

from .genotype import BLOCK_FNS, NUM_INIT_BLOCKS, BlockSpec

DEFAULT_INTERMEDIATE = {2: 1, 3: 3, 4: 5, 5: 1}
DEFAULT_OUTPUT_LEVELS = (3, 4, 5, 6, 7)
LEVEL_OFFSETS = (-1, 0, 1, 2)


class SpineNetSearchSpace:
    """Decision sequence <-> genotype. ``kinds`` maps a step kind to its number of choices."""

    def __init__(self,
                 intermediate_levels: Optional[Dict[int, int]] = None,
                 output_levels: Sequence[int] = DEFAULT_OUTPUT_LEVELS,
                 level_offsets: Sequence[int] = LEVEL_OFFSETS,
                 block_fns: Sequence[str] = BLOCK_FNS,
                 window: int = 5,
                 num_init_blocks: int = NUM_INIT_BLOCKS,
                 min_level: int = 1,
                 max_level: int = 7):
        inter = intermediate_levels or DEFAULT_INTERMEDIATE
        self.inter_counts = {int(k): int(v) for k, v in inter.items()}
        self.base_levels = sorted(self.inter_counts)
        self.output_levels = list(output_levels)
        self.level_offsets = list(level_offsets)
        self.block_fns = list(block_fns)
        self.window = window
        self.num_init = num_init_blocks
        self.min_level, self.max_level = min_level, max_level
        self.num_inter = sum(self.inter_counts.values())
        self.num_blocks = self.num_inter + len(self.output_levels)
        self.num_nodes = self.num_init + self.num_blocks
        self.kinds = {
            'perm_inter': len(self.base_levels),
            'perm_out': len(self.output_levels),
            'offset': len(self.level_offsets),
            'block_fn': len(self.block_fns),
            'parent': self.num_nodes - 1,
        }
        steps = [('perm_inter', None)] * self.num_inter + [('perm_out', None)] * len(
            self.output_levels)
        for b in range(self.num_blocks):
            if b < self.num_inter:
                steps.append(('offset', b))
            steps += [('block_fn', b), ('parent', b), ('parent', b)]
        self.steps = steps

    # ---------------------------------------------------------------- masks
    def mask(self, t: int, prev: Sequence[int]) -> List[bool]:
        """Which choices are legal at step ``t`` given the actions ``prev`` taken so far."""
        kind, b = self.steps[t]
        n = self.kinds[kind]
        if kind == 'perm_inter':
            used = {lvl: 0 for lvl in self.base_levels}
            for a in prev[:t]:
                used[self.base_levels[a]] += 1
            return [used[lvl] < self.inter_counts[lvl] for lvl in self.base_levels]
        if kind == 'perm_out':
            taken = set(prev[self.num_inter:t])
            return [i not in taken for i in range(n)]
        if kind == 'offset':
            base = self.base_levels[prev[b]]
            return [self.min_level <= base + o <= self.max_level for o in self.level_offsets]
        if kind == 'block_fn':
            return [True] * n
        node = self.num_init + b  # index of the block being built
        lo = max(0, node - self.window) if b < self.num_inter else 0
        ok = [lo <= i < node for i in range(n)]
        if self.steps[t - 1] == ('parent', b):  # second parent differs from the first
            ok[prev[t - 1]] = False
        return ok

    # ---------------------------------------------------------------- decode / encode
    def decode(self, actions: Sequence[int]) -> List[BlockSpec]:
        assert len(actions) == len(self.steps), (len(actions), len(self.steps))
        levels = [self.base_levels[a] for a in actions[:self.num_inter]]
        levels += [self.output_levels[a] for a in actions[self.num_inter:self.num_blocks]]
        fns, parents = {}, {}
        for (kind, b), a in zip(self.steps, actions):
            if kind == 'offset':
                levels[b] += self.level_offsets[a]
            elif kind == 'block_fn':
                fns[b] = self.block_fns[a]
            elif kind == 'parent':
                parents.setdefault(b, []).append(int(a))
        return [
            BlockSpec(levels[b], fns[b], tuple(sorted(parents[b])), b >= self.num_inter)
            for b in range(self.num_blocks)
        ]

    def encode(self, specs: Sequence[BlockSpec]) -> List[int]:
        """Actions that decode to ``specs``; ValueError when the genotype is outside the space."""
        specs = list(specs)
        if len(specs) != self.num_blocks:
            raise ValueError(f'expected {self.num_blocks} blocks, got {len(specs)}')
        inter, outs = specs[:self.num_inter], specs[self.num_inter:]
        if any(s.is_output for s in inter) or not all(s.is_output for s in outs):
            raise ValueError('the space puts the intermediate blocks first, outputs last')
        base = self._assign_base_levels([s.level for s in inter])
        actions = [self.base_levels.index(lvl) for lvl in base]
        actions += [self.output_levels.index(s.level) for s in outs]
        for b, s in enumerate(specs):
            if b < self.num_inter:
                actions.append(self.level_offsets.index(s.level - base[b]))
            actions.append(self.block_fns.index(s.block_fn))
            actions += sorted(s.input_offsets)
        for t in range(len(actions)):
            if not self.mask(t, actions)[actions[t]]:
                raise ValueError(f'block {self.steps[t][1]}: decision {self.steps[t][0]}='
                                 f'{actions[t]} is outside the search space')
        return actions

    def _assign_base_levels(self, final_levels):
        """Base levels (a permutation of the multiset) with final - base in the offsets."""
        counts = dict(self.inter_counts)
        out = []

        def rec(i):
            if i == len(final_levels):
                return True
            # prefer offset 0, then the others in order
            for off in sorted(self.level_offsets, key=abs):
                lvl = final_levels[i] - off
                if counts.get(lvl, 0) > 0:
                    counts[lvl] -= 1
                    out.append(lvl)
                    if rec(i + 1):
                        return True
                    out.pop()
                    counts[lvl] += 1
            return False

        if not rec(0):
            raise ValueError(f'intermediate levels {final_levels} are not a permutation of '
                             f'{self.inter_counts} shifted by {self.level_offsets}')
        return out

    # ---------------------------------------------------------------- sampling
    def sample_random(self, rng: Optional[random.Random] = None) -> List[int]:
        """Uniform choice among the legal options at every step (the random-search baseline)."""
        rng = rng or random
        actions = []
        for t in range(len(self.steps)):
            legal = [i for i, ok in enumerate(self.mask(t, actions)) if ok]
            actions.append(rng.choice(legal))
        return actions
