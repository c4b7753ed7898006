# Retrain DetNAS-COCO-FPN-1.3G (paper: 40.0 AP; official re-implementation 40.3), same protocol
# as the 300M model (megvii-model/DetNAS configs/e2e_faster_rcnn_DETNAS_COCO_FPN_1d3G_1x.yaml).
#   mim train mmdet projects/detnas/configs/faster-rcnn_detnas-coco-fpn-1.3g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
_base_ = ['./faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py']
imagenet_subnet = 'work_dirs/detnas_subnet-1.3g_8xb128-300k_imagenet/iter_300000.pth'
model = dict(
    backbone=dict(
        genotype='detnas_coco_fpn_1_3g',
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_subnet, prefix='backbone.')),
    neck=dict(in_channels=[96, 240, 480, 960]))
