# NAS-FCOS R-50 (official R_50_NAS_head, Lausannen/NAS-FCOS @d586b28 configs/search/R_50_NAS_head.yaml):
# FCOS with the searched decoder and the searched head, both built from one genotype file.
# To retrain a search result, give its best_genotype.yaml to both:
#   --cfg-options model.neck.genotype=WORK_DIR/best_genotype.yaml model.bbox_head.genotype=WORK_DIR/best_genotype.yaml
custom_imports = dict(
    imports=['projects', 'projects.nas_fcos.nas_fcos'], allow_failed_imports=False)
genotype = 'projects/nas_fcos/genotypes/nas_fcos_published.yaml'
model = dict(
    type='NASFCOS',
    data_preprocessor=dict(
        # caffe-style BGR input of the MSRA weights (detectron2 means, as mmdet's NAS-FCOS config;
        # official maskrcnn_benchmark defaults.py:58-62: [102.98, 115.95, 122.77], std 1, BGR)
        type='DetDataPreprocessor',
        mean=[103.530, 116.280, 123.675],
        std=[1.0, 1.0, 1.0],
        bgr_to_rgb=False,
        pad_size_divisor=32),  # DATALOADER.SIZE_DIVISIBILITY
    backbone=dict(
        type='ResNet',
        depth=50,
        num_stages=4,
        out_indices=(0, 1, 2, 3),  # C2..C5: the decoder's pool starts with all four
        frozen_stages=1,  # MODEL.BACKBONE.FREEZE_CONV_BODY_AT = 2 (stem + res2)
        norm_cfg=dict(type='BN', requires_grad=False, eps=0),  # FrozenBatchNorm2d (no eps)
        norm_eval=True,
        style='caffe',
        init_cfg=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe')),
    neck=dict(
        type='NASFCOSDecoder',
        genotype=genotype,
        in_channels=[256, 512, 1024, 2048],  # ENCODER_OUT_CHANNELS
        out_channels=256,  # SEARCH.DECODER.AGG_SIZE
        num_outs=5,
        upsample_mode='bilinear',  # official layer_factory.resize
        adapt_unused_inputs=False,  # True adds the official dead C2 adapter (same outputs)
        norm_cfg=dict(type='BN', requires_grad=True),
        deform_groups=2),
    bbox_head=dict(
        type='NASFCOSGenotypeHead',
        genotype=genotype,
        num_classes=80,
        in_channels=256,
        feat_channels=256,
        strides=[8, 16, 32, 64, 128],  # MODEL.RETINANET.ANCHOR_STRIDES
        norm_cfg=dict(type='GN', num_groups=32, requires_grad=True),
        deform_groups=2,
        loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
        loss_bbox=dict(type='IoULoss', loss_weight=1.0),
        loss_centerness=dict(type='CrossEntropyLoss', use_sigmoid=True, loss_weight=1.0)),
    train_cfg=None,
    test_cfg=dict(
        nms_pre=1000,  # RETINANET.PRE_NMS_TOP_N
        min_bbox_size=0,
        score_thr=0.05,  # RETINANET.INFERENCE_TH
        nms=dict(type='nms', iou_threshold=0.6),  # RETINANET.NMS_TH in R_50_NAS_head.yaml
        max_per_img=100))  # TEST.DETECTIONS_PER_IMG
