"""The FLOPs weight's effect: the search at several lambdas on the synthetic objective.

    python projects/hitdet/tools/cost_curve.py --lambdas 0 1000 10000 100000 [--seed 0]

Runs ``HitDetSearchLoop`` (stage 'search') on ``HitDetSyntheticObjective`` (2 positions per
component over the paper's sub-spaces, a random target genotype) once per lambda and prints, per
lambda, the decoded genotype's GFLOPs, the expected GFLOPs and the match with the target. The
synthetic ops run on 8 channels x 8 x 8 maps, so one op costs ~1e-5 GFLOPs: lambdas of 1e3-1e5
give the FLOPs term the weight the paper's 0.01 has against a detection loss at 800 px.
"""
import argparse
import os.path as osp
import random
import tempfile

import yaml
from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIG = osp.join(REPO, 'projects/hitdet/configs/hitdet_search_faster-rcnn-w0.25_toy.py')


def cost_curve(lambdas, seed=0, work_root=None, epochs=6):
    """``[(lambda, decoded GFLOPs, expected GFLOPs, match), ...]`` of one search per lambda."""
    from projects.hitdet.hitdet import subspace
    rng = random.Random(100 + seed)
    candidates = {c: list(subspace(c, 'paper')) for c in ('backbone', 'neck', 'head')}
    target = {c: [rng.choice(ops) for _ in range(2)] for c, ops in candidates.items()}
    work_root = work_root or tempfile.mkdtemp(prefix='hitdet_cost_curve_')
    out = []
    for lam in lambdas:
        cfg = Config.fromfile(CONFIG)
        cfg.train_cfg.objective = dict(
            type='HitDetSyntheticObjective', target=target, candidates=candidates)
        cfg.train_cfg.update(
            stage='search',
            score_key='synthetic/match',
            max_epochs=epochs,
            arch_start_epoch=1,
            arch_optimizer=dict(lr=0.1),
            cost_weight=float(lam),
            seed=seed)
        cfg.work_dir = osp.join(work_root, f'lambda_{lam:g}')
        cfg.experiment_name = f'hitdet_cost_curve_{lam:g}_{seed}'
        cfg.default_hooks.logger.interval = 1000
        Runner.from_cfg(cfg).train()
        with open(osp.join(cfg.work_dir, 'best_genotype.yaml')) as f:
            best = yaml.safe_load(f)
        with open(osp.join(cfg.work_dir, 'search_history.jsonl')) as f:
            last = yaml.safe_load(f.read().splitlines()[-1])
        out.append((float(lam), last['cost']['decoded_gflops'], last['cost']['expected_gflops'],
                    best['score']))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--lambdas', type=float, nargs='+', default=[0, 1e3, 1e4, 1e5])
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    print('| lambda | decoded GFLOPs | expected GFLOPs | match with the target |')
    print('|---|---|---|---|')
    for lam, decoded, expected, match in cost_curve(args.lambdas, args.seed):
        print(f'| {lam:g} | {decoded:.3e} | {expected:.3e} | {match:.2f} |')


if __name__ == '__main__':
    main()
