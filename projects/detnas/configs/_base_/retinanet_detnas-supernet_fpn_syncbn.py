# DetNAS RetinaNet (megvii-model/DetNAS configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_*.yaml):
# mmdet's RetinaNet (FPN P3-P7, 256 channels) on the 300M-space supernet with SyncBN; inputs BGR
# 0-255 without normalisation, as the ImageNet pretraining.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
# SyncBN in the backbone only (official RetinaNet: MODEL.FPN.USE_SYNCBN and
# MODEL.RETINANET.USE_SYNCBN keep their default False, maskrcnn_benchmark/config/defaults.py
# L109, L314), momentum 0.1: the official DistributedSyncBN switches from 0.01 to 0.1 for a
# 'search' backbone (megvii-model/DetNAS@aa92a90 maskrcnn_benchmark/pytorch_distributed_syncbn/
# syncbn.py L93-98; configs/retinanet/retinanet_DETNAS_COCO_FPN_300M_search.yaml). The retrain
# config sets 0.01.
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
    # P6/P7 from the P5 output, as the official LastLevelP6P7(256, 256) of
    # build_detnasnet_fpn_p3p7_backbone (mmdet's base uses C5)
    neck=dict(in_channels=[64, 160, 320, 640], add_extra_convs='on_output'))
# off_path_decay_momentum=False: blocks off the step's path are left unchanged by SGD (official
# ImageNet supernet trainer); True = the released COCO trainer on PyTorch 1.x, where they still
# get weight decay and momentum (README, "Differences from the official code"; path_hook.py).
custom_hooks = [dict(type='DetNASPathHook', off_path_decay_momentum=False)]
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
