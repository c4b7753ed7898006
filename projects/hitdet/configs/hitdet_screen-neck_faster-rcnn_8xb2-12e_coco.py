# Hit-Detector's screening of the neck on COCO (paper Sec. 3.2, 4.2; not run here): the neck's
# positions over the whole 32-op pool, the other two components fixed to one plain op each (a
# single candidate: backbone and head ir_k3_d1_e3, neck sep_k3_d1; the paper does not say what
# they are); the column-sparse penalty (mu 0.1), no FLOPs term; architecture updates from the
# 6th of 12 epochs (arch_start_epoch=5, counted from 0), then the 4 lowest-ranked ops dropped
# after each of the last 6 epochs (32 -> 8) ->
# screened_ops.yaml, the neck's sub-space of hitdet_search_faster-rcnn_8xb2-12e_coco.py.
#   mim train mmdet projects/hitdet/configs/hitdet_screen-neck_faster-rcnn_8xb2-12e_coco.py \
#       --launcher pytorch --gpus 8
_base_ = ['./hitdet_search_faster-rcnn_8xb2-12e_coco.py']
model = dict(
    backbone=dict(candidates=['ir_k3_d1_e3']),
    neck=dict(candidates='pool'),
    roi_head=dict(bbox_head=dict(candidates=['ir_k3_d1_e3'])))
train_cfg = dict(
    stage='screen', sparsity_weight=0.1, prune=dict(start_epoch=6, every=1, drop=4, keep=8))
