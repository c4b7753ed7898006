"""tools/demo.py: beside each toy cycle's mAP, what its searches scored; a search whose every
candidate is at noise level is called that, not presented as a result."""
import json
import sys
from pathlib import Path

import demo
import pytest

from conftest import assert_toy_search_ranks

REPO = Path(__file__).resolve().parents[2]


def _history(path, scores, key='coco/bbox_mAP'):
    path.mkdir(parents=True)
    with open(path / 'search_history.jsonl', 'w') as f:
        for i, s in enumerate(scores):
            row = dict(step=0, index=i, score=s, metrics={key: s, 'loss': 1.0})
            f.write(json.dumps(row) + '\n')


def test_noise_level_searches_are_flagged_and_ranked_ones_are_not(tmp_path):
    _history(tmp_path / 'nas_fpn' / 'search', [0.002, 0.003, 0.002, 0.002])
    _history(tmp_path / 'nas_fcos' / 'search-decoder', [0.05, 0.21])
    _history(tmp_path / 'nas_fcos' / 'search-head', [0.004, 0.011])  # one candidate above 1%
    _history(tmp_path / 'hitdet' / 'search', [-0.5, -0.3], key='loss_arch')
    noisy = demo.search_summary(str(tmp_path / 'nas_fpn'))
    assert noisy == 'search: 4 scored, AP 0.2-0.3% (noise level: the pick is random, not a result)'
    ranked = demo.search_summary(str(tmp_path / 'nas_fcos'))
    assert ranked == 'search-decoder: 2 scored, AP 5.0-21.0%; search-head: 2 scored, AP 0.4-1.1%'
    assert 'noise' not in ranked
    assert demo.search_summary(str(tmp_path / 'hitdet')) == 'search: 2 scored, score -0.5--0.3'
    assert demo.search_summary(str(tmp_path / 'none')) == ''


def _metric_job(tmp_path, name, ap, after=(), fail=False):
    """A job that writes a COCO bbox mAP record the way mmengine's scalars.json holds it."""
    work = tmp_path / name
    script = (f'import json, os; os.makedirs({str(work)!r}, exist_ok=True); '
              f'open(os.path.join({str(work)!r}, "scalars.json"), "w").write('
              f'json.dumps({{"coco/bbox_mAP": {ap}}}) + "\\n")')
    if fail:
        script = 'import sys; sys.exit(3)'
    return demo.Job(
        name=name,
        cmd=[sys.executable, '-c', script],
        log=str(tmp_path / f'{name}.log'),
        after=after,
        work_dir=str(work))


@pytest.mark.parametrize(
    'scores, ranks',
    [
        ([0.0, 0.0, 0.0, 0.0], False),  # SpineNet proxies after 20 iterations
        ([0.002, 0.003, 0.002, 0.002], False),  # NAS-FPN after 20 iterations
        ([0.02, 0.016, 0.018], False),  # NAS-FPN after 120: above noise, spread within it
        ([0.0, 0.0, 0.09], False),  # one candidate learnt: most at noise level
        ([0.054, 0.035, 0.032], True),  # NAS-FPN after 200
        ([0.025, 0.07, 0.03], True),  # SpineNet after 120
    ])
def test_a_toy_search_ranks_when_most_candidates_clear_noise_and_spread(scores, ranks):
    rows = [dict(score=s) for s in scores]
    if ranks:
        assert_toy_search_ranks(rows)
    else:
        with pytest.raises(AssertionError):
            assert_toy_search_ranks(rows)
    # a cached repeat is not a new candidate
    with pytest.raises(AssertionError, match='too few'):
        assert_toy_search_ranks(rows[:2] + [dict(score=0.5, cached=True)])


def test_jobs_run_in_parallel_after_their_dependencies_and_failures_skip_dependents(tmp_path):
    sleep = [sys.executable, '-c', 'import time; time.sleep(1.5)']
    jobs = [
        demo.Job('a', sleep, str(tmp_path / 'a.log')),
        demo.Job('b', sleep, str(tmp_path / 'b.log')),
        _metric_job(tmp_path, 'c', 0.5, after=('a', 'b')),
        _metric_job(tmp_path, 'd', 0.5, fail=True),
        _metric_job(tmp_path, 'e', 0.5, after=('d', )),
        _metric_job(tmp_path, 'f', 0.5, after=('e', )),
    ]
    demo.run_jobs(jobs, parallel=2, poll=0.05)
    a, b = jobs[:2]
    assert b.started < a.started + a.seconds  # side by side
    ok = {j.name: (j.ok, j.skipped) for j in jobs}
    assert ok == {
        'a': (True, False),
        'b': (True, False),
        'c': (True, False),
        'd': (False, False),
        'e': (False, True),
        'f': (False, True)
    }
    c = jobs[2]
    assert c.started >= max(jobs[0].started + jobs[0].seconds, jobs[1].started + jobs[1].seconds)
    with pytest.raises(ValueError, match="unknown jobs \\['x'\\]"):
        demo.run_jobs([demo.Job('y', sleep, str(tmp_path / 'y.log'), after=('x', ))])


def test_plan_three_rows_per_project_with_seeds():
    jobs, rows = demo.plan('w', list(demo.PROJECTS), seeds=2)
    by_name = {j.name: j for j in jobs}
    assert len(by_name) == len(jobs)
    assert [j.name for j in jobs[:6]] == [f'{p}: cycle' for p in demo.PROJECTS]
    assert demo.PROJECTS['hitdet'].max_seeds == 1 and len(rows['hitdet'][0][2]) == 1
    assert demo.PROJECTS['detnas'].pretrain
    for project, spec in demo.PROJECTS.items():
        kinds = [r[0] for r in rows[project]]
        assert kinds == (['reference'] if spec.reference else []) + ['searched', 'baseline']
        for row, label, names in rows[project]:
            # a slow toy model caps its own rows' seeds (Hit-Detector), not the shared baseline's
            assert len(names) == (2 if row == 'baseline' else min(2, spec.max_seeds or 2))
            for seed, name in enumerate(names):
                script = by_name[name].cmd[-1]
                if row == 'searched' and seed == 0:  # the cycle's own retrain
                    assert by_name[name].cmd == [
                        'bash', f'projects/{project}/demo.sh', f'w/{project}'
                    ]
                    continue
                assert f'randomness.seed={seed}' in script
                genotype = {
                    'reference': spec.reference,
                    'searched': f'w/{project}/{spec.searched}'
                }.get(row)
                for key in spec.genotype_keys:
                    assert (f'{key}={genotype}' in script) == (genotype is not None), script
                assert (row == 'baseline') == ('mim test' in script)
                # DetNAS: the row's own path is first retrained on toy ImageNet, then fine-tuned
                pre = f'w/{project}/rows/{row}-seed{seed}/pretrain'
                pretrained = (f'mim train mmdet {spec.pretrain} --work-dir {pre} --cfg-options '
                              f'model.backbone.genotype={genotype} randomness.seed={seed} && '
                              f'mim train mmdet {spec.config}')
                assert (pretrained in script) == (spec.pretrain is not None and row != 'baseline')
                assert (f'"$(cat {pre}/last_checkpoint)"' in script) == (pretrained in script)
                # NAS-FCOS: every row starts from the cycle's backbone
                reads_backbone = f'"$(cat w/{project}/backbone/last_checkpoint)"' in script
                assert reads_backbone == (spec.backbone is not None), script
                if spec.backbone or row == 'searched':
                    assert f'{project}: cycle' in by_name[name].after
    # one RetinaNet baseline for the three RetinaNet papers, one Faster R-CNN for two
    assert rows['nas_fpn'][-1] == rows['spinenet'][-1] == rows['detnas'][-1]
    assert rows['hitdet'][-1] == rows['auto_fpn'][-1]
    assert rows['nas_fcos'][-1][2] != rows['nas_fpn'][-1][2]
    jobs1, rows1 = demo.plan('w', ['nas_fpn'], seeds=1)
    assert [r[2] for r in rows1['nas_fpn']
            ] == [['nas_fpn: reference seed 0'], ['nas_fpn: cycle'],
                  ['baseline retinanet_r18-w16_fpn_1xb8-12e_toy '
                   'seed 0']]


def test_every_project_with_a_toy_cycle_has_rows_whose_files_exist():
    have = sorted(p.parent.name for p in (REPO / 'projects').glob('*/demo.sh'))
    assert sorted(demo.PROJECTS) == have
    for spec in demo.PROJECTS.values():
        for path in (spec.config, spec.baseline, spec.reference):
            assert path is None or (REPO / path).is_file(), path


def test_report_rows_mean_and_range_per_seed(tmp_path):
    jobs = [
        _metric_job(tmp_path, 'ref0', 0.581),
        _metric_job(tmp_path, 'ref1', 0.61),
        _metric_job(tmp_path, 'cycle', 0.002),
        _metric_job(tmp_path, 'base0', 0.47),
        _metric_job(tmp_path, 'base1', 0.47, fail=True),
    ]
    demo.run_jobs(jobs, poll=0.05)
    _history(tmp_path / 'nas_fpn' / 'search', [0.002, 0.003])
    rows = {
        'nas_fpn': [('reference', 'published: g.yaml', ['ref0', 'ref1']),
                    ('searched', 'this run\'s search: s.yaml', ['cycle']),
                    ('baseline', 'mmdet: b.py', ['base0', 'base1'])]
    }
    lines = demo.report(jobs, rows, str(tmp_path))
    assert lines[
        2] == '| nas_fpn | reference | published: g.yaml | 58.1 / 61.0 | 59.5 (58.1-61.0) |'
    assert lines[3] == ('| nas_fpn | searched | this run\'s search: s.yaml (search: 2 scored, AP '
                        '0.2-0.3% (noise level: the pick is random, not a result)) | 0.2 | 0.2 |')
    assert lines[4] == '| nas_fpn | baseline | mmdet: b.py | 47.0 / FAILED | 47.0 |'
    assert demo.row_cells([None]) == ('FAILED', '-')
