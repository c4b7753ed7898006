"""DetNAS step 1: ImageNet classification of the supernet (and of a fixed subnet) in MMEngine terms.

The official recipe (megvii-model/DetNAS ``Supernet-ImageNet/train.py`` and ``detnasnet.py``):

- data: torchvision ``ImageFolder`` on ``train/<wnid>/*.JPEG`` / ``val/<wnid>/*.JPEG`` (classes =
  sorted sub-folder names, label = index) -> :class:`ImageNetFolder` (:mod:`.dataset`);
- train: ``RandomResizedCrop(224)`` (bilinear), ``ColorJitter(0.4, 0.4, 0.4)``,
  ``RandomHorizontalFlip(0.5)``, ``ToBGRTensor`` (BGR, 0-255, no mean/std normalisation) ->
  :class:`DetNASRandomResizedCrop`, :class:`DetNASColorJitter`, :class:`DetNASRandomFlip`,
  :class:`DetNASPackClsInputs` (:mod:`.transforms`; + ``ImgDataPreprocessor`` with mean 0 / std 1,
  which only casts to float);
- val: ``OpencvResize(256)`` (shorter side, cv2 INTER_LINEAR), ``CenterCrop(224)``, ``ToBGRTensor``
  -> :class:`DetNASResizeShorter`, :class:`DetNASCenterCrop`, :class:`DetNASPackClsInputs`;
- model: the supernet (one path per step) + last 1x1 conv-BN-ReLU, dropout 0.2, global average
  pooling, FC; cross entropy with label smoothing 0.1 (``CrossEntropyLabelSmooth``) ->
  :class:`DetNASImageNetClassifier` (:mod:`.classifier`; backbone under ``backbone``, head under
  ``head``, so the detector loads ``backbone.*`` with
  ``init_cfg=dict(type='Pretrained', prefix='backbone.')``);
- metric: top-1 / top-5 accuracy -> :class:`TopKAccuracy` (:mod:`.metric`).

Images are loaded by mmcv's ``LoadImageFromFile`` (cv2, BGR). The official transforms run on PIL
RGB images and convert to BGR at the end; ours run on BGR arrays with the same semantics (the
colour jitter weighs the channels in BGR order). Differences: resizing uses cv2 ``INTER_LINEAR``
instead of PIL's bilinear (PIL antialiases when shrinking), and the jitter rounds to uint8 once at
the end instead of after each of its three operations.
"""
from .classifier import DetNASImageNetClassifier
from .dataset import IMG_EXTENSIONS, ImageNetFolder
from .metric import TopKAccuracy
from .transforms import (DetNASCenterCrop, DetNASColorJitter, DetNASPackClsInputs, DetNASRandomFlip,
                         DetNASRandomResizedCrop, DetNASResizeShorter)

__all__ = [
    'IMG_EXTENSIONS', 'ImageNetFolder', 'DetNASRandomResizedCrop', 'DetNASColorJitter',
    'DetNASRandomFlip', 'DetNASResizeShorter', 'DetNASCenterCrop', 'DetNASPackClsInputs',
    'DetNASImageNetClassifier', 'TopKAccuracy'
]
