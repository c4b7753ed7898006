"""`make demo`: the suite's main job on the toy dataset, ending with the paper-vs-ours report.

1. writes the toy COCO set (tools/make_toy_coco.py) if it is missing or stale;
2. runs each project's toy cycle, ``projects/<paper>/demo.sh`` (search -> export -> retrain of
   the searched architecture -> COCO eval, on the toy set, in CPU minutes);
3. retrains, per project, three rows with the same toy recipe: the published architecture
   (``reference``), the searched one (``searched``: the cycle's retrain is its seed 0) and the
   mmdet baseline the paper compares with (``baseline``, shared between projects that share it),
   each over ``--seeds`` seeds (default 1: 37.7-38.7 minutes on 2 cores, measured on 2026-12-05;
   ``--seeds 2`` about an hour);
   baselines train with ``mim train`` + ``mim test``, the path every
   paper config follows;
4. prints, per project, each row's toy val bbox mAP per seed, its mean and range, which genotype
   it is, and what the cycle's searches scored: when every candidate's AP is at noise level
   (``NOISE_AP``), the pick is random and the row says so instead of presenting it as a result;
5. prints tools/paper_report.py's table (and writes it with the AP-vs-FLOPs plot).

The jobs run ``--jobs`` at a time (default 2: a toy training uses one intra-op thread, so two of
them on the 2-core CI machine take the wall time of one, measured: 42 s alone, 43 s as a pair).

    python tools/demo.py [--work-dir-root work_dirs] [--only PROJECT ...] [--seeds 1] [--jobs 2]
"""
import argparse
import glob
import json
import os
import os.path as osp
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import make_toy_coco
from read_metric import read_metric

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
RETINANET = 'configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py'
FASTER_RCNN = 'configs/toy/faster-rcnn_r18-w16_fpn-32_1xb8-12e_toy.py'
FCOS = 'configs/toy/fcos_r18-w16_fpn-64_1xb8-12e_toy.py'
# Toy AP (%) at or below which a search's scores are noise: an untrained toy detector scores
# 0.0-0.7 on the search split (NAS-FPN proxies after 20 iterations). The toy search
# tests assert that their candidates clear it (tests/conftest.py, assert_toy_search_ranks).
NOISE_AP = 1.0


@dataclass(frozen=True)
class ToyRows:
    """What a project's three demo rows train.

    ``config`` is the project's toy retrain config, ``genotype_keys`` the cfg-options keys that
    take a genotype file, ``reference`` the published genotype file (None: none was published),
    ``searched`` the cycle's exported genotype (relative to the cycle's work dir), ``baseline``
    the mmdet config the paper compares with. ``backbone`` names a cycle work dir whose last
    checkpoint every row's backbone starts from (NAS-FCOS: the paper's frozen, pretrained
    backbone); ``pretrain`` is a config that trains the reference and searched rows' backbone
    first, with the row's genotype and seed (DetNAS: the found path's ImageNet retrain, as the
    cycle's demo.sh does); ``max_seeds`` caps the seeds of its reference and searched rows (a
    slow toy model: ``make demo`` stays under 40 minutes); ``note`` says what a reader must know
    to read the rows. ``PROJECTS`` lists them longest cycle first (as measured by ``make demo``,
    README; NAS-FCOS's and DetNAS's cycles take about as long, and NAS-FCOS's rows wait for its
    cycle, so it starts first): the order their jobs start in."""
    config: str
    genotype_keys: tuple
    reference: str
    searched: str
    baseline: str
    backbone: str = None
    pretrain: str = None
    max_seeds: int = None
    note: str = ''


PROJECTS = dict(
    hitdet=ToyRows(
        config='projects/hitdet/configs/faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py',
        genotype_keys=('model.backbone.genotype', 'model.neck.genotype',
                       'model.roi_head.bbox_head.genotype'),
        reference='projects/hitdet/genotypes/hitdet_released.yaml',
        searched='search/best_genotype.yaml',
        baseline=FASTER_RCNN,
        max_seeds=1,
        note='its reference and searched rows keep one seed whatever --seeds says (a toy '
        'Hit-Detector retrain takes 8.6 minutes, 2-3x the others). The toy Hit-Detector scores '
        'below the ResNet-18 Faster R-CNN baseline (61.2 and 65.9 against 78.4 / 75.8), though '
        'it is the larger model (1.55M params against 1.23M). Swapping parts (2026-12-05, seed '
        '0): the baseline with the Hit-Detector backbone (width 0.25, from scratch; the paper '
        'trains it on ImageNet first) 71.6, the released neck and head on the ResNet-18 '
        'backbone 68.0 / 66.7 (seeds 0 / 1): about 7 points come from the backbone, 10 from the '
        'neck and head, against FPN and a 2-fc head; the released head on the baseline\'s FPN '
        'scores 79.8, so they are the neck\'s (width 64: 70.1; mmdet\'s box losses and '
        'RoIAlign: 68.1). They are the released neck\'s cells, dilated separable convs '
        'searched on COCO: with dilation-1 separable cells 74.3, with the same wiring and '
        'FPN\'s cells (1x1 laterals, 3x3 convs) 77.7 (projects/hitdet/README.md).'),
    nas_fpn=ToyRows(
        config='projects/nas_fpn/configs/retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py',
        genotype_keys=('model.neck.genotype', ),
        reference='projects/nas_fpn/genotypes/nasfpn_7cell.yaml',
        searched='search/best_genotype.yaml',
        baseline=RETINANET),
    nas_fcos=ToyRows(
        config='projects/nas_fcos/configs/'
        'nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py',
        genotype_keys=('model.neck.genotype', 'model.bbox_head.genotype'),
        reference='projects/nas_fcos/genotypes/nas_fcos_published.yaml',
        searched='search-head/best_genotype.yaml',
        baseline=FCOS,
        backbone='backbone',
        note='every row, the FCOS baseline too, starts from the backbone the cycle trained '
        "(4 epochs of the toy RetinaNet), as the paper's search and retrain start from an "
        "ImageNet backbone. The toy searches rank 2x2 candidates per phase by their proxies' loss "
        "after 40 iterations, every candidate trained with the search's seed, so a seed's shift "
        'of the loss is common to all (8 random decoders keep their order across seeds, Spearman '
        '0.76-0.95; projects/nas_fcos/README.md). The four decoders this cycle proposes are a '
        'near tie (losses within 0.12, their order changes between seeds): the decoder pick is '
        'close to random, and it scores below the baseline.'),
    detnas=ToyRows(
        config='projects/detnas/configs/retinanet_detnas-toy_fpn_1xb8-12e_toy.py',
        genotype_keys=('model.backbone.genotype', ),
        reference='projects/detnas/genotypes/detnas_coco_retinanet_300m.yaml',
        searched='search/best_genotype.yaml',
        baseline=RETINANET,
        pretrain='projects/detnas/configs/detnas_subnet-toy_1xb16-600it_toy-imagenet.py',
        note='the DetNAS rows retrain each path on toy ImageNet before toy COCO, as the paper '
        'does (the published path: 27.9 against 14.3 from scratch). The toy search '
        'runs in a 5-block space ([1, 1, 2, 1]; the 20-block toy supernet stayed at chance in a '
        'CPU budget and its search scored noise), so the searched row is a 5-block path and the '
        'reference row the published 20-block one. Depth is what separates them, and the '
        'reference from the RetinaNet baseline: from scratch, 12 epochs, seed 0 (2026-12-05), '
        'with the baseline\'s input normalisation, the published path scores 13.1, 20 '
        'shuffle_3x3 blocks 27.9, 10 of its blocks 31.9, 5 '
        'shuffle_3x3 blocks 50.7 (the baseline 47.0); with 36 epochs the published path scores '
        '59.2 (the baseline 70.4): it learns slowly, it is not broken; size is not the cause '
        '(a ResNet-18 of the published path\'s size at toy widths, width 12, scores 47.7) '
        '(projects/detnas/README.md, "Why the toy space has 5 blocks").'),
    spinenet=ToyRows(
        config='projects/spinenet/configs/retinanet_spinenet-toy_1xb8-12e_toy.py',
        genotype_keys=('model.backbone.genotype', ),
        reference='projects/spinenet/genotypes/spinenet49.yaml',
        searched='search/best_genotype.yaml',
        baseline=RETINANET),
    auto_fpn=ToyRows(
        config='projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py',
        genotype_keys=('model.neck.genotype', 'model.roi_head.bbox_head.genotype'),
        reference=None,
        searched='head/best_genotype.yaml',
        baseline=FASTER_RCNN,
        note="Auto-FPN's searched cells are only drawn in the paper's figure, not readable as a "
        'genotype: there is no reference row. The toy search decodes mostly skip connections '
        '(its README: at lambda 1 the resource term outweighs what four toy epochs teach), so the '
        'searched neck and head have few convolutions of their own and score below the '
        'baseline.'),
)


@dataclass(frozen=True)
class FromFile:
    """A cfg option ``key=<the content of path>``, read when its job starts (a checkpoint path
    an earlier job wrote to its ``last_checkpoint``)."""
    key: str
    path: str


@dataclass
class Job:
    """One command of the demo: it starts when every job named in ``after`` succeeded, and is
    skipped when one failed. ``work_dir`` is where its metric is read (None: no metric)."""
    name: str
    cmd: list
    log: str
    after: tuple = ()
    work_dir: str = None
    ok: bool = None
    seconds: float = 0.0
    skipped: bool = False
    started: float = 0.0
    proc: object = field(default=None, repr=False)
    log_file: object = field(default=None, repr=False)


def _env():
    bindir = osp.dirname(sys.executable)
    return dict(
        os.environ,
        PATH=bindir + os.pathsep + os.environ.get('PATH', ''),
        PYTHONPATH=REPO,
        MPLBACKEND='Agg',
        OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))


def run_jobs(jobs, parallel=2, poll=0.5):
    """Run ``jobs`` (a list, in order of priority) ``parallel`` at a time from the repo root,
    each one's output to its log; a job waits for the jobs named in its ``after``. Returns the
    jobs with ``ok``/``seconds``/``skipped`` set; the tail of a failed job's log is printed."""
    by_name = {j.name: j for j in jobs}
    for job in jobs:
        missing = [a for a in job.after if a not in by_name]
        if missing:
            raise ValueError(f'job {job.name!r} waits for unknown jobs {missing}')
    pending, running = list(jobs), []
    while pending or running:
        for job in list(running):
            if job.proc.poll() is None:
                continue
            job.log_file.close()
            job.ok, job.seconds = job.proc.returncode == 0, time.time() - job.started
            running.remove(job)
            status = 'done' if job.ok else 'FAILED'
            print(f'[{status} in {job.seconds / 60:.1f} min] {job.name}', flush=True)
            if not job.ok:
                with open(job.log) as f:
                    print(''.join(f.readlines()[-30:]), flush=True)
        for job in list(pending):
            deps = [by_name[a] for a in job.after]
            if any(d.ok is False or d.skipped for d in deps):
                job.ok, job.skipped = False, True
                pending.remove(job)
                print(f'[skipped: {", ".join(job.after)} failed] {job.name}', flush=True)
            elif len(running) < parallel and all(d.ok for d in deps):
                pending.remove(job)
                os.makedirs(osp.dirname(job.log) or '.', exist_ok=True)
                print(f'[start] {job.name}: $ {" ".join(job.cmd)}', flush=True)
                job.log_file = open(job.log, 'w')
                job.started = time.time()
                job.proc = subprocess.Popen(
                    job.cmd, cwd=REPO, env=_env(), stdout=job.log_file, stderr=subprocess.STDOUT)
                running.append(job)
        if running:
            time.sleep(poll)
    return jobs


def _quote(option):
    if isinstance(option, FromFile):
        return f'{shlex.quote(option.key + "=")}"$(cat {shlex.quote(option.path)})"'
    return shlex.quote(option)


def _backbone_from(work_dir):
    """Options that start the backbone from the last checkpoint of the run in ``work_dir``
    (its ``backbone.*`` weights), read when the job starts."""
    return [
        'model.backbone.init_cfg.type=Pretrained', 'model.backbone.init_cfg.prefix=backbone.',
        FromFile('model.backbone.init_cfg.checkpoint', osp.join(work_dir, 'last_checkpoint'))
    ]


def _mim_train(config, work_dir, options):
    return ' '.join(
        ['mim', 'train', 'mmdet',
         shlex.quote(config), '--work-dir',
         shlex.quote(work_dir)] + (['--cfg-options'] if options else []) +
        [_quote(o) for o in options])


def _train(name, config, work_dir, options, log, after=(), test=False, pretrain=None):
    """A ``mim train`` job, run by bash so that an option may read a path a previous job wrote
    (``FromFile``). ``test``: then ``mim test`` of its last checkpoint (the baseline's path).
    ``pretrain=(config, options)``: first trains that config in ``work_dir/pretrain`` and starts
    the backbone from its last checkpoint (DetNAS: the path's ImageNet retrain)."""
    steps = []
    if pretrain:
        pre_dir = osp.join(work_dir, 'pretrain')
        steps.append(_mim_train(pretrain[0], pre_dir, pretrain[1]))
        options = options + _backbone_from(pre_dir)
    steps.append(_mim_train(config, work_dir, options))
    if test:
        steps.append(f'mim test mmdet {shlex.quote(config)} --work-dir '
                     f'{shlex.quote(osp.join(work_dir, "test"))} --checkpoint '
                     f'"$(cat {shlex.quote(osp.join(work_dir, "last_checkpoint"))})"')
    return Job(
        name=name,
        cmd=['bash', '-c', 'set -euo pipefail; ' + ' && '.join(steps)],
        log=log,
        after=after,
        work_dir=work_dir)


def _genotype_row(project, work, row, genotype, seed, shared, after):
    """The job of one seed of a reference or searched row: the project's toy retrain config
    with ``genotype`` in every genotype key (after its ``pretrain``, if any)."""
    spec = PROJECTS[project]
    options = [f'{k}={genotype}' for k in spec.genotype_keys]
    seed_option = [f'randomness.seed={seed}']
    return _train(
        f'{project}: {row} seed {seed}',
        spec.config,
        osp.join(work, 'rows', f'{row}-seed{seed}'),
        options + shared + seed_option,
        osp.join(work, 'rows', f'{row}-{seed}.log'),
        after,
        pretrain=spec.pretrain and (spec.pretrain, options + seed_option))


def plan(work_root, projects, seeds):
    """The demo's jobs, in order of priority, and per project its rows: ``{project: [(row,
    genotype label, [job name per seed])]}``. The cycles start first (the longest first: the
    order of ``PROJECTS``), then the references, the baselines and the searched rows' further
    seeds. The cycle's own retrain is the searched row's seed 0; a baseline trained with the
    same options is one set of jobs for every project that compares with it."""
    cycles, references, baselines, searched_seeds = [], [], [], []
    rows, baseline_rows = {}, {}
    for project in projects:
        spec, work = PROJECTS[project], osp.join(work_root, project)
        cycle = f'{project}: cycle'
        cycles.append(
            Job(name=cycle,
                cmd=['bash', f'projects/{project}/demo.sh', work],
                log=osp.join(work_root, f'{project}.demo.log'),
                work_dir=osp.join(work, 'retrain')))
        n_seeds = min(seeds, spec.max_seeds or seeds)
        shared, after = [], ()
        if spec.backbone:
            shared = _backbone_from(osp.join(work, spec.backbone))
            after = (cycle, )
        project_rows = []

        if spec.reference:
            jobs = [
                _genotype_row(project, work, 'reference', spec.reference, s, shared, after)
                for s in range(n_seeds)
            ]
            references += jobs
            project_rows.append(
                ('reference', f'published: {spec.reference}', [j.name for j in jobs]))
        searched = osp.join(work, spec.searched)
        jobs = [
            _genotype_row(project, work, 'searched', searched, s, shared, (cycle, ))
            for s in range(1, n_seeds)
        ]
        searched_seeds += jobs
        names = [cycle] + [j.name for j in jobs]
        project_rows.append(('searched', f'this run\'s search: {searched}', names))
        key = (spec.baseline, tuple(shared))
        tag = osp.splitext(osp.basename(spec.baseline))[0]
        owner = work if shared else work_root
        names = baseline_rows.setdefault(key, [])
        for seed in range(len(names), seeds):  # as many seeds as its projects' most
            name = f'baseline {tag}' + (f' ({project} backbone)' if shared else '')
            name += f' seed {seed}'
            baselines.append(
                _train(
                    name,
                    spec.baseline,
                    osp.join(owner, 'baselines', f'{tag}-seed{seed}'),
                    shared + [f'randomness.seed={seed}'],
                    osp.join(owner, 'baselines', f'{tag}-{seed}.log'),
                    after,
                    test=True))
            names.append(name)
        project_rows.append(('baseline', f'mmdet: {spec.baseline}', names))
        rows[project] = project_rows
    return cycles + references + baselines + searched_seeds, rows


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


def row_cells(aps):
    """Per-seed AP cell and ``mean (min-max)`` cell for one row; a failed seed is ``FAILED``."""
    per_seed = ' / '.join('FAILED' if ap is None else f'{ap:.1f}' for ap in aps)
    done = [ap for ap in aps if ap is not None]
    if not done:
        return per_seed, '-'
    if len(done) == 1:
        return per_seed, f'{done[0]:.1f}'
    return per_seed, f'{statistics.mean(done):.1f} ({min(done):.1f}-{max(done):.1f})'


def report(jobs, rows, work_root):
    """The per-project markdown table of the rows (lines)."""
    by_name = {j.name: j for j in jobs}
    lines = [
        '| project | row | genotype | toy val bbox mAP (%) by seed 0 / 1 / ... | mean (range) |',
        '|---|---|---|---|---|'
    ]
    notes = []
    for project, project_rows in rows.items():
        for row, label, names in project_rows:
            aps = []
            for name in names:
                job = by_name[name]
                ap = read_metric(job.work_dir, percent=True) if job.ok else None
                aps.append(ap)
            per_seed, mean = row_cells(aps)
            if row == 'searched':
                searches = search_summary(osp.join(work_root, project))
                label += f' ({searches})' if searches else ''
            lines.append(f'| {project} | {row} | {label} | {per_seed} | {mean} |')
        if PROJECTS[project].note:
            notes.append(f'- {project}: {PROJECTS[project].note}')
    return lines + ([''] + notes if notes else [])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--work-dir-root', default='work_dirs')
    parser.add_argument(
        '--only', nargs='+', choices=sorted(PROJECTS), help='projects to run (default: all)')
    parser.add_argument(
        '--seeds',
        type=int,
        default=1,
        help='seeds per row (>= 1; 1: make demo in 37.7-38.7 minutes on 2 cores)')
    parser.add_argument('--jobs', type=int, default=2, help='jobs at a time (>= 1)')
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.jobs < 1:
        parser.error('--seeds and --jobs must be >= 1')
    os.chdir(REPO)
    os.makedirs(args.work_dir_root, exist_ok=True)
    have = sorted(osp.basename(osp.dirname(p)) for p in glob.glob('projects/*/demo.sh'))
    if sorted(PROJECTS) != have:
        raise RuntimeError(f'projects with a demo.sh {have} differ from tools/demo.py '
                           f'PROJECTS {sorted(PROJECTS)}: add the new project\'s rows')
    make_toy_coco.ensure('data/toy_coco')
    start = time.time()
    projects = [p for p in PROJECTS if p in (args.only or PROJECTS)]
    jobs, rows = plan(args.work_dir_root, projects, args.seeds)
    report_dir = osp.join(args.work_dir_root, 'paper_report')
    # The paper report counts the COCO models (minutes, single-threaded): it runs beside the toy
    # trainings as one more job.
    jobs.insert(
        1,
        Job(name='paper report',
            cmd=[
                sys.executable, 'tools/paper_report.py', '--work-dir-root', args.work_dir_root,
                '--out', report_dir
            ],
            log=osp.join(args.work_dir_root, 'paper_report.log')))
    run_jobs(jobs, args.jobs)
    minutes = (time.time() - start) / 60
    print(f'\n# Toy rows (data/toy_coco, CPU; {len(jobs)} jobs, {args.jobs} at a time, '
          f'{minutes:.1f} min)\n')
    print('\n'.join(report(jobs, rows, args.work_dir_root)))
    print('\n| job | ok | minutes |\n|---|---|---|')
    for job in jobs:
        status = 'skipped' if job.skipped else ('yes' if job.ok else 'FAILED')
        print(f'| {job.name} | {status} | {job.seconds / 60:.1f} |')
    failed = [j.name for j in jobs if not j.ok]
    if failed:
        print(f'\nFailed or skipped: {", ".join(failed)} (logs under {args.work_dir_root}/)')
    print()
    md = osp.join(report_dir, 'paper_report.md')
    if osp.exists(md):
        with open(md) as f:
            print(f.read())
    return 0 if not failed else 1


if __name__ == '__main__':
    sys.exit(main())
