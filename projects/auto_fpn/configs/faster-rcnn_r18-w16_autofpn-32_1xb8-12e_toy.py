# Toy retrain of an Auto-FPN genotype (CPU, minutes): the toy model of
# _base_/faster-rcnn_r18-w16_autofpn-toy.py (BN in the searched modules) from scratch on the
# suite's toy set with the suite's toy recipe (12 epochs at 160 px, AdamW 2e-3, cosine;
# configs/_base_/toy_schedule.py).
#   mim train mmdet projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py
# A search's result (the head search's best_genotype.yaml holds both modules):
#   --cfg-options model.neck.genotype=WORK_DIR/best_genotype.yaml \
#       model.roi_head.bbox_head.genotype=WORK_DIR/best_genotype.yaml
_base_ = [
    './_base_/faster-rcnn_r18-w16_autofpn-toy.py', '../../../configs/_base_/toy_coco_detection.py',
    '../../../configs/_base_/toy_runtime.py', '../../../configs/_base_/toy_schedule.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
