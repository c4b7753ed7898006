# Auto-FPN stage 1 on the toy set (CPU minutes; tests and demo.sh): the Auto-fusion supernet
# (L = 2 layers of 4 nodes, all 16 edges per layer mixed over the paper's 8 ops, no norm) in the
# toy Faster R-CNN (_base_/faster-rcnn_r18-w16_autofpn-toy.py; RoI head: mmdet's 2fc head, fixed
# during this stage), backbone frozen (the objective's freeze_backbone; its BN keeps normalising
# with batch statistics, as the toy backbone is not pretrained); first-order alternating updates,
# weights on one half of the toy train split, architecture weights on the other from the middle
# epoch, loss = detection loss + lambda * C (expected normalised params + FLOPs + MAC).
#   mim train mmdet projects/auto_fpn/configs/autofpn_search-fusion_faster-rcnn_r18-w16_toy.py \
#       --work-dir work_dirs/autofpn_fusion_toy
# Writes best_genotype.yaml (the decoded `fusion`) and searched_fusion.pth (the fixed neck with
# the supernet's weights) for the head stage; a killed search continues with --resume.
_base_ = [
    './_base_/faster-rcnn_r18-w16_autofpn-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
width = 32
model = dict(
    neck=dict(
        _delete_=True,
        type='AutoFusionSuperNeck',
        num_layers=2,
        in_channels=[16, 32, 64, 128],
        out_channels=width,
        num_outs=5,
        norm_cfg=None),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='Shared2FCBBoxHead',
            in_channels=width,
            fc_out_channels=256,
            roi_feat_size=7,
            num_classes=6,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
train_dataloader = dict(batch_size=4)
train_cfg = dict(
    type='AutoFPNSearchLoop',
    stage='fusion',
    objective=dict(
        type='AutoFPNDetectionObjective',
        split_seed=0,
        max_batches=4,
        freeze_backbone=True,
        backbone_seed=0,  # the toy backbone is not pretrained: the same features in both stages
        nominal_size=(160, 160)),
    max_epochs=4,
    arch_start_epoch=2,
    weight_optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    # DARTS's Adam, lr 3e-4 -> 0.05: a toy search has tens of architecture steps, not DARTS's
    # ~20k; the COCO configs keep 3e-4
    arch_optimizer=dict(type='Adam', lr=0.05, betas=(0.5, 0.999), weight_decay=1e-3),
    grad_clip=35.,
    cost_weight=1.0,  # the medium of the three levels (0.1 / 1.0 / 3.0), as the COCO configs
    score_key='search/neg_arch_loss',
    seed=0)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.02, momentum=0.9))
