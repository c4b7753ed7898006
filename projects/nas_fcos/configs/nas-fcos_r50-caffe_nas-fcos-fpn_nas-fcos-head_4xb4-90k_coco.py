# NAS-FCOS R-50, searched decoder + searched head (official R_50_NAS_head: 39.5 minival / 39.8
# test-dev, Lausannen/NAS-FCOS README), official retrain protocol: 4 GPUs x 4 images, 90k iterations,
# lr 0.01 at steps 60k/80k, 800x1333 single scale.
_base_ = [
    './_base_/nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head.py', './_base_/coco_detection_4xb4.py',
    './_base_/schedule_sgd_90k.py'
]
