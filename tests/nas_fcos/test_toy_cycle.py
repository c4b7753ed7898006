"""The NAS-FCOS toy cycle as `projects/nas_fcos/demo.sh` runs it under `mim train`: a backbone ->
stored features -> decoder search -> head search on the best decoder -> best_genotype.yaml ->
retrain with that file unchanged -> COCO bbox eval on toy val, with a smaller budget than
`make demo`. Learning must have happened: an untrained detector scores 0; the floor is well
above that."""
import json
import os

import yaml

from projects.nas_fcos.nas_fcos import load_genotype
from conftest import run_cli

AP_FLOOR = 5.0  # toy val bbox mAP, percent (untrained: 0; measured values: README)
# a toy decoder's reward (negative FCOS loss) after the demo's 40 proxy iterations moves with the
# seed by 0.08 (mean standard deviation over seeds 0-2 of 8 random decoders; README, "The toy
# proxy's seed noise"): candidates must spread beyond it to be ranked by more than a seed
SEED_NOISE = 0.08


def test_features_search_export_retrain_eval(tmp_path, toy_coco):
    work = tmp_path / 'demo'
    env = dict(
        NAS_FCOS_BACKBONE_EPOCHS='3',
        NAS_FCOS_STEPS='1',
        NAS_FCOS_SAMPLES='3',
        NAS_FCOS_PROXY_ITERS='40',
        NAS_FCOS_RETRAIN_EPOCHS='3')
    os.environ.update(env)
    try:
        run_cli(['bash', 'projects/nas_fcos/demo.sh', str(work)], timeout=1800)
    finally:
        for k in env:
            os.environ.pop(k)
    manifest = json.loads((work / 'features' / 'manifest.json').read_text())
    assert manifest['splits'] == dict(train=320, search=64)
    rows = {}
    for phase in ('decoder', 'head'):
        rows[phase] = [
            json.loads(line) for line in (work / f'search-{phase}' /
                                          'search_history.jsonl').read_text().splitlines()
        ]
        assert len(rows[phase]) == 3
        assert all(r['score'] == r['metrics']['proxy/neg_loss'] < 0 for r in rows[phase])
        # the demo's proxy ranks (the candidates share a seed, so its shift is common)
        scores = [r['score'] for r in rows[phase] if not r['cached']]
        print(f'{phase} rewards: {scores}')
        assert len(scores) == 3 and max(scores) - min(scores) > SEED_NOISE, scores
    best_decoder = yaml.safe_load((work / 'search-decoder' / 'best_genotype.yaml').read_text())
    best = yaml.safe_load((work / 'search-head' / 'best_genotype.yaml').read_text())
    assert best_decoder['score'] == max(r['score'] for r in rows['decoder'])
    assert best['decoder'] == best_decoder['decoder'] and len(best['head']) == 6
    # the retrain consumed the head phase's best_genotype.yaml unchanged, in neck and head
    dumped = next((work / 'retrain').glob('*.py')).read_text()
    assert dumped.count('search-head/best_genotype.yaml') >= 2
    assert load_genotype(str(work / 'search-head' /
                             'best_genotype.yaml')).head == tuple(best['head'])
    summary = json.loads((work / 'demo_summary.json').read_text())
    assert summary['ap'] > AP_FLOOR, summary
