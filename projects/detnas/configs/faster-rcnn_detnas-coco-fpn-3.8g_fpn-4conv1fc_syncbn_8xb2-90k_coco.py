# Retrain DetNAS-COCO-FPN-3.8G (paper: 42.0 AP), same protocol (megvii-model/DetNAS
# configs/e2e_faster_rcnn_DETNAS_COCO_FPN_3d8G_1x.yaml).
#   mim train mmdet projects/detnas/configs/faster-rcnn_detnas-coco-fpn-3.8g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py \
#       --launcher pytorch --gpus 8
_base_ = ['./faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py']
imagenet_subnet = 'work_dirs/detnas_subnet-3.8g_8xb128-300k_imagenet/iter_300000.pth'
model = dict(
    backbone=dict(
        genotype='detnas_coco_fpn_3_8g',
        init_cfg=dict(type='Pretrained', checkpoint=imagenet_subnet, prefix='backbone.')),
    neck=dict(in_channels=[172, 432, 864, 1728]))
