# Retrain a DetNAS architecture on the toy set (the last step of the toy cycle): RetinaNet with
# a fixed backbone built from a genotype file alone, at toy widths, trained from scratch (the
# paper retrains the found path rather than inheriting supernet weights). Default: the published
# DetNAS-COCO-RetinaNet-300M path; demo.sh passes the search result unchanged:
#   --cfg-options model.backbone.genotype=WORK/search/best_genotype.yaml
# The search's best_subnet.pth (the path's supernet weights) loads into this model, with the
# supernet's channel split (the official supernet's channel_shuffle1; retrains use the released
# networks' channel_shuffle2):
#   mim test mmdet <this config> --checkpoint WORK/search/best_subnet.pth --cfg-options \
#       model.backbone.genotype=WORK/search/best_genotype.yaml model.backbone.channel_shuffle=1
_base_ = ['./_base_/retinanet_detnas-toy_fpn.py']
model = dict(
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNetFixed',
        genotype='detnas_coco_retinanet_300m',
        stage_out_channels={{_base_.toy_widths}},
        out_indices=(1, 2, 3),
        norm_cfg={{_base_.norm_cfg}}))
custom_hooks = []
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
max_epochs = 12
train_cfg = dict(max_epochs=max_epochs, val_interval=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min_ratio=0.05)
]
