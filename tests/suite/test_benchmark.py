"""tools/benchmark.py: timings of two configs in one run, each in its own process, and the ratio."""
import json
import os.path as osp
import re
import subprocess

import pytest

import benchmark
from conftest import run_cli
from paper_report import resolve_config

CONFIG = 'configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py'


def test_random_batch_is_a_valid_detection_batch():
    data = benchmark.random_batch(3, (96, 128), num_classes=6, device='cpu')
    assert len(data['inputs']) == 3 and data['inputs'][0].shape == (3, 96, 128)
    for s in data['data_samples']:
        b = s.gt_instances.bboxes
        assert (b[:, 2:] > b[:, :2]).all() and (b[:, 2] <= 128).all() and (b[:, 3] <= 96).all()
        assert s.gt_instances.labels.max() < 6


def test_compare_two_configs_prints_ratio(tmp_path):
    out = tmp_path / 'bench.json'
    res = run_cli([
        'python', 'tools/benchmark.py', CONFIG, '--compare',
        'mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', '--batch', '1', '--size', '128', '128',
        '--iters', '2', '--warmup', '1', '--json',
        str(out)
    ])
    assert 'ratio (first / second)' in res.stdout
    first, second = json.loads(out.read_text())
    for r in (first, second):
        assert r['train_img_s'] > 0 and r['infer_img_s'] > 0 and r['train_peak_mb'] > 0
    # The stock RetinaNet R-18-FPN, counted by hand: ResNet-18 without fc 11,176,512; FPN
    # (laterals on C3-C5 230,144 + 3x3 outputs 1,770,240 + P6 on C5 1,179,904 + P7 590,080);
    # head 6,463,220 (as RetinaNet R-50). The toy model (width-16 R-18) is far smaller.
    assert second['params_m'] * 1e6 == pytest.approx(21_410_100, abs=1)
    assert first['params_m'] < 0.1 * second['params_m']


def test_gpu_checks_script_names_existing_configs():
    """tools/gpu_checks.sh (the one-call GPU checks): valid bash, every config it times exists."""
    subprocess.run(['bash', '-n', 'tools/gpu_checks.sh'], check=True)
    text = open('tools/gpu_checks.sh').read()
    configs = re.findall(r'(projects/\S+\.py|mmdet::\S+\.py)', text)
    assert len(configs) >= 6
    for config in configs:
        assert osp.exists(resolve_config(config)), config
