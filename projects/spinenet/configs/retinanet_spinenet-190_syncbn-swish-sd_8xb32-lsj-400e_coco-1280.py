# SpineNet-190 RetinaNet at 1280x1280, the paper's best recipe (protocol C, Sec. 5.1):
# swish, stochastic depth 0.2 (tpu configs/spinenet/spinenet190_retinanet.yaml
# `init_drop_connect_rate: 0.2`), 400 epochs, scale jitter [0.1, 2.0].
# Epochs: MODEL_ZOO.md lists SpineNet-190 at 400 epochs (paper: "400 for 190"); lr 0.28
# as the tpu yaml (papers.md quotes 0.3 for 190; the yaml read here says 0.28).
_base_ = ['./_base_/coco_lsj_sgd_500e.py', './_base_/spinenet_scaling.py']

image_size = (1280, 1280)
scale_range = (0.1, 2.0)
model = dict(backbone={{_base_.spinenet_190}}, bbox_head={{_base_.head_190}})
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
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
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val=dict(img=(114, 114, 114))),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
max_epochs = 400
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.001, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs - 30, max_epochs - 10],
        gamma=0.1)
]
