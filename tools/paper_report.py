"""Paper-vs-ours report over every project's ``metafile.yml``.

For each model row: the paper's params/FLOPs/box AP (with their source) beside ours, where ours
are measured, not copied:

* params and FLOPs come from ``mmengine.analysis`` (``parameter_count``, ``FlopAnalyzer``: the
  counts of ``get_model_complexity_info``, without its second trace) on the model built
  from the row's ``Config``, counted over the row's ``FLOPs Scope`` (``whole detector`` or
  ``backbone ...``) at its ``FLOPs Input`` (HxW), as the paper counted. MMEngine counts one
  multiply-add as one FLOP, the convention of the papers' "FLOPs". A row whose paper counted a
  network other than the detector (DetNAS: the backbone with its ImageNet head) names that
  network's config in ``Metadata: Complexity Config``; its whole ``model`` is counted then. A row
  whose paper counted the detector with other settings than the config trains with (SpineNet:
  the TF head's 91 class outputs, mmdet's COCO has 80) names them in ``Metadata: Complexity
  Options`` (``--cfg-options`` style, e.g. ``{model.bbox_head.num_classes: 91}``);
* box AP is read from the newest COCO metric a run of that config left under
  ``<work-dir-root>/<config name>/`` (``mim train``'s validation scalars or ``mim test``'s json).

It writes a compact markdown table (model, paper / ours / delta for params, FLOPs and box AP; a
row outside the tolerance, +-5% params or FLOPs, is flagged) with each row's sources and what was
counted as numbered notes below it, and a PNG of AP against FLOPs that also shows
EfficientDet-D0 as an outside reference point. It says which model it is counting while it
counts, and keeps the counts in ``<out>/complexity_cache.json``, keyed by what builds the model
(the merged config's ``model``, with the options), the genotype files it names, the scope and the
input size: a rerun recounts only what changed, and rows of one model count once. With
``--as-trained`` a row counted with other settings than its config trains with (``Complexity
Options``) is also counted as the config trains it, and its note gives both. (A ``Complexity
Config`` row counts another network, which the config does not train at that input size: it has
no "as trained" count.)

    python tools/paper_report.py [--projects projects] [--only spinenet ...]
                                 [--work-dir-root work_dirs] [--out work_dirs/paper_report]
                                 [--no-measure] [--as-trained]
"""
import argparse
import glob
import hashlib
import json
import math
import os
import os.path as osp
import time

import torch
import yaml

from read_metric import AP_KEY, read_record

# Outside reference for the plot: google/automl efficientdet/README.md @6a54c87, COCO test-dev.
EFFICIENTDET_D0 = dict(
    name='EfficientDet-D0 (512)',
    ap=34.6,
    flops_g=2.54,
    params_m=3.9,
    source='google/automl efficientdet/README.md @6a54c87')
TOLERANCE = 0.05  # relative params / FLOPs difference above which a row is flagged


def resolve_config(path):
    """A config path, or ``mmdet::rel/path.py`` inside the installed mmdet."""
    if path.startswith('mmdet::'):
        import mmdet
        return osp.join(osp.dirname(mmdet.__file__), '.mim', 'configs', path[len('mmdet::'):])
    return path


def parse_size(text):
    """'640x640' -> (640, 640) as (height, width); None when not a size."""
    try:
        h, w = (int(v) for v in str(text).lower().split('x'))
    except ValueError:
        return None
    return h, w


class _TensorMode(torch.nn.Module):
    """A detector's 'tensor' mode on an image batch alone, as the FLOP tracer needs it (it
    cannot pass data samples): they are bound here, with the meta two-stage heads read."""

    def __init__(self, detector, hw):
        super().__init__()
        from mmdet.structures import DetDataSample
        self.detector = detector
        meta = dict(
            img_shape=hw, ori_shape=hw, pad_shape=hw, batch_input_shape=hw, scale_factor=(1.0, 1.0))
        self.samples = [DetDataSample(metainfo=meta)]

    def forward(self, inputs):
        return self.detector(inputs, self.samples, mode='tensor')


def complexity_key(config_path, scope, hw, options=None):
    """A key of everything a count depends on: what builds the model (the merged config's
    ``model``, ``default_scope`` and ``custom_imports``, options applied), the content of every
    genotype file (``*.yaml``) it names, the scope and the input size. Two configs that differ
    only in their schedule or data (SpineNet's 350- and 500-epoch rows, Hit-Detector's 1x and
    2x) share one count."""
    from mmengine.config import Config

    cfg = Config.fromfile(resolve_config(config_path))
    if options:
        cfg.merge_from_dict(dict(options))
    built = {k: cfg.get(k) for k in ('model', 'default_scope', 'custom_imports')}
    text = json.dumps(built, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode())
    for token in sorted(set(text.replace('"', "'").split("'"))):
        if token.endswith(('.yaml', '.yml')) and osp.isfile(token):
            with open(token, 'rb') as f:
                digest.update(token.encode() + f.read())
    digest.update(json.dumps([scope, list(hw), torch.__version__]).encode())
    return digest.hexdigest()


def measure(config_path, scope, hw, options=None):
    """Params (M) and FLOPs (G) of the model of ``config_path`` over ``scope`` at ``hw``
    (``scope`` starting with ``backbone``: ``model.backbone``; else the whole ``model``), with
    ``options`` (dotted keys, as ``--cfg-options``) merged into the config first."""
    from mmdet.registry import MODELS
    from mmengine.analysis import FlopAnalyzer, parameter_count
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    cfg = Config.fromfile(resolve_config(config_path))
    if options:
        cfg.merge_from_dict(dict(options))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if scope.startswith('backbone'):
        model = MODELS.build(cfg.model.backbone)
    else:
        model = _TensorMode(MODELS.build(cfg.model), hw)
    model.eval()
    # get_model_complexity_info's two numbers, from one trace: it also traces the model a second
    # time for activation counts, which the report does not use (twice the time).
    with torch.no_grad():
        flops = FlopAnalyzer(model, (torch.zeros(1, 3, *hw), )).total()
    return parameter_count(model)[''] / 1e6, flops / 1e9


def read_coco_metrics(work_dir):
    """The newest record holding ``coco/bbox_mAP`` in any json under ``work_dir`` (mmengine's
    validation scalars or ``mim test``'s json) and its file; ``(None, None)`` if there is none
    (``tools/read_metric.py``, which the projects' demo.sh call, reads it the same way)."""
    return read_record(work_dir, AP_KEY)


def read_ap(work_dir_root, config_path):
    """The newest ``coco/bbox_mAP`` (in %) a run of ``config_path`` wrote, and where from."""
    name = osp.splitext(osp.basename(config_path))[0]
    rec, path = read_coco_metrics(osp.join(work_dir_root, name))
    return (None, None) if rec is None else (100 * rec[AP_KEY], path)


def load_rows(projects_dir, only=None):
    """One dict per Model of every ``<projects_dir>/*/metafile.yml`` (of the ``only`` projects)."""
    rows = []
    for meta_path in sorted(glob.glob(osp.join(projects_dir, '*', 'metafile.yml'))):
        if only and osp.basename(osp.dirname(meta_path)) not in only:
            continue
        with open(meta_path) as f:
            meta = yaml.safe_load(f)
        for m in meta.get('Models') or []:
            md = m.get('Metadata') or {}
            res = (m.get('Results') or [{}])[0]
            rows.append(
                dict(
                    project=osp.basename(osp.dirname(meta_path)),
                    name=m['Name'],
                    config=m.get('Config'),
                    scope=md.get('FLOPs Scope', 'whole detector'),
                    complexity_config=md.get('Complexity Config'),
                    complexity_options=md.get('Complexity Options'),
                    size=md.get('FLOPs Input'),
                    paper_params=md.get('Params (M)'),
                    paper_flops=md.get('FLOPs (G)'),
                    paper_ap=(res.get('Metrics') or {}).get('box AP'),
                    split=res.get('Split'),
                    source=res.get('Source', '')))
    return rows


def _load_cache(path):
    if path and osp.isfile(path):
        with open(path) as f:
            return json.load(f)
    return {}


def _differs_from_training(row):
    """The row counts its own config's model with other settings (``Complexity Options``)."""
    return bool(row.get('complexity_options')) and not row['complexity_config']


def fill_ours(rows, work_dir_root, measure_models=True, cache_path=None, as_trained=False):
    """Add our measured params/FLOPs/AP (or the reason there is none) to each row; counts are
    read from / written to ``cache_path`` (JSON) when given. ``as_trained``: rows counted with
    ``Complexity Options`` are counted without them too (``trained_params/flops``)."""
    cache = _load_cache(cache_path)
    countable = [r for r in rows if r['config'] and parse_size(r['size'])]
    to_count = len(countable) + (
        sum(map(_differs_from_training, countable)) if as_trained else 0) if measure_models else 0
    position = 0

    def count(row, args, counted, hw):
        """(params, flops) of ``measure(*args)`` from the cache or counted now; where from."""
        nonlocal position
        position += 1
        key = complexity_key(*args)
        if key in cache:
            return cache[key], 'cached'
        t = time.time()
        print(
            f'[paper_report] counting {position}/{to_count}: '
            f'{row["project"]} / {row["name"]} ({args[0]}, {counted} at '
            f'{hw[0]}x{hw[1]})',
            flush=True)
        cache[key] = measure(*args)
        if cache_path:
            os.makedirs(osp.dirname(osp.abspath(cache_path)), exist_ok=True)
            with open(cache_path, 'w') as f:
                json.dump(cache, f, indent=1)
        return cache[key], f'{time.time() - t:.0f}s'

    for row in rows:
        row.update(
            params=None,
            flops=None,
            ap=None,
            trained_params=None,
            trained_flops=None,
            ours_source='')
        if not row['config']:
            row['ours_source'] = 'no config yet'
            continue
        notes = []
        hw = parse_size(row['size'])
        if measure_models and hw:
            if row['complexity_config']:
                args = (row['complexity_config'], 'model', hw, None)
                counted = f'model of `{row["complexity_config"]}`'
            else:
                opts = row.get('complexity_options')
                args = (row['config'], row['scope'], hw, opts)
                counted = row['scope'] + (f' with {opts}' if opts else '')
            (row['params'], row['flops']), where = count(row, args, counted, hw)
            notes.append(f'mmengine, {counted} at {hw[0]}x{hw[1]} ({where})')
            if as_trained and _differs_from_training(row):
                (row['trained_params'],
                 row['trained_flops']), where = count(row, (row['config'], row['scope'], hw, None),
                                                      f'{row["scope"]} as trained', hw)
                notes.append(f'as the config trains it: {row["trained_params"]:.2f}M params, '
                             f'{row["trained_flops"]:.2f} GFLOPs ({where})')
        elif not hw:
            notes.append(f'no input size to count at ({row["size"]})')
        row['ap'], ap_path = read_ap(work_dir_root, row['config'])
        notes.append(f'AP: {ap_path}' if ap_path else 'AP: not run')
        row['ours_source'] = f'`{row["config"]}`; ' + '; '.join(notes)
    return rows


def _fmt(v, nd=1):
    return '-' if v is None else f'{v:.{nd}f}'


def _delta(ours, paper, rel=False):
    if ours is None or paper is None:
        return '-'
    if rel:
        return f'{100 * (ours - paper) / paper:+.1f}%'
    return f'{ours - paper:+.1f}'


def _flag(r):
    """'!' when our params or FLOPs differ from the paper's by more than the tolerance."""
    off = [
        r[k] is not None and r[p] and abs(r[k] - r[p]) / r[p] > TOLERANCE
        for k, p in (('params', 'paper_params'), ('flops', 'paper_flops'))
    ]
    return ' **!**' if any(off) else ''


def to_markdown(rows):
    """The compact table, then per row a numbered note: the paper's source and split, what was
    counted, where our figures come from."""
    head = ('| model | params (M) paper | ours | delta | FLOPs (G) paper | ours | delta '
            '| box AP paper | ours | delta |\n' + '|' + '---|' * 10 + '\n')
    lines, notes = [], []
    for i, r in enumerate(rows, 1):
        lines.append('| ' + ' | '.join([
            f'{r["project"]}: {r["name"]} [{i}]{_flag(r)}',
            _fmt(r['paper_params']),
            _fmt(r['params'], 2),
            _delta(r['params'], r['paper_params'], True),
            _fmt(r['paper_flops']),
            _fmt(r['flops'], 2),
            _delta(r['flops'], r['paper_flops'], True),
            _fmt(r['paper_ap']),
            _fmt(r['ap']),
            _delta(r['ap'], r['paper_ap'])
        ]) + ' |')
        notes.append(f'{i}. paper: {r["source"]} ({r["split"]}); counted over {r["scope"]} at '
                     f'{r["size"]}; ours: {r["ours_source"]}')
    ref = EFFICIENTDET_D0
    foot = (f'\n**!** = params or FLOPs more than {TOLERANCE:.0%} from the paper\'s (the '
            'project README says why).\n\nNotes:\n\n' + '\n'.join(notes) +
            f'\n\nOutside reference in the plot: {ref["name"]}, {ref["ap"]} AP (COCO test-dev), '
            f'{ref["flops_g"]} GFLOPs, {ref["params_m"]}M params ({ref["source"]}).\n')
    return '# Paper vs ours\n\n' + head + '\n'.join(lines) + '\n' + foot


def _place_labels(points, widths, min_gap, x_max):
    """Label positions ``(y, right_side)`` for ``points`` [(x, y)] on a log-x axis: a label
    spans ``widths[k]`` decades to the right of its point (to the left where it would pass
    ``x_max``); labels whose spans overlap are pushed apart by ``min_gap`` in y (greedy,
    bottom-up)."""
    spans, sides = [], []
    for (x, _), w in zip(points, widths):
        lx = math.log10(x)
        right = lx + 0.03 + w <= math.log10(x_max)
        spans.append((lx + 0.03, lx + 0.03 + w) if right else (lx - 0.03 - w, lx - 0.03))
        sides.append(right)
    ys = [p[1] for p in points]
    placed = []
    for k in sorted(range(len(points)), key=lambda k: points[k][1]):
        y = points[k][1]
        moved = True
        while moved:
            moved = False
            for m in placed:
                overlap = spans[m][0] < spans[k][1] and spans[k][0] < spans[m][1]
                if overlap and abs(ys[m] - y) < min_gap - 1e-9:
                    y, moved = ys[m] + min_gap, True
        ys[k] = y
        placed.append(k)
    return list(zip(ys, sides))


def plot(rows, path):
    """AP (%) against FLOPs (log x): paper rows (filled: val, hollow: test-dev), our measured
    runs, EfficientDet-D0; one marker per project; labels (by an estimate of their width)
    pushed apart where they would overlap; legend entries only for what is drawn. Returns the
    legend's labels."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(11, 6))
    markers = dict(zip(sorted({r['project'] for r in rows}), 'osD^vP*X'))
    points, labels, drawn = [], [], dict(
        projects=set(), paper_val=False, paper_dev=False, ours=False)
    for r in rows:
        if r['scope'] != 'whole detector':
            continue
        m = markers[r['project']]
        if r['paper_flops'] and r['paper_ap'] is not None:
            dev = 'test-dev' in (r['split'] or '')
            ax.scatter(
                r['paper_flops'],
                r['paper_ap'],
                marker=m,
                s=36,
                facecolors='none' if dev else 'tab:blue',
                edgecolors='tab:blue')
            drawn['paper_dev' if dev else 'paper_val'] = True
            drawn['projects'].add(r['project'])
            points.append((r['paper_flops'], r['paper_ap']))
            labels.append(r['name'])
        if r['flops'] and r['ap'] is not None:
            ax.scatter(r['flops'], r['ap'], marker=m, s=36, color='tab:red')
            drawn['ours'] = True
            drawn['projects'].add(r['project'])
            points.append((r['flops'], r['ap']))
            labels.append(r['name'] + ' (ours)')
    ref = EFFICIENTDET_D0
    ax.scatter(ref['flops_g'], ref['ap'], marker='*', s=150, color='tab:green')
    points.append((ref['flops_g'], ref['ap']))
    labels.append(ref['name'])
    x_max = max(x for x, _ in points) * 2.5
    ax.set_xlim(min(x for x, _ in points) / 1.5, x_max)
    decades_per_char = 0.02 * math.log10(x_max / (min(x for x, _ in points) / 1.5)) / 3
    places = _place_labels(points, [decades_per_char * len(t) for t in labels], 0.55, x_max)
    for (x, y), (ly, right), text in zip(points, places, labels):
        ax.annotate(
            text, (x, y),
            xytext=(x * 1.07 if right else x / 1.07, ly),
            fontsize=6,
            va='center',
            ha='left' if right else 'right',
            arrowprops=dict(arrowstyle='-', lw=0.3, color='gray') if ly != y else None)
    legend = []
    for project in sorted(drawn['projects']):
        ax.scatter([], [], marker=markers[project], color='gray', label=project)
        legend.append(project)
    for key, kwargs, label in (
        ('paper_val', dict(color='tab:blue'), 'paper, val (whole-detector FLOPs)'),
        ('paper_dev', dict(facecolors='none', edgecolors='tab:blue'), 'paper, test-dev'),
        ('ours', dict(color='tab:red'), 'ours (measured, val)'),
    ):
        if drawn[key]:
            ax.scatter([], [], marker='o', label=label, **kwargs)
            legend.append(label)
    ax.scatter([], [], color='tab:green', marker='*', label='EfficientDet-D0 (reference, test-dev)')
    legend.append('EfficientDet-D0 (reference, test-dev)')
    ax.set_xscale('log')
    ax.set_xlabel('GFLOPs (whole detector, at the paper\'s input size)')
    ax.set_ylabel('COCO box AP (%)')
    ax.grid(True, which='both', alpha=0.3)
    ax.legend(fontsize=7, loc='upper left', bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return legend


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--projects', default='projects', help='folder of <paper>/metafile.yml')
    parser.add_argument('--only', nargs='+', help='project folder names to report (default: all)')
    parser.add_argument('--work-dir-root', default='work_dirs')
    parser.add_argument('--out', default='work_dirs/paper_report')
    parser.add_argument(
        '--no-measure', action='store_true', help='skip building models (params/FLOPs stay empty)')
    parser.add_argument(
        '--as-trained',
        action='store_true',
        help='also count rows with Complexity Options as their config trains them')
    args = parser.parse_args(argv)
    rows = fill_ours(
        load_rows(args.projects, args.only), args.work_dir_root, not args.no_measure,
        osp.join(args.out, 'complexity_cache.json'), args.as_trained)
    os.makedirs(args.out, exist_ok=True)
    md = to_markdown(rows)
    with open(osp.join(args.out, 'paper_report.md'), 'w') as f:
        f.write(md)
    plot(rows, osp.join(args.out, 'ap_vs_flops.png'))
    print(md)
    print(f'written: {args.out}/paper_report.md, {args.out}/ap_vs_flops.png')
    return rows


if __name__ == '__main__':
    main()
