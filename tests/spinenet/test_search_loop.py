"""SpineNetSearchLoop bookkeeping: history, best genotype, plot, and resume after a kill.

Proxy training and scoring are replaced by a synthetic score here (the toy end-to-end test runs
the real thing), so the test checks what the loop persists and what it retrains after a restart.
"""
import json
import types

import pytest
import yaml
from mmengine.config import Config
from mmengine.logging import MMLogger
from mmengine.registry import init_default_scope

from projects.spinenet.spinenet import SpineNet, load_genotype
from projects.spinenet.spinenet import search_loop as sl

CFG = 'projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py'


class Killed(Exception):
    pass


def make_loop(repo, work_dir, monkeypatch, calls, kill_at=None):
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(repo / CFG))
    runner = types.SimpleNamespace(
        cfg=cfg, work_dir=str(work_dir), model=None, logger=MMLogger.get_instance('spinenet_test'))
    monkeypatch.setattr(sl.Runner, 'build_dataloader', staticmethod(lambda *a, **k: []))
    loop = sl.SpineNetSearchLoop(
        runner,
        cfg.train_dataloader,
        num_steps=3,
        samples_per_step=2,
        controller=dict(lr=0.05),
        seed=1)

    def fake_train(model):
        if kill_at is not None and len(calls) == kill_at:
            raise Killed()
        calls.append(model)
        return 0

    def fake_score(model):
        specs = model.backbone.specs
        return {'coco/bbox_mAP': sum(s.block_fn == 'residual' for s in specs) / len(specs)}

    monkeypatch.setattr(loop, '_train_candidate', fake_train)
    monkeypatch.setattr(loop, '_score', fake_score)
    return loop


def test_loop_logs_every_candidate_and_resumes_without_retraining(repo, tmp_path, monkeypatch):
    calls = []
    loop = make_loop(repo, tmp_path, monkeypatch, calls, kill_at=3)
    with pytest.raises(Killed):  # killed while training the 2nd candidate of step 1
        loop.run()
    rows = [json.loads(line) for line in (tmp_path / 'search_history.jsonl').open()]
    assert [(r['step'], r['index']) for r in rows] == [(0, 0), (0, 1), (1, 0)]
    pending = loop.pending

    calls2 = []
    loop2 = make_loop(repo, tmp_path, monkeypatch, calls2)
    loop2.run()
    rows = [json.loads(line) for line in (tmp_path / 'search_history.jsonl').open()]
    assert [(r['step'], r['index']) for r in rows] == [(s, i) for s in range(3) for i in range(2)]
    # the restarted loop re-used step 1's stored samples and trained only what was missing
    assert rows[3]['actions'] == pending[1]
    assert len(calls2) == 3 - sum(r['cached'] for r in rows[3:])
    for r in rows:
        assert set(r) >= {'genotype', 'score', 'cost', 'wall_time_s'}

    best = yaml.safe_load((tmp_path / 'best_genotype.yaml').read_text())
    assert best['score'] == max(r['score'] for r in rows)
    assert (tmp_path / 'search_progress.png').stat().st_size > 0
    # best_genotype.yaml drops into the backbone unchanged
    specs = load_genotype(str(tmp_path / 'best_genotype.yaml'))[0]
    m = SpineNet(
        genotype=str(tmp_path / 'best_genotype.yaml'),
        stem_channels=8,
        filter_size_scale=0.125,
        endpoints_num_filters=8)
    assert list(m.specs) == specs
