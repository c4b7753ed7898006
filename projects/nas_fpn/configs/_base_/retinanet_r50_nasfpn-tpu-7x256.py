# RetinaNet R-50 NAS-FPN 7@256 in the paper's own form (paper Sec. 4.1 / Table 1; neck as
# tensorflow/tpu models/official/detection/modeling/architecture/nasfpn.py): global *max*-pool
# attention gated by the coarser input (paper Fig. 4b), 1x1 conv (bias) + BN where channels
# differ, P6/P7 by max-pooling P5; focal loss alpha 0.25 gamma 1.5; BN after every conv (SyncBN).
# Everything else as mmdet's form (retinanet_r50_nasfpn-7x256.py).
_base_ = ['./retinanet_r50_nasfpn-7x256.py']
model = dict(
    neck=dict(
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        extra_level_conv=False),
    bbox_head=dict(loss_cls=dict(gamma=1.5)))
