# Faster R-CNN R-50 with the Auto-FPN neck (Auto-fusion) and RoI box head (Auto-head), both built
# from a genotype file (one file holds `fusion` and `head`). The paper's searched cells are
# not readable edge by edge (README): the default is the example this suite's toy search found
# (genotypes/autofpn_toy_example.yaml, NOT the paper's); a search's best_genotype.yaml replaces
# it:
#   --cfg-options model.neck.genotype=F model.roi_head.bbox_head.genotype=F
# R-50: the backbone INFERRED from Hit-Detector Table 2's 32.64M (README). The searched modules
# use SyncBN at retrain (the search runs without norm, tip 3); the rest is mmdet's Faster R-CNN.
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
genotype = 'projects/auto_fpn/genotypes/autofpn_toy_example.yaml'
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    neck=dict(
        _delete_=True,
        type='AutoFusionNeck',
        genotype=genotype,
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5,
        norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            _delete_=True,
            type='AutoHeadBBoxHead',
            genotype=genotype,
            norm_cfg=norm_cfg,
            in_channels=256,
            # Hit-Detector's released head: 6.42M params, 75% of the paper's neck + head budget
            # (README, Deviations)
            fc_out_channels=512,
            roi_feat_size=7,
            num_classes=80,
            bbox_coder=dict(
                type='DeltaXYWHBBoxCoder',
                target_means=[0., 0., 0., 0.],
                target_stds=[0.1, 0.1, 0.2, 0.2]),
            reg_class_agnostic=False,
            loss_cls=dict(type='CrossEntropyLoss', use_sigmoid=False, loss_weight=1.0),
            loss_bbox=dict(type='L1Loss', loss_weight=1.0))))
