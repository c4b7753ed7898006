# mmdet 3.3.0's NAS-FCOS recipe (configs/nas_fcos/nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py:
# 4 GPUs x 4 images, 12 epochs, lr 0.01; mmdet zoo 39.4 box AP on val2017) with its hard-coded
# NASFCOS_FPN / NASFCOSHead replaced by ours, built from the published genotype in mmdet's form:
# nearest upsampling inside cells and no C2 adapter. Same 38,567,674 parameters and the same
# outputs as mmdet's model after a weight copy (tests/nas_fcos/test_fidelity.py).
_base_ = ['mmdet::nas_fcos/nas-fcos_r50-caffe_fpn_nashead-gn-head_4xb4-1x_coco.py']
custom_imports = dict(
    imports=['projects', 'projects.nas_fcos.nas_fcos'], allow_failed_imports=False)
genotype = 'projects/nas_fcos/genotypes/nas_fcos_published.yaml'
model = dict(
    neck=dict(
        _delete_=True,
        type='NASFCOSDecoder',
        genotype=genotype,
        in_channels=[256, 512, 1024, 2048],
        out_channels=256,
        num_outs=5,
        upsample_mode='nearest',
        adapt_unused_inputs=False,
        norm_cfg=dict(type='BN')),
    bbox_head=dict(type='NASFCOSGenotypeHead', genotype=genotype, deform_groups=2))
auto_scale_lr = dict(enable=False, base_batch_size=16)
