# The Auto-FPN Faster R-CNN shrunk for CPU runs on the toy set (160 px): ResNet-18 at width 16
# (C2..C5 = 16/32/64/128, the suite's toy backbone, configs/toy/), neck, RPN and Auto-head at 32
# channels, FC 256, BN, anchors of scale 4 (16 px on P2: the toy set's small shapes), fewer
# proposals and 32 sampled RoIs per image. The same genotype file as the COCO model.
_base_ = ['./faster-rcnn_r50_autofpn.py']
width = 32
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        depth=18,
        base_channels=16,
        stem_channels=16,
        frozen_stages=-1,
        norm_eval=False,
        init_cfg=None),
    neck=dict(in_channels=[16, 32, 64, 128], out_channels=width, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=width, feat_channels=width, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=width),
        bbox_head=dict(in_channels=width, fc_out_channels=256, num_classes=6, norm_cfg=norm_cfg)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=32))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=50)))
