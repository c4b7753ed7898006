# Retrain DetNAS-COCO-RetinaNet-300M (paper: 33.3 AP; official re-implementation 34.1): RetinaNet
# + FPN, SyncBN backbone, 800x1333, 90k iterations at 16 images, lr 0.01, steps 60k/80k
# (megvii-model/DetNAS configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_1x.yaml).
#   mim train mmdet projects/detnas/configs/retinanet_detnas-coco-retinanet-300m_fpn_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
_base_ = [
    './_base_/retinanet_detnas-supernet_fpn_syncbn.py', 'mmdet::_base_/datasets/coco_detection.py',
    './_base_/detnas_iter-90k_sgd.py'
]
imagenet_subnet = 'work_dirs/detnas_subnet-retinanet-300m_8xb128-300k_imagenet/iter_300000.pth'
# SyncBN momentum 0.01 (backbone only; FPN and head have no norm, as the official RetinaNet):
# the official DistributedSyncBN default for a backbone name without 'search'
# (megvii-model/DetNAS@aa92a90 maskrcnn_benchmark/pytorch_distributed_syncbn/syncbn.py L93-98;
# CONV_BODY "DETNAS-COCO-RetinaNet-300M" in configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_1x.yaml).
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.01)
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNetFixed',
        genotype='detnas_coco_retinanet_300m',
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_subnet, prefix='backbone.')))
custom_hooks = []
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
train_dataloader = dict(batch_size=2, num_workers=2)
optim_wrapper = dict(optimizer=dict(lr=0.01))
