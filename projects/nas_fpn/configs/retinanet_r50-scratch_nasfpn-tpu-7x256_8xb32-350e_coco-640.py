# RetinaNet R-50 NAS-FPN 7@256 at 640 trained from scratch, the TPU reference model
# (tensorflow/tpu models/official/detection/MODEL_ZOO.md, "RetinaNet (Trained from scratch)":
# R50-NAS-FPN 640x640, 350 epochs, 140.6B FLOPs, 60.3M params, 42.4 box AP): the paper's neck,
# the zoo's 350-epoch schedule (_base_/schedule_sgd-scratch_350e.py: lr 0.28 for batch 256,
# warm-up, x0.1 at 320 and 340, l2 4e-5, clip 10), scale jitter [0.5, 2.0], square input (long
# side resized, short side padded), no ImageNet weights. Box loss, anchors and BN are the TPU
# RetinaNet's (_base_/retinanet_r50_nasfpn-tpu-7x256.py): cross-replica BN with the TPU defaults
# at rev. 7dc921f (configs/base_config.py batch_norm_activation: momentum 0.997, epsilon 1e-4 ->
# PyTorch momentum 0.003, eps 1e-4). An earlier version of this config had eps 1e-3: that is the
# SpineNet *backbone's* BN of rev. ff414a9 (spinenet49_retinanet.yaml `spinenet.batch_norm`),
# while the same revision's ResNet, NAS-FPN and head BN (base_config.py `resnet|nasfpn.
# batch_norm`, retinanet_config.py `retinanet_head.batch_norm`) already had 0.997 / 1e-4.
_base_ = [
    './_base_/retinanet_r50_nasfpn-tpu-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd-scratch_350e.py'
]
img = 640
# from scratch: no ImageNet weights, nothing frozen (norm_cfg: the tpu base's SyncBN 0.003 / 1e-4)
model = dict(backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(img, img)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
