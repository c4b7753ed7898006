# Toy retrain: NAS-FCOS (decoder + head from one genotype file) on the suite's toy set, CPU minutes.
# The suite's toy recipe (configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py: ResNet-18 at width 16
# from scratch, 160 px, 12 epochs, AdamW) with FCOS, the NAS-FCOS decoder and head at 64 channels.
# The default genotype is the published one; a search's best_genotype.yaml replaces it unchanged:
#   --cfg-options model.neck.genotype=WORK_DIR/best_genotype.yaml \
#                 model.bbox_head.genotype=WORK_DIR/best_genotype.yaml
_base_ = ['../../../configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py']
custom_imports = dict(
    imports=['projects', 'projects.nas_fcos.nas_fcos'], allow_failed_imports=False)
genotype = 'projects/nas_fcos/genotypes/nas_fcos_published.yaml'
model = dict(
    _delete_=True,
    type='NASFCOS',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=32),
    backbone=dict(
        type='ResNet',
        depth=18,
        base_channels=16,
        stem_channels=16,
        num_stages=4,
        out_indices=(0, 1, 2, 3),  # C2..C5 (16, 32, 64, 128 channels)
        frozen_stages=-1,
        norm_cfg=dict(type='BN', requires_grad=True),
        norm_eval=False,
        style='pytorch'),
    neck=dict(
        type='NASFCOSDecoder',
        genotype=genotype,
        in_channels=[16, 32, 64, 128],
        out_channels=64,
        num_outs=5,
        upsample_mode='bilinear',
        adapt_unused_inputs=False,
        norm_cfg=dict(type='BN', requires_grad=True),
        deform_impl='torch'),  # DCNv2 in torch ops: same numbers, ~4x faster on CPU
    bbox_head=dict(
        type='NASFCOSGenotypeHead',
        genotype=genotype,
        num_classes=6,
        in_channels=64,
        feat_channels=64,
        strides=[8, 16, 32, 64, 128],
        norm_cfg=dict(type='GN', num_groups=16, requires_grad=True),
        deform_impl='torch',
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.6),
        max_per_img=100))
