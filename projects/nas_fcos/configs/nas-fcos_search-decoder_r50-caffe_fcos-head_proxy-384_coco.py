# NAS-FCOS search on COCO, phase 1: the decoder, with the standard FCOS head (official
# R_50_NAS, the FPN-only model). Proxy, splits, controller and features are phase 2's
# (nas-fcos_search-head_r50-caffe_proxy-384_coco.py); see its header for the commands.
_base_ = ['./nas-fcos_search-head_r50-caffe_proxy-384_coco.py']
model = dict(
    bbox_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=80,
        in_channels=256,
        stacked_convs=4,
        feat_channels=256,
        conv_bias=True,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
train_cfg = dict(phase='decoder', decoder=None, num_steps=250)
