# SpineNet-143 RetinaNet at 1280x1280, the tpu model zoo's row (MODEL_ZOO.md: 50.6 AP, COCO
# val2017): tensorflow/tpu @7dc921f models/official/detection/configs/spinenet/
# spinenet143_retinanet.yaml (recipe unchanged since f9ce82b, 2020-04-12, whose header ties 50.6%
# to it): `init_drop_connect_rate: 0.16`, `aug_scale_min: 0.1`, `aug_scale_max: 1.9`,
# total_steps 231500 at batch 256 (~500 epochs), lr 0.28, drops at steps 217610 / 226870 (the last
# 30 / 10 epochs). The first release (ff414a9) had 185200 steps, drop-connect 0.2 and BN eps 1e-3
# for the same 50.6%; we follow HEAD, whose header names this recipe. Everything else as the
# paper's row, retinanet_spinenet-143_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py.
_base_ = ['./retinanet_spinenet-143_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py']

image_size = (1280, 1280)
scale_range = (0.1, 1.9)
model = dict(backbone=dict(drop_path_rate=0.16))
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
