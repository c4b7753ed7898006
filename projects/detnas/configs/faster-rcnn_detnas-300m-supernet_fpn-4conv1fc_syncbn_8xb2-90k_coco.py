# DetNAS step 2: fine-tune the 300M-space supernet on COCO as Faster R-CNN + FPN (4conv1fc,
# SyncBN), one uniform path per iteration broadcast from rank 0 (DetNASPathHook), 90k iterations
# at 16 images (megvii-model/DetNAS configs/e2e_faster_rcnn_DETNAS_COCO_FPN_300M_search.yaml).
# The backbone starts from the step-1 ImageNet supernet (its `backbone.*` weights).
#   mim train mmdet projects/detnas/configs/faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
# Trains on train2017 minus the 5k search split; no validation (a random path's AP means nothing).
_base_ = [
    './_base_/faster-rcnn_detnas-supernet_fpn-4conv1fc_syncbn.py',
    './_base_/coco_detnas-search-split.py', './_base_/detnas_iter-90k_sgd.py'
]
imagenet_supernet = 'work_dirs/detnas_supernet-300m_8xb128-300k_imagenet/iter_300000.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_supernet, prefix='backbone.')))
train_dataloader = dict(batch_size=2, num_workers=2)
train_cfg = dict(val_interval=10**9)
val_cfg = None
val_dataloader = None
val_evaluator = None
