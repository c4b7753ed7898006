# Hit-Detector's end-to-end search on the toy set (CPU minutes; tests and demo.sh): the trinity
# supernet of the toy model (_base_/faster-rcnn_hitdet-toy.py: backbone at widen 0.25, neck and RoI
# head at 64 channels) with a mixed op at every position over the paper's sub-spaces (the head's:
# a screening run's screened_ops.yaml in demo.sh); first-order alternating updates: weights on one
# half of the toy train split, architecture weights on the other, loss = detection loss +
# lambda * expected GFLOPs. The paper's schedule (12 epochs, architecture from epoch 6) shrunk to
# `max_epochs`; the optimisers are the paper's (SGD 0.04 cosine / Adam 4e-4).
#   mim train mmdet projects/hitdet/configs/hitdet_search_faster-rcnn-w0.25_toy.py \
#       --work-dir work_dirs/hitdet_search_toy [--cfg-options model.roi_head.bbox_head.candidates=<screened_ops.yaml>]
# best_genotype.yaml (the decoded backbone, neck and head) drops into the toy retrain config; a
# killed search continues with --resume.
_base_ = [
    './_base_/faster-rcnn_hitdet-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.hitdet.hitdet'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='HitDetSuperBackbone',
        candidates='paper',
        widen_factor=0.25,
        norm_cfg=norm_cfg),
    neck=dict(
        _delete_=True,
        type='HitDetSuperNeck',
        candidates='paper',
        in_channels=[16, 24, 64, 512],
        out_channels=64,
        norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='HitDetSuperBBoxHead',
            candidates='paper',
            norm_cfg=norm_cfg,
            in_channels=64,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=6,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))),
    # 16 sampled RoIs per image: every RoI runs all candidates of 4 positions
    train_cfg=dict(rcnn=dict(sampler=dict(num=16))))
train_dataloader = dict(batch_size=4)
train_cfg = dict(
    type='HitDetSearchLoop',
    stage='search',
    objective=dict(
        type='HitDetDetectionObjective',
        split_seed=0,
        max_batches=4,
        nominal_sizes=dict(backbone=160, neck=160, roi=7)),
    max_epochs=4,
    arch_start_epoch=2,
    weight_optimizer=dict(lr=0.04),
    arch_optimizer=dict(lr=4e-4),
    cost_weight=0.01,
    score_key='search/neg_arch_loss',
    seed=0)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.04, momentum=0.9))
