# The suite's toy recipe (CPU, minutes): 12 epochs, AdamW 2e-3 with weight decay 0.05, gradient
# clip at norm 10, 50 iterations of linear warm-up, then cosine to 5% by the last epoch; one batch
# of 8 images (no lr scaling). Every toy detector of `make demo` trains with it, so their rows
# compare (configs/toy/, the projects' *_toy.py retrain configs).
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=0.05),
    clip_grad=dict(max_norm=10, norm_type=2))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.01, by_epoch=False, begin=0, end=50),
    dict(
        type='CosineAnnealingLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        T_max=max_epochs,
        eta_min_ratio=0.05)
]
auto_scale_lr = dict(enable=False, base_batch_size=8)
