# The TPU model zoo's 350-epoch recipe (tensorflow/tpu models/official/detection/MODEL_ZOO.md,
# "SpineNet ... 350 epochs"; paper protocol B, Sec. 5.1): as the 500-epoch one but relu and no
# stochastic depth (TF: 162050 steps at batch 256); lr drops for the last 30 / 10 epochs.
_base_ = ['./coco_lsj_sgd_500e.py']
max_epochs = 350
train_cfg = dict(max_epochs=max_epochs)
param_scheduler = [
    dict(type='LinearLR', start_factor=0.0067 / 0.28, by_epoch=False, begin=0, end=2000),
    dict(
        type='MultiStepLR',
        by_epoch=True,
        begin=0,
        end=max_epochs,
        milestones=[max_epochs - 30, max_epochs - 10],
        gamma=0.1)
]
# relu, no stochastic depth (MODEL_ZOO.md: "relu" rows).
model = dict(
    backbone=dict(act_cfg=dict(type='ReLU'), drop_path_rate=0.),
    bbox_head=dict(act_cfg=dict(type='ReLU')))
