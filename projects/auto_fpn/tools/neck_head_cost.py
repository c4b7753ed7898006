"""Parameters and multiply-accumulates of a retrain config's parts, at the basis Hit-Detector's
Table 2 counts Auto-FPN at (800 x 1200 input, 1000 RoIs).

    python projects/auto_fpn/tools/neck_head_cost.py \
        [projects/auto_fpn/configs/faster-rcnn_r50_autofpn_8xb2-2x_coco.py] [--size 800 1216]

Counts with ``mmengine.analysis`` (``parameter_count``; ``FlopAnalyzer``, one MAC per
multiply-add, Hit-Detector's "FLOPs"): the backbone on one image at ``--size`` (1200 padded to
1216, a multiple of 32, as mmdet pads it), the neck on its C2..C5, the RPN head on the neck's
levels, the box head on ``--rois`` RoI features. Norm layers are counted as BN (SyncBN needs no
process group then). Prints each part and the box head's parts (cells, shared FC, classifier +
regressor) in M params and GMAC: the backbone and RPN give the budget the README derives for
the neck and head (476.6 GMAC minus theirs), the neck and head what ours spend of it.
"""
import argparse

import torch
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmengine.registry import init_default_scope

DEFAULT = 'projects/auto_fpn/configs/faster-rcnn_r50_autofpn_8xb2-2x_coco.py'


def _macs(module, inputs) -> float:
    flops = FlopAnalyzer(module, inputs)
    flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return flops.total() / 1e9


def neck_head_cost(config=DEFAULT, size=(800, 1216), rois=1000) -> dict:
    """``{part: (M params, GMAC)}`` for ``backbone``, ``rpn``, ``neck``, ``head`` and the
    head's ``cells``, ``fc`` (the shared FC) and ``cls_reg``; the head's GMAC for ``rois``
    RoIs."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    for part in (cfg.model.neck, cfg.model.roi_head.bbox_head):
        if part.get('norm_cfg') is not None:
            part.norm_cfg = dict(type='BN')
    model = MODELS.build(cfg.model).eval()
    neck, head = model.neck, model.roi_head.bbox_head
    side = cfg.model.roi_head.bbox_roi_extractor.roi_layer.output_size
    with torch.no_grad():
        image = torch.zeros(1, 3, *size)
        backbone_macs = _macs(model.backbone, (image, ))
        feats = model.backbone(image)
        neck_macs = _macs(neck, (feats, ))
        rpn_macs = _macs(model.rpn_head, (neck(feats), ))
        head_flops = FlopAnalyzer(head, (torch.zeros(rois, head.in_channels, side, side), ))
        head_flops.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
        by_module = head_flops.by_module()

    def params(*modules):
        return sum(p.numel() for m in modules for p in m.parameters()) / 1e6

    counts = parameter_count(model)
    return dict(
        backbone=(counts['backbone'] / 1e6, backbone_macs),
        rpn=(counts['rpn_head'] / 1e6, rpn_macs),
        neck=(counts['neck'] / 1e6, neck_macs),
        head=(counts['roi_head.bbox_head'] / 1e6, by_module[''] / 1e9),
        cells=(params(head.cells), by_module['cells'] / 1e9),
        fc=(params(head.shared_fcs), by_module['shared_fcs'] / 1e9),
        cls_reg=(params(head.fc_cls,
                        head.fc_reg), (by_module['fc_cls'] + by_module['fc_reg']) / 1e9))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', nargs='?', default=DEFAULT)
    parser.add_argument('--size', type=int, nargs=2, default=(800, 1216), metavar=('H', 'W'))
    parser.add_argument('--rois', type=int, default=1000)
    args = parser.parse_args()
    cost = neck_head_cost(args.config, tuple(args.size), args.rois)
    print(f'| part | params (M) | GMAC ({args.size[0]} x {args.size[1]}, {args.rois} RoIs) |')
    print('|---|---|---|')
    for part, (p, g) in cost.items():
        print(f'| {part} | {p:.4f} | {g:.2f} |')
    neck, head = cost['neck'], cost['head']
    print(f'| neck + head | {neck[0] + head[0]:.4f} | {neck[1] + head[1]:.2f} |')


if __name__ == '__main__':
    main()
