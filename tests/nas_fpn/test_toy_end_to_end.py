"""The toy NAS-FPN cycle, as `projects/nas_fpn/demo.sh` runs it under `mim train`:
controller search on the toy proxy (held-out `search` split) -> best_genotype.yaml ->
retrain with that file unchanged -> COCO bbox eval on toy val. The demo's proxy (200 iterations)
must rank (measured AP 5.4, 3.5, 3.2 for the three candidates of seed 0), and
learning must have happened: an untrained detector scores 0; the floor below is well above that."""
import json

import yaml

from conftest import assert_toy_search_ranks, run_cli

AP_FLOOR = 3.0  # toy val bbox mAP, percent, after 6 retrain epochs (untrained: 0)


def test_search_export_retrain_eval(tmp_path, toy_coco, monkeypatch):
    monkeypatch.setenv('NASFPN_RETRAIN_EPOCHS', '6')  # demo: 12 (test time)
    monkeypatch.setenv('NASFPN_SEARCH_STEPS', '1')  # demo: 2 x 2 candidates
    monkeypatch.setenv('NASFPN_SAMPLES', '3')
    work = tmp_path / 'demo'
    run_cli(['bash', 'projects/nas_fpn/demo.sh', str(work)], timeout=1800)
    history = [
        json.loads(line)
        for line in (work / 'search' / 'search_history.jsonl').read_text().splitlines()
    ]
    assert len(history) == 3
    assert_toy_search_ranks(history)
    best = yaml.safe_load((work / 'search' / 'best_genotype.yaml').read_text())
    assert best['score'] == max(r['score'] for r in history)
    # the retrain config consumed best_genotype.yaml unchanged
    dumped = next((work / 'retrain').glob('*.py')).read_text()
    assert 'best_genotype.yaml' in dumped
    ap = json.loads((work / 'demo_summary.json').read_text())['ap']
    assert ap > AP_FLOOR, ap
