# ImageNet pretraining of the found Hit-Detector backbone (needs ImageNet: data/imagenet/{train,val}/
# <class>/<image>, not on this machine). The paper pretrains the searched backbone on ImageNet
# ("300 epochs"; the official COCO config loads ./ImageNet-pretrained/fbhit_7747.pth); the official
# repository has no ImageNet code. The head is global average pooling -> dropout 0.2
# (fbnet_arch.py:59, dropout_ratio) -> FC 2048 -> 1000. Everything else is OURS (a common
# MobileNet-style recipe, not from the paper): batch 1024 (8 GPUs x 128), SGD momentum 0.9,
# lr 0.4 with 5 warm-up epochs then cosine to 0, weight decay 4e-5 without decay on norms and
# biases, label smoothing 0.1, RandomResizedCrop 224 + flip / resize 256 + centre crop 224.
#   mim train mmdet projects/hitdet/configs/hitdet-backbone_8xb128-300e_imagenet.py \
#       --launcher pytorch --gpus 8
# The detector then loads work_dirs/hitdet-backbone_8xb128-300e_imagenet/epoch_300.pth with
#   init_cfg=dict(type='Pretrained', checkpoint=..., prefix='backbone.')
# A searched backbone: --cfg-options model.backbone.genotype=<best_genotype.yaml>
_base_ = ['mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['projects', 'projects.hitdet.hitdet'], allow_failed_imports=False)
default_scope = 'mmdet'
genotype = 'projects/hitdet/genotypes/hitdet_released.yaml'

model = dict(
    type='HitDetImageNetClassifier',
    backbone=dict(
        type='HitDetBackbone',
        genotype=genotype,
        out_indices=(22, ),
        norm_cfg=dict(type='BN', requires_grad=True)),
    num_classes=1000,
    dropout=0.2,
    label_smoothing=0.1,
    data_preprocessor=dict(
        type='ImgDataPreprocessor',
        mean=[123.675, 116.28, 103.53],
        std=[58.395, 57.12, 57.375],
        bgr_to_rgb=True))

dataset_type = 'HitDetImageFolder'
data_root = 'data/imagenet/'
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='HitDetRandomResizedCrop', scale=224, flip_prob=0.5),
    dict(type='HitDetPackClsInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='HitDetResizeCenterCrop', resize=256, crop=224),
    dict(type='HitDetPackClsInputs')
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='val'),
        test_mode=True,
        pipeline=test_pipeline))
test_dataloader = val_dataloader
val_evaluator = dict(type='HitDetTopKAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

max_epochs = 300
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.4, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=5,
        end=max_epochs,
        T_max=max_epochs - 5,
        eta_min=0.,
        convert_to_iter_based=True)
]
auto_scale_lr = dict(enable=False, base_batch_size=1024)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(type='CheckpointHook', interval=5, max_keep_ckpts=3))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=False)
