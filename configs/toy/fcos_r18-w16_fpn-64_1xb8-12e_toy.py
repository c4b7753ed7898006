# Stock mmdet FCOS (FPN P3-P7, 4-conv GN head), the baseline NAS-FCOS searches against, shrunk
# like the toy NAS-FCOS detector (projects/nas_fcos/configs/
# nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py): ResNet-18 at width 16, FPN and
# head at 64 channels, the suite's toy recipe (12 epochs at 160 px, AdamW 2e-3, cosine). The
# baseline row of NAS-FCOS in `make demo` (tools/demo.py), which starts its backbone from the same
# checkpoint as the NAS-FCOS rows.
_base_ = ['./retinanet_r18-w16_fpn_1xb8-12e_toy.py']
# The RetinaNet toy's preprocessor and backbone; FPN P6/P7 from P5's output, FCOS's head.
model = dict(
    type='FCOS',
    neck=dict(add_extra_convs='on_output', relu_before_extra_convs=True),
    bbox_head=dict(
        _delete_=True,
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
    train_cfg=None,
    test_cfg=dict(nms=dict(iou_threshold=0.6)))
