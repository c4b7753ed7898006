# DetNAS step 1 (paper Sec. 3.1): ImageNet pretraining of the 300M supernet (20 blocks), the
# official recipe of megvii-model/DetNAS `Supernet-ImageNet/train.py` + `detnasnet.py`:
# batch 1024 (8 GPUs x 128), 300k iterations, SGD lr 0.5 momentum 0.9, weight decay 4e-5 on
# conv/linear weights only (`get_parameters`), lr = 0.5 * (1 - iter / 300k) per iteration,
# cross entropy with label smoothing 0.1, one path per step drawn by the FLOPs-bin sampler
# (`get_uniform_sample_cand`, bins 290-360 MFLOPs step 10), BGR 0-255 inputs without
# normalisation (`ToBGRTensor`).
#   mim train mmdet projects/detnas/configs/detnas_supernet-300m_8xb128-300k_imagenet.py \
#       --launcher pytorch --gpus 8
# The detection stage loads the result as backbone init:
#   init_cfg=dict(type='Pretrained', checkpoint=<work_dir>/iter_300000.pth, prefix='backbone.')
_base_ = ['mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['projects', 'projects.detnas.detnas'], allow_failed_imports=False)
default_scope = 'mmdet'

# --- model ---------------------------------------------------------------------------------------
# Plain BN, not SyncBN: the official ImageNet supernet ran with nn.DataParallel (BN statistics per
# GPU chunk of 128 images), which per-GPU BN under DDP reproduces.
model = dict(
    type='DetNASImageNetClassifier',
    backbone=dict(
        type='DetNASShuffleNet',
        stage_repeats=[4, 4, 8, 4],
        stage_out_channels=[16, 64, 160, 320, 640, 1024],
        out_indices=(3, ),
        norm_cfg=dict(type='BN'),
        flops_bins=(290, 360, 10)),
    num_classes=1000,
    dropout=0.2,
    label_smoothing=0.1,
    data_preprocessor=dict(
        type='ImgDataPreprocessor', mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False))

# --- data ----------------------------------------------------------------------------------------
dataset_type = 'ImageNetFolder'
data_root = 'data/imagenet/'
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='DetNASRandomResizedCrop', scale=224, crop_scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3)),
    dict(type='DetNASColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(type='DetNASRandomFlip', prob=0.5),
    dict(type='DetNASPackClsInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='DetNASResizeShorter', size=256),
    dict(type='DetNASCenterCrop', size=224),
    dict(type='DetNASPackClsInputs')
]
train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
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
val_evaluator = dict(type='TopKAccuracy', topk=(1, 5))
test_evaluator = val_evaluator

# --- schedule ------------------------------------------------------------------------------------
max_iters = 300000
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
# Weight decay on conv/linear weights only (official `get_parameters`: no decay on biases and BN).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.5, momentum=0.9, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0., bias_decay_mult=0.))
# Official: LambdaLR(lambda step: 1 - step / total_iters), stepped per iteration. mmengine's
# LinearLR accepts end_factor=0 and reaches it after `end - begin - 1` steps, so end=max_iters + 1
# gives exactly lr = 0.5 * (1 - iter / 300000).
param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=1.0,
        end_factor=0.,
        by_epoch=False,
        begin=0,
        end=max_iters + 1)
]
# The paper's batch: 8 GPUs x 128. `--auto-scale-lr` scales lr linearly for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=1024)

# --- runtime -------------------------------------------------------------------------------------
# One path per step on every GPU: the official run was a single process (nn.DataParallel) drawing
# one path per step; under DDP, DetNASPathHook draws it on rank 0 and broadcasts it. Off-path
# blocks are unused, hence find_unused_parameters.
custom_hooks = [dict(type='DetNASPathHook')]
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=100),
    checkpoint=dict(
        type='CheckpointHook',
        by_epoch=False,
        interval=10000,
        max_keep_ckpts=3,
        save_best='accuracy/top1',
        rule='greater'))
log_processor = dict(type='LogProcessor', window_size=100, by_epoch=False)
