# NAS-FCOS R-50, searched decoder with the standard FCOS head (official R_50_NAS, FPN search only:
# 38.5 minival / 38.9 test-dev; configs/search/R_50_NAS_densebox.yaml). The head is the official
# DenseBoxHead (maskrcnn_benchmark/modeling/rpn/densebox/densebox.py:12-93): 4 x (3x3 conv with
# bias + GN(32) + ReLU) per tower, all convs N(0, 0.01), centerness on the classification tower.
# The decoder reads `decoder` of the genotype file; any `head` in it is not used here.
_base_ = [
    './_base_/nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head.py', './_base_/coco_detection_4xb4.py',
    './_base_/schedule_sgd_90k.py'
]
model = dict(
    bbox_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        conv_bias=True,  # densebox.py:28-45: nn.Conv2d default bias before GN
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
