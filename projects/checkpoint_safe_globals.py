"""Allow-list the types MMEngine writes into checkpoints for torch's weights-only loader.

Since torch 2.6, ``torch.load`` defaults to ``weights_only=True``. MMEngine 0.10.7 calls it
without ``weights_only``, and its checkpoints hold more than tensors: the message hub's
``HistoryBuffer`` objects, which carry numpy arrays and scalars and pickle their statistics
methods as ``getattr(HistoryBuffer, 'mean')``. Loading one then stops with ``UnpicklingError``
for ``mim test --checkpoint``, ``--resume`` and ``load_from`` alike.

Rather than switching the check off (``weights_only=False`` loads and runs any pickle), this adds
exactly those types to torch's safe globals, once per process, when ``projects`` is imported.
``getattr`` is not allowed in general: the checkpoint's ``builtins.getattr`` resolves to
:func:`history_buffer_getattr`, which only hands out HistoryBuffer's statistics methods.
"""
import pickle

import numpy as np
import torch
from mmengine.logging import HistoryBuffer

_np_core = np._core if hasattr(np, '_core') else np.core  # numpy 2 / numpy 1
_STATISTICS = ('min', 'max', 'current', 'mean')  # HistoryBuffer._set_default_statistics


def history_buffer_getattr(obj, name):
    """``getattr`` as a checkpoint may call it: ``HistoryBuffer``'s statistics methods only."""
    if obj is HistoryBuffer and (name in _STATISTICS or name in obj._statistics_methods):
        return getattr(obj, name)
    raise pickle.UnpicklingError(
        f'checkpoint calls getattr({obj!r}, {name!r}); only HistoryBuffer statistics '
        f'methods {_STATISTICS} are allowed (projects/checkpoint_safe_globals.py)')


def mmengine_checkpoint_globals():
    """Every non-tensor global found in MMEngine 0.10.7 checkpoints (message hub, meta)."""
    dtype_classes = sorted({type(np.dtype(c))
                            for c in np.sctypeDict.values()},
                           key=lambda c: c.__name__)
    return [
        HistoryBuffer,  # message_hub.log_scalars values
        (history_buffer_getattr, 'builtins.getattr'),  # their statistics methods
        _np_core.multiarray._reconstruct,  # numpy arrays inside HistoryBuffer
        np.ndarray,
        np.dtype,
        _np_core.multiarray.scalar,  # numpy scalars (e.g. a float64 loss value)
        bytes,  # pickle protocol 2 writes an empty array's buffer as ``builtins.bytes()``
        *dtype_classes,  # numpy 2 pickles dtypes by their class (Float64DType, ...)
    ]


def allow_mmengine_checkpoints():
    """Register :func:`mmengine_checkpoint_globals` with ``torch.serialization``."""
    torch.serialization.add_safe_globals(mmengine_checkpoint_globals())
