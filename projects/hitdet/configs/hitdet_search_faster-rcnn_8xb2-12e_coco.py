# Hit-Detector's end-to-end search on COCO (paper Sec. 3.3-3.4; not run here): the trinity
# supernet (a mixed op at each of the 20 + 8 + 4 positions over the sub-spaces), first-order
# alternating updates (weights on one half of train2017, alpha/beta/gamma on the other), loss =
# detection loss + 0.01 x expected GFLOPs; weights SGD lr 0.04 momentum 0.9 cosine, architecture
# Adam 4e-4 from the 6th of 12 epochs (the screening's optimisers, which the paper reuses), 8 GPUs
# x 2 images (the official retrain's batch), SyncBN.
#   mim train mmdet projects/hitdet/configs/hitdet_search_faster-rcnn_8xb2-12e_coco.py \
#       --launcher pytorch --gpus 8 --cfg-options \
#       model.backbone.candidates=work_dirs/hitdet_screen-backbone_faster-rcnn_8xb2-12e_coco/screened_ops.yaml \
#       model.neck.candidates=work_dirs/hitdet_screen-neck_faster-rcnn_8xb2-12e_coco/screened_ops.yaml \
#       model.roi_head.bbox_head.candidates=work_dirs/hitdet_screen-head_faster-rcnn_8xb2-12e_coco/screened_ops.yaml
# Without screening runs the paper's App. 6.2 lists are used ('paper'). The paper pretrains the
# backbone supernet on ImageNet first: give its weights with model.backbone.init_cfg (not shipped).
_base_ = [
    './_base_/faster-rcnn_hitdet_syncbn.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.hitdet.hitdet'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    backbone=dict(
        _delete_=True,
        type='HitDetSuperBackbone',
        candidates='paper',
        out_indices=(4, 8, 16, 22),
        norm_cfg=norm_cfg),
    neck=dict(
        _delete_=True,
        type='HitDetSuperNeck',
        candidates='paper',
        in_channels=[48, 96, 256, 2048],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='HitDetSuperBBoxHead',
            candidates='paper',
            norm_cfg=norm_cfg,
            in_channels=256,
            fc_out_channels=512,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=1.0, loss_weight=1.0))))
train_dataloader = dict(batch_size=2, num_workers=2)
train_cfg = dict(
    type='HitDetSearchLoop',
    stage='search',
    objective=dict(
        type='HitDetDetectionObjective',
        split_seed=0,
        # fbnet.py:29, hit_neck_search.py:33; the head counted on 1000 RoIs (test-time proposals)
        nominal_sizes=dict(backbone=800, neck=640, roi=7, rois=1000)),
    max_epochs=12,
    arch_start_epoch=5,  # "from epoch 6" of 12 (Sec. 4.1), counted from 0
    # weight decay: the official retrain's (configs/nas_trinity/2stage_hitdet.py)
    weight_optimizer=dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=1e-4),
    arch_optimizer=dict(type='Adam', lr=4e-4, betas=(0.5, 0.999), weight_decay=1e-3),
    grad_clip=35.,
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
