# Stock mmdet Faster R-CNN with FPN, shrunk for CPU like the Auto-FPN and Hit-Detector toy models
# (projects/auto_fpn/configs/_base_/faster-rcnn_r18-w16_autofpn-toy.py): ResNet-18 at width 16
# from scratch, FPN/RPN at 32 channels, 2-fc box head (256), anchors of scale 4, 32 sampled RoIs
# per image; the suite's toy recipe (_base_/toy_schedule.py, 160 px). The baseline row
# of `make demo` for the two Faster R-CNN papers (tools/demo.py).
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', '../_base_/toy_coco_detection.py',
    '../_base_/toy_runtime.py', '../_base_/toy_schedule.py'
]
width = 32
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        stem_channels=16,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=6)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=50)))
