# The Hit-Detector Faster R-CNN shrunk for CPU runs on the toy set (160 px): backbone at a quarter
# of the widths (widen_factor 0.25: stem 8, groups 16/24/48/64/88, tail 256/512; C2..C5 =
# 16/24/64/512), neck/RPN/RoI head at 64 channels, FC 256, BN instead of SyncBN, anchors of
# scale 4 (16 px on P2: the toy set's small shapes), 64 sampled RoIs per image, fewer proposals.
# On CPU the RoI head's four e6 blocks dominate a training step: 3.6 of 4.2 s per step of 8
# images at 64 channels / 64 RoIs per image (one thread); the toy retrain config halves both
# (1.0 s per step).
# The same topology and genotype file as the COCO model: every searched op keeps its kernel,
# dilation and expansion. A search's toy configs can inherit this model.
_base_ = ['./faster-rcnn_hitdet_syncbn.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(widen_factor=0.25, norm_cfg=norm_cfg),
    neck=dict(in_channels=[16, 24, 64, 512], out_channels=64, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=64, feat_channels=64, anchor_generator=dict(scales=[4])),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(in_channels=64, fc_out_channels=256, num_classes=6, norm_cfg=norm_cfg)),
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=50)))
