# The TPU reference recipe for training from scratch, 350 epochs (tensorflow/tpu
# models/official/detection/MODEL_ZOO.md, "RetinaNet (Trained from scratch)": batch 256, step LR
# decayed at the last 30 and 10 epochs, i.e. x0.1 at 320 and 340). Not in the zoo text (the
# 'config' link is empty), taken from the SpineNet-49 RetinaNet from-scratch recipe of the same
# codebase (configs/spinenet/spinenet49_retinanet.yaml, rev. ff414a9; SpineNet paper Sec. 4.1):
# lr 0.28 for batch 256, linear warm-up over 2000 steps from warmup_learning_rate 0.0067, l2
# weight decay 4e-5 on conv kernels only (base_config.py REGULARIZATION_VAR_REGEX
# '.*(kernel|weight):0$'), gradient_clip_norm 10.0; validation every 10 epochs.
_base_ = ['./schedule_sgd_50e.py']
max_epochs = 350
train_cfg = dict(max_epochs=max_epochs, val_interval=10)
lr = 0.28
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0067 / lr, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        begin=0,
        end=max_epochs,
        by_epoch=True,
        milestones=[320, 340],
        gamma=0.1)
]
optim_wrapper = dict(
    optimizer=dict(lr=lr, weight_decay=4e-5),
    paramwise_cfg=dict(norm_decay_mult=0, bias_decay_mult=0),
    clip_grad=dict(max_norm=10.0, norm_type=2))
# lr 0.28 is for 8 GPUs x 32 images; `--auto-scale-lr` rescales it for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=256)
