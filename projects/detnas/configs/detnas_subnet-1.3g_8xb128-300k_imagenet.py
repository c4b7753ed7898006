# ImageNet training of the published DetNAS-COCO-FPN-1.3G backbone (the recipe of
# detnas_subnet_8xb128-300k_imagenet.py); its COCO retrain config reads
# work_dirs/detnas_subnet-1.3g_8xb128-300k_imagenet/iter_300000.pth.
#   mim train mmdet projects/detnas/configs/detnas_subnet-1.3g_8xb128-300k_imagenet.py --launcher pytorch --gpus 8
_base_ = ['./detnas_subnet_8xb128-300k_imagenet.py']
model = dict(backbone=dict(genotype='detnas_coco_fpn_1_3g'))
