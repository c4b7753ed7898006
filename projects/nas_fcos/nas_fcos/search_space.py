"""The NAS-FCOS search space as a sequence of controller decisions, one phase at a time.

Progressive search (paper, "progressive search strategy"; official configs ``R_50_NAS`` = the
decoder found with the standard FCOS head, ``R_50_NAS_head`` = decoder + head): the decoder is
searched first with the standard FCOS head, then the head with the best decoder fixed.

* ``phase='decoder'``: 7 cells x ``[in1, in2, op1, op2, agg]`` (official ``DECODER.CONFIG``
  encoding, ``nas/rl/genotypes.py``): each input indexes the pool (C2..C5, then the outputs of
  earlier cells; the same index twice is allowed), each op is one of the 5 FPN ops, the
  aggregation one of 2. A decoder with fewer than 3 collected outputs cannot build a pyramid
  (official ``MicroDecoder_v2.judge``): :meth:`valid` says so and the controller samples again.
* ``phase='head'``: the share level (0..6) then the 6 head ops (official encoding
  ``[[share_level], [op x 6]]``) on top of a fixed decoder.

A point of the space is a list of action indices; :meth:`decode` gives the genotype dict that
``load_genotype`` / the detector read, :meth:`encode` the reverse.
"""
from typing import List, Sequence

from .genotype import AGG_OPS, FPN_OPS, HEAD_OPS, MIN_COLLECTED, collected_nodes, load_genotype

NUM_BACKBONE_LEVELS = 4  # C2..C5


class NASFCOSSearchSpace:
    """Decision sequence <-> genotype for one phase of the progressive search.

    Args:
        phase (str): 'decoder' or 'head'.
        num_cells (int): decoder cells (7 in the official configs).
        num_head_layers (int): head layers (6 in the official configs).
        decoder (optional): the fixed decoder of the head phase (a genotype or a file with one).
    """

    def __init__(self,
                 phase: str = 'decoder',
                 num_cells: int = 7,
                 num_head_layers: int = 6,
                 decoder=None):
        if phase not in ('decoder', 'head'):
            raise ValueError(f"phase must be 'decoder' or 'head', got {phase!r}")
        self.phase, self.num_cells, self.num_head_layers = phase, num_cells, num_head_layers
        self.decoder = None
        if phase == 'head':
            if decoder is None:
                raise ValueError('the head phase needs the decoder found by the decoder phase '
                                 '(`decoder=<its best_genotype.yaml>`)')
            self.decoder = [list(c) for c in load_genotype(decoder).decoder]
            self.choices = [num_head_layers + 1] + [len(HEAD_OPS)] * num_head_layers
            self.kinds = ['share_level'] + ['head_op'] * num_head_layers
        else:
            self.choices, self.kinds = [], []
            for k in range(num_cells):
                pool = NUM_BACKBONE_LEVELS + k
                self.choices += [pool, pool, len(FPN_OPS), len(FPN_OPS), len(AGG_OPS)]
                self.kinds += ['input', 'input', 'fpn_op', 'fpn_op', 'agg']

    @property
    def num_decisions(self) -> int:
        return len(self.choices)

    def decode(self, actions: Sequence[int]) -> dict:
        """Actions -> genotype dict (``decoder``, plus ``head`` and ``share_level`` in the head
        phase)."""
        actions = [int(a) for a in actions]
        if len(actions) != self.num_decisions:
            raise ValueError(f'expected {self.num_decisions} decisions, got {len(actions)}')
        if self.phase == 'decoder':
            return dict(decoder=[actions[5 * k:5 * k + 5] for k in range(self.num_cells)])
        return dict(
            decoder=[list(c) for c in self.decoder], head=actions[1:], share_level=actions[0])

    def encode(self, genotype) -> List[int]:
        """Genotype (dict or file) -> actions; ValueError when it is outside this phase's space."""
        g = load_genotype(genotype)
        if self.phase == 'decoder':
            if len(g.decoder) != self.num_cells:
                raise ValueError(f'the genotype has {len(g.decoder)} cells, the space '
                                 f'{self.num_cells}')
            actions = [int(v) for cell in g.decoder for v in cell]
        else:
            if [list(c) for c in g.decoder] != self.decoder:
                raise ValueError('the genotype\'s decoder is not the head phase\'s fixed decoder')
            if g.head is None or len(g.head) != self.num_head_layers:
                raise ValueError(f'the head phase needs {self.num_head_layers} head ops')
            actions = [g.share_level] + list(g.head)
        for t, a in enumerate(actions):
            if not 0 <= a < self.choices[t]:
                raise ValueError(f'decision {t} ({self.kinds[t]}) = {a} is outside 0..'
                                 f'{self.choices[t] - 1}')
        return actions

    def valid(self, actions: Sequence[int]) -> bool:
        """False for a decoder that cannot build P3-P5 (fewer than 3 collected outputs)."""
        if self.phase == 'head':
            return True
        return len(collected_nodes(self.decode(actions)['decoder'])) >= MIN_COLLECTED

    def random_actions(self, rng, max_tries: int = 1000) -> List[int]:
        """Uniformly random valid decisions (the random-search baseline)."""
        for _ in range(max_tries):
            actions = [rng.randrange(n) for n in self.choices]
            if self.valid(actions):
                return actions
        raise RuntimeError(f'no valid genotype in {max_tries} random draws')
