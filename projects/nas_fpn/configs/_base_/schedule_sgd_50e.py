# The 50-epoch schedule of the paper (Sec. 4.1) as mmdet's NAS-FPN recipe has it (mmdet
# configs/nas_fpn/retinanet_r50_fpn_crop640-50e_coco.py): SGD lr 0.08 for 64 images (8 GPUs x 8),
# momentum 0.9, linear warm-up over 1000 iterations, lr x0.1 at epochs 30 and 40. Weight decay:
# the paper's value could not be verified; mmdet's 1e-4 is kept, not on norm layers. mmdet's default runtime.
_base_ = ['mmdet::_base_/schedules/schedule_1x.py', 'mmdet::_base_/default_runtime.py']
max_epochs = 50
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=1000),
    dict(
        type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[30, 40], gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(norm_decay_mult=0, bypass_duplicate=True))
env_cfg = dict(cudnn_benchmark=True)
# lr 0.08 is for 8 GPUs x 8 images; `--auto-scale-lr` rescales it for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=64)
