"""tools/read_metric.py, what the projects' demo.sh report: the newest logged value of a metric."""
import json
import os

import pytest

import read_metric


def _log(path, records, age=0):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(''.join(json.dumps(r) + '\n' for r in records))
    t = os.path.getmtime(path) - age
    os.utime(path, (t, t))


def test_newest_record_of_the_newest_run(tmp_path, capsys):
    _log(tmp_path / '20260101_000000/vis_data/scalars.json', [{'coco/bbox_mAP': 0.9}], age=100)
    newest = [dict(loss=1.0), {'coco/bbox_mAP': 0.1}, {'coco/bbox_mAP': 0.4567, 'acc': 50}]
    _log(tmp_path / '20260102_000000/vis_data/scalars.json', newest)
    assert read_metric.read_metric(str(tmp_path)) == 0.4567
    assert read_metric.main([str(tmp_path), '--percent']) == 45.67
    assert read_metric.main([str(tmp_path), '--key', 'acc']) == 50
    assert capsys.readouterr().out.split() == ['45.67', '50']


def test_a_missing_metric_is_an_error(tmp_path):
    _log(tmp_path / 'run/vis_data/scalars.json', [{'loss': 1.0}])
    assert read_metric.read_metric(str(tmp_path)) is None
    with pytest.raises(SystemExit, match='no coco/bbox_mAP'):
        read_metric.main([str(tmp_path)])
