"""RetinaNet head of the paper/TPU form: mmdet's ``RetinaSepBNHead`` with the TPU's initial
predictors.

tensorflow/tpu @7dc921f ``models/official/detection/modeling/architecture/heads.py``
``RetinanetHead`` (the head of the TPU's NAS-FPN RetinaNet): the stacked 3x3 convs are shared by
the levels with a BN per level and start at N(0, 0.01), as ``RetinaSepBNHead``; the class and box
predictors start at N(0, 1e-5), the class bias at the prior 0.01. mmdet's
``RetinaSepBNHead.init_weights`` hard-codes N(0, 0.01) for the predictors, which an ``init_cfg``
cannot override, so this subclass re-initialises them after it.
"""
from mmdet.models.dense_heads import RetinaSepBNHead
from mmdet.registry import MODELS
from mmengine.model import bias_init_with_prob, normal_init


@MODELS.register_module()
class RetinaSepBNHeadTPU(RetinaSepBNHead):
    """``RetinaSepBNHead`` whose predictors start at N(0, ``predictor_std``) (TPU: 1e-5)."""

    def __init__(self, *args, predictor_std: float = 1e-5, **kwargs):
        if isinstance(predictor_std, bool) or not isinstance(predictor_std, (int, float)) \
                or predictor_std <= 0:
            raise ValueError(f'predictor_std must be a positive number, got {predictor_std!r}')
        self.predictor_std = float(predictor_std)
        super().__init__(*args, **kwargs)

    def init_weights(self) -> None:
        super().init_weights()
        normal_init(self.retina_cls, std=self.predictor_std, bias=bias_init_with_prob(0.01))
        normal_init(self.retina_reg, std=self.predictor_std)
