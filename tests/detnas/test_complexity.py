"""DetNAS FLOPs lookup table and the published architectures' params/FLOPs (issue 5, points 1c, 2).

Paper numbers: megvii-model/ShuffleNet-Series DetNAS/README.md table (backbone with the ImageNet
head, 224x224): FPN-300M 3.5M / 300M, FPN-1.3G 10.4M / 1.3G, FPN-3.8G 29.5M / 3.8G,
RetinaNet-300M 3.7M / 300M. Counting conventions and the 3.8G params deviation:
projects/detnas/README.md, section "Supernet and published architectures".
"""
import random

import pytest
import torch
from mmengine.analysis import get_model_complexity_info

from projects.detnas.detnas import (CHOICES, SPACE_1_3G, SPACE_300M, DetNASClassifier,
                                    DetNASShuffleNet, DetNASShuffleNetFixed, count_module_flops,
                                    get_flops_table, load_genotype)

PAPER = {  # name: (params M, FLOPs M)
    'detnas_coco_fpn_300m': (3.5, 300),
    'detnas_coco_fpn_1_3g': (10.4, 1300),
    'detnas_coco_fpn_3_8g': (29.5, 3800),
    'detnas_coco_retinanet_300m': (3.7, 300),
}


def mmengine_count(model):
    with torch.no_grad():
        info = get_model_complexity_info(
            model.eval(), inputs=(torch.zeros(1, 3, 224, 224), ), show_table=False, show_arch=False)
    return info['params'], info['flops']


@pytest.mark.parametrize('space,n', [(SPACE_300M, 3), (SPACE_1_3G, 1)])
def test_lookup_table_matches_mmengine(space, n):
    table = get_flops_table(**space)
    assert get_flops_table(**space) is table  # built once per config
    rng = random.Random(n)
    for _ in range(n):
        genotype = [rng.choice(CHOICES) for _ in range(sum(space['stage_repeats']))]
        _, flops = mmengine_count(DetNASShuffleNetFixed(genotype, **space))
        assert table.flops(genotype) == pytest.approx(flops, rel=1e-3)
    # the costs differ per choice, and the supernet reports the current path's cost
    assert len(set(table.blocks[5].values())) == 4
    net = DetNASShuffleNet(seed=0, **space)
    assert net.genotype_flops() == table.flops(net.get_choice())


@pytest.mark.parametrize('name', sorted(PAPER))
def test_published_architecture_params_and_flops(name):
    paper_params, paper_flops = PAPER[name]
    data = load_genotype(name)
    assert data['paper'] == dict(params_M=paper_params, flops_M=paper_flops)
    model = DetNASClassifier(name)
    params, _ = mmengine_count(model)
    # FLOPs as the paper counts (BN folded into the convs): conv + FC multiply-adds, with head
    flops, _ = count_module_flops(model.eval(), torch.zeros(1, 3, 224, 224), count_bn=False)
    assert flops / 1e6 == pytest.approx(paper_flops, rel=0.10)
    # the detection backbone (stem + choice blocks, mmengine's count = the lookup table)
    table = get_flops_table(data['stage_repeats'], data['stage_out_channels'])
    assert table.flops(data['genotype']) / 1e6 == pytest.approx(paper_flops, rel=0.10)
    if name != 'detnas_coco_fpn_3_8g':
        assert params / 1e6 == pytest.approx(paper_params, rel=0.05)
        return
    # DetNAS-3.8G: with the released widths (last 1x1 conv 1728 wide) the ImageNet network has
    # 31.4M params (+6.6%); the paper's 29.5M is met exactly when the last conv is 1024 wide, as in
    # every other DetNAS model (README: deviation). The detection backbone does not use it.
    assert params / 1e6 == pytest.approx(31.44, rel=0.005)
    narrow = dict(data, stage_out_channels=data['stage_out_channels'][:5] + [1024])
    params_1024, _ = mmengine_count(DetNASClassifier(narrow))
    assert params_1024 / 1e6 == pytest.approx(paper_params, rel=0.05)
