# Faster R-CNN R-50 with a searched Auto-FPN neck and head, COCO 2x: the row Hit-Detector's
# Table 2 re-reports for Auto-FPN (40.5 minival, 32.64M, 476.6B at 800 x 1200; "‡ = 2x"). The
# paper's searched cells are not readable edge by edge: this trains the example the suite's toy
# search found (genotypes/autofpn_toy_example.yaml, NOT the paper's architecture); a COCO
# search's result:
#   mim train mmdet projects/auto_fpn/configs/faster-rcnn_r50_autofpn_8xb2-2x_coco.py --launcher pytorch --gpus 8 \
#       --cfg-options model.neck.genotype=H/best_genotype.yaml model.roi_head.bbox_head.genotype=H/best_genotype.yaml
# (H = the head search's work_dir). Recipe: mmdet's Faster R-CNN 2x (SGD 0.02, momentum 0.9,
# weight decay 1e-4, steps 16/22 of 24 epochs, 1333 x 800, 8 GPUs x 2 images); SyncBN in the
# searched modules; the neck and head train from scratch, the R-50 from ImageNet (the paper's
# retrain recipe is not published). One GPU: norm_cfg BN and auto_scale_lr.enable=True.
_base_ = [
    './_base_/faster-rcnn_r50_autofpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/schedules/schedule_2x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(
    imports=['projects', 'projects.auto_fpn.auto_fpn'], allow_failed_imports=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
