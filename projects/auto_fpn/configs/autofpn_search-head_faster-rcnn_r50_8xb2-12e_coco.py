# Auto-FPN stage 2 on COCO (not run here): the Auto-head supernet (M = 2 cells of 7 nodes at 256
# channels, 14 edges per cell mixed over none, skip, sep3/5, conv3/5, no norm, then FC 512) with
# the neck the fusion search found, in its search form, its weights loaded from that search
# (tip 4); the ImageNet R-50 frozen; the fusion stage's optimisers and schedule.
#   F=work_dirs/autofpn_search-fusion_faster-rcnn_r50_8xb2-12e_coco
#   mim train mmdet projects/auto_fpn/configs/autofpn_search-head_faster-rcnn_r50_8xb2-12e_coco.py \
#       --launcher pytorch --gpus 8 --cfg-options model.neck.genotype=$F/best_genotype.yaml \
#       train_cfg.objective.neck_checkpoint=$F/searched_fusion.pth [train_cfg.cost_weight=LAMBDA]
# Without them the neck is the shipped toy example's, from scratch (a warning says so). 256
# sampled RoIs per image instead of mmdet's 512 (ours, for the supernet's memory: every RoI runs
# every op of 28 edges). best_genotype.yaml then holds `fusion` and `head`: the retrain configs
# read it for both modules. Three resource levels: lambda 0.1 / 1.0 (this file) / 3.0.
_base_ = ['./autofpn_search-fusion_faster-rcnn_r50_8xb2-12e_coco.py']
genotype = 'projects/auto_fpn/genotypes/autofpn_toy_example.yaml'
model = dict(
    neck=dict(
        _delete_=True,
        type='AutoFusionNeck',
        genotype=genotype,
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5,
        norm_cfg=None),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='AutoHeadSuperBBoxHead',
            num_cells=2,
            norm_cfg=None,
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
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))),
    train_cfg=dict(rcnn=dict(sampler=dict(num=256))))
train_cfg = dict(
    stage='head',
    objective=dict(
        _delete_=True,
        type='AutoFPNDetectionObjective',
        split_seed=0,
        freeze_backbone=True,
        roi_size=7,
        neck_checkpoint=None))
