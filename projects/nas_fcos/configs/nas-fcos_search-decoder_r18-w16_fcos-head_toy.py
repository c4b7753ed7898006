# NAS-FCOS search on the toy set, phase 1: the decoder, with the standard FCOS 4-conv GN head
# (the official R_50_NAS setting). The proxy, features and controller are phase 2's
# (nas-fcos_search-head_r18-w16_toy.py); see its header.
#   mim train mmdet projects/nas_fcos/configs/nas-fcos_search-decoder_r18-w16_fcos-head_toy.py \
#       --work-dir work_dirs/nas_fcos_search_decoder_toy
_base_ = ['./nas-fcos_search-head_r18-w16_toy.py']
model = dict(
    bbox_head=dict(
        _delete_=True,
        type='FCOSHead',
        num_classes=6,
        in_channels=64,
        feat_channels=64,
        stacked_convs=4,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)))
train_cfg = dict(phase='decoder', decoder=None)
