"""`make demo`: the suite's main job on the toy dataset, ending with the paper-vs-ours report.

1. writes the toy COCO set (tools/make_toy_coco.py) if it is missing or stale;
2. trains and tests the suite's stock baseline (a small mmdet RetinaNet) with `mim train` and
   `mim test`, the path every paper config follows;
3. runs each project's toy cycle, ``projects/<paper>/demo.sh`` where the project has one
   (supernet -> search -> export -> retrain -> COCO eval, on the toy set, in CPU minutes), and
   says beside its mAP what its searches scored: when every candidate's AP is at noise level
   (``NOISE_AP``), the pick is random and the table says so instead of presenting it as a result;
4. prints tools/paper_report.py's table (and writes it with the AP-vs-FLOPs plot).

    python tools/demo.py [--work-dir-root work_dirs] [--skip-baseline]
"""
import argparse
import glob
import json
import os
import os.path as osp
import subprocess
import sys
import time

import make_toy_coco
import paper_report

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
BASELINE = 'configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py'
# Toy AP (%) at or below which a search's scores are noise: an untrained toy detector scores
# 0.0-0.7 on the search split (NAS-FPN proxies after 20 iterations, issue 19).
NOISE_AP = 1.0


def _env():
    bindir = osp.dirname(sys.executable)
    return dict(
        os.environ,
        PATH=bindir + os.pathsep + os.environ.get('PATH', ''),
        PYTHONPATH=REPO,
        MPLBACKEND='Agg')


def _run(cmd, log_path):
    """Run ``cmd`` from the repo root, output to ``log_path``; returns (ok, seconds)."""
    print('$', ' '.join(cmd), flush=True)
    t = time.time()
    with open(log_path, 'w') as log:
        ok = subprocess.run(
            cmd, cwd=REPO, env=_env(), stdout=log, stderr=subprocess.STDOUT).returncode == 0
    if not ok:
        with open(log_path) as f:
            print(''.join(f.readlines()[-30:]))
    return ok, time.time() - t


def baseline(work_root):
    name = osp.splitext(osp.basename(BASELINE))[0]
    work_dir = osp.join(work_root, name)
    os.makedirs(work_dir, exist_ok=True)
    ok, t_train = _run(['mim', 'train', 'mmdet', BASELINE, '--work-dir', work_dir],
                       osp.join(work_root, f'{name}.train.log'))
    if not ok:
        return dict(step='baseline: mim train', ok=False, seconds=t_train)
    test_dir = osp.join(work_dir, 'test')
    ok, t_test = _run([
        'mim', 'test', 'mmdet', BASELINE, '--checkpoint',
        osp.join(work_dir, 'epoch_12.pth'), '--work-dir', test_dir
    ], osp.join(work_root, f'{name}.test.log'))
    ap, _ = paper_report.read_ap(work_root, BASELINE)
    return dict(
        step=f'baseline: {BASELINE} (mim train + mim test)', ok=ok, seconds=t_train + t_test, ap=ap)


def search_summary(project_dir):
    """What the searches under ``project_dir`` scored, one part per ``search_history.jsonl``:
    the number of scored rows and their AP range in %, flagged when every row is at noise level
    (<= ``NOISE_AP``). Rows whose score is not an AP metric give their plain score range."""
    parts = []
    pattern = osp.join(project_dir, '**', 'search_history.jsonl')
    for path in sorted(glob.glob(pattern, recursive=True)):
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
        if not rows:
            continue
        scores = [r['score'] for r in rows]
        name = osp.relpath(osp.dirname(path), project_dir)
        is_ap = all(
            any('mAP' in k and v == r['score'] for k, v in (r.get('metrics') or {}).items())
            for r in rows)
        if not is_ap:
            parts.append(f'{name}: {len(rows)} scored, score {min(scores):.3g}-{max(scores):.3g}')
            continue
        low, high = 100 * min(scores), 100 * max(scores)
        text = f'{name}: {len(rows)} scored, AP {low:.1f}-{high:.1f}%'
        if high <= NOISE_AP:
            text += ' (noise level: the pick is random, not a result)'
        parts.append(text)
    return '; '.join(parts)


def project_demos(work_root):
    results = []
    for script in sorted(glob.glob(osp.join(REPO, 'projects', '*', 'demo.sh'))):
        project = osp.basename(osp.dirname(script))
        ok, t = _run(['bash', script, osp.join(work_root, project)],
                     osp.join(work_root, f'{project}.demo.log'))
        summary = osp.join(work_root, project, 'demo_summary.json')
        extra = {}
        if osp.exists(summary):
            with open(summary) as f:
                extra = json.load(f)
        extra['search'] = search_summary(osp.join(work_root, project))
        results.append(
            dict(step=f'{project}: projects/{project}/demo.sh', ok=ok, seconds=t, **extra))
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir-root', default='work_dirs')
    parser.add_argument('--skip-baseline', action='store_true')
    args = parser.parse_args(argv)
    os.chdir(REPO)
    os.makedirs(args.work_dir_root, exist_ok=True)
    make_toy_coco.ensure('data/toy_coco')
    steps = [] if args.skip_baseline else [baseline(args.work_dir_root)]
    steps += project_demos(args.work_dir_root)
    have = {osp.basename(osp.dirname(p)) for p in glob.glob('projects/*/demo.sh')}
    print('\n# Toy runs (data/toy_coco, CPU)\n')
    print('| step | ok | minutes | toy val bbox mAP | what the search scored |\n'
          '|---|---|---|---|---|')
    for s in steps:
        ap = '-' if s.get('ap') is None else f'{s["ap"]:.1f}'
        print(f'| {s["step"]} | {"yes" if s["ok"] else "FAILED"} | {s["seconds"] / 60:.1f} '
              f'| {ap} | {s.get("search") or "-"} |')
    projects = {osp.basename(osp.dirname(p)) for p in glob.glob('projects/*/metafile.yml')}
    missing = sorted(projects - have)
    if missing:
        print(f'\nNo toy cycle yet (not implemented): {", ".join(missing)}')
    print()
    paper_report.main([
        '--work-dir-root', args.work_dir_root, '--out',
        osp.join(args.work_dir_root, 'paper_report')
    ])
    return 0 if all(s['ok'] for s in steps) else 1


if __name__ == '__main__':
    sys.exit(main())
