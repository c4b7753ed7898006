"""DetNAS FLOPs lookup table and the published architectures' params/FLOPs.

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


def test_official_count_of_the_search_constraints():
    """The search limit and the ImageNet bins count as the official code: conv (+ FC) only."""
    table = get_flops_table(**SPACE_300M, count_bn=False)
    rng = random.Random(0)
    genotype = [rng.choice(CHOICES) for _ in range(20)]
    fixed = DetNASShuffleNetFixed(genotype, **SPACE_300M).eval()
    flops, _ = count_module_flops(fixed, torch.zeros(1, 3, 224, 224), count_bn=False)
    assert table.flops(genotype) == flops
    classifier = DetNASClassifier(genotype, **SPACE_300M).eval()
    flops, _ = count_module_flops(classifier, torch.zeros(1, 3, 224, 224), count_bn=False)
    assert table.flops(genotype, with_head=True) == flops
    assert table.flops(genotype) < get_flops_table(**SPACE_300M).flops(genotype)


@pytest.mark.parametrize(
    'config', ['detnas_search_faster-rcnn-300m_coco.py', 'detnas_search_retinanet-300m_coco.py'])
def test_paper_search_limit_admits_the_published_300m_paths(config):
    from types import SimpleNamespace

    from mmengine.config import Config

    from projects.detnas.detnas.search_loop import DetNASSearchLoop
    cfg = Config.fromfile('projects/detnas/configs/' + config)
    net = DetNASShuffleNet(**SPACE_300M)
    loop = SimpleNamespace(
        supernet=net,
        flops_input_size=cfg.train_cfg.flops_input_size,
        flops_limit=cfg.train_cfg.flops_limit)
    loop.flops = lambda cand: DetNASSearchLoop.flops(loop, cand)
    for name, official_m in (('detnas_coco_fpn_300m', 288.08), ('detnas_coco_retinanet_300m',
                                                                291.21)):
        cand = [CHOICES.index(c) for c in load_genotype(name)['genotype']]
        assert loop.flops(cand) / 1e6 == pytest.approx(official_m, abs=0.01)
        assert DetNASSearchLoop._within_flops(loop, cand)
    # with BN counted (mmengine) the published RetinaNet-300M path would be rejected
    retina = load_genotype('detnas_coco_retinanet_300m')['genotype']
    assert net.genotype_flops(retina) > cfg.train_cfg.flops_limit


def test_imagenet_flops_bins_are_sampled_evenly():
    """Official bins 290-360 (step 10) of the whole classifier: every bin is reachable and drawn
    about equally often (1/7 each); counting the backbone alone or with BN starves the top bins."""
    net = DetNASShuffleNet(**SPACE_300M, flops_bins=(290, 360, 10), seed=0)
    counts = [0] * 7
    for _ in range(700):
        flops = net.genotype_flops(net.sample_choice(), with_head=True, count_bn=False) / 1e6
        assert 290 <= flops <= 360
        counts[int((flops - 290) // 10)] += 1
    assert min(counts) >= 60 and max(counts) <= 140, counts
