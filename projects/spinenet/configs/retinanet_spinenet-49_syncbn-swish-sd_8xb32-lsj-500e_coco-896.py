# SpineNet-49 RetinaNet at 896x896, the paper's best recipe (protocol C, Sec. 5.1):
# swish, stochastic depth 0.2 (tpu configs/spinenet/spinenet49_retinanet.yaml
# `init_drop_connect_rate: 0.2`), 500 epochs, scale jitter [0.5, 2.0].
_base_ = ['./_base_/coco_lsj_sgd_500e.py', './_base_/spinenet_scaling.py']

image_size = (896, 896)
scale_range = (0.5, 2.0)
model = dict(backbone={{_base_.spinenet_49}}, bbox_head={{_base_.head_49}})
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
    dict(type='Pad', size=image_size, pad_val={{_base_.lsj_pad_val}}),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=image_size, keep_ratio=True),
    dict(type='Pad', size=image_size, pad_val={{_base_.lsj_pad_val}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
