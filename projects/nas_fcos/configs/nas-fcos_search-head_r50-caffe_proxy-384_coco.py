# NAS-FCOS search on COCO, phase 2: head ops and share level on the decoder of phase 1
# (nas-fcos_search-decoder_r50-caffe_fcos-head_proxy-384_coco.py inherits these settings).
# The paper's fast proxy ("skipping the backbone finetuning stage"; official code: stored
# features_<backbone>_<res>/<img_id>.pth, a backbone-free forward): the ImageNet R-50 (caffe,
# frozen) runs once over the proxy's train and search images at 384x384 (the official collate
# hard-codes the FCOS point counts of 384 inputs) and stores C2-C5 in float16 (~8.8 MB per image,
# ~88 GB for the 10k images below); each proposal trains decoder + head on the stored features;
# reward = -(loss_cls + loss_bbox + loss_centerness) on the stored search split.
# Not published, ours (README "Deviations"): the splits (8,000 proxy-training images and 2,000
# held-out images of train2017, 80/20; nas-segm holds out 10%), the proxy schedule (2,000 iterations of
# 16 images, SGD lr 0.01 as the FCOS recipe), 8 proposals per PPO update (one per GPU) and the
# budget (decoder 250 x 8 = 2,000, head 125 x 8 = 1,000: the paper's "over 3,000 architectures").
#   python tools/make_search_split.py data/coco/annotations/instances_train2017.json \
#       --num-search 2000 --tag nasfcos
#   python tools/make_search_split.py data/coco/annotations/instances_train2017_nasfcos-train.json \
#       --num-search 8000 --tag proxy
#   mim train mmdet projects/nas_fcos/configs/nas-fcos_search-decoder_r50-caffe_fcos-head_proxy-384_coco.py \
#       --launcher pytorch --gpus 8
#   mim train mmdet projects/nas_fcos/configs/nas-fcos_search-head_r50-caffe_proxy-384_coco.py \
#       --launcher pytorch --gpus 8 --cfg-options \
#       train_cfg.decoder=work_dirs/nas-fcos_search-decoder_r50-caffe_fcos-head_proxy-384_coco/best_genotype.yaml
_base_ = [
    './_base_/nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head.py', './_base_/coco_detection_4xb4.py',
    'mmdet::_base_/default_runtime.py'
]
data_root = 'data/coco/'
proxy_size = (384, 384)
proxy_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='Resize', scale=proxy_size, keep_ratio=True),
    dict(type='Pad', size=proxy_size),  # one feature size for every stored image
    dict(type='PackDetInputs')
]
train_dataloader = dict(
    batch_size=16,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        ann_file='annotations/instances_train2017_nasfcos-train_proxy-search.json',
        data_prefix=dict(img='train2017/'),
        pipeline=proxy_pipeline))
search_dataloader = dict(
    batch_size=16,
    num_workers=2,
    persistent_workers=False,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type='CocoDataset',
        data_root=data_root,
        ann_file='annotations/instances_train2017_nasfcos-search.json',
        data_prefix=dict(img='train2017/'),
        pipeline=proxy_pipeline))
phase1_best = ('work_dirs/nas-fcos_search-decoder_r50-caffe_fcos-head_proxy-384_coco/'
               'best_genotype.yaml')
train_cfg = dict(
    type='NASFCOSSearchLoop',
    phase='head',
    decoder=phase1_best,
    objective=dict(
        type='NASFCOSProxyObjective',
        feature_dir='data/coco/nas_fcos_features/r50-caffe_384',
        backbone_init=dict(type='Pretrained', checkpoint='open-mmlab://detectron2/resnet50_caffe'),
        max_iters=2000,
        batch_size=16,
        optim_wrapper=dict(
            type='OptimWrapper',
            optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=1e-4),
            clip_grad=dict(max_norm=35, norm_type=2)),
        warmup_iters=200,
        log_interval=100,
        max_gb=100.),
    num_steps=125,
    samples_per_step=8,
    score_key='proxy/neg_loss',
    controller=dict(hidden_size=100, num_layers=2),
    ppo=dict(lr=1e-4, clip=0.1, epochs=1, entropy_weight=0.0, baseline_decay=0.95, grad_clip=2.0),
    seed=0)
# the search never touches val2017
val_cfg = None
val_dataloader = None
val_evaluator = None
test_cfg = None
test_dataloader = None
test_evaluator = None
param_scheduler = None
optim_wrapper = dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01, momentum=0.9))
