# DetNAS RetinaNet (megvii-model/DetNAS configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_*.yaml):
# mmdet's RetinaNet (FPN P3-P7, 256 channels) on the 300M-space supernet with SyncBN; inputs BGR
# 0-255 without normalisation, as the ImageNet pretraining.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
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
    # P6/P7 from the P5 output, as the official LastLevelP6P7(256, 256) of
    # build_detnasnet_fpn_p3p7_backbone (mmdet's base uses C5)
    neck=dict(in_channels=[64, 160, 320, 640], add_extra_convs='on_output'))
custom_hooks = [dict(type='DetNASPathHook')]
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
