# Toy DetNAS step 1: the supernet ImageNet recipe on the toy classification set (6 shape classes,
# 64 px crops of the toy COCO boxes; `python projects/detnas/tools/make_toy_imagenet.py`), one CPU
# process, about one CPU minute. Same transforms, loss, optimizer rules, linear decay and one path
# per step as the paper config; smaller: 64 px crops (RandomResizedCrop scale (0.35, 1): the shapes
# must stay in view), tiny widths, 600 iterations of batch 16, lr 0.02 (0.2 and 0.05 did not
# learn; 0.003 too slowly), and a shallow toy space: 5 choice blocks ([1, 1, 2, 1], 4^5 = 1,024
# paths) instead of the 300M space's 20 ([4, 4, 8, 4]). In a CPU budget the 20-block supernet
# stays at chance (26.8% top-1, train loss 1.83 after 950 iterations; chance ln 6 = 1.79), so its
# toy search scored noise (projects/detnas/README.md, "Why the toy space has 5 blocks").
# Measured (this config, 2 shared CPU cores, 2026-12-05): val top-1 79.8% (seed 0), 72.2% (seed 1),
# chance 16.7%.
# The toy detection supernet (demo.sh) loads its checkpoint (backbone.*), so keep stage_repeats
# and stage_out_channels equal to toy_repeats / toy_widths of _base_/retinanet_detnas-toy_fpn.py.
_base_ = ['./detnas_supernet-300m_8xb128-300k_imagenet.py']

model = dict(
    backbone=dict(
        stage_repeats=[1, 1, 2, 1],  # the toy space (header)
        stage_out_channels=[16, 32, 64, 128, 256, 256],
        # uniform sampling: the 300M FLOPs bins mean nothing at these widths
        flops_bins=None,
        seed=0),  # the path sampler's own seed: a reproducible toy run
    num_classes=6)

data_root = 'data/toy_imagenet/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='DetNASRandomResizedCrop', scale=64, crop_scale=(0.35, 1.0)),
    dict(type='DetNASColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='DetNASRandomFlip', prob=0.5),
    dict(type='DetNASPackClsInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='DetNASResizeShorter', size=73),  # 64 * 256 / 224, the paper's val ratio
    dict(type='DetNASCenterCrop', size=64),
    dict(type='DetNASPackClsInputs')
]
train_dataloader = dict(
    batch_size=16, num_workers=1, dataset=dict(data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=16,  # val draws a path per batch (official `validate`): 26 paths
    num_workers=1,
    dataset=dict(data_root=data_root, pipeline=test_pipeline))
test_dataloader = val_dataloader

max_iters = 600
train_cfg = dict(max_iters=max_iters, val_interval=max_iters)
optim_wrapper = dict(optimizer=dict(lr=0.02))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.,
        by_epoch=False,
        begin=0,
        end=max_iters + 1)
]
auto_scale_lr = dict(base_batch_size=16)
default_hooks = dict(
    logger=dict(interval=20), checkpoint=dict(interval=max_iters, max_keep_ckpts=1))
log_processor = dict(window_size=20)
randomness = dict(seed=0)
