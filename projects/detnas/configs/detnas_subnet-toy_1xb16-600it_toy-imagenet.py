# Toy DetNAS step 4a: the found path retrained on the toy ImageNet set before its COCO fine-tune,
# as the paper retrains the searched backbone on ImageNet (Sec. 3.1, step 3) with the supernet's
# recipe (detnas_subnet_8xb128-300k_imagenet.py). The toy supernet recipe
# (detnas_supernet-toy_1xb16-600it_toy-imagenet.py: 64 px crops, 600 iterations of 16, lr 0.02,
# raw BGR 0-255 input as the official code) with one fixed path at the toy detection widths.
# Default: the published DetNAS-COCO-RetinaNet-300M path; demo.sh passes the search's result:
#   --cfg-options model.backbone.genotype=WORK/search/best_genotype.yaml
# The toy detection retrain (retinanet_detnas-toy_fpn_1xb8-12e_toy.py) starts from its
# checkpoint: model.backbone.init_cfg=dict(type='Pretrained', prefix='backbone.', checkpoint=...).
_base_ = ['./detnas_supernet-toy_1xb16-600it_toy-imagenet.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNetFixed',
        genotype='detnas_coco_retinanet_300m',
        stage_out_channels=[16, 32, 64, 128, 256, 256],
        out_indices=(3, ),
        norm_cfg=dict(type='BN')))
# A fixed network: no path to draw, every parameter is used.
custom_hooks = []
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
