# RetinaNet R-50 NAS-FPN 7@256 at 1024 in the paper's own form (paper Sec. 4.1 / Table 1;
# neck as tensorflow/tpu models/official/detection/modeling/architecture/nasfpn.py):
# * neck: global *max*-pool attention gated by the coarser input (paper Fig. 4b), 1x1 conv
#   (bias) + BN where channels differ, P6/P7 by max-pooling P5;
# * training (paper Sec. 4.1): batch 64, scale jitter [0.8, 1.2], 50 epochs, SGD lr 0.08
#   decayed x0.1 at epochs 30 and 40, momentum 0.9, focal loss alpha 0.25 gamma 1.5, BN after
#   every conv (SyncBN here). Weight decay: the paper's value could not be verified
#   (../shared/reference/search_details_spinenet_nasfpn.md 2.5); mmdet's 1e-4 is kept.
_base_ = ['./retinanet_r50_nasfpn-7x256_8xb8-crop640-50e_coco.py']
img = 1024
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(batch_augments=[dict(type='BatchFixedSizePad', size=(img, img))]),
    neck=dict(
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        extra_level_conv=False),
    bbox_head=dict(loss_cls=dict(gamma=1.5)))
backend_args = None
train_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(type='RandomResize', scale=(img, img), ratio_range=(0.8, 1.2), keep_ratio=True),
    dict(type='RandomCrop', crop_size=(img, img)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackDetInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile', backend_args=backend_args),
    dict(type='Resize', scale=(img, img), keep_ratio=True),
    dict(type='LoadAnnotations', with_bbox=True),
    dict(
        type='PackDetInputs',
        meta_keys=('img_id', 'img_path', 'ori_shape', 'img_shape', 'scale_factor'))
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
