# The DetNAS Faster R-CNN shrunk for CPU runs: the supernet topology of the 300M space (20
# blocks, [4, 4, 8, 4]) at toy widths, FPN/RPN/4conv1fc at 64 channels, fc 256, BN instead of
# SyncBN, 64 sampled RoIs per image, 100 test proposals. The unit tests of the paper's Faster
# R-CNN supernet step use it (tests/detnas/test_path_hook.py); the toy cycle is RetinaNet, in a
# 5-block toy space (retinanet_detnas-toy_fpn.py).
_base_ = [
    './faster-rcnn_detnas-supernet_fpn-4conv1fc_syncbn.py',
    '../../../../configs/_base_/toy_coco_detection.py', '../../../../configs/_base_/toy_runtime.py'
]
custom_imports = dict(imports=['projects', 'projects.detnas.detnas'], allow_failed_imports=False)
norm_cfg = dict(type='BN', requires_grad=True)
toy_widths = [16, 32, 64, 128, 256, 256]  # stem, C2-C5, ImageNet last conv
model = dict(
    backbone=dict(stage_out_channels=toy_widths, norm_cfg=norm_cfg),
    neck=dict(in_channels=toy_widths[1:5], out_channels=64, norm_cfg=norm_cfg),
    rpn_head=dict(in_channels=64, feat_channels=64),
    roi_head=dict(
        bbox_roi_extractor=dict(out_channels=64),
        bbox_head=dict(
            in_channels=64,
            conv_out_channels=64,
            fc_out_channels=256,
            num_classes=6,
            norm_cfg=norm_cfg)),
    # few objects per toy image: fewer sampled RoIs keep the 4conv head affordable on a CPU
    train_cfg=dict(
        rpn=dict(sampler=dict(num=64)),
        rpn_proposal=dict(nms_pre=500, max_per_img=200),
        rcnn=dict(sampler=dict(num=64))),
    test_cfg=dict(rpn=dict(nms_pre=300, max_per_img=100), rcnn=dict(max_per_img=50)))
model_wrapper_cfg = dict(type='MMDistributedDataParallel', find_unused_parameters=True)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=12, val_interval=12)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
