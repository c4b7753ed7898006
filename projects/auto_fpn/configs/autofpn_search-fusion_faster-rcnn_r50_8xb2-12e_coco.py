# Auto-FPN stage 1 on COCO (not run here): the Auto-fusion supernet (L = 2 layers of 4 nodes at
# 256 channels, all 16 edges per layer mixed over the paper's 8 ops, no norm: tip 3) in Faster
# R-CNN R-50 whose RoI head is mmdet's 2fc head; the ImageNet R-50 frozen (tip 2); first-order
# alternating updates on two halves of train2017 (weights: SGD 0.02, momentum 0.9, cosine;
# architecture: Adam 3e-4, betas (0.5, 0.999), weight decay 1e-3 from epoch 6 of 12: tip 1);
# loss = detection loss + lambda * C (expected normalised params + FLOPs + MAC, counted at
# 800 x 1216), 8 GPUs x 2 images, the supernet data-parallel.
#   mim train mmdet projects/auto_fpn/configs/autofpn_search-fusion_faster-rcnn_r50_8xb2-12e_coco.py \
#       --launcher pytorch --gpus 8 [--cfg-options train_cfg.cost_weight=LAMBDA]
# The three resource levels (lambda; not published, calibrated on the synthetic objective, see
# the README): 0.1 (light), 1.0 (medium, this file), 3.0 (strong).
# Images at 1000 x 600 during the search (not published; ours, for the supernet's memory: every
# stride-4 edge runs all 8 ops). The ImageNet R-50 comes from mmdet's base init_cfg
# (torchvision://resnet50): give a local file with model.backbone.init_cfg.checkpoint=...
_base_ = [
    'mmdet::_base_/models/faster-rcnn_r50_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
model = dict(
    backbone=dict(frozen_stages=4, norm_eval=True),
    neck=dict(
        _delete_=True,
        type='AutoFusionSuperNeck',
        num_layers=2,
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5,
        norm_cfg=None))
search_scale = (1000, 600)
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=None),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=search_scale, keep_ratio=True),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
train_dataloader = dict(batch_size=2, num_workers=2, dataset=dict(pipeline=train_pipeline))
train_cfg = dict(
    type='AutoFPNSearchLoop',
    stage='fusion',
    objective=dict(
        type='AutoFPNDetectionObjective',
        split_seed=0,
        freeze_backbone=True,
        nominal_size=(800, 1216)),
    max_epochs=12,
    arch_start_epoch=6,
    weight_optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    min_lr_ratio=0.04,
    arch_optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3),
    grad_clip=35.,
    cost_weight=1.0,
    edges_per_node=2,
    score_key='search/neg_arch_loss',
    seed=0)  # draws the initial weights (whatever `randomness` says) and the batches
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
