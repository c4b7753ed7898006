"""Shared fixtures: the repo root, the suite's tools on sys.path, the toy dataset."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'tools'))
sys.path.insert(0, str(REPO / 'tests' / 'suite'))  # the contract tests' shared modules


@pytest.fixture(scope='session')
def repo():
    return REPO


@pytest.fixture(scope='session')
def toy_coco():
    """The toy set under data/toy_coco (the path the toy configs read), generated if stale."""
    import make_toy_coco
    out = REPO / 'data' / 'toy_coco'
    make_toy_coco.ensure(str(out))
    return out


def run_cli(args, cwd=REPO, timeout=2400, check=True):
    """Run a command of the venv (``mim``, ``python``) from the repo root; returns the result."""
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND='Agg', PYTHONUNBUFFERED='1')
    env.setdefault('OMP_NUM_THREADS', '1')  # see Makefile
    bindir = Path(sys.executable).parent
    if args[0] in ('mim', 'python'):
        args = [str(bindir / args[0])] + list(args[1:])
    res = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and res.returncode != 0:
        raise AssertionError(f'{args} failed ({res.returncode}):\n{res.stdout[-4000:]}\n'
                             f'{res.stderr[-4000:]}')
    return res


def assert_toy_search_ranks(history):
    """A toy search whose proxy is long enough to rank. ``history`` holds a search's
    ``search_history.jsonl`` rows (score = bbox mAP in [0, 1]); the candidates trained for it
    (cached repeats left out) must mostly score above the demo's noise level (``NOISE_AP`` %,
    tools/demo.py) and spread over more than that level, so the pick is not a tie or a coin
    flip."""
    from demo import NOISE_AP
    aps = [100 * r['score'] for r in history if not r.get('cached')]
    assert len(aps) >= 3, f'{len(aps)} candidates: too few to show a ranking'
    above = [ap for ap in aps if ap > NOISE_AP]
    assert 2 * len(above) > len(aps), f'AP {aps}: most candidates at noise level (<= {NOISE_AP})'
    assert max(aps) - min(aps) > NOISE_AP, f'AP {aps}: spread within noise level ({NOISE_AP})'


# Test files that take minutes, longest first (measured on 2 cores). They are collected first, so
# that pytest-xdist (`make test` runs two workers, `--dist loadfile`, which hands out files in
# collection order) starts them early and the two workers end together.
SLOW_FIRST = (
    'suite/test_search_ranks.py',
    'suite/test_dry_run.py',
    'detnas/test_toy_cycle.py',
    'nas_fpn/test_toy_end_to_end.py',
    'nas_fcos/test_toy_cycle.py',
    'spinenet/test_toy_cycle.py',
    'hitdet/test_toy_cycle.py',
    'auto_fpn/test_toy_cycle.py',
    'suite/test_user_path.py',
)


def pytest_collection_modifyitems(config, items):
    rank = {REPO / 'tests' / name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(Path(str(item.fspath)), len(rank)))  # stable otherwise
