# The official schedule (configs/nas_trinity/2stage_hitdet.py:167-187): SGD lr 0.02, momentum 0.9,
# weight decay 1e-4, gradient clipping at norm 35, linear warm-up over 800 iterations from 0.1 x lr,
# x0.1 after epochs 8 and 11, 12 epochs, for 8 GPUs x 2 images. (The paper: lr 0.04 with 4 images
# per GPU, the same linear-scaling ratio.)
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=800),
    dict(type='MultiStepLR', begin=0, end=max_epochs, by_epoch=True, milestones=[8, 11], gamma=0.1)
]
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=0.0001),
    clip_grad=dict(max_norm=35, norm_type=2))
# 8 GPUs x 2 images; `--auto-scale-lr` rescales lr linearly for another total batch.
auto_scale_lr = dict(enable=False, base_batch_size=16)
