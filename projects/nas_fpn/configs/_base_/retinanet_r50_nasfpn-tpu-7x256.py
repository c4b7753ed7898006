# RetinaNet R-50 NAS-FPN 7@256 in the paper's own form (paper Sec. 4.1 / Table 1) and the
# official code's RetinaNet recipe (tensorflow/tpu models/official/detection, rev. 7dc921f; README
# "Differences from the official code"). Everything not listed here is mmdet's form
# (retinanet_r50_nasfpn-7x256.py).
# * Neck (modeling/architecture/nasfpn.py): global *max*-pool attention gated by the coarser input
#   (paper Fig. 4b, `global_attention`); 1x1 conv (bias) + BN only where the width differs
#   (`resample_feature_map`: `if feat_dims != target_feat_dims`); P6/P7 by max-pooling P5.
# * Focal loss alpha 0.25, gamma 1.5 (configs/retinanet_config.py `retinanet_loss`; paper Sec. 4.1).
# * Box loss (modeling/losses.py `RetinanetBoxLoss.box_loss`; retinanet_config.py
#   huber_loss_delta 0.1, box_loss_weight 50): 50 * sum(huber_0.1(d)) / (4 * num_pos) over the
#   4 box coordinates of the positive anchors. tf.losses.huber_loss with delta is 0.5 x^2 for
#   |x| <= delta, else delta * (|x| - 0.5 delta), i.e. exactly delta * mmdet smooth_l1(beta=delta)
#   (0.5 x^2 / beta, else |x| - 0.5 beta). mmdet's AnchorHead.loss_by_feat_single sums the loss
#   over the 4 coordinates and divides by avg_factor = num_pos (PseudoSampler), so
#   loss_weight = 50 * 0.1 / 4 = 1.25 with beta = 0.1.
# * BN (configs/base_config.py `batch_norm_activation` at rev. 7dc921f: momentum 0.997, epsilon
#   1e-4): TF decay 0.997 = PyTorch momentum 1 - 0.997 = 0.003, eps 1e-4; cross-replica (SyncBN).
# * Anchors (dataloader/anchor.py `Anchor._generate_boxes`: centres at stride/2 + k*stride):
#   mmdet's generator puts them at k*stride unless center_offset=0.5.
# * Head (modeling/architecture/heads.py `RetinanetHead`): class and box predictors start at
#   N(0, 1e-5), not mmdet's 0.01 (nas_fpn/head.py `RetinaSepBNHeadTPU`).
_base_ = ['./retinanet_r50_nasfpn-7x256.py']
norm_cfg = dict(type='SyncBN', requires_grad=True, momentum=0.003, eps=1e-4)
model = dict(
    backbone=dict(norm_cfg=norm_cfg),
    neck=dict(
        norm_cfg=norm_cfg,
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        lateral_conv='if_width_differs',
        extra_level_conv=False),
    bbox_head=dict(
        type='RetinaSepBNHeadTPU',
        norm_cfg=norm_cfg,
        anchor_generator=dict(center_offset=0.5),
        loss_cls=dict(gamma=1.5),
        loss_bbox=dict(_delete_=True, type='SmoothL1Loss', beta=0.1, loss_weight=1.25)))
