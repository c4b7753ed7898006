# DetNAS step 2 on the toy set (tests, demo.sh): fine-tune the toy supernet as RetinaNet, one
# path per iteration (DetNASPathHook), 16 epochs (640 iterations). demo.sh starts the backbone
# from the toy ImageNet supernet:
#   --cfg-options model.backbone.init_cfg.type=Pretrained model.backbone.init_cfg.prefix=backbone. \
#       model.backbone.init_cfg.checkpoint=WORK/imagenet/iter_N.pth
_base_ = ['./_base_/retinanet_detnas-toy_fpn.py']
# the 5-block toy space's 24 search candidates scored, by supernet epochs (seed 0 /
# the supernets of seed 1; Spearman of the first generation's 8 paths between the two), 2026-12-05:
#   6: 0.4-1.5% AP;  12: 4.1-7.2 / 2.3-4.2% (0.33);  16: 6.3-11.0 / 5.2-8.2% (0.76);
#   24: 20.9-26.3 / 12.7-17.1% (0.60).
# 16 ranks about as consistently as 24 (both loosely: 8 paths) in two thirds of the time, which
# keeps `make demo` under 40 minutes.
max_epochs = 16
train_cfg = dict(max_epochs=max_epochs, val_interval=100)
val_cfg = None
val_dataloader = None
val_evaluator = None
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
default_hooks = dict(checkpoint=dict(interval=max_epochs, max_keep_ckpts=1))
