# Retrain on the toy set: the toy SpineNet RetinaNet for 12 epochs. The genotype defaults to the
# published SpineNet-49 spec; a search's result drops in unchanged with
#   --cfg-options model.backbone.genotype=<search work_dir>/best_genotype.yaml
_base_ = ['./_base_/retinanet_spinenet_toy.py']
max_epochs = 12
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs, val_interval=max_epochs)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
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
