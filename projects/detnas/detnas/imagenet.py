"""DetNAS step 1: ImageNet classification of the supernet (and of a fixed subnet) in MMEngine terms.

The official recipe (megvii-model/DetNAS ``Supernet-ImageNet/train.py`` and ``detnasnet.py``):

- data: torchvision ``ImageFolder`` on ``train/<wnid>/*.JPEG`` / ``val/<wnid>/*.JPEG`` (classes =
  sorted sub-folder names, label = index) -> :class:`ImageNetFolder`;
- train: ``RandomResizedCrop(224)`` (bilinear), ``ColorJitter(0.4, 0.4, 0.4)``,
  ``RandomHorizontalFlip(0.5)``, ``ToBGRTensor`` (BGR, 0-255, no mean/std normalisation) ->
  :class:`DetNASRandomResizedCrop`, :class:`DetNASColorJitter`, :class:`DetNASRandomFlip`,
  :class:`DetNASPackClsInputs` (+ ``ImgDataPreprocessor`` with mean 0 / std 1, which only casts to
  float);
- val: ``OpencvResize(256)`` (shorter side, cv2 INTER_LINEAR), ``CenterCrop(224)``, ``ToBGRTensor``
  -> :class:`DetNASResizeShorter`, :class:`DetNASCenterCrop`, :class:`DetNASPackClsInputs`;
- model: the supernet (one path per step) + last 1x1 conv-BN-ReLU, dropout 0.2, global average
  pooling, FC; cross entropy with label smoothing 0.1 (``CrossEntropyLabelSmooth``) ->
  :class:`DetNASImageNetClassifier` (backbone under ``backbone``, head under ``head``, so the
  detector loads ``backbone.*`` with ``init_cfg=dict(type='Pretrained', prefix='backbone.')``);
- metric: top-1 / top-5 accuracy -> :class:`TopKAccuracy`.

Images are loaded by mmcv's ``LoadImageFromFile`` (cv2, BGR). The official transforms run on PIL
RGB images and convert to BGR at the end; ours run on BGR arrays with the same semantics (the
colour jitter weighs the channels in BGR order). Differences: resizing uses cv2 ``INTER_LINEAR``
instead of PIL's bilinear (PIL antialiases when shrinking), and the jitter rounds to uint8 once at
the end instead of after each of its three operations.
"""
import math
import os
import os.path as osp

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform
from mmdet.registry import DATASETS, METRICS, MODELS, TRANSFORMS
from mmengine.dataset import BaseDataset
from mmengine.evaluator import BaseMetric
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement

from .backbone import DetNASImageNetHead, _init_official

IMG_EXTENSIONS = ('.jpg', '.jpeg', '.png', '.ppm', '.bmp', '.pgm', '.tif', '.tiff', '.webp')


# --- dataset ------------------------------------------------------------------------------------
@DATASETS.register_module()
class ImageNetFolder(BaseDataset):
    """An ImageNet-layout folder (``<data_root>/<data_prefix.img_path>/<class>/<image>``) with
    torchvision ``ImageFolder`` semantics: classes are the sorted sub-folder names, the label is
    the class index, files are listed recursively and sorted.

    Args:
        data_root (str): dataset root, e.g. ``'data/imagenet/'``.
        data_prefix (dict | str): the split folder, ``dict(img_path='train')`` or ``'train'``.
        classes (list[str], optional): fixed class list (label = index in it); folders not in the
            list are ignored, a listed class without a folder is an error. Default: every
            sub-folder, sorted.
        extensions (tuple[str]): file endings taken as images (case-insensitive).
        **kwargs: :class:`mmengine.dataset.BaseDataset` arguments (``pipeline``, ``test_mode``,
            ``indices``, ``lazy_init``, ...).
    """

    def __init__(self,
                 data_root='',
                 data_prefix=dict(img_path=''),
                 classes=None,
                 extensions=IMG_EXTENSIONS,
                 **kwargs):
        if isinstance(data_prefix, str):
            data_prefix = dict(img_path=data_prefix)
        self._classes = list(classes) if classes is not None else None
        self.extensions = tuple(e.lower() for e in extensions)
        metainfo = kwargs.pop('metainfo', None) or {}
        if self._classes is not None:
            metainfo = dict(metainfo, classes=tuple(self._classes))
        super().__init__(data_root=data_root, data_prefix=data_prefix, metainfo=metainfo, **kwargs)

    def load_data_list(self):
        root = self.data_prefix['img_path']
        if not osp.isdir(root):
            raise FileNotFoundError(f'ImageNetFolder: no folder {root!r} (data_root + '
                                    f'data_prefix); expected <split>/<class>/<image> files')
        folders = sorted(e.name for e in os.scandir(root) if e.is_dir())
        if self._classes is None:
            classes = folders
        else:
            missing = [c for c in self._classes if c not in folders]
            if missing:
                raise FileNotFoundError(f'ImageNetFolder: classes {missing} have no folder in '
                                        f'{root!r}')
            classes = self._classes
        data_list = []
        for label, name in enumerate(classes):
            for dirpath, _, files in sorted(os.walk(osp.join(root, name), followlinks=True)):
                for fname in sorted(files):
                    if fname.lower().endswith(self.extensions):
                        data_list.append(dict(img_path=osp.join(dirpath, fname), gt_label=label))
        if not data_list:
            raise FileNotFoundError(f'ImageNetFolder: no images ({", ".join(self.extensions)}) '
                                    f'in class folders of {root!r}')
        self._metainfo['classes'] = tuple(classes)
        return data_list


# --- transforms (on BGR uint8 HWC arrays from LoadImageFromFile) --------------------------------
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


# --- model --------------------------------------------------------------------------------------
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


# --- metric -------------------------------------------------------------------------------------
@METRICS.register_module()
class TopKAccuracy(BaseMetric):
    """Top-k classification accuracy in percent (``accuracy/top1``, ``accuracy/top5``).

    A k larger than the number of classes is clamped to it (so with fewer than 5 classes
    ``top5`` is 100). Reads ``pred_score`` and ``gt_label`` of
    :class:`DetNASImageNetClassifier`'s predictions.
    """

    default_prefix = 'accuracy'

    def __init__(self, topk=(1, 5), collect_device='cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples):
        for s in data_samples:
            get = s.get if isinstance(s, dict) else (lambda k: getattr(s, k))
            self.results.append((get('pred_score').cpu(), int(get('gt_label').view(-1)[0])))

    def compute_metrics(self, results):
        scores = torch.stack([r[0] for r in results])
        labels = torch.tensor([r[1] for r in results])
        order = scores.argsort(dim=1, descending=True)
        out = {}
        for k in self.topk:
            hit = (order[:, :min(k, scores.shape[1])] == labels[:, None]).any(1)
            out[f'top{k}'] = hit.float().mean().item() * 100
        return out
