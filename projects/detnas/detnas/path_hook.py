"""``DetNASPathHook``: one single path per training step, the same on every rank (DetNAS step 2).

Supernet fine-tuning on COCO (paper Sec. 3.1, step 2) trains one uniformly sampled path per
iteration. With several GPUs every rank must train the *same* path: the official trainer draws
the path on each rank and overwrites it with rank 0's by a broadcast
(megvii-model/DetNAS ``maskrcnn_benchmark/engine/trainer.py``, ``broadcast_data``), rather than
relying on equal seeds. This matters beyond consistency: SyncBN layers of the backbone only
synchronise when all ranks run the same blocks, and a block that is unused on *every* rank keeps
``grad=None`` after DDP's reduction (PyTorch leaves globally unused parameters untouched), so the
optimizer's momentum and weight decay skip it in that step (``torch.optim.SGD`` skips parameters
whose grad is None; MMEngine's ``OptimWrapper.zero_grad`` resets grads to None). A block unused
on one rank only would instead get a zero-filled gradient and be decayed.
"""
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
    """

    priority = 'HIGH'

    def before_train(self, runner):
        find_supernet(runner.model).sample_per_forward = False

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        supernet = find_supernet(runner.model)
        path = [supernet.sample_choice() if get_rank() == 0 else None]
        broadcast_object_list(path, src=0)
        supernet.set_choice(path[0])
        runner.message_hub.update_info('detnas_path', path[0])
