# RetinaNet R-50 NAS-FPN 7@256 at 640 trained from scratch, the TPU reference model
# (tensorflow/tpu models/official/detection/MODEL_ZOO.md, "RetinaNet (Trained from scratch)":
# R50-NAS-FPN 640x640, 350 epochs, 140.6B FLOPs, 60.3M params, 42.4 box AP). Zoo settings:
# batch 256, step LR decayed at the last 30 and 10 epochs (x0.1 at 320 and 340), scale
# jitter [0.5, 2.0], square input (long side resized, short side padded), l2 regularisation.
# Not in the zoo text (the 'config' link is empty), taken from the SpineNet-49 RetinaNet
# from-scratch recipe of the same codebase (configs/spinenet/spinenet49_retinanet.yaml, rev.
# ff414a9; SpineNet paper Sec. 4.1): lr 0.28 for batch 256, linear warm-up over 2000 steps
# from warmup_learning_rate 0.0067, l2 weight decay 4e-5 on conv kernels only
# (base_config.py REGULARIZATION_VAR_REGEX '.*(kernel|weight):0$'), gradient_clip_norm 10.0,
# cross-replica BN with batch_norm_momentum 0.997 / epsilon 1e-3 (TF decay 0.997 = PyTorch
# momentum 0.003; the SpineNet paper text says 0.99). Neck in the paper form (max-pool
# attention on the coarser input).
_base_ = ['./retinanet_r50_nasfpn-tpu-7x256_8xb8-crop1024-50e_coco.py']
img = 640
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.003, eps=1e-3)  # TF 0.997, 1e-3
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]),
    # from scratch: no ImageNet weights, nothing frozen
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None, norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(norm_cfg=norm_cfg))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.5, 2.0), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(img, img)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(img, img), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=32, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 350
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
lr = 0.28
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0067 / lr, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[320, 340],
        gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(lr=lr, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10.0, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=256)
