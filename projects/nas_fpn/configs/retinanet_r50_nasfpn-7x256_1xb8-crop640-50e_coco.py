# One-GPU form of retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py: plain BN (exactly the
# model of mmdet's own retinanet_r50_nasfpn_crop640-50e_coco.py) and the LR scaled linearly to
# the batch of 8 (auto_scale_lr enabled: 0.08 * 8 / 64).
_base_ = ['./retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py']
norm_cfg = dict(type='BN', requires_grad=True)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(norm_cfg=norm_cfg),
    bbox_head=dict(norm_cfg=norm_cfg))
auto_scale_lr = dict(enable=True, base_batch_size=64)
