# RetinaNet R-50 NAS-FPN 7@256, the detector of mmdet's NAS-FPN recipe (mmdet
# configs/nas_fpn/retinanet_r50_fpn_crop640-50e_coco.py: RetinaSepBNHead, BN trained, not frozen,
# anchors negative below IoU 0.5, every batch padded to the 640 crop) with the neck built from the
# published genotype in mmdet's conventions: avg-pool attention gated by the finer input, 1x1+BN
# laterals without bias on every backbone level (also where a width equals the neck's, as mmdet's
# NASFPN always builds them), P6/P7 = 1x1 conv + BN + max-pool -> exactly the parameters and
# outputs of mmdet's hard-coded NASFPN (tests/nas_fpn/test_fidelity.py).
# Norm is SyncBN (the paper's TPU runs normalise across replicas). Configs at another crop size
# change `batch_augments` with their pipelines; retinanet_r50_nasfpn-tpu-7x256.py is the paper's
# form of the neck.
_base_ = ['mmdet::_base_/models/retinanet_r50_fpn.py']
custom_imports = dict(imports=['projects.nas_fpn.nas_fpn'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    data_preprocessor=dict(
        # 128 = the stride of P7, so every pyramid level halves exactly
        pad_size_divisor=128,
        batch_augments=[dict(type='BatchFixedSizePad', size=(640, 640))]),
    backbone=dict(norm_eval=False, norm_cfg=norm_cfg),
    neck=dict(
        _delete_=True,
        type='GenotypeNASFPN',
        # any genotype file works here, e.g. a search's work_dir/best_genotype.yaml
        genotype='projects/nas_fpn/genotypes/nasfpn_7cell.yaml',
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5,
        stack_times=7,
        start_level=1,
        norm_cfg=norm_cfg,
        attention_pool='avg',
        attention_gate_from='finer',
        lateral_bias='auto',
        lateral_conv='always',
        extra_level_conv=True),
    bbox_head=dict(type='RetinaSepBNHead', num_ins=5, norm_cfg=norm_cfg),
    train_cfg=dict(assigner=dict(neg_iou_thr=0.5)))
