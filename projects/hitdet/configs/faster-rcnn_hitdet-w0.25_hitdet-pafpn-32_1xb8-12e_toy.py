# Toy retrain of a Hit-Detector genotype (CPU, minutes): the toy model of
# _base_/faster-rcnn_hitdet-toy.py with the neck, RPN and RoI head at 32 channels and 32 sampled
# RoIs per image (1.0 s per step of 8 images on one CPU thread instead of 4.2 s), from scratch on
# the suite's toy set, the suite's toy recipe (12 epochs at 160 px, AdamW 2e-3, cosine;
# configs/_base_/toy_schedule.py).
#   mim train mmdet projects/hitdet/configs/faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py
# A search's result replaces the released genotype in all three searched modules:
#   --cfg-options model.backbone.genotype=WORK_DIR/best_genotype.yaml \
#       model.neck.genotype=WORK_DIR/best_genotype.yaml \
#       model.roi_head.bbox_head.genotype=WORK_DIR/best_genotype.yaml
_base_ = [
    './_base_/faster-rcnn_hitdet-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py', '../../../configs/_base_/toy_schedule.py'
]
custom_imports = dict(imports=['projects', 'projects.hitdet.hitdet'], allow_failed_imports=False)
width = 32
model = dict(
    neck=dict(out_channels=width),
    rpn_head=dict(in_channels=width, feat_channels=width),
    roi_head=dict(bbox_roi_extractor=dict(out_channels=width), bbox_head=dict(in_channels=width)),
    train_cfg=dict(rcnn=dict(sampler=dict(num=32))))
