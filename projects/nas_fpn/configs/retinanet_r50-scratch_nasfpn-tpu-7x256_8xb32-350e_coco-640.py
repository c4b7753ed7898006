# RetinaNet R-50 NAS-FPN 7@256 at 640 trained from scratch, the TPU reference model
# (tensorflow/tpu models/official/detection/MODEL_ZOO.md, "RetinaNet (Trained from scratch)":
# R50-NAS-FPN 640x640, 350 epochs, 140.6B FLOPs, 60.3M params, 42.4 box AP): the paper's neck,
# the zoo's 350-epoch schedule (_base_/schedule_sgd-scratch_350e.py: lr 0.28 for batch 256,
# warm-up, x0.1 at 320 and 340, l2 4e-5, clip 10), scale jitter [0.5, 2.0], square input (long
# side resized, short side padded), no ImageNet weights. From the SpineNet-49 from-scratch recipe
# of the same codebase (configs/spinenet/spinenet49_retinanet.yaml, rev. ff414a9): cross-replica
# BN with batch_norm_momentum 0.997 / epsilon 1e-3 (TF decay 0.997 = PyTorch momentum 0.003; the
# SpineNet paper text says 0.99).
_base_ = [
    './_base_/retinanet_r50_nasfpn-tpu-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd-scratch_350e.py'
]
img = 640
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.003, eps=1e-3)  # TF 0.997, 1e-3
model = dict(
    # from scratch: no ImageNet weights, nothing frozen
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None, norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(norm_cfg=norm_cfg))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(img, img)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
