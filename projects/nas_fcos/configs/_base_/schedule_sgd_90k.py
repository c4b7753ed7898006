# The official NAS-FCOS retrain solver (Lausannen/NAS-FCOS @d586b28 configs/search/R_50_NAS_head.yaml:42-48,
# maskrcnn_benchmark/config/defaults.py:450-466, solver/build.py:7-20): SGD, 16 images per
# iteration, lr 0.01, momentum 0.9, weight decay 1e-4; every parameter whose name contains "bias"
# at 2x lr and no weight decay; linear warm-up from lr/3 over 500 iterations; 90k iterations,
# lr x0.1 at 60k and 80k; a checkpoint every 2500 iterations.
_base_ = ['mmdet::_base_/default_runtime.py']
max_iters = 90000
lr_steps = [60000, 80000]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, weight_decay=0.0001),
    paramwise_cfg=dict(custom_keys={'bias': dict(lr_mult=2.0, decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR', begin=0, end=max_iters, by_epoch=False, milestones=lr_steps, gamma=0.1)
]
# the official total batch (4 GPUs x 4 images); `--auto-scale-lr` rescales lr for other batches
auto_scale_lr = dict(enable=False, base_batch_size=16)
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=2500, max_keep_ckpts=3))
log_processor = dict(by_epoch=False)
