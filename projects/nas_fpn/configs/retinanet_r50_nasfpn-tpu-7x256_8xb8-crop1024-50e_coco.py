# RetinaNet R-50 NAS-FPN 7@256 at 1024 in the paper's own form and recipe (paper Sec. 4.1 /
# Table 1): the neck as tensorflow/tpu nasfpn.py (_base_/retinanet_r50_nasfpn-tpu-7x256.py), batch
# 64, scale jitter [0.8, 1.2], 50 epochs, SGD lr 0.08 decayed x0.1 at epochs 30 and 40 (mmdet's
# weight decay 1e-4, _base_/schedule_sgd_50e.py), at 1024x1024.
_base_ = [
    './_base_/retinanet_r50_nasfpn-tpu-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd_50e.py'
]
img = 1024
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]))
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
