# The DetNAS RetinaNet shrunk for CPU runs on the toy set (the toy cycle of tests and demo.sh):
# the toy ImageNet supernet's space (5 blocks, [1, 1, 2, 1], instead of the 300M space's 20; see
# detnas_supernet-toy_1xb16-600it_toy-imagenet.py) at its toy widths, C3-C5 into FPN at 64
# channels, the suite's toy RetinaNet head and optimiser
# (configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py: 2 stacked convs, 16-25 px anchors on P3,
# AdamW), BN instead of SyncBN.
_base_ = [
    './retinanet_detnas-supernet_fpn_syncbn.py', '../../../../configs/_base_/toy_coco_detection.py',
    '../../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.detnas.detnas'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
toy_repeats = [1, 1, 2, 1]  # blocks per stage
toy_widths = [16, 32, 64, 128, 256, 256]  # stem, C2-C5, ImageNet last conv
model = dict(
    backbone=dict(
        stage_repeats=toy_repeats,
        stage_out_channels=toy_widths,
        out_indices=(1, 2, 3),
        norm_cfg=norm_cfg),
    neck=dict(in_channels=toy_widths[2:5], out_channels=64, start_level=0),
    bbox_head=dict(
        num_classes=6,
        in_channels=64,
        stacked_convs=2,
        feat_channels=64,
        anchor_generator=dict(octave_base_scale=2)))
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
auto_scale_lr = dict(enable=False, base_batch_size=8)
