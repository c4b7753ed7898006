# ImageNet pretraining of the backbone supernet before a COCO search stage (needs ImageNet). Paper
# Sec. 4.2: "the backbone supernet is pretrained on ImageNet for 10 epochs with fixed architecture
# parameters" (screening) and, for the end-to-end search, "we pretrain the new backbone supernet
# on ImageNet based on the corresponding sub search space". The architecture weights stay at
# their uniform start (lr and decay multipliers 0); every candidate of every position trains.
# The recipe beside the epochs is the found backbone's (hitdet-backbone_8xb128-300e_imagenet.py,
# ours). The search configs then load it (prefix 'backbone.'):
#   mim train mmdet projects/hitdet/configs/hitdet-supernet-backbone_8xb128-10e_imagenet.py \
#       --launcher pytorch --gpus 8 [--cfg-options model.backbone.candidates=<screened_ops.yaml>]
#   ... hitdet_search_faster-rcnn_8xb2-12e_coco.py --cfg-options model.backbone.init_cfg.type=Pretrained \
#       model.backbone.init_cfg.prefix=backbone. model.backbone.init_cfg.checkpoint=<epoch_10.pth>
_base_ = ['./hitdet-backbone_8xb128-300e_imagenet.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='HitDetSuperBackbone',
        candidates='paper',  # 'pool' for the screening's supernet
        out_indices=(22, ),
        norm_cfg=dict(type='BN', requires_grad=True)))
max_epochs = 10
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys=dict(arch_alpha=dict(lr_mult=0., decay_mult=0.))))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.1,
        by_epoch=True,
        begin=0,
        end=1,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=1,
        end=max_epochs,
        T_max=max_epochs - 1,
        eta_min=0.,
        convert_to_iter_based=True)
]
