# Hit-Detector's screening of the head on the toy set (CPU minutes; tests and demo.sh): the toy
# model with the RoI head's 4 positions over the whole 32-op pool and the backbone and neck fixed
# to one plain op each (a single candidate; no search result); architecture weights with
# the column-sparse penalty (mu 0.1), no FLOPs term; architecture updates from the second epoch
# (arch_start_epoch=1, counted from 0), and after each of the last two epochs the 12 lowest-
# ranked ops are dropped (32 -> 20 -> 8) -> screened_ops.yaml, the head's sub-space of the
# end-to-end search (hitdet_search_faster-rcnn-w0.25_toy.py). The paper's schedule (12 epochs,
# architecture from the 6th) shrunk to 3 epochs.
#   mim train mmdet projects/hitdet/configs/hitdet_screen-head_faster-rcnn-w0.25_toy.py \
#       --work-dir work_dirs/hitdet_screen_head_toy
_base_ = ['./hitdet_search_faster-rcnn-w0.25_toy.py']
model = dict(
    backbone=dict(candidates=['ir_k3_d1_e3']),  # fixed: a single candidate
    neck=dict(candidates=['sep_k3_d1']),
    roi_head=dict(bbox_head=dict(candidates='pool')))
train_cfg = dict(
    stage='screen',
    max_epochs=3,
    arch_start_epoch=1,
    sparsity_weight=0.1,
    prune=dict(start_epoch=1, every=1, drop=12, keep=8),
    score_key='search/neg_arch_loss')
