"""The Hit-Detector toy cycle as `projects/hitdet/demo.sh` runs it under `mim train`: screening of
the head (32 ops -> 8) -> end-to-end search of the trinity supernet on the screened head ->
best_genotype.yaml -> retrain with that file unchanged -> COCO bbox eval on toy val, with a
smaller retrain than `make demo`. Learning must have happened: an untrained detector scores 0;
the floor is well above that."""
import json
import os

import yaml

from projects.hitdet.hitdet import load_genotype
from conftest import run_cli

AP_FLOOR = 3.0  # toy val bbox mAP, percent (untrained: 0; measured values: README)


def test_screen_search_export_retrain_eval(tmp_path, toy_coco):
    work = tmp_path / 'demo'
    env = dict(HITDET_SEARCH_EPOCHS='2', HITDET_RETRAIN_EPOCHS='2')
    os.environ.update(env)
    try:
        run_cli(['bash', 'projects/hitdet/demo.sh', str(work)], timeout=1800)
    finally:
        for k in env:
            os.environ.pop(k)
    screened = yaml.safe_load((work / 'screen-head' / 'screened_ops.yaml').read_text())
    assert len(screened['head']) == 8  # 32 -> 20 -> 8 after the last two of 3 screening epochs
    rows = [
        json.loads(line)
        for line in (work / 'search' / 'search_history.jsonl').read_text().splitlines()
    ]
    assert [r['step'] for r in rows] == [0, 1]
    best = yaml.safe_load((work / 'search' / 'best_genotype.yaml').read_text())
    assert best['step'] == 1 and set(best['head']) <= set(screened['head'])
    genotype = load_genotype(str(work / 'search' / 'best_genotype.yaml'))
    assert (len(genotype.backbone), len(genotype.neck), len(genotype.head)) == (20, 8, 4)
    # every position's weights are a distribution over its candidates
    arch = {k: v for k, v in rows[-1]['metrics'].items() if k.startswith('arch/')}
    positions = {k.rsplit('/', 1)[0] for k in arch}
    assert len(positions) == 32
    for p in positions:
        assert abs(sum(v for k, v in arch.items() if k.rsplit('/', 1)[0] == p) - 1) < 1e-5
    dumped = next((work / 'retrain').glob('*.py')).read_text()
    assert dumped.count('search/best_genotype.yaml') >= 3  # backbone, neck and head
    summary = json.loads((work / 'demo_summary.json').read_text())
    assert summary['ap'] > AP_FLOOR, summary
