"""NASFPNSearchLoop on the synthetic objective (no detector training): a killed and resumed
search equals an uninterrupted one (history, samples, controller and Adam state), every
sample is logged, a repeated genotype (exact or mirrored) is logged but not trained again,
and the best genotype builds the retrain neck unchanged."""
import json

import torch
import yaml
from mmengine.config import Config
from mmengine.runner import Runner

from projects.nas_fpn.nas_fpn import (GenotypeNASFPN, NASFPNSearchLoop, NASFPNSearchSpace,
                                      PPOTrainer, genotype_to_list, load_genotype)
from conftest import run_cli

CFG = 'projects/nas_fpn/configs/nasfpn_search_r10-w16_nasfpn-3x32_toy.py'
PUBLISHED = 'projects/nas_fpn/genotypes/nasfpn_7cell.yaml'
SYNTH = dict(reward=dict(type='match', target=PUBLISHED), num_steps=6, samples_per_step=4)
SYNTH_CLI = [f'train_cfg.{k}={v}' for k, v in SYNTH.items() if k != 'reward'
             ] + ['train_cfg.reward.type=match', f'train_cfg.reward.target={PUBLISHED}']


def _jsonl(path):
    return [json.loads(line) for line in path.read_text().splitlines()]


def _search(work, *options, resume=False):
    run_cli(['mim', 'train', 'mmdet', CFG, '--work-dir',
             str(work)] + ['--resume'] * resume + ['--cfg-options'] + SYNTH_CLI + list(options))


def _state(work):
    return torch.load(work / 'search_state.pth', map_location='cpu', weights_only=True)['ppo']


def test_search_loop_resume_equals_uninterrupted_run(tmp_path, toy_coco):
    killed, whole = tmp_path / 'killed', tmp_path / 'whole'
    # stops after 7 trained candidates, i.e. inside step 1 with samples pending
    _search(killed, 'train_cfg.max_new_candidates=7')
    first = _jsonl(killed / 'search_history.jsonl')
    assert len(first) == 7
    _search(killed, resume=True)
    _search(whole)
    hist, ref = _jsonl(killed / 'search_history.jsonl'), _jsonl(whole / 'search_history.jsonl')
    assert hist[:7] == first  # finished candidates kept, not retrained

    def strip(records):
        return [{k: v for k, v in r.items() if k != 'wall_time_s'} for r in records]

    # resume restored the controller, Adam, baseline and sampler: the same search
    assert strip(hist) == strip(ref)
    samples = _jsonl(killed / 'samples.jsonl')
    assert samples == _jsonl(whole / 'samples.jsonl')
    assert [(r['step'], r['sample']) for r in samples] == [(s, k) for s in range(6)
                                                           for k in range(4)]
    state, ref_state = _state(killed), _state(whole)
    assert state['baseline'] == ref_state['baseline']
    for k, v in ref_state['controller'].items():
        assert torch.equal(state['controller'][k], v), k
    for k, v in ref_state['optimizer']['state'].items():
        assert torch.equal(state['optimizer']['state'][k]['exp_avg_sq'], v['exp_avg_sq'])

    for r in hist:
        assert {'genotype', 'score', 'cost', 'wall_time_s'} <= set(r)
    assert (killed / 'search_progress.png').stat().st_size > 0
    best = load_genotype(str(killed / 'best_genotype.yaml'))
    top = max(r['score'] for r in hist)
    assert yaml.safe_load((killed / 'best_genotype.yaml').read_text())['score'] == top
    assert best in [load_genotype(r['genotype']) for r in hist if r['score'] == top]
    neck = GenotypeNASFPN([8, 16, 32], 8, str(killed / 'best_genotype.yaml'), stack_times=1)
    assert neck.genotype == best

    # a run without --resume starts afresh: no stale history, samples, best or plot
    (killed / 'search_progress.png').write_bytes(b'stale')
    _search(killed, 'train_cfg.max_new_candidates=0')
    left = {p.name for p in killed.iterdir()}
    assert not {
        'search_history.jsonl', 'samples.jsonl', 'best_genotype.yaml', 'search_progress.png'
    } & left


def test_repeated_samples_are_logged_not_retrained(tmp_path, toy_coco, monkeypatch):
    """Each step the sampler returns the published cell, its mirror (every cell's inputs
    swapped: the same network), and one fresh genotype twice."""
    space = NASFPNSearchSpace()
    cells = genotype_to_list(load_genotype(PUBLISHED))
    published = space.encode(load_genotype(cells))
    mirror = space.encode(load_genotype([[lv, op, ins[::-1], out] for lv, op, ins, out in cells]))
    sample = PPOTrainer.sample

    def repeating_sample(self, batch_size, generator=None):
        actions, _ = sample(self, batch_size, generator)
        actions[0], actions[1] = torch.tensor(published), torch.tensor(mirror)
        actions[3] = actions[2]
        with torch.no_grad():
            _, log_prob, _ = self.controller(actions=actions)
        return actions, log_prob

    trained = []
    score = NASFPNSearchLoop._score

    def counting_score(self, actions, genotype, seed):
        trained.append(genotype)
        return score(self, actions, genotype, seed)

    monkeypatch.setattr(PPOTrainer, 'sample', repeating_sample)
    monkeypatch.setattr(NASFPNSearchLoop, '_score', counting_score)
    cfg = Config.fromfile(CFG)
    cfg.merge_from_dict(dict(train_cfg=dict(SYNTH, num_steps=3)))
    cfg.work_dir = str(tmp_path / 'search')
    Runner.from_cfg(cfg).train()

    hist = _jsonl(tmp_path / 'search' / 'search_history.jsonl')
    samples = _jsonl(tmp_path / 'search' / 'samples.jsonl')
    assert len(trained) == len(hist) == 4  # the published cell once + one fresh per step
    assert len({json.dumps(r['genotype']) for r in hist}) == 4
    assert len(samples) == 12  # every sample logged
    by = {(r['step'], r['sample']): r for r in samples}
    assert by[0, 0]['duplicate_of'] is None and by[0, 0]['score'] == 1.0
    for s in range(3):
        assert by[s, 1]['genotype'] != by[0, 0]['genotype']  # the mirror, as sampled ...
        assert by[s, 1]['duplicate_of'] == dict(step=0, sample=0)  # ... not retrained
        assert by[s, 1]['score'] == 1.0  # the published cell's reward, reused
        assert by[s, 2]['duplicate_of'] is None
        assert by[s, 3]['duplicate_of'] == dict(step=s, sample=2)
        assert by[s, 3]['candidate'] == by[s, 2]['candidate']
    for s in (1, 2):
        assert by[s, 0]['duplicate_of'] == dict(step=0, sample=0)
