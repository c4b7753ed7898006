# SpineNet-49S RetinaNet at 640x640, the TPU model zoo's 350-epoch recipe (relu, no
# stochastic depth; paper protocol B), scale jitter [0.5, 2.0].
# Endpoints 128 as tpu SCALING_MAP/yaml; the paper's 12.0M/33.8B count matches a 256-wide
# endpoint variant (see README "Paper vs ours").
_base_ = ['./_base_/coco_lsj_sgd_350e.py', './_base_/spinenet_scaling.py']

image_size = (640, 640)
scale_range = (0.5, 2.0)
model = dict(backbone={{_base_.spinenet_49S}}, bbox_head={{_base_.head_49S}})
