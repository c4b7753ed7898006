# DetNAS step 1 for the 1.3G space (40 blocks [8, 8, 16, 8], widths of megvii-model/DetNAS
# `detnasnet.py`), same recipe as the 300M supernet.
# Sampling: the official `Supernet-ImageNet/train.py` keeps the 300M FLOPs bins (290-360 MFLOPs)
# hard-coded for every space; no 40-block path of this space falls in them, so each draw times out
# and keeps the last uniform path, i.e. the official sampling is uniform. We sample uniformly
# (flops_bins=None) and skip the 500 futile draws.
_base_ = ['./detnas_supernet-300m_8xb128-300k_imagenet.py']
model = dict(
    backbone=dict(
        stage_repeats=[8, 8, 16, 8],
        stage_out_channels=[48, 96, 240, 480, 960, 1024],
        flops_bins=None))
