# SpineNet-190 RetinaNet at 1280x1280, the paper's row (52.1 AP, test-dev): protocol C as the
# paper states it (Du et al. 2020, Sec. 5.1): swish, stochastic depth rate 0.2, 500 epochs, lr 0.28
# for batch 256, scale jitter [0.1, 2.0] "for SpineNet-143 and 190".
# The tpu model zoo's row (52.0 AP, val2017: 400 epochs, lr 0.3, jitter [0.1, 1.9]) is
# retinanet_spinenet-190-zoo_syncbn-swish-sd_8xb32-lsj-400e_coco-1280.py.
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
