"""Objectives of the contract tests: a project's objective (synthetic or real), killed or failing
at a chosen point. Imported by the tests and by the ranks of a launch (``dist_driver.py``).

Nothing here changes what the wrapped objective computes: it forwards every call and stops the
run where a kill or an error would.
"""
import json
import os
import signal

from mmdet.registry import TASK_UTILS
from mmengine.dist import get_rank


class Killed(Exception):
    """Stands for a kill: raised by the objective, nothing after it runs."""


# completed evaluations (genotype keys as JSON) of every ContractKillAfter of this process
EVALUATED = []
# the evaluation (0-based, per run and rank) at which the next run is killed, and how: not part
# of the config, which a resume compares with the stored one
KILL = dict(at=None, signal=False)


class _Wrapper:

    def __init__(self, inner):
        self.inner = TASK_UTILS.build(inner)

    @property
    def metric_keys(self):
        return self.inner.metric_keys

    def setup(self, runner, loop):
        # the rank, read outside the evaluations (which run as one process on every rank)
        self.rank_here = get_rank()
        self.inner.setup(runner, loop)

    def after_search(self, best, work_dir):
        self.inner.after_search(best, work_dir)

    def __getattr__(self, name):  # the rest of the objective's interface (a supernet's model, ...)
        inner = self.__dict__.get('inner')
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)


@TASK_UTILS.register_module(force=True)
class ContractKillAfter(_Wrapper):
    """The project's objective, stopped at evaluation ``KILL['at']``: by :class:`Killed` (the
    loop stops every rank, as after a kill), or with ``KILL['signal']`` by SIGKILL of rank 0's
    process (a real kill: the launcher then ends the other ranks)."""

    def __init__(self, inner):
        super().__init__(inner)
        self.kill_at, self.signal, self.calls = KILL['at'], KILL['signal'], 0

    def __call__(self, genotype, seed):
        if self.calls == self.kill_at:
            if self.signal:
                if self.rank_here == 0:
                    os.kill(os.getpid(), signal.SIGKILL)
            else:
                raise Killed()
        self.calls += 1
        out = self.inner(genotype, seed)
        EVALUATED.append(json.dumps(genotype, default=list))
        return out


@TASK_UTILS.register_module(force=True)
class ContractFailOnRank(_Wrapper):
    """Raises on rank ``rank``: at its first evaluation (``where='call'``) or, for a
    differentiable search, in its ``at``-th training loss (``where='loss'``: inside the
    data-parallel step, while the other ranks wait for its gradients)."""

    def __init__(self, inner, rank=1, where='call', at=0):
        super().__init__(inner)
        self.rank, self.where, self.at, self.losses = rank, where, at, 0

    def _fail(self):
        raise RuntimeError(f'injected failure on rank {self.rank}')

    def __call__(self, genotype, seed):
        if self.where == 'call' and self.rank_here == self.rank:
            self._fail()
        return self.inner(genotype, seed)

    def loss(self, batch):
        if self.where == 'loss' and self.rank_here == self.rank and self.losses == self.at:
            self._fail()
        self.losses += 1
        return self.inner.loss(batch)
