# NAS-FCOS MobileNetV2, searched decoder + head (official Mobile_NAS_head: 34.4 minival / 34.7
# test-dev; 16.1M parameters, paper via paperswithcode), official protocol as R-50
# (configs/search/Mobile_NAS_head.yaml: 16 images, lr 0.01, 90k iterations, steps 60k/80k).
# Backbone: mmdet's MobileNetV2 with the official outputs (maskrcnn_benchmark
# modeling/backbone/mobilenet.py:109-115, features 3/6/13/17 = 24/32/96/320 channels at strides
# 4/8/16/32 = mmdet out_indices (1, 2, 4, 6)) and the official freezing (FREEZE_CONV_BODY_AT 2:
# stem + first block = frozen_stages 1); BN trained, as the official nn.BatchNorm2d.
_base_ = [
    './_base_/nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head.py', './_base_/coco_detection_4xb4.py',
    './_base_/schedule_sgd_90k.py'
]
model = dict(
    # ImageNet RGB normalisation of mmdet's MobileNetV2 weights (the official input transform with
    # its MobileNetV2 weights is not stated; see README, Deviations)
    data_preprocessor=dict(
        mean=[123.675, 116.28, 103.53], std=[58.395, 57.12, 57.375], bgr_to_rgb=True),
    backbone=dict(
        _delete_=True,
        type='MobileNetV2',
        out_indices=(1, 2, 4, 6),
        frozen_stages=1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://mmdet/mobilenet_v2')),
    neck=dict(in_channels=[24, 32, 96, 320]))
# mmdet's MobileNetV2 always builds and runs its last 1x1 conv to 1280 channels (`conv2`, 412,160
# parameters), which out_indices (1, 2, 4, 6) never return: its parameters get no gradient.
find_unused_parameters = True
