# RetinaNet with a SpineNet backbone (no FPN: SpineNet's P3-P7 endpoints feed the head directly,
# tpu configs `multilevel_features: 'identity'`). Head, anchors, matching and losses follow the
# TF detection code the paper used (tensorflow/tpu models/official/detection):
#   - head: shared 3x3 convs with per-level BN (heads.py RetinanetHead), 4 x 256 by default;
#   - anchors: 3 scales x 3 ratios per location on P3-P7, anchor_size 3 -> octave_base_scale 3;
#   - matching: IoU >= 0.5 positive, < 0.5 negative (retinanet_parser match/unmatched_threshold);
#   - loss: focal alpha 0.25 gamma 1.5; Huber delta 0.1 x 50 / (4 * num_pos) (retinanet_loss,
#     losses.py _box_loss) == mmdet SmoothL1Loss(beta=0.1) with weight 50 * 0.1 / 4 = 1.25.
# Sizes override `backbone` and `bbox_head` from spinenet_scaling.py. The recipes that inherit this
# set `custom_imports=dict(imports=['projects.spinenet.spinenet'], ...)`.
#   - anchors centred at stride/2 + k * stride (dataloader/anchor.py `tf.range(stride / 2, ...)`):
#     mmdet's `center_offset=0.5` (its default 0 puts them at k * stride, 64 px off at P7);
#   - init: convs TF variance scaling (backbone, tf_init.py), head N(0, 0.01), predictors
#     N(0, 1e-5) (head.py).
# SyncBN momentum 0.997 and eps 1e-4: tensorflow/tpu @7dc921f models/official/detection/configs/
# base_config.py `batch_norm_activation` (no SpineNet yaml overrides them; the first release,
# ff414a9, set the same 0.997 in the yamls), PyTorch momentum = 1 - 0.997. The paper's text
# (Sec. 5.1) says 0.99; the published APs were trained with the code's 0.997.
norm_cfg = dict(type='SyncBN', momentum=0.003, eps=1e-4)
model = dict(
    type='RetinaNet',
    data_preprocessor=dict(
        type='DetDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True,
        pad_size_divisor=128),
    backbone=dict(
        type='SpineNet',
        genotype='projects/spinenet/genotypes/spinenet49.yaml',
        filter_size_scale=1.0,
        endpoints_num_filters=256,
        resample_alpha=0.5,
        block_repeats=1,
        min_level=3,
        max_level=7,
        drop_path_rate=0.,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU')),
    neck=None,
    bbox_head=dict(
        type='RetinaHeadLevelBN',
        num_classes=80,
        in_channels=256,
        feat_channels=256,
        stacked_convs=4,
        num_levels=5,
        norm_cfg=norm_cfg,
        act_cfg=dict(type='ReLU'),
        anchor_generator=dict(
            type='AnchorGenerator',
            octave_base_scale=3,
            scales_per_octave=3,
            ratios=[0.5, 1.0, 2.0],
            strides=[8, 16, 32, 64, 128],
            center_offset=0.5),
        bbox_coder=dict(
            type='DeltaXYWHBBoxCoder',
            target_means=[.0, .0, .0, .0],
            target_stds=[1.0, 1.0, 1.0, 1.0]),
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=1.5, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='SmoothL1Loss', beta=0.1, loss_weight=1.25)),
    train_cfg=dict(
        assigner=dict(
            type='MaxIoUAssigner',
            pos_iou_thr=0.5,
            neg_iou_thr=0.5,
            min_pos_iou=0,
            ignore_iof_thr=-1),
        sampler=dict(type='PseudoSampler'),
        allowed_border=-1,
        pos_weight=-1,
        debug=False),
    test_cfg=dict(
        nms_pre=1000,
        min_bbox_size=0,
        score_thr=0.05,
        nms=dict(type='nms', iou_threshold=0.5),
        max_per_img=100))
