# DetNAS detector for the COCO steps (megvii-model/DetNAS configs/
# e2e_faster_rcnn_DETNAS_COCO_FPN_300M_{search,1x}.yaml): Faster R-CNN + FPN (256 channels, SyncBN
# in FPN and box head), 4conv1fc box head (FPNXconv1fcFeatureExtractor: 4 convs of 256, fc 1024),
# backbone = the 300M-space supernet with SyncBN, C2-C5 into FPN. Inputs are BGR 0-255 without
# normalisation (PIXEL_MEAN [0, 0, 0], std 1), as the ImageNet pretraining (ToBGRTensor).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
# SyncBN momentum 0.1 in backbone, FPN and box head: the official DistributedSyncBN defaults to
# momentum 0.01 but switches to 0.1 when the backbone name contains 'search', as it does for the
# supernet fine-tuning and the search (megvii-model/DetNAS@aa92a90
# maskrcnn_benchmark/pytorch_distributed_syncbn/syncbn.py L93-98; CONV_BODY
# "DETNAS-COCO-FPN-300M-search" in configs/e2e_faster_rcnn_DETNAS_COCO_FPN_300M_search.yaml).
# The retrain configs set 0.01.
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.1)
model = dict(
    data_preprocessor=dict(mean=[0., 0., 0.], std=[1., 1., 1.], bgr_to_rgb=False),
    backbone=dict(
        _delete_=True,
        type='DetNASShuffleNet',
        stage_repeats=[4, 4, 8, 4],
        stage_out_channels=[16, 64, 160, 320, 640, 1024],
        out_indices=(0, 1, 2, 3),
        norm_cfg=norm_cfg,
        sample_per_forward=False),  # DetNASPathHook: one path per step, same on all ranks
    neck=dict(in_channels=[64, 160, 320, 640], norm_cfg=norm_cfg),
    roi_head=dict(
        bbox_head=dict(
            type='Shared4Conv1FCBBoxHead',
            conv_out_channels=256,
            fc_out_channels=1024,
            norm_cfg=norm_cfg)))
# off_path_decay_momentum=False: blocks off the step's path are left unchanged by SGD (official
# ImageNet supernet trainer); True = the released COCO trainer on PyTorch 1.x, where they still
# get weight decay and momentum (README, "Differences from the official code"; path_hook.py).
custom_hooks = [dict(type='DetNASPathHook', off_path_decay_momentum=False)]
# a supernet leaves the off-path blocks unused in every step
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
