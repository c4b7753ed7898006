# SpineNet-49 RetinaNet at 640x640, the paper's best recipe (protocol C, Sec. 5.1):
# swish, stochastic depth 0.2 (tpu configs/spinenet/spinenet49_retinanet.yaml
# `init_drop_connect_rate: 0.2`), 500 epochs, scale jitter [0.5, 2.0].
_base_ = ['./_base_/coco_lsj_sgd_500e.py', './_base_/spinenet_scaling.py']

image_size = (640, 640)
scale_range = (0.5, 2.0)
model = dict(backbone={{_base_.spinenet_49}}, bbox_head={{_base_.head_49}})
