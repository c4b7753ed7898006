"""NAS-FPN's objectives (the loop's bookkeeping is held to the suite's contract in
tests/suite/test_search_contract.py): the synthetic reward treats mirrored inputs that build the
same network as the same genotype, as the search's dedup key does; the proxy objective refuses
unknown options and a missing search split before any training."""
import pytest
from mmengine.config import Config
from mmengine.runner import Runner

from projects.nas_fpn.nas_fpn import (NASFPNMatchObjective, NASFPNProxyObjective, genotype_key,
                                      genotype_to_list, load_genotype)

CFG = 'projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py'
PUBLISHED = 'projects/nas_fpn/genotypes/nasfpn_7cell.yaml'


def _runner(tmp_path, **train_cfg):
    cfg = Config.fromfile(CFG)
    for k, v in train_cfg.items():
        cfg.train_cfg[k] = v
    cfg.work_dir = str(tmp_path)
    return Runner.from_cfg(cfg)


def test_match_reward_is_mirror_invariant_and_peaks_at_the_target(tmp_path, toy_coco):
    runner = _runner(tmp_path)
    loop = runner.build_train_loop(runner.cfg.train_cfg)
    obj = NASFPNMatchObjective(PUBLISHED)
    obj.setup(runner, loop)
    cells = load_genotype(PUBLISHED)
    mirror = load_genotype([[lv, op, ins[::-1], out]
                            for lv, op, ins, out in genotype_to_list(cells)])
    assert mirror != cells and genotype_key(mirror) == genotype_key(cells)
    assert obj(cells, 0).metrics == obj(mirror, 0).metrics == {'synthetic/match': 1.0}
    other = [list(c) for c in genotype_to_list(cells)]
    other[0][1] = 'sum' if other[0][1] == 'attention' else 'attention'
    assert obj(load_genotype(other), 0).metrics['synthetic/match'] == pytest.approx(27 / 28)


def test_proxy_options_and_split_are_checked_first(tmp_path, toy_coco):
    with pytest.raises(TypeError, match='max_iter'):  # a typo is not silently ignored
        NASFPNProxyObjective(max_iter=5)
    runner = _runner(tmp_path)
    runner.cfg.search_evaluator.ann_file = 'data/toy_coco/annotations/missing.json'
    loop = runner.build_train_loop(runner.cfg.train_cfg)
    loop.objective.search_evaluator_cfg = None  # read the config's (broken) one
    with pytest.raises(FileNotFoundError, match='missing.json'):
        loop.objective.setup(runner, loop)
