# Hit-Detector 1x on one GPU: BN instead of SyncBN, 2 images per step, lr scaled linearly
# (auto_scale_lr enabled: 0.02 x 2 / 16 = 0.0025). Batch statistics over 2 images are noisier than
# SyncBN's over 16: expect a lower AP than the paper's 41.4.
#   mim train mmdet projects/hitdet/configs/faster-rcnn_hitdet_hitdet-pafpn_bn_1xb2-1x_coco.py
_base_ = ['./faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-1x_coco.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    roi_head=dict(bbox_head=dict(norm_cfg=norm_cfg)))
auto_scale_lr = dict(enable=True, base_batch_size=16)
