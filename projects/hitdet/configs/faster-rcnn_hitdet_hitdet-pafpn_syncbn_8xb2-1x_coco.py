# Retrain the released Hit-Detector (paper Table 2: 27.12M params, 272.3G FLOPs, 41.4 box AP on
# minival, 1x): Faster R-CNN with the searched backbone, neck and RoI head, SyncBN, 1333x800,
# 8 GPUs x 2 images, the official schedule (configs/nas_trinity/2stage_hitdet.py), on train2017,
# reported on val2017 (= minival 2017).
#   mim train mmdet projects/hitdet/configs/faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-1x_coco.py \
#       --launcher pytorch --gpus 8
# The backbone starts from its ImageNet training (hitdet-backbone_8xb128-300e_imagenet.py; the
# official run used its own fbhit_7747.pth); without ImageNet set model.backbone.init_cfg=None
# (from scratch: not the paper's protocol).
# A searched architecture, without editing code (all three modules read the same file):
#   --cfg-options model.backbone.genotype=F model.neck.genotype=F \
#                 model.roi_head.bbox_head.genotype=F model.backbone.init_cfg.checkpoint=<its ImageNet run>
_base_ = [
    './_base_/faster-rcnn_hitdet_syncbn.py', 'mmdet::_base_/datasets/coco_detection.py',
    './_base_/schedule_hitdet_1x.py', 'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.hitdet.hitdet'], allow_failed_imports=False)
imagenet_backbone = 'work_dirs/hitdet-backbone_8xb128-300e_imagenet/epoch_300.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_backbone, prefix='backbone.')))
train_dataloader = dict(batch_size=2, num_workers=2)
