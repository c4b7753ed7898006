"""Read one metric from a work dir: the newest record that holds it in any json under the dir.

mmengine writes a json line per logged step (``<timestamp>/vis_data/scalars.json``, and
``mim test`` writes its metrics the same way); the newest file that has the key wins, and in it
the last record. Used by the projects' ``demo.sh`` and by ``tools/paper_report.py``.

    python tools/read_metric.py WORK_DIR [--key coco/bbox_mAP] [--percent]

prints the value as JSON (``--percent``: x100, rounded to 2 decimals, for mmdet's COCO metrics,
which are fractions); with no record holding the key it says so on stderr and exits 1.
"""
import argparse
import glob
import json
import os.path as osp
import sys

AP_KEY = 'coco/bbox_mAP'


def read_record(work_dir, key=AP_KEY):
    """The newest record holding ``key`` in any json under ``work_dir``, and its file;
    ``(None, None)`` if there is none."""
    found = []
    for path in glob.glob(osp.join(work_dir, '**', '*.json'), recursive=True):
        with open(path) as f:
            lines = f.read().splitlines()
        for line in reversed(lines):
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(rec, dict) and key in rec:
                found.append((osp.getmtime(path), path, rec))
                break
    if not found:
        return None, None
    _, path, rec = max(found, key=lambda f: f[:2])  # newest; timestamped names break ties
    return rec, path


def read_metric(work_dir, key=AP_KEY, percent=False):
    """The newest value of ``key`` under ``work_dir`` (x100 with ``percent``); None if absent."""
    rec, _ = read_record(work_dir, key)
    if rec is None:
        return None
    return round(100 * rec[key], 2) if percent else rec[key]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dir')
    parser.add_argument('--key', default=AP_KEY, help=f'metric name (default {AP_KEY})')
    parser.add_argument('--percent', action='store_true', help='print 100 x value, 2 decimals')
    args = parser.parse_args(argv)
    value = read_metric(args.work_dir, args.key, args.percent)
    if value is None:
        sys.exit(f'no {args.key} in any json under {args.work_dir}')
    print(json.dumps(value))
    return value


if __name__ == '__main__':
    main()
