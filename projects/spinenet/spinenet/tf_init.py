"""TensorFlow's variance-scaling initializer, as the SpineNet paper's code initialises its convs.

tensorflow/tpu ``models/official/detection/modeling/architecture/nn_ops.py``
``conv2d_fixed_padding`` (every SpineNet conv: stem, blocks, resampling, endpoints) uses
``tf.variance_scaling_initializer()``: TF1 defaults ``scale=1.0, mode='fan_in',
distribution='truncated_normal'``, i.e. a normal cut at two standard deviations whose std is
``sqrt(scale / fan_in) / 0.87962566103423978`` (the constant makes the *truncated* draw have
variance ``scale / fan_in``). mmdet's Kaiming fan-out normal has ``2 / fan_out``: 2x TF's variance
for a 3x3 conv C -> C, 8x for a bottleneck's reducing 1x1 (4C -> C), 0.5x for its expanding 1x1
(C -> 4C), which matters when training from scratch. Fans are those of a dense conv
(``in / groups``); TF's depthwise convs count fans differently, and SpineNet has none.
"""
import math

import torch.nn as nn
from mmengine.model.weight_init import BaseInit, update_init_info
from mmengine.registry import WEIGHT_INITIALIZERS

# std of a unit normal truncated to [-2, 2] (TF init_ops.VarianceScaling)
TRUNCATED_NORMAL_STD = 0.87962566103423978


@WEIGHT_INITIALIZERS.register_module(name='TFVarianceScaling')
class TFVarianceScalingInit(BaseInit):
    """``tf.variance_scaling_initializer(scale, mode)`` with TF1's truncated normal.

    Args:
        scale (float): target variance times ``fan`` (TF default 1.0).
        mode (str): ``'fan_in'`` (TF default), ``'fan_out'`` or ``'fan_avg'``.
        bias, bias_prob, layer: as mmengine's initializers.
    """

    MODES = ('fan_in', 'fan_out', 'fan_avg')

    def __init__(self, scale: float = 1.0, mode: str = 'fan_in', **kwargs):
        super().__init__(**kwargs)
        if mode not in self.MODES:
            raise ValueError(f'TFVarianceScaling: mode {mode!r} is not one of {self.MODES}')
        if not isinstance(scale, (int, float)) or isinstance(scale, bool) or scale <= 0:
            raise ValueError(f'TFVarianceScaling: scale must be a positive number, got {scale!r}')
        self.scale, self.mode = float(scale), mode

    def std_for(self, weight) -> float:
        """The truncated normal's std for a conv/linear weight (out, in/groups, *kernel)."""
        receptive = weight[0, 0].numel()
        fan_in, fan_out = weight.shape[1] * receptive, weight.shape[0] * receptive
        fan = dict(fan_in=fan_in, fan_out=fan_out, fan_avg=(fan_in + fan_out) / 2)[self.mode]
        return math.sqrt(self.scale / fan) / TRUNCATED_NORMAL_STD

    def __call__(self, module):

        def init(m):
            names = {m.__class__.__name__} | {b.__name__ for b in m.__class__.__bases__}
            if not (self.wholemodule or names & set(self.layer)):
                return
            if getattr(m, 'weight', None) is None:
                return  # e.g. an activation inside a module overridden by name
            std = self.std_for(m.weight)
            nn.init.trunc_normal_(m.weight, 0., std, -2 * std, 2 * std)
            if getattr(m, 'bias', None) is not None:
                nn.init.constant_(m.bias, self.bias)

        module.apply(init)
        if hasattr(module, '_params_init_info'):
            update_init_info(module, init_info=self._get_init_info())

    def _get_init_info(self):
        return (f'{self.__class__.__name__}: scale={self.scale}, mode={self.mode}, '
                f'truncated normal, bias={self.bias}')
