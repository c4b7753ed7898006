"""``TopKAccuracy``: the top-1 / top-5 ImageNet accuracy that DetNAS step 1 reports
(megvii-model/DetNAS ``Supernet-ImageNet/train.py``, ``validate``: ``accuracy(output, target,
topk=(1, 5))``).
"""
import torch
from mmdet.registry import METRICS
from mmengine.evaluator import BaseMetric


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
