# RetinaNet R-50 NAS-FPN 7@256 at 640, mmdet's 50-epoch recipe
# (mmdet configs/nas_fpn/retinanet_r50_nasfpn_crop640-50e_coco.py: 8 GPUs x 8 images, SGD lr
# 0.08, steps at 30/40, RetinaSepBNHead, crop 640 with 0.8-1.2 jitter) with the neck built from
# the published genotype in mmdet's conventions: avg-pool attention gated by the finer input,
# 1x1+BN laterals without bias, P6/P7 = 1x1 conv + BN + max-pool -> exactly the parameters and
# outputs of mmdet's hard-coded NASFPN (tests/nas_fpn/test_fidelity.py).
# Norm is SyncBN (the paper's TPU runs normalise across replicas); *_1xb8-* is the 1-GPU BN form.
_base_ = ['mmdet::nas_fpn/retinanet_r50_fpn_crop640-50e_coco.py']
custom_imports = dict(imports=['projects.nas_fpn.nas_fpn'], allow_failed_imports=False)
norm_cfg = dict(type='SyncBN', requires_grad=True)
model = dict(
    # 128 = the stride of P7, so every pyramid level halves exactly
    data_preprocessor=dict(pad_size_divisor=128),
    backbone=dict(norm_cfg=norm_cfg),
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
        extra_level_conv=True),
    bbox_head=dict(norm_cfg=norm_cfg))
# lr 0.08 is for 8 GPUs x 8 images; `--auto-scale-lr` rescales it for other batch sizes.
auto_scale_lr = dict(enable=False, base_batch_size=64)
