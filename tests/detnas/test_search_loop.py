"""DetNASSearchLoop under `mim train` (issue 5, point 5) on the synthetic fitness (fraction of
genes equal to a target path, FLOPs limit = the target's FLOPs, so the target is the known
optimum): paper settings, every candidate logged once, a stop mid-generation and a line cut by a
kill are resumed without re-scoring, the optimum is found, and best_genotype.yaml builds the
retrain backbone unchanged."""
import json

import torch
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config

from projects.detnas.detnas import DetNASShuffleNetFixed, get_flops_table, load_genotype
from conftest import run_cli

CFG = 'projects/detnas/configs/detnas_search_retinanet-toy_toy.py'
TARGET = 'detnas_coco_retinanet_300m'


def _synthetic_options():
    cfg = Config.fromfile(CFG)
    widths = cfg.model.backbone.stage_out_channels
    limit = get_flops_table([4, 4, 8, 4], widths,
                            count_bn=False).flops(load_genotype(TARGET)['genotype'])
    return [
        'train_cfg.fitness.type=match', f'train_cfg.fitness.target={TARGET}',
        f'train_cfg.flops_limit={limit}', 'train_cfg.max_epochs=20', 'train_cfg.population_num=50',
        'train_cfg.select_num=10', 'train_cfg.mutation_num=20', 'train_cfg.crossover_num=20'
    ]


def _history(work):
    return [json.loads(line) for line in (work / 'search_history.jsonl').read_text().splitlines()]


def _supernet_checkpoint(path):
    """A detector checkpoint of the search config's model (stands in for step 2's output)."""
    model = MODELS.build(Config.fromfile(CFG).model)
    torch.save(dict(meta=dict(), state_dict=model.state_dict()), path)
    return str(path)


def test_search_finds_optimum_and_resumes(tmp_path, toy_coco):
    work = tmp_path / 'search'
    opts = _synthetic_options()
    ckpt = _supernet_checkpoint(tmp_path / 'supernet.pth')
    run_cli(['mim', 'train', 'mmdet', CFG, '--work-dir',
             str(work), '--cfg-options'] + opts +
            [f'load_from={ckpt}', 'train_cfg.max_new_candidates=130'])
    first = _history(work)
    assert len(first) == 130  # stopped inside generation 2 (50 + 50 + 30)
    state = json.loads((work / 'search_state.json').read_text())
    assert state['generation'] == 2 and state['load_from'] == ckpt
    with open(work / 'search_history.jsonl', 'a') as f:
        f.write('{"generation": 2, "genotype": ["shuf')  # a line cut by a kill
    # `mim train --resume` drops load_from: the loop reloads the supernet from its state
    res = run_cli(
        ['mim', 'train', 'mmdet', CFG, '--work-dir',
         str(work), '--resume', '--cfg-options'] + opts)
    assert f'supernet weights reloaded from {ckpt}' in res.stdout + res.stderr
    hist = _history(work)
    assert hist[:130] == first  # finished candidates kept, not re-scored
    keys = [tuple(r['genotype']) for r in hist]
    assert len(keys) == len(set(keys))  # nothing scored twice
    gens = [r['generation'] for r in hist]
    assert gens == sorted(gens) and set(gens) == set(range(20))
    assert all(sum(g == k for g in gens) <= 50 for k in range(20))
    limit = float(opts[2].split('=')[1])
    assert all(r['flops_M'] <= limit / 1e6 + 0.01 for r in hist)  # the FLOPs limit holds
    for r in hist:
        assert {'genotype', 'score', 'flops_M', 'wall_time_s', 'generation'} <= set(r)
    best = yaml.safe_load((work / 'best_genotype.yaml').read_text())
    assert best['score'] == 1.0 and best['genotype'] == load_genotype(TARGET)['genotype']
    assert (work / 'search_progress.png').stat().st_size > 0
    assert not (work / 'best_subnet.pth').exists()  # synthetic fitness: nothing to slice
    # the search result drops into the retrain backbone as is
    net = DetNASShuffleNetFixed(str(work / 'best_genotype.yaml'), out_indices=(1, 2, 3))
    assert net.genotype == best['genotype'] and net.stage_out_channels[1] == 32


def test_bad_fitness_is_refused(tmp_path, toy_coco):
    res = run_cli([
        'mim', 'train', 'mmdet', CFG, '--work-dir',
        str(tmp_path), '--cfg-options', 'train_cfg.fitness.type=oracle'
    ],
                  check=False)
    assert res.returncode != 0 and 'unknown fitness' in res.stdout + res.stderr
