# COCO with NAS-FPN's augmentation as mmdet's recipe has it (mmdet
# configs/nas_fpn/retinanet_r50_fpn_crop640-50e_coco.py; paper Sec. 4.1: scale jitter [0.8, 1.2]):
# resize to 640 x [0.8, 1.2] keeping the aspect ratio, crop 640x640, flip; test at 640 (long side);
# 8 images per GPU. Configs at other sizes restate the two pipelines with their size.
_base_ = ['mmdet::_base_/datasets/coco_detection.py']
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(640, 640), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(640, 640)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args={{_base_.backend_args}}),
    dict(type='Resize', scale=(640, 640), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(batch_size=8, num_workers=4, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
