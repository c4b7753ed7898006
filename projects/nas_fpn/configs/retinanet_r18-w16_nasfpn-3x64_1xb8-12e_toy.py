# Toy retrain: the suite's tiny RetinaNet (configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py:
# ResNet-18 at width 16, from scratch, 160 px, 12 epochs on the toy set) with a NAS-FPN 3@64
# neck built from a genotype file. The default is the published cell; the toy end-to-end test
# and demo.sh pass a search's best_genotype.yaml unchanged:
#   --cfg-options model.neck.genotype=WORK_DIR/search/best_genotype.yaml
# The neck is in mmdet's form (README "Two forms"; the toy search inherits it): on the toy set it
# is stable across seeds where the paper/TPU form is not. Published cell, 12 epochs, seeds 0/1/2
# (2026-11-29, OMP_NUM_THREADS=1): mmdet form 58.3 / 61.0 / 57.9 toy val mAP, TPU form
# 40.9 / 53.3 / 58.2 (README "Toy evidence").
_base_ = ['../../../configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py']
custom_imports = dict(imports=['projects', 'projects.nas_fpn.nas_fpn'], allow_failed_imports=False)
model = dict(
    data_preprocessor=dict(pad_size_divisor=128),  # P7 stride: levels halve exactly
    neck=dict(
        _delete_=True,
        type='GenotypeNASFPN',
        genotype='projects/nas_fpn/genotypes/nasfpn_7cell.yaml',
        in_channels=[32, 64, 128],
        out_channels=64,
        num_outs=5,
        stack_times=3,
        start_level=0,
        norm_cfg=dict(type='BN', requires_grad=True),
        attention_pool='avg',
        attention_gate_from='finer',
        lateral_bias='auto',
        lateral_conv='always',
        extra_level_conv=True))
