# SpineNet-190 RetinaNet at 1280x1280, the tpu model zoo's row (MODEL_ZOO.md: 52.0 AP, COCO
# val2017, 400 epochs): tensorflow/tpu @7dc921f models/official/detection/configs/spinenet/
# spinenet190_retinanet.yaml (recipe unchanged since f9ce82b, 2020-04-12): total_steps 185200 at
# batch 256 (~400 epochs of train2017), `init_learning_rate: 0.3` (warm-up from the detection
# config's 0.0067 over 2000 steps), lr x0.1 / x0.01 at steps 171310 / 180570 (epochs ~370 / ~390),
# `aug_scale_min: 0.1`, `aug_scale_max: 1.9`, drop-connect 0.2, swish. Everything else as the
# paper's row, retinanet_spinenet-190_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py.
_base_ = ['./retinanet_spinenet-190_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py']

image_size = (1280, 1280)
scale_range = (0.1, 1.9)
max_epochs = 400
train_cfg = dict(max_epochs=max_epochs)
optim_wrapper = dict(optimizer=dict(lr=0.3))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0067 / 0.3, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs - 30, max_epochs - 10],
        gamma=0.1)
]
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
