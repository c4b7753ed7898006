# A CPU-sized SpineNet RetinaNet on the suite's toy set (160 px), used by the toy search (as the
# proxy) and the toy retrain. Scaled like the paper's proxy (Sec. 5.1: feature dimension x0.25,
# resample alpha 0.25, 64-wide box/class nets) plus a 16-wide stem and 2-conv head so that CPU
# minutes suffice. Optimiser: the suite's toy recipe (AdamW, configs/toy/retinanet_r18-w16_fpn_
# 1xb8-12e_toy.py), not the paper's SGD, which needs far longer schedules from scratch.
_base_ = [
    '../../../../configs/_base_/toy_coco_detection.py', '../../../../configs/_base_/toy_runtime.py',
    './retinanet_spinenet.py'
]
custom_imports = dict(
    imports=['projects', 'projects.spinenet.spinenet'], allow_failed_imports=False)
norm_cfg = dict(type='BN', momentum=0.03, eps=1e-3)
model = dict(
    data_preprocessor=dict(pad_size_divisor=32),
    backbone=dict(
        stem_channels=16,
        filter_size_scale=0.25,
        endpoints_num_filters=64,
        resample_alpha=0.25,
        norm_cfg=norm_cfg),
    bbox_head=dict(
        num_classes=6,
        in_channels=64,
        feat_channels=64,
        stacked_convs=2,
        norm_cfg=norm_cfg,
        anchor_generator=dict(octave_base_scale=2),  # 16-25 px anchors on P3: small toy objects
        loss_cls=dict(gamma=2.0),
        loss_bbox=dict(_delete_=True, type='L1Loss', loss_weight=1.0)),
    train_cfg=dict(assigner=dict(neg_iou_thr=0.4)))
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
