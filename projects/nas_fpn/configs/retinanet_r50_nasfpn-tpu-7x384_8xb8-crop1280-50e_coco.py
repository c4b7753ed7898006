# RetinaNet R-50 NAS-FPN 7@384 at 1280 (paper Table 1 row "NAS-FPN R-50 (7 @ 384), 1280",
# 103.9M params), paper form and recipe as the 1024 config; the head follows the pyramid width
# (384), as N@C scales every pyramid feature to C channels.
_base_ = [
    './_base_/retinanet_r50_nasfpn-tpu-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd_50e.py'
]
img = 1280
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]),
    neck=dict(out_channels=384),
    bbox_head=dict(in_channels=384, feat_channels=384))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.8, 1.2), keep_ratio=True),
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
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
