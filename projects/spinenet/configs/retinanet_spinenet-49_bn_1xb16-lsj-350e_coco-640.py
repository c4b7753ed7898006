# Single-GPU variant of retinanet_spinenet-49_syncbn_8xb32-lsj-350e_coco-640.py: plain BN (no
# SyncBN), 16 images per batch, and the paper's lr rule applied by `auto_scale_lr`
# (0.28 x 16 / 256 = 0.0175). Not a paper setting: small-batch BN from scratch is expected to
# land below the paper's AP.
_base_ = ['./retinanet_spinenet-49_syncbn_8xb32-lsj-350e_coco-640.py']
norm_cfg = dict(type='BN', momentum=0.003, eps=1e-4)  # as the SyncBN recipe (tpu 0.997)
model = dict(backbone=dict(norm_cfg=norm_cfg), bbox_head=dict(norm_cfg=norm_cfg))
train_dataloader = dict(batch_size=16)
auto_scale_lr = dict(enable=True, base_batch_size=256)
