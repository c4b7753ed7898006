"""Params and FLOPs counted the way the Hit-Detector paper counted them (Table 2).

**Counter.** The official repository counts with mmdet 0.6's ``mmdet/utils/flops_counter.py``
(ptflops, "Modified from flops-counter.pytorch"; ``tools/get_flops.py``): forward hooks on
modules of these types, summed, divided by the number of images:

* ``_ConvNd``: ``prod(kernel) * in_channels * out_channels / groups`` per output position, plus
  ``out_channels`` per output position if the conv has a bias (``flops_counter.py:324-359``);
* ``nn.Linear``: ``batch * in_features * out_features`` (no bias term, ``:276-279``);
* ``_BatchNorm``: 2 per input element if affine (``:287-294``);
* ``nn.ReLU`` (and PReLU/ELU/LeakyReLU/ReLU6): 1 per output element (``:271-273``);
* pooling modules (``_AvgPoolNd``, ``_MaxPoolNd`` and the adaptive ones): 1 per input element
  (``:282-284``); ``nn.Upsample``: 1 per output element (``:262-268``).

Everything else counts 0, in particular functional calls (``F.relu`` of the RPN,
``F.interpolate``/``F.max_pool2d`` of the necks) and RoIAlign. One multiply-add is one FLOP.

**Procedure** (mmdet 0.6 ``TwoStageDetector.forward_dummy``, ``two_stage.py:99-130``): one
image through backbone + neck, the RPN head on every level, then the box head on 1000 RoIs
(``torch.randn(1000, 4)`` proposals). The RoI features are made directly here (zeros of shape
``(num_rois, C, 7, 7)``): RoIAlign counts 0 in the convention, and this way the count also runs
on the ``meta`` device (no memory, no time: ``detector.to('meta')`` before counting).
The paper states "800x1200 input"; the network needs sizes divisible by 32, so the count is at
800x1216.

**Classes.** mmdet 0.6 counted the background as a class: ``fc_cls`` 81 outputs (mmdet 3.x: 80
classes + 1, the same) and a class-specific ``fc_reg`` of 4 x 81 = 324 outputs (mmdet 3.x: 320).
``mmdet06=True`` adds those 4 background outputs (params ``4 * (in + 1)``, FLOPs
``num_rois * in * 4``) to a model built with 80 classes.
"""
from collections import OrderedDict

import torch
import torch.nn as nn
from torch.nn.modules.batchnorm import _BatchNorm
from torch.nn.modules.conv import _ConvNd
from torch.nn.modules.pooling import _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd, _AvgPoolNd, _MaxPoolNd

RELU_TYPES = (nn.ReLU, nn.PReLU, nn.ELU, nn.LeakyReLU, nn.ReLU6)
POOL_TYPES = (_AvgPoolNd, _MaxPoolNd, _AdaptiveAvgPoolNd, _AdaptiveMaxPoolNd)
KINDS = ('conv', 'conv_bias', 'linear', 'bn', 'relu', 'pool', 'upsample')
DETECTOR_PARTS = ('backbone', 'neck', 'rpn_head', 'roi_head')


def _module_flops(module, inputs, output):
    """``{kind: flops}`` of one call of ``module`` (the official hooks), or None if not counted."""
    if isinstance(module, _ConvNd):
        positions = output.shape[0] * output[0, 0].numel()
        per = module.weight[0].numel() * module.out_channels  # prod(k) * in/groups * out
        out = dict(conv=per * positions)
        if module.bias is not None:
            out['conv_bias'] = module.out_channels * positions
        return out
    if isinstance(module, nn.Linear):
        x = inputs[0]
        return dict(linear=x.shape[0] * x.shape[-1] * output.shape[-1])
    if isinstance(module, _BatchNorm):
        return dict(bn=inputs[0].numel() * (2 if module.affine else 1))
    if isinstance(module, RELU_TYPES):
        return dict(relu=output.numel())
    if isinstance(module, POOL_TYPES):
        return dict(pool=inputs[0].numel())
    if isinstance(module, nn.Upsample):
        return dict(upsample=output.numel())
    return None


def count_paper_flops(model, run):
    """Count ``run()`` (which calls ``model`` or its parts) with the paper's hooks.

    Returns ``(total, per_module)``: ``per_module`` maps each counted module's name to
    ``{kind: flops}`` (kinds: :data:`KINDS`), accumulated over calls.
    """
    per_module = OrderedDict()
    handles = []

    def make_hook(name):

        def hook(module, inputs, output):
            flops = _module_flops(module, inputs, output)
            if flops is not None:
                acc = per_module.setdefault(name, dict.fromkeys(KINDS, 0))
                for k, v in flops.items():
                    acc[k] += int(v)

        return hook

    for name, module in model.named_modules():
        handles.append(module.register_forward_hook(make_hook(name)))
    try:
        with torch.no_grad():
            run()
    finally:
        for h in handles:
            h.remove()
    total = sum(sum(v.values()) for v in per_module.values())
    return total, per_module


def _fc_reg(detector):
    head = detector.roi_head.bbox_head
    fc = getattr(head, 'fc_reg', None)
    if fc is None or getattr(head, 'reg_class_agnostic', True):
        return None
    return fc


def detector_paper_flops(detector, img_hw=(800, 1216), num_rois=1000, mmdet06=True):
    """FLOPs of an mmdet 3.x two-stage detector by the paper's counter and procedure.

    Returns a dict: ``total``, one entry per part of :data:`DETECTOR_PARTS`, and one per kind of
    :data:`KINDS` (``conv`` + ``linear`` = the multiply-adds alone). ``detector`` may live on the
    ``meta`` device.
    """
    detector.eval()
    device = next(detector.parameters()).device
    head = detector.roi_head.bbox_head
    roi_size = head.roi_feat_size

    def run():
        feats = detector.extract_feat(torch.zeros(1, 3, *img_hw, device=device))
        detector.rpn_head(feats)
        head(torch.zeros(num_rois, head.in_channels, *roi_size, device=device))

    _, per_module = count_paper_flops(detector, run)
    out = dict.fromkeys(('total', ) + DETECTOR_PARTS + KINDS, 0)
    for name, kinds in per_module.items():
        part = name.split('.')[0] if not name.startswith('roi_head') else 'roi_head'
        n = sum(kinds.values())
        out[part] = out.get(part, 0) + n
        out['total'] += n
        for k, v in kinds.items():
            out[k] += v
    fc = _fc_reg(detector)
    if mmdet06 and fc is not None:
        extra = num_rois * fc.in_features * 4
        for key in ('total', 'roi_head', 'linear'):
            out[key] += extra
    return out


def paper_param_count(detector, mmdet06=True):
    """Parameters per part (:data:`DETECTOR_PARTS`) and ``total``; with ``mmdet06`` the 4
    background outputs of a class-specific ``fc_reg`` are added (see the module doc)."""
    out = dict(total=0)
    for name, p in detector.named_parameters():
        part = name.split('.')[0]
        out[part] = out.get(part, 0) + p.numel()
        out['total'] += p.numel()
    fc = _fc_reg(detector)
    if mmdet06 and fc is not None:
        extra = 4 * (fc.in_features + (1 if fc.bias is not None else 0))
        out['roi_head'] += extra
        out['total'] += extra
    return out
