"""The Auto-FPN toy cycle as `projects/auto_fpn/demo.sh` runs it under `mim train`: fusion search
-> head search with the found neck's genotype and weights -> best_genotype.yaml (fusion + head)
-> retrain with that file unchanged -> COCO bbox eval on toy val, with smaller knobs than `make
demo`. Learning must have happened: an untrained detector scores 0; the floor is well above
that."""
import json
import os

import torch
import yaml

from projects.auto_fpn.auto_fpn import load_genotype
from conftest import run_cli

AP_FLOOR = 10.0  # toy val bbox mAP, percent (untrained: 0; measured values: README)


def test_fusion_head_export_retrain_eval(tmp_path, toy_coco):
    work = tmp_path / 'demo'
    env = dict(AUTOFPN_SEARCH_EPOCHS='2', AUTOFPN_BATCHES='2', AUTOFPN_RETRAIN_EPOCHS='3')
    os.environ.update(env)
    try:
        run_cli(['bash', 'projects/auto_fpn/demo.sh', str(work)], timeout=1800)
    finally:
        for k in env:
            os.environ.pop(k)
    for stage, edges in (('fusion', 32), ('head', 28)):
        rows = [
            json.loads(line)
            for line in (work / stage / 'search_history.jsonl').read_text().splitlines()
        ]
        assert [r['step'] for r in rows] == [0, 1]
        # every edge's softmax weights are a distribution over its candidates
        arch = {k: v for k, v in rows[-1]['metrics'].items() if k.startswith('arch/')}
        names = {k.rsplit('/', 1)[0] for k in arch}
        assert len(names) == edges
        for e in names:
            assert abs(sum(v for k, v in arch.items() if k.rsplit('/', 1)[0] == e) - 1) < 1e-5
        assert rows[-1]['cost']['decoded_cost'] <= 3
    fusion = load_genotype(str(work / 'fusion' / 'best_genotype.yaml'), components=('fusion', ))
    final = load_genotype(str(work / 'head' / 'best_genotype.yaml'), components=('fusion', 'head'))
    assert final.fusion == fusion.fusion  # the head search kept the found neck
    assert (len(final.fusion), len(final.head)) == (2, 2)
    # the found neck's weights, exported from the supernet, are the fixed neck's (no norm)
    neck = torch.load(work / 'fusion' / 'searched_fusion.pth', weights_only=True)
    assert neck and not any('arch_alpha' in k or '.ops.' in k for k in neck)
    meta = yaml.safe_load((work / 'head' / 'best_genotype.yaml').read_text())
    assert meta['step'] == 1 and meta['weights'] == 'searched_head.pth'
    dumped = next((work / 'retrain').glob('*.py')).read_text()
    assert dumped.count('head/best_genotype.yaml') >= 2  # the neck and the head
    summary = json.loads((work / 'demo_summary.json').read_text())
    assert summary['ap'] > AP_FLOOR, summary
