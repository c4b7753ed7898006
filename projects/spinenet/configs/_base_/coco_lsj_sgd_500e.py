# The paper's RetinaNet training recipe on COCO (Du et al. 2020, Sec. 5.1 "Training details";
# tensorflow/tpu models/official/detection/configs/spinenet/spinenet49_retinanet.yaml):
# from scratch, batch 256 (8 GPUs x 32 here; the TF runs used TPU v3), SGD momentum 0.9, lr 0.28
# with linear warm-up (2000 steps), L2 weight decay 4e-5 (not on BN/bias), gradient clip 10,
# SyncBN, large-scale jitter (random scale in [0.5, 2.0] of the output size, crop/pad to a square),
# horizontal flip; lr x0.1 / x0.01 for the last 30 / 10 epochs (TF: steps 217610 / 226870 of
# 231500 ~ epochs 470 / 490 of 500). Protocol C adds swish and stochastic depth (0.2) in the model.
_base_ = [
    'mmdet::_base_/datasets/coco_detection.py', 'mmdet::_base_/default_runtime.py',
    './retinanet_spinenet.py'
]
custom_imports = dict(imports=['projects.spinenet.spinenet'], allow_failed_imports=False)
image_size = (640, 640)
scale_range = (0.5, 2.0)
backend_args = None
# LSJ pads to the square with the mean pixel (BGR, as loaded), i.e. zero after the
# data_preprocessor's normalisation, as TF pads the normalised image with zeros.
lsj_pad_val = dict(img=(103.53, 116.28, 123.675))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=image_size, ratio_range=scale_range, keep_ratio=True),
    dict(
        type='RandomCrop',
        crop_type='absolute_range',
        crop_size=image_size,
        recompute_bbox=True,
        allow_negative_crop=True),
    dict(type='FilterAnnotations', min_gt_bbox_wh=(1e-2, 1e-2)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='Pad', size=image_size, pad_val=lsj_pad_val),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=lsj_pad_val),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=32, num_workers=8, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader

max_epochs = 500
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=10)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.28, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    # tpu detection config: lr rises linearly from warmup_learning_rate 0.0067 to 0.28
    dict(type='LinearLR', start_factor=0.0067 / 0.28, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs - 30, max_epochs - 10],
        gamma=0.1)
]
default_hooks = dict(checkpoint=dict(type='CheckpointHook', interval=10, max_keep_ckpts=3))
# The paper's lr (0.28) is for a total batch of 256; `--auto-scale-lr` rescales it linearly.
auto_scale_lr = dict(enable=False, base_batch_size=256)
# Protocol C's model changes: swish everywhere, stochastic depth with rate 0.2 * (i + 1) / N.
model = dict(
    backbone=dict(act_cfg=dict(type='Swish'), drop_path_rate=0.2),
    bbox_head=dict(act_cfg=dict(type='Swish')))
