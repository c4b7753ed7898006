# DetNAS detector for the COCO steps (megvii-model/DetNAS configs/
# e2e_faster_rcnn_DETNAS_COCO_FPN_300M_{search,1x}.yaml): Faster R-CNN + FPN (256 channels, SyncBN
# in FPN and box head), 4conv1fc box head (FPNXconv1fcFeatureExtractor: 4 convs of 256, fc 1024),
# backbone = the 300M-space supernet with SyncBN, C2-C5 into FPN. Inputs are BGR 0-255 without
# normalisation (PIXEL_MEAN [0, 0, 0], std 1), as the ImageNet pretraining (ToBGRTensor).
_base_ = ['mmdet::_base_/models/faster-rcnn_r50_fpn.py']
norm_cfg = dict(type='SyncBN', requires_grad=True)
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
custom_hooks = [dict(type='DetNASPathHook')]
# a supernet leaves the off-path blocks unused in every step
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
