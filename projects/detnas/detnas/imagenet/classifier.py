"""``DetNASImageNetClassifier``: the supernet (or a fixed subnet) + the ImageNet head, trained on
ImageNet in DetNAS step 1 (megvii-model/DetNAS ``Supernet-ImageNet/train.py``, ``detnasnet.py``).
"""
import torch
import torch.nn.functional as F
from mmdet.registry import MODELS
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from ..backbone import _init_official
from ..head import DetNASImageNetHead


@MODELS.register_module()
class DetNASImageNetClassifier(BaseModel):
    """DetNAS ImageNet classifier: a DetNAS backbone (supernet or fixed) + the paper's head.

    With the supernet (:class:`DetNASShuffleNet`, ``sample_per_forward=True``) each training step
    runs one sampled path (one forward per step, official ``Supernet-ImageNet/train.py``); with
    ``flops_bins=(290, 360, 10)`` the path is drawn by the official FLOPs-bin sampler.
    Parameters off the path get no gradient; MMEngine's ``OptimWrapper.zero_grad`` resets grads
    to None, which ``torch.optim.SGD`` skips, so they get no momentum or weight decay update
    either (what the official code gets by setting all-zero grads to None before
    ``optimizer.step``).

    Args:
        backbone (dict): backbone config; C5 (the last of ``out_indices``) feeds the head.
        num_classes (int): 1000 for ImageNet.
        last_channels (int, optional): width of the head's 1x1 conv; default
            ``backbone.stage_out_channels[-1]``.
        dropout (float): 0.2 (official).
        label_smoothing (float): 0.1 (official ``CrossEntropyLabelSmooth``; torch's definition,
            target = (1 - eps) * one_hot + eps / num_classes, is the same).
        data_preprocessor (dict): default ``ImgDataPreprocessor`` with mean 0 / std 1, no channel
            swap (inputs stay BGR 0-255, official ``ToBGRTensor``).
        random_path_in_predict (bool): with a supernet backbone, run every ``predict`` batch on a
            new uniformly drawn path (and restore the current one afterwards), as the official
            ``validate`` does (``model(data)`` without ``rngs`` draws a path per batch), so the
            validation accuracy is the supernet's mean over paths. False: use the current path
            (e.g. one set with ``backbone.set_choice``).
        init_cfg (dict, optional): None = official init of backbone and head
            (``_initialize_weights``).
    """

    def __init__(self,
                 backbone,
                 num_classes=1000,
                 last_channels=None,
                 dropout=0.2,
                 label_smoothing=0.1,
                 data_preprocessor=dict(
                     type='ImgDataPreprocessor',
                     mean=[0., 0., 0.],
                     std=[1., 1., 1.],
                     bgr_to_rgb=False),
                 random_path_in_predict=True,
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        chs = self.backbone.stage_out_channels
        in_channels = chs[1 + self.backbone.out_indices[-1]]
        self.head = DetNASImageNetHead(in_channels, last_channels or chs[5], num_classes, dropout)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing
        self.random_path_in_predict = random_path_in_predict

    def init_weights(self):
        super().init_weights()
        if self.init_cfg is None:
            _init_official(self.head)

    def extract_logits(self, inputs):
        return self.head(self.backbone(inputs)[-1])

    def forward(self, inputs, data_samples=None, mode='tensor'):
        if mode == 'predict' and self.random_path_in_predict and hasattr(
                self.backbone, 'sample_choice'):
            current = self.backbone.get_choice()
            self.backbone.sample_choice()
            try:
                logits = self.extract_logits(inputs)
            finally:
                self.backbone.set_choice(current)
        else:
            logits = self.extract_logits(inputs)
        if mode == 'tensor':
            return logits
        if mode == 'loss':
            labels = torch.cat([s.gt_label for s in data_samples]).to(logits.device)
            loss = F.cross_entropy(logits, labels, label_smoothing=self.label_smoothing)
            acc = (logits.argmax(1) == labels).float().mean() * 100
            return dict(loss_cls=loss, acc_top1=acc.detach())
        if mode == 'predict':
            scores = F.softmax(logits, dim=1)
            if data_samples is None:
                data_samples = [BaseDataElement() for _ in range(len(scores))]
            for sample, score in zip(data_samples, scores):
                sample.pred_score = score.detach()
                sample.pred_label = score.argmax().view(1).detach()
            return data_samples
        raise ValueError(f'mode must be tensor, loss or predict, got {mode!r}')
