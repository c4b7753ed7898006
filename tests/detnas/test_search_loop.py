"""DetNASSearchLoop, what is DetNAS's own (the bookkeeping is held to the suite's contract in
tests/suite/test_search_contract.py): the FLOPs limit holds for every scored path and is checked
again on a population read back at resume; the supernet objective refuses to start without
supernet weights or with a score_key it cannot produce."""
import json

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.runner import Runner

from projects.detnas.detnas import CHOICES, get_flops_table

CFG = 'projects/detnas/configs/detnas_search_retinanet-toy_toy.py'


def _runner(work_dir, resume=False, load_from=None, **train_cfg):
    cfg = Config.fromfile(CFG)
    cfg.merge_from_dict({f'train_cfg.{k}': v for k, v in train_cfg.items() if k != 'objective'})
    if 'objective' in train_cfg:
        cfg.train_cfg.objective = train_cfg['objective']
    cfg.work_dir, cfg.resume, cfg.load_from = str(work_dir), resume, load_from
    cfg.experiment_name = f'detnas_loop_{work_dir.name}_{resume}'
    return Runner.from_cfg(cfg)


def _synthetic(limit):
    cfg = Config.fromfile(CFG)
    space = dict(
        stage_repeats=list(cfg.model.backbone.stage_repeats),
        stage_out_channels=list(cfg.model.backbone.stage_out_channels))
    table = get_flops_table(space['stage_repeats'], space['stage_out_channels'], count_bn=False)
    blocks = sum(space['stage_repeats'])
    target = min(([c] * blocks for c in CHOICES), key=table.flops)  # a legal path
    assert table.flops(target) <= limit
    return dict(
        objective=dict(type='DetNASMatchObjective', target=dict(space, genotype=target)),
        score_key='synthetic/match'), table


def test_flops_limit_holds_and_is_rechecked_at_resume(tmp_path, toy_coco):
    limit = 28e6  # binds: the toy space's paths have 23-37M
    opts, table = _synthetic(limit)
    _runner(tmp_path, flops_limit=limit, max_new_candidates=10, **opts).train()
    rows = [json.loads(line) for line in (tmp_path / 'search_history.jsonl').open()]
    assert len(rows) == 10
    for r in rows:
        assert table.flops(r['genotype']) <= limit
        assert r['cost']['flops_M'] == round(table.flops(r['genotype']) / 1e6, 2)
    # a lower limit on resume: the stored population breaks it, the loop says so and stops
    pending = torch.load(tmp_path / 'search_state.pth', weights_only=True)['pending']
    lower = min(table.flops([CHOICES[i] for i in c]) for c in pending) - 1
    runner = _runner(tmp_path, resume=True, flops_limit=lower, allow_changed_settings=True, **opts)
    with pytest.raises(RuntimeError, match='exceed flops_limit'):
        runner.train()


def test_supernet_objective_checks_before_any_work(tmp_path, toy_coco):
    with pytest.raises(ValueError, match='load_from'):
        _runner(tmp_path / 'a').train()
    ckpt = tmp_path / 'supernet.pth'
    model = MODELS.build(Config.fromfile(CFG).model)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), ckpt)
    # the old loop sliced a prefix off the key and scored every candidate 0.0
    with pytest.raises(ValueError, match='not produced by the objective'):
        _runner(tmp_path / 'b', load_from=str(ckpt), score_key='bbox_mAP').train()
    assert not (tmp_path / 'b' / 'search_history.jsonl').exists()
