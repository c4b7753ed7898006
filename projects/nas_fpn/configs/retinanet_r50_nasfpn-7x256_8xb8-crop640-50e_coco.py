# RetinaNet R-50 NAS-FPN 7@256 at 640, mmdet's 50-epoch recipe
# (mmdet configs/nas_fpn/retinanet_r50_nasfpn_crop640-50e_coco.py: 8 GPUs x 8 images, SGD lr
# 0.08, steps at 30/40, RetinaSepBNHead, crop 640 with 0.8-1.2 jitter) with the neck built from
# the published genotype in mmdet's conventions -> exactly the parameters and outputs of mmdet's
# hard-coded NASFPN (tests/nas_fpn/test_fidelity.py).
# Norm is SyncBN (the paper's TPU runs normalise across replicas); *_1xb8-* is the 1-GPU BN form.
_base_ = [
    './_base_/retinanet_r50_nasfpn-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd_50e.py'
]
