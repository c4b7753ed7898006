# RetinaNet R-50 NAS-FPN 7@256 at 640 trained from scratch, the TPU reference model
# (tensorflow/tpu models/official/detection/MODEL_ZOO.md, "RetinaNet (Trained from scratch)":
# R50-NAS-FPN 640x640, 350 epochs, 140.6B FLOPs, 60.3M params, 42.4 box AP). Zoo settings:
# batch 256, step LR decayed at the last 30 and 10 epochs (x0.1 at 320 and 340), scale
# jitter [0.5, 2.0], square input (long side resized, short side padded), l2 regularisation.
# Not in the zoo text (the 'config' link is empty), taken from SpineNet's from-scratch recipe
# of the same codebase (SpineNet paper Sec. 4.1): lr 0.28 for batch 256, weight decay 4e-5,
# cross-replica (Sync) BN. Neck in the paper form (max-pool attention on the coarser input).
_base_ = ['./retinanet_r50_nasfpn-tpu-7x256_8xb8-crop1024-50e_coco.py']
img = 640
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]),
    # from scratch: no ImageNet weights, nothing frozen
    backbone=dict(frozen_stages=-1, norm_eval=False, init_cfg=None))
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
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[320, 340],
        gamma=0.1)
]
optim_wrapper = dict(optimizer=dict(lr=0.28, weight_decay=4e-5))
auto_scale_lr = dict(enable=False, base_batch_size=256)
