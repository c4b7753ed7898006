# NAS-FCOS R-101, searched decoder + head (official R_101_NAS_head: 42.8 minival / 43.0 test-dev),
# official protocol (configs/search/R_101_NAS_head.yaml): shorter side drawn from [640, 800]
# (INPUT.MIN_SIZE_RANGE_TRAIN), 180k iterations, steps 120k/160k, constant warm-up at lr/3 for 500
# iterations (SOLVER.WARMUP_METHOD "constant").
_base_ = [
    './_base_/nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head.py', './_base_/coco_detection_4xb4.py',
    './_base_/schedule_sgd_90k.py'
]
model = dict(
    backbone=dict(
        depth=101,
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet101_caffe')))
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    # shorter side drawn uniformly from the integers 640..800, longer side <= 1333
    # (maskrcnn_benchmark data/transforms/build.py:7-15 with MIN_SIZE_RANGE_TRAIN)
    dict(type='RandomResize', scale=[(1333, 640), (1333, 800)], keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
max_iters = 180000
lr_steps = [120000, 160000]
train_cfg = dict(max_iters=max_iters)
param_scheduler = [
    dict(type='ConstantLR', factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=lr_steps, gamma=0.1)
]
