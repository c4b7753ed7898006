"""``DetNASPathHook``: one single path per training step, the same on every rank (DetNAS step 2).

Supernet fine-tuning on COCO (paper Sec. 3.1, step 2) trains one uniformly sampled path per
iteration. With several GPUs every rank must train the *same* path: the official trainer draws
the path on each rank and overwrites it with rank 0's by a broadcast
(megvii-model/DetNAS@aa92a90 ``maskrcnn_benchmark/engine/trainer.py`` L44-56 ``broadcast_data``,
L100-110), rather than relying on equal seeds. This matters beyond consistency: SyncBN layers of
the backbone only synchronise when all ranks run the same blocks, and a block that is unused on
*every* rank keeps ``grad=None`` after DDP's reduction (PyTorch leaves globally unused parameters
untouched), so the optimizer's momentum and weight decay skip it in that step
(``torch.optim.SGD`` skips parameters whose grad is None; MMEngine's ``OptimWrapper.zero_grad``
resets grads to None). A block unused on one rank only would instead get a zero-filled gradient
and be decayed.

Off-path weights (``off_path_decay_momentum``). Two released trainers disagree:

* ImageNet supernet (``Supernet-ImageNet/train.py`` L229-231): after ``backward`` every grad
  that sums to 0 is set to None, so SGD leaves the off-path blocks alone: they are frozen in
  the steps that do not sample them. This is our default (``off_path_decay_momentum=False``):
  it is the single-path rule the paper describes (only the sampled path is updated), stated
  explicitly by the authors' code, and it does not depend on the PyTorch version.
* COCO fine-tuning (``maskrcnn_benchmark/engine/trainer.py`` L112-114, L125, L133, with the
  forward pre-hooks of ``tools/train_net.py`` L62-72): every parameter gets
  ``requires_grad=False`` before the forward and the modules that run switch theirs back on;
  then ``optimizer.zero_grad()``, which on the PyTorch 1.x the code was written for sets the
  existing grads to *zero* (not None). A block trained in an earlier step therefore keeps a zero
  grad, and SGD still applies weight decay and the momentum buffer to it in every step it is off
  the path. ``off_path_decay_momentum=True`` reproduces this: before each step the hook gives
  every off-path parameter that has been trained before (it has optimizer state, or the hook saw
  it on a path) a zero grad, so SGD decays it and moves it by its momentum; blocks never trained
  keep None, as in the official run.

``tests/detnas/test_path_hook.py`` checks both on a tiny supernet with SGD.
"""
import torch
from mmdet.registry import HOOKS
from mmengine.dist import broadcast_object_list, get_rank
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from .backbone import DetNASShuffleNet


def find_supernet(model):
    """The :class:`DetNASShuffleNet` inside ``model`` (unwrapping DDP); error if none."""
    if is_model_wrapper(model):
        model = model.module
    for m in model.modules():
        if isinstance(m, DetNASShuffleNet):
            return m
    raise TypeError(f'{type(model).__name__} holds no DetNASShuffleNet backbone')


@HOOKS.register_module()
class DetNASPathHook(Hook):
    """Before every training iteration, rank 0 samples a path and broadcasts it to all ranks.

    The supernet's own per-forward sampling is switched off while the hook runs
    (``sample_per_forward=False``), so the path is drawn exactly once per step. The path of the
    current step is kept in the message hub under ``'detnas_path'`` (a list of choice names).

    Args:
        off_path_decay_momentum (bool): False (default) = blocks off this step's path keep
            ``grad=None`` and the optimizer leaves them unchanged (official ImageNet supernet
            trainer); True = those trained before get a zero grad, so SGD still applies weight
            decay and momentum to them (official COCO trainer on PyTorch 1.x). See the module
            docstring for the source lines.
    """

    priority = 'HIGH'

    def __init__(self, off_path_decay_momentum: bool = False):
        if not isinstance(off_path_decay_momentum, bool):
            raise TypeError('off_path_decay_momentum must be a bool, got '
                            f'{off_path_decay_momentum!r}')
        self.off_path_decay_momentum = off_path_decay_momentum
        self._trained = set()  # (block index, choice) seen on a path by this hook

    def before_train(self, runner):
        find_supernet(runner.model).sample_per_forward = False

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        supernet = find_supernet(runner.model)
        path = [supernet.sample_choice() if get_rank() == 0 else None]
        broadcast_object_list(path, src=0)
        supernet.set_choice(path[0])
        runner.message_hub.update_info('detnas_path', path[0])
        if self.off_path_decay_momentum:
            self._zero_fill_off_path(supernet, path[0], getattr(runner, 'optim_wrapper', None))

    def _zero_fill_off_path(self, supernet, path, optim_wrapper):
        """Give the trained off-path parameters a zero grad (the PyTorch 1.x ``zero_grad``)."""
        state = getattr(getattr(optim_wrapper, 'optimizer', None), 'state', {})
        for i, layer in enumerate(supernet.layers):
            for choice, block in layer.items():
                if choice == path[i]:
                    self._trained.add((i, choice))
                    continue
                params = [p for p in block.parameters() if p.requires_grad]
                if (i, choice) not in self._trained and not any(state.get(p) for p in params):
                    continue  # never trained: no grad in the official run either
                for p in params:
                    if p.grad is None:
                        p.grad = torch.zeros_like(p)
