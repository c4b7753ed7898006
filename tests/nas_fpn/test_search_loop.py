"""NASFPNSearchLoop under `mim train`, on the synthetic objective (no detector training):
logs every candidate once, writes best_genotype.yaml/plot, resumes after a stop without
retraining finished candidates, and its best genotype builds the retrain neck unchanged."""
import json

import yaml

from projects.nas_fpn.nas_fpn import GenotypeNASFPN, load_genotype
from conftest import run_cli

CFG = 'projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py'
SYNTH = [
    'train_cfg.reward.type=match',
    'train_cfg.reward.target=projects/nas_fpn/genotypes/nasfpn_7cell.yaml', 'train_cfg.num_steps=6',
    'train_cfg.samples_per_step=4'
]


def _history(work):
    return [json.loads(line) for line in (work / 'search_history.jsonl').read_text().splitlines()]


def test_search_loop_resumes_and_dedups(tmp_path, toy_coco):
    work = tmp_path / 'search'
    # first run stops after 7 trained candidates, as if killed mid-step
    run_cli(['mim', 'train', 'mmdet', CFG, '--work-dir',
             str(work), '--cfg-options'] + SYNTH + ['train_cfg.max_new_candidates=7'])
    first = _history(work)
    assert len(first) == 7
    run_cli(['mim', 'train', 'mmdet', CFG, '--work-dir',
             str(work), '--resume', '--cfg-options'] + SYNTH)
    hist = _history(work)
    assert hist[:7] == first  # finished candidates kept, not retrained
    keys = [json.dumps(r['genotype']) for r in hist]
    assert len(keys) == len(set(keys))  # never trained twice
    assert max(r['step'] for r in hist) == 5 and len(hist) <= 24
    for r in hist:
        assert {'genotype', 'score', 'cost', 'wall_time_s'} <= set(r)
    assert (work / 'search_progress.png').stat().st_size > 0
    best = load_genotype(str(work / 'best_genotype.yaml'))
    top = max(r['score'] for r in hist)
    assert yaml.safe_load((work / 'best_genotype.yaml').read_text())['score'] == top
    assert best in [load_genotype(r['genotype']) for r in hist if r['score'] == top]
    neck = GenotypeNASFPN([8, 16, 32], 8, str(work / 'best_genotype.yaml'), stack_times=1)
    assert neck.genotype == best
