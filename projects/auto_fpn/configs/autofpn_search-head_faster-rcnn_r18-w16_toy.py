# Auto-FPN stage 2 on the toy set (CPU minutes; tests and demo.sh): the Auto-head supernet (M = 2
# cells of 7 nodes, 14 edges per cell mixed over none, skip, sep3/5, conv3/5, no norm, then an
# FC 256 at the toy's width) in the toy Faster R-CNN whose neck is the fixed neck the fusion
# search found, in its search form (no norm), its weights loaded from that search (tip 4).
#   mim train mmdet projects/auto_fpn/configs/autofpn_search-head_faster-rcnn_r18-w16_toy.py \
#       --work-dir work_dirs/autofpn_head_toy --cfg-options \
#       model.neck.genotype=work_dirs/autofpn_fusion_toy/best_genotype.yaml \
#       train_cfg.objective.neck_checkpoint=work_dirs/autofpn_fusion_toy/searched_fusion.pth
# Without them the neck is the shipped example's (genotypes/autofpn_toy_example.yaml), trained
# from scratch. best_genotype.yaml holds `fusion` (the neck's) and `head`: it drops into the
# retrain config for both modules.
_base_ = [
    './_base_/faster-rcnn_r18-w16_autofpn-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
width = 32
model = dict(
    neck=dict(norm_cfg=None),  # the fusion supernet's form: its weights load one to one
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='AutoHeadSuperBBoxHead',
            num_cells=2,
            norm_cfg=None,
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
    stage='head',
    objective=dict(
        type='AutoFPNDetectionObjective',
        split_seed=0,
        max_batches=4,
        freeze_backbone=True,
        backbone_seed=0,  # the toy backbone is not pretrained: the same features in both stages
        roi_size=7,
        neck_checkpoint=None),
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
