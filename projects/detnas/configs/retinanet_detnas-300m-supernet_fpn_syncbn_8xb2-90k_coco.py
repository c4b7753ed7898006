# DetNAS step 2 for RetinaNet: fine-tune the 300M-space supernet on COCO (megvii-model/DetNAS
# configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_search.yaml): lr 0.01, 16 images, 90k iters.
#   mim train mmdet projects/detnas/configs/retinanet_detnas-300m-supernet_fpn_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
_base_ = [
    './_base_/retinanet_detnas-supernet_fpn_syncbn.py', './_base_/coco_detnas-search-split.py',
    './_base_/detnas_iter-90k_sgd.py'
]
imagenet_supernet = 'work_dirs/detnas_supernet-300m_8xb128-300k_imagenet/iter_300000.pth'
model = dict(
    backbone=dict(
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_supernet, prefix='backbone.')))
train_dataloader = dict(batch_size=2, num_workers=2)
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(val_interval=10**9)
val_cfg = None
val_dataloader = None
val_evaluator = None
