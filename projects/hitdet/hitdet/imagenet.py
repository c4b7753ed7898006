"""ImageNet pretraining of a Hit-Detector backbone, in mmdet/mmengine terms (no mmpretrain).

The paper pretrains the found backbone on ImageNet before the COCO training (the official config
loads ``./ImageNet-pretrained/fbhit_7747.pth``, ``configs/nas_trinity/2stage_hitdet.py:4``; the
paper's search stages also pretrain supernets on ImageNet). The official repository has no
ImageNet code; the pieces below are ours:

* :class:`HitDetImageNetClassifier`: the backbone (C5 = 2048 channels) -> global average pool ->
  dropout 0.2 (``fbnet_arch.py:59``, ``dropout_ratio``) -> FC to 1000 classes; cross entropy
  with label smoothing. The backbone sits under ``backbone.``, so a detector loads it with
  ``init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')``.
* :class:`HitDetImageFolder`: an ImageNet-layout folder (``<split>/<class>/<image>``), torchvision
  ``ImageFolder`` semantics (classes = sorted sub-folders).
* :class:`HitDetRandomResizedCrop` (+ horizontal flip), :class:`HitDetResizeCenterCrop`,
  :class:`HitDetPackClsInputs`: the usual ImageNet training/validation transforms on cv2 (BGR)
  images.
* :class:`HitDetTopKAccuracy`: top-1/top-5 accuracy.
"""
import math
import os
import os.path as osp
import random

import cv2
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


@MODELS.register_module()
class HitDetImageNetClassifier(BaseModel):
    """A Hit-Detector backbone with an ImageNet head (average pool, dropout, FC).

    Args:
        backbone (dict): backbone config (``HitDetBackbone``); its last output feeds the head.
        num_classes (int): 1000 for ImageNet.
        dropout (float): 0.2 (``fbnet_arch.py:59``).
        label_smoothing (float): 0.1 (ours).
        data_preprocessor (dict): default: the detector's normalisation (ImageNet mean/std, RGB),
            so that the pretrained backbone sees the inputs it will see in the detector.
    """

    def __init__(self,
                 backbone,
                 num_classes=1000,
                 dropout=0.2,
                 label_smoothing=0.1,
                 data_preprocessor=dict(
                     type='ImgDataPreprocessor',
                     mean=[123.675, 116.28, 103.53],
                     std=[58.395, 57.12, 57.375],
                     bgr_to_rgb=True),
                 init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(self.backbone.out_channels[-1], num_classes)
        nn.init.normal_(self.fc.weight, 0, 0.01)
        nn.init.constant_(self.fc.bias, 0)
        self.num_classes = num_classes
        self.label_smoothing = label_smoothing

    def extract_logits(self, inputs):
        x = self.backbone(inputs)[-1]
        return self.fc(self.dropout(self.pool(x).flatten(1)))

    def forward(self, inputs, data_samples=None, mode='tensor'):
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


@DATASETS.register_module()
class HitDetImageFolder(BaseDataset):
    """``<data_root>/<data_prefix.img_path>/<class>/<image>``; classes = sorted sub-folders,
    label = class index, files listed recursively and sorted (torchvision ``ImageFolder``)."""

    def __init__(self, data_root='', data_prefix=dict(img_path=''), **kwargs):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        super().__init__(data_root=data_root, data_prefix=data_prefix, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['img_path']
        if not osp.isdir(root):
            raise FileNotFoundError(f'HitDetImageFolder: no folder {root!r} (data_root + '
                                    'data_prefix); expected <split>/<class>/<image> files')
        classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
        data_list = []
        for label, name in enumerate(classes):
            for dirpath, _, files in sorted(os.walk(osp.join(root, name), followlinks=True)):
                for fname in sorted(files):
                    if fname.lower().endswith(IMG_EXTENSIONS):
                        data_list.append(dict(img_path=osp.join(dirpath, fname), gt_label=label))
        if not data_list:
            raise FileNotFoundError(f'HitDetImageFolder: no images in class folders of {root!r}')
        self._metainfo['classes'] = tuple(classes)
        return data_list


@TRANSFORMS.register_module()
class HitDetRandomResizedCrop(BaseTransform):
    """Random crop of ``crop_scale`` of the area and aspect ratio in ``ratio`` (log-uniform),
    resized to ``scale`` x ``scale`` (bilinear), then a horizontal flip with ``flip_prob``; the
    centre crop of the whole image after 10 failed draws (torchvision ``RandomResizedCrop``)."""

    def __init__(self, scale=224, crop_scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), flip_prob=0.5):
        self.scale, self.crop_scale, self.ratio = scale, crop_scale, ratio
        self.flip_prob = flip_prob

    def _box(self, h, w):
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(10):
            target = area * random.uniform(*self.crop_scale)
            aspect = math.exp(random.uniform(*log_ratio))
            cw, ch = int(round(math.sqrt(target * aspect))), int(round(math.sqrt(target / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return random.randint(0, h - ch), random.randint(0, w - cw), ch, cw
        aspect = w / h
        if aspect < self.ratio[0]:
            cw, ch = w, int(round(w / self.ratio[0]))
        elif aspect > self.ratio[1]:
            ch, cw = h, int(round(h * self.ratio[1]))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results):
        img = results['img']
        top, left, ch, cw = self._box(*img.shape[:2])
        img = cv2.resize(
            img[top:top + ch, left:left + cw], (self.scale, self.scale),
            interpolation=cv2.INTER_LINEAR)
        if random.random() < self.flip_prob:
            img = np.ascontiguousarray(img[:, ::-1])
        results['img'], results['img_shape'] = img, img.shape[:2]
        return results


@TRANSFORMS.register_module()
class HitDetResizeCenterCrop(BaseTransform):
    """Resize the shorter side to ``resize`` (bilinear), then the centre ``crop`` x ``crop``."""

    def __init__(self, resize=256, crop=224):
        self.resize, self.crop = resize, crop

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        s = self.resize / min(h, w)
        nh, nw = max(self.crop, int(round(h * s))), max(self.crop, int(round(w * s)))
        img = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_LINEAR)
        top, left = (nh - self.crop) // 2, (nw - self.crop) // 2
        img = np.ascontiguousarray(img[top:top + self.crop, left:left + self.crop])
        results['img'], results['img_shape'] = img, img.shape[:2]
        return results


@TRANSFORMS.register_module()
class HitDetPackClsInputs(BaseTransform):
    """``inputs``: the image as a CHW uint8 tensor (BGR; the model's data preprocessor
    normalises); ``data_samples``: a ``BaseDataElement`` with ``gt_label`` (shape (1,))."""

    def transform(self, results):
        img = results['img']
        if img.ndim == 2:
            img = img[..., None].repeat(3, axis=2)
        sample = BaseDataElement(metainfo=dict(img_path=results.get('img_path')))
        sample.gt_label = torch.tensor([int(results['gt_label'])])
        return dict(
            inputs=torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1))),
            data_samples=sample)


@METRICS.register_module()
class HitDetTopKAccuracy(BaseMetric):
    """Top-k accuracy in % (``accuracy/top1``, ``accuracy/top5``)."""
    default_prefix = 'accuracy'

    def __init__(self, topk=(1, 5), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples):
        for s in data_samples:
            score = s['pred_score'] if isinstance(s, dict) else s.pred_score
            label = s['gt_label'] if isinstance(s, dict) else s.gt_label
            k = min(max(self.topk), score.numel())
            top = score.topk(k).indices.cpu()
            self.results.append([int(label.view(-1)[0] in top[:t]) for t in self.topk])

    def compute_metrics(self, results):
        n = max(len(results), 1)
        return {f'top{t}': 100.0 * sum(r[i] for r in results) / n for i, t in enumerate(self.topk)}
