# The official detection schedule (megvii-model/DetNAS configs/*_1x.yaml and *_search.yaml, with
# maskrcnn-benchmark defaults): 16 images per batch, SGD momentum 0.9, weight decay 1e-4,
# 90k iterations, lr x0.1 at 60k and 80k, linear warm-up from 1/3 over 500 iterations.
# Faster R-CNN: base lr 0.02; RetinaNet: 0.01.
_base_ = ['mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['projects', 'projects.detnas.detnas'], allow_failed_imports=False)
train_cfg = dict(type='IterBasedTrainLoop', max_iters=90000, val_interval=10000)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
param_scheduler = [
    dict(type='LinearLR', start_factor=1.0 / 3, by_epoch=False, begin=0, end=500),
    dict(
        type='MultiStepLR',
        begin=0,
        end=90000,
        by_epoch=False,
        milestones=[60000, 80000],
        gamma=0.1)
]
# maskrcnn-benchmark's SOLVER.BIAS_LR_FACTOR 2 and WEIGHT_DECAY_BIAS 0 (mmengine applies them to
# conv/FC biases; BN biases keep lr x1 and weight decay, README: deviations).
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='SGD', lr=0.02, momentum=0.9, weight_decay=1e-4),
    paramwise_cfg=dict(bias_lr_mult=2., bias_decay_mult=0.))
default_hooks = dict(checkpoint=dict(by_epoch=False, interval=10000))
log_processor = dict(by_epoch=False)
auto_scale_lr = dict(enable=False, base_batch_size=16)
