# ImageNet (re)training of a fixed DetNAS architecture: the paper retrains the searched backbone
# on ImageNet, then fine-tunes it on COCO (paper Sec. 3.1, step 3; official README). Same recipe
# as the supernet (megvii-model/DetNAS `Supernet-ImageNet/train.py`: batch 1024, 300k iterations,
# SGD lr 0.5 linear decay, wd 4e-5 on conv/linear weights, label smoothing 0.1). The genotype
# defaults to the published DetNAS-COCO-FPN-300M; a search's result drops in with
#   --cfg-options model.backbone.genotype=<search work_dir>/best_genotype.yaml
_base_ = ['./detnas_supernet-300m_8xb128-300k_imagenet.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNetFixed',
        genotype='detnas_coco_fpn_300m',
        out_indices=(3, ),
        norm_cfg=dict(type='BN')))
# A fixed network: no path to draw, every parameter is used.
custom_hooks = []
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
