# Retrain DetNAS-COCO-FPN-300M (paper: 36.4 AP, official re-implementation 36.6 on minival):
# Faster R-CNN + FPN, 4conv1fc head, SyncBN, 800x1333, 1x = 90k iterations at 16 images, lr 0.02,
# steps 60k/80k (megvii-model/DetNAS configs/e2e_faster_rcnn_DETNAS_COCO_FPN_300M_1x.yaml), on
# train2017, reported on val2017 (= coco_2014_minival). The backbone starts from the ImageNet
# training of this subnet (detnas_subnet_8xb128-300k_imagenet.py with the same genotype).
#   mim train mmdet projects/detnas/configs/faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
# A searched architecture, without editing code:
#   --cfg-options model.backbone.genotype=WORK_DIR/best_genotype.yaml \
#                 model.backbone.init_cfg.checkpoint=<ImageNet checkpoint of that subnet>
# (FPN in_channels follow the genotype file's widths when they differ: set model.neck.in_channels.)
_base_ = [
    './_base_/faster-rcnn_detnas-supernet_fpn-4conv1fc_syncbn.py',
    'mmdet::_base_/datasets/coco_detection.py', './_base_/detnas_iter-90k_sgd.py'
]
imagenet_subnet = 'work_dirs/detnas_subnet_8xb128-300k_imagenet/iter_300000.pth'
# SyncBN momentum 0.01 in backbone, FPN and 4conv1fc head: the official DistributedSyncBN default
# for a backbone name without 'search' (megvii-model/DetNAS@aa92a90
# maskrcnn_benchmark/pytorch_distributed_syncbn/syncbn.py L93-98; FPN.USE_SYNCBN and
# ROI_BOX_HEAD.USE_SYNCBN True in configs/e2e_faster_rcnn_DETNAS_COCO_FPN_300M_1x.yaml). The
# supernet fine-tuning and the search keep 0.1 ('search' backbones).
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01)
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNetFixed',
        genotype='detnas_coco_fpn_300m',
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_subnet, prefix='backbone.')),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(norm_cfg=norm_cfg)))
custom_hooks = []
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
train_dataloader = dict(batch_size=2, num_workers=2)
