# Toy retrain of an Auto-FPN genotype (CPU, minutes): the toy model of
# _base_/faster-rcnn_r18-w16_autofpn-toy.py (BN in the searched modules) from scratch on the
# suite's toy set with the suite's toy recipe (12 epochs at 160 px, AdamW 2e-3, cosine;
# configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py).
#   mim train mmdet projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py
# A search's result (the head search's best_genotype.yaml holds both modules):
#   --cfg-options model.neck.genotype=WORK_DIR/best_genotype.yaml \
#       model.roi_head.bbox_head.genotype=WORK_DIR/best_genotype.yaml
_base_ = [
    './_base_/faster-rcnn_r18-w16_autofpn-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min_ratio=0.05)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
