# Stock mmdet FCOS (FPN P3-P7, 4-conv GN head), the baseline NAS-FCOS searches against, shrunk
# like the toy NAS-FCOS detector (projects/nas_fcos/configs/
# nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py): ResNet-18 at width 16, FPN and
# head at 64 channels, the suite's toy recipe (12 epochs at 160 px, AdamW 2e-3, cosine). The
# baseline row of NAS-FCOS in `make demo` (tools/demo.py), which starts its backbone from the same
# checkpoint as the NAS-FCOS rows.
_base_ = ['./retinanet_r18-w16_fpn_1xb8-12e_toy.py']
model = dict(
    _delete_=True,
    type='FCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        stem_channels=16,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(
        type='FPN',
        in_channels=[32, 64, 128],
        out_channels=64,
        start_level=0,
        add_extra_convs='on_output',
        num_outs=5,
        relu_before_extra_convs=True),
    bbox_head=dict(
        type='FCOSHead',
        num_classes=6,
        in_channels=64,
        stacked_convs=4,
        feat_channels=64,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))
