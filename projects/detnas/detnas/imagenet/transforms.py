"""The official ImageNet transforms of DetNAS step 1, on BGR uint8 HWC arrays.

megvii-model/DetNAS ``Supernet-ImageNet/train.py``: train ``RandomResizedCrop(224)``,
``ColorJitter(0.4, 0.4, 0.4)``, ``RandomHorizontalFlip(0.5)``, ``ToBGRTensor``; val
``OpencvResize(256)``, ``CenterCrop(224)``, ``ToBGRTensor``. The official transforms run on PIL RGB
images and convert to BGR at the end; these run on the BGR arrays of mmcv's ``LoadImageFromFile``
with the same semantics (the colour jitter weighs the channels in BGR order). Differences: resizing
uses cv2 ``INTER_LINEAR`` instead of PIL's bilinear (PIL antialiases when shrinking), and the jitter
rounds to uint8 once at the end instead of after each of its three operations.
"""
import math

import cv2
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from mmdet.registry import TRANSFORMS
from mmengine.structures import BaseDataElement


def _to_hw(size):
    return (size, size) if isinstance(size, int) else tuple(size)


@TRANSFORMS.register_module()
class DetNASRandomResizedCrop(BaseTransform):
    """torchvision ``RandomResizedCrop`` (official train transform): a crop of area fraction
    uniform in ``crop_scale`` and aspect ratio log-uniform in ``ratio`` (``max_attempts`` tries,
    then the central crop with the ratio clamped), resized to ``scale`` (cv2 bilinear).

    Args:
        scale (int | tuple[int]): output size (h, w); 224 in the paper.
        crop_scale (tuple[float]): area fraction range, (0.08, 1.0).
        ratio (tuple[float]): aspect ratio (w / h) range, (3/4, 4/3).
        max_attempts (int): tries before the fallback, 10.
    """

    def __init__(self,
                 scale=224,
                 crop_scale=(0.08, 1.0),
                 ratio=(3. / 4., 4. / 3.),
                 max_attempts=10,
                 interpolation=cv2.INTER_LINEAR):
        self.scale = _to_hw(scale)
        self.crop_scale = crop_scale
        self.ratio = ratio
        self.max_attempts = max_attempts
        self.interpolation = interpolation

    def get_params(self, h, w):
        """(top, left, crop_h, crop_w) as torchvision's ``RandomResizedCrop.get_params``."""
        area = h * w
        log_ratio = (math.log(self.ratio[0]), math.log(self.ratio[1]))
        for _ in range(self.max_attempts):
            target_area = area * np.random.uniform(*self.crop_scale)
            aspect = math.exp(np.random.uniform(*log_ratio))
            cw = int(round(math.sqrt(target_area * aspect)))
            ch = int(round(math.sqrt(target_area / aspect)))
            if 0 < cw <= w and 0 < ch <= h:
                return (int(np.random.randint(0, h - ch + 1)),
                        int(np.random.randint(0, w - cw + 1)), ch, cw)
        in_ratio = w / h
        if in_ratio < min(self.ratio):
            cw, ch = w, int(round(w / min(self.ratio)))
        elif in_ratio > max(self.ratio):
            ch, cw = h, int(round(h * max(self.ratio)))
        else:
            cw, ch = w, h
        return (h - ch) // 2, (w - cw) // 2, ch, cw

    def transform(self, results):
        img = results['img']
        top, left, ch, cw = self.get_params(*img.shape[:2])
        img = img[top:top + ch, left:left + cw]
        results['img'] = cv2.resize(
            img, (self.scale[1], self.scale[0]), interpolation=self.interpolation)
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self):
        return (f'{type(self).__name__}(scale={self.scale}, crop_scale={self.crop_scale}, '
                f'ratio={self.ratio})')


@TRANSFORMS.register_module()
class DetNASColorJitter(BaseTransform):
    """torchvision ``ColorJitter(brightness, contrast, saturation)`` (official: 0.4 each, no
    hue): the three adjustments in a random order, each with a factor uniform in
    ``[max(0, 1 - v), 1 + v]``; brightness scales, contrast blends with the mean grey level,
    saturation blends with the grey image (ITU-R 601 weights, applied in BGR order)."""

    GRAY_BGR = np.array([0.114, 0.587, 0.299], np.float32)

    def __init__(self, brightness=0.4, contrast=0.4, saturation=0.4):
        self.ranges = [(max(0., 1 - v), 1 + v) if v else None
                       for v in (brightness, contrast, saturation)]

    def transform(self, results):
        img = results['img'].astype(np.float32)
        for i in np.random.permutation(3):
            if self.ranges[i] is None:
                continue
            f = np.random.uniform(*self.ranges[i])
            if i == 0:
                img = img * f
            else:
                gray = img @ self.GRAY_BGR
                other = gray.mean() if i == 1 else gray[..., None]
                img = img * f + other * (1 - f)
            img = np.clip(img, 0, 255)
        results['img'] = np.round(img).astype(np.uint8)
        return results

    def __repr__(self):
        return f'{type(self).__name__}(ranges={self.ranges})'


@TRANSFORMS.register_module()
class DetNASRandomFlip(BaseTransform):
    """Horizontal flip with probability ``prob`` (official ``RandomHorizontalFlip(0.5)``)."""

    def __init__(self, prob=0.5):
        self.prob = prob

    def transform(self, results):
        flip = np.random.rand() < self.prob
        if flip:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        results['flip'] = bool(flip)
        return results


@TRANSFORMS.register_module()
class DetNASResizeShorter(BaseTransform):
    """Resize the shorter side to ``size`` keeping the aspect ratio, cv2 INTER_LINEAR (official
    ``OpencvResize(256)``: the longer side is ``int(size / short * long + 0.5)``)."""

    def __init__(self, size=256, interpolation=cv2.INTER_LINEAR):
        self.size = size
        self.interpolation = interpolation

    def transform(self, results):
        img = results['img']
        h, w = img.shape[:2]
        if h < w:
            th, tw = self.size, int(self.size / h * w + 0.5)
        else:
            th, tw = int(self.size / w * h + 0.5), self.size
        results['img'] = cv2.resize(img, (tw, th), interpolation=self.interpolation)
        results['img_shape'] = (th, tw)
        return results


@TRANSFORMS.register_module()
class DetNASCenterCrop(BaseTransform):
    """torchvision ``CenterCrop(size)`` (official val transform): zero-pads first if the image is
    smaller, then crops at ``round((H - h) / 2)``, ``round((W - w) / 2)``."""

    def __init__(self, size=224):
        self.size = _to_hw(size)

    def transform(self, results):
        img = results['img']
        th, tw = self.size
        h, w = img.shape[:2]
        if h < th or w < tw:
            pt, pl = max(0, th - h) // 2, max(0, tw - w) // 2
            img = cv2.copyMakeBorder(
                img, pt, max(0, th - h) - pt, pl, max(0, tw - w) - pl, cv2.BORDER_CONSTANT, value=0)
            h, w = img.shape[:2]
        top, left = int(round((h - th) / 2.)), int(round((w - tw) / 2.))
        results['img'] = np.ascontiguousarray(img[top:top + th, left:left + tw])
        results['img_shape'] = (th, tw)
        return results


@TRANSFORMS.register_module()
class DetNASPackClsInputs(BaseTransform):
    """Pack to ``dict(inputs=uint8 CHW BGR tensor, data_samples=BaseDataElement(gt_label))``.

    Values stay 0-255 and BGR (official ``ToBGRTensor``); the model's ``ImgDataPreprocessor``
    (mean 0, std 1, no channel swap) only stacks and casts to float.
    """

    def __init__(self, meta_keys=('img_path', 'ori_shape', 'img_shape', 'flip')):
        self.meta_keys = meta_keys

    def transform(self, results):
        img = results['img']
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(np.ascontiguousarray(img.transpose(2, 0, 1)))
        sample = BaseDataElement(metainfo={k: results[k] for k in self.meta_keys if k in results})
        if 'gt_label' in results:
            sample.gt_label = torch.tensor([int(results['gt_label'])])
        return dict(inputs=inputs, data_samples=sample)
