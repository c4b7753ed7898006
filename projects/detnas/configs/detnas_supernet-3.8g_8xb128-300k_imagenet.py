# DetNAS step 1 for the 3.8G space (40 blocks [8, 8, 16, 8], widths of megvii-model/DetNAS
# `detnasnet.py`), same recipe as the 300M supernet.
# Sampling: the official `Supernet-ImageNet/train.py` draws paths within the 300M FLOPs bins
# (290-360 MFLOPs of the whole classifier) through `flops.get_cand_flops`, a per-op table of the
# 20-block 300M space (the SinglePathOneShot `flops.py`; DetNAS's copy is not published), so it
# has no entry for a 40-block path; the bins would also lie below every path of this space. We
# sample uniformly (flops_bins=None).
_base_ = ['./detnas_supernet-300m_8xb128-300k_imagenet.py']
model = dict(
    backbone=dict(
        stage_repeats=[8, 8, 16, 8],
        stage_out_channels=[72, 172, 432, 864, 1728, 1728],
        flops_bins=None))
