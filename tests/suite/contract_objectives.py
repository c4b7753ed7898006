"""An objective for the two-rank contract test, imported by the ranks through
``custom_imports``: the project's synthetic objective, failing on one rank."""
from mmdet.registry import TASK_UTILS
from mmengine.dist import get_rank


@TASK_UTILS.register_module(force=True)
class ContractFailOnRank:
    """Raises on rank ``rank`` at its first evaluation; the other ranks evaluate normally."""

    def __init__(self, inner, rank=1):
        self.inner = TASK_UTILS.build(inner)
        self.rank = rank

    @property
    def metric_keys(self):
        return self.inner.metric_keys

    def setup(self, runner, loop):
        self.inner.setup(runner, loop)

    def __call__(self, genotype, seed):
        if get_rank() == self.rank:
            raise RuntimeError(f'injected failure on rank {self.rank}')
        return self.inner(genotype, seed)

    def after_search(self, best, work_dir):
        self.inner.after_search(best, work_dir)

    def __getattr__(self, name):  # the rest of the objective's interface (a supernet's model, ...)
        inner = self.__dict__.get('inner')
        if inner is None:
            raise AttributeError(name)
        return getattr(inner, name)
