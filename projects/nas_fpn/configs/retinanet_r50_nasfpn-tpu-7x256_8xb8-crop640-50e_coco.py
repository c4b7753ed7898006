# RetinaNet R-50 NAS-FPN 7@256 at 640 in the paper's own form and recipe (paper Table 1 row
# "NAS-FPN R-50 (7 @ 256), 640": 60.3M params, 39.9 test-dev AP): the paper's neck
# (_base_/retinanet_r50_nasfpn-tpu-7x256.py), 640 crops with scale jitter [0.8, 1.2], 50 epochs.
_base_ = [
    './_base_/retinanet_r50_nasfpn-tpu-7x256.py', './_base_/coco_detection_crop640.py',
    './_base_/schedule_sgd_50e.py'
]
img = 640  # the crop of _base_/coco_detection_crop640.py
