"""The resource weight's effect: one search per lambda, the decoded architecture's cost.

    python projects/auto_fpn/tools/cost_curve.py [--stage fusion] [--lambdas 0 0.1 1 3] [--seed 0]
    python projects/auto_fpn/tools/cost_curve.py --toy [--stage fusion] [--epochs 4] [--batches 4]

Runs ``AutoFPNSearchLoop`` once per lambda and prints, per lambda, the decoded genotype's cost
(C, the normalised params + FLOPs + MAC of the edges it builds, :mod:`.resource_cost`), the
expected cost at the end, the decoded edges' parameters / GFLOPs / MAC and the match with the
target. Default: ``AutoFPNSyntheticObjective`` (the real supernet at 8 channels, frozen random
candidates, a random target genotype: 2 layers or cells, 2 edges per node) with a normalised
MSE whose scale (1 at the start) is close to a detection loss's. ``--toy``: the toy detection
search of the stage's toy config instead (CPU minutes per lambda; no target: no match).
"""
import argparse
import json
import os.path as osp
import random
import tempfile

from mmengine.config import Config
from mmengine.runner import Runner

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
CONFIGS = {
    stage:
    osp.join(REPO, f'projects/auto_fpn/configs/autofpn_search-{stage}_faster-rcnn_r18'
             '-w16_toy.py')
    for stage in ('fusion', 'head')
}


def synthetic_options(stage, seed, epochs=6, batches=12, lr=0.2):
    """``train_cfg`` options of a synthetic search with a random target (seed ``100 + seed``)."""
    from projects.auto_fpn.auto_fpn import random_genotype
    return dict(
        objective=dict(
            type='AutoFPNSyntheticObjective',
            target=random_genotype(stage, random.Random(100 + seed)),
            num_batches=batches),
        stage=stage,
        score_key='synthetic/match',
        max_epochs=epochs,
        arch_start_epoch=1,
        arch_optimizer=dict(lr=lr),
        seed=seed)


def cost_curve(lambdas,
               stage='fusion',
               seed=0,
               work_root=None,
               toy=False,
               epochs=None,
               batches=None):
    """``[dict(lam, decoded_cost, expected_cost, params_m, gflops, mac_m, match), ...]``."""
    work_root = work_root or tempfile.mkdtemp(prefix='autofpn_cost_curve_')
    out = []
    for lam in lambdas:
        cfg = Config.fromfile(CONFIGS[stage])
        if toy:
            opts = dict(seed=seed, max_epochs=epochs or cfg.train_cfg.max_epochs)
            opts['arch_start_epoch'] = opts['max_epochs'] // 2
            if batches:
                cfg.train_cfg.objective.max_batches = batches
        else:
            opts = synthetic_options(stage, seed, **({
                'epochs': epochs
            } if epochs else {}), **({
                'batches': batches
            } if batches else {}))
            cfg.train_cfg.objective = opts.pop('objective')
        cfg.train_cfg.update(opts, cost_weight=float(lam))
        cfg.work_dir = osp.join(work_root, f'{stage}_lambda_{lam:g}')
        cfg.experiment_name = f'autofpn_cost_curve_{stage}_{lam:g}_{seed}'
        cfg.default_hooks.logger.interval = 1000
        Runner.from_cfg(cfg).train()
        with open(osp.join(cfg.work_dir, 'search_history.jsonl')) as f:
            last = json.loads(f.read().splitlines()[-1])
        c = last['cost']
        out.append(
            dict(
                lam=float(lam),
                decoded_cost=c['decoded_cost'],
                expected_cost=c['expected_cost'],
                params_m=c['decoded_params_m'],
                gflops=c['decoded_gflops'],
                mac_m=c['decoded_mac_m'],
                match=last['metrics'].get('synthetic/match')))
    return out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--stage', choices=('fusion', 'head'), default='fusion')
    parser.add_argument('--lambdas', type=float, nargs='+', default=[0, 0.1, 1, 3])
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--toy', action='store_true', help='the toy detection search')
    parser.add_argument('--epochs', type=int)
    parser.add_argument('--batches', type=int)
    args = parser.parse_args()
    rows = cost_curve(
        args.lambdas, args.stage, args.seed, toy=args.toy, epochs=args.epochs, batches=args.batches)
    print('| lambda | decoded cost C | expected cost C | decoded params (M) | decoded GFLOPs '
          '| decoded MAC (M) | match with the target |')
    print('|---|---|---|---|---|---|---|')
    for r in rows:
        match = '-' if r['match'] is None else f'{r["match"]:.2f}'
        print(f'| {r["lam"]:g} | {r["decoded_cost"]:.3f} | {r["expected_cost"]:.3f} | '
              f'{r["params_m"]:.4f} | {r["gflops"]:.5f} | {r["mac_m"]:.4f} | {match} |')


if __name__ == '__main__':
    main()
