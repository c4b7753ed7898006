# The NAS-FPN search on COCO with the paper's proxy task (paper Sec. 3.2; Vertex NAS
# nasfpn_search_tpu.yaml): RetinaNet, ResNet-10 from scratch, 512x512, 10 epochs
# (lr 0.08 decayed x0.1 at epoch 8, 1 warm-up epoch, batch 64), pyramid repeated 3 times
# (3@256), reward = bbox AP on images held out of train2017. First split the annotations:
#   python tools/make_search_split.py data/coco/annotations/instances_train2017.json \
#       --num-search 7392 --tag nasfpn
# then search; each GPU trains its own candidates (one candidate per GPU, batch 64):
#   mim train mmdet projects/nas_fpn/configs/nasfpn_search_r10_nasfpn-3x256_1xb64-512-10e_coco.py \
#       --launcher pytorch --gpus 8
# Budget = the paper's: 12,000 controller steps x 2 samples = 24,000 sampled architectures.
# Source: paper (arXiv 1904.07392) Figure 5, read from the image of the figure (CallMeDek/Blog
# Paper_review/Figure/NAS-FPN_..._Object_Detection6.png, commit 1ef9372): the x axes end at 12,000 steps and
# "total architectures sampled" rises linearly to 24,000 (hence 2 samples per step, read off the
# slope, not stated in the text); "total unique architectures sampled" levels off at about
# 16,800 from about step 9,000; the reward (left) levels off at about 17 AP after about step
# 8,000, and the best architecture was first sampled at about step 8,000 (the paper's text in
# "Architecture Search for NAS-FPN", as paraphrased by the review CallMeDek/Blog
# Paper_review/NAS-FPN_..._Object_Detection.md; the English text was not available). To stop
# where the curve levelled off instead, add --cfg-options train_cfg.num_steps=8000 (16,000
# samples); num_steps may also grow on --resume. Box loss, anchors and BN momentum/eps as the
# TPU RetinaNet (_base_/retinanet_r50_nasfpn-tpu-7x256.py, tensorflow/tpu rev. 7dc921f); BN is
# per GPU here (one candidate per GPU).
_base_ = [
    'mmdet::_base_/models/retinanet_r50_fpn.py', 'mmdet::_base_/datasets/coco_detection.py',
    'mmdet::_base_/default_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.nas_fpn.nas_fpn'], allow_failed_imports=False)
img = 512
# TPU configs/base_config.py batch_norm_activation (rev. 7dc921f): momentum 0.997, eps 1e-4
norm_cfg = dict(type='BN', requires_grad=True, momentum=0.003, eps=1e-4)
model = dict(
    data_preprocessor=dict(
        pad_size_divisor=128, batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]),
    backbone=dict(
        _delete_=True,
        type='ProxyResNet',
        depth=10,
        num_stages=4,
        out_indices=(1, 2, 3),
        frozen_stages=-1,
        norm_cfg=norm_cfg,
        norm_eval=False,
        style='pytorch',
        init_cfg=None),
    neck=dict(
        _delete_=True,
        type='GenotypeNASFPN',
        genotype='projects/nas_fpn/genotypes/nasfpn_7cell.yaml',  # replaced by each sample
        in_channels=[128, 256, 512],
        out_channels=256,
        num_outs=5,
        stack_times=3,
        start_level=0,
        norm_cfg=norm_cfg,
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        lateral_conv='if_width_differs',
        extra_level_conv=False),
    bbox_head=dict(
        type='RetinaSepBNHeadTPU',  # predictors at N(0, 1e-5), tpu heads.py RetinanetHead
        num_ins=5,
        norm_cfg=norm_cfg,
        anchor_generator=dict(center_offset=0.5),  # TPU anchor.py: stride/2 + k*stride
        loss_cls=dict(gamma=1.5),
        # TPU huber delta 0.1 x box_loss_weight 50 / (4 num_pos) (_base_/..-tpu-7x256.py)
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=0.1, loss_weight=1.25)),
    train_cfg=dict(assigner=dict(neg_iou_thr=0.5)))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(img, img)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(img, img), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
data_root = 'data/coco/'
train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    dataset=dict(
        ann_file='annotations/instances_train2017_nasfpn-train.json', pipeline=train_pipeline))
search_dataloader = dict(
    batch_size=8,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017_nasfpn-search.json',
        data_prefix=dict(img='train2017/'),
        test_mode=True,
        pipeline=test_pipeline,
        backend_args=backend_args))
search_evaluator = dict(
    type='CocoMetric',
    ann_file=data_root + 'annotations/instances_train2017_nasfpn-search.json',
    metric='bbox',
    format_only=False,
    backend_args=backend_args)
iters_per_epoch = (118287 - 7392) // 64  # train2017 minus the held-out images, batch 64
train_cfg = dict(
    type='NASFPNSearchLoop',
    objective=dict(
        type='NASFPNProxyObjective',
        max_iters=10 * iters_per_epoch,
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4),
            # the RetinaSepBN head shares its convs over the levels (mmdet's NAS-FPN: the same)
            paramwise_cfg=dict(norm_decay_mult=0, bypass_duplicate=True)),
        warmup_iters=iters_per_epoch,
        lr_decay_at=0.8,
        cost_input=(img, img)),
    num_steps=12000,  # paper Fig. 5: 12k steps, 24k sampled architectures
    samples_per_step=2,
    score_key='coco/bbox_mAP',
    num_cells=7,
    intermediate_levels=(4, 5, 6, 7),
    controller=dict(hidden_size=64),
    ppo=dict(lr=5e-3, clip=0.2, epochs=4, entropy_weight=0.05, baseline_decay=0.9),
    seed=0)
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.08, momentum=0.9))
param_scheduler = None
