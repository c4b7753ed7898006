"""The user's path, as subprocesses: `mim train mmdet` and `mim test mmdet` on a toy config.

Also the checkpoint fixes of torch>=2.6 (``weights_only=True`` by default): a saved checkpoint is
tested, an interrupted run resumes with ``--resume``, and ``load_from`` starts a new run.
"""
import os
import signal
import subprocess
import sys
import time

import pytest

import paper_report
from conftest import REPO, run_cli

CONFIG = 'configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py'
# An untrained detector scores 0.0; the 12-epoch toy run measured 0.47-0.49 (README, "make demo").
MAP_FLOOR = 0.25


@pytest.fixture(scope='module')
def trained(toy_coco, tmp_path_factory):
    work_dir = tmp_path_factory.mktemp('train')
    run_cli(['mim', 'train', 'mmdet', CONFIG, '--work-dir', str(work_dir)])
    return work_dir


def test_mim_train_then_mim_test_reports_coco_map(trained, tmp_path):
    ckpt = trained / 'epoch_12.pth'
    assert ckpt.exists(), os.listdir(trained)
    res = run_cli(
        ['mim', 'test', 'mmdet', CONFIG, '--checkpoint',
         str(ckpt), '--work-dir',
         str(tmp_path)])
    rec, _ = paper_report.read_coco_metrics(str(tmp_path))
    assert rec is not None, res.stdout[-3000:]
    for key in ('coco/bbox_mAP', 'coco/bbox_mAP_50', 'coco/bbox_mAP_s', 'coco/bbox_mAP_l'):
        assert key in rec
    assert rec['coco/bbox_mAP'] > MAP_FLOOR, rec


def _train_cmd(work_dir, *extra):
    return [
        'mim', 'train', 'mmdet', CONFIG, '--work-dir',
        str(work_dir), '--cfg-options', 'train_dataloader.dataset.indices=48',
        'train_cfg.max_epochs=3', 'default_hooks.checkpoint.max_keep_ckpts=3', *extra
    ]


def test_interrupted_run_resumes(toy_coco, tmp_path):
    env = dict(os.environ, PYTHONPATH=str(REPO), MPLBACKEND='Agg')
    cmd = _train_cmd(tmp_path)
    cmd[0] = os.path.join(os.path.dirname(sys.executable), 'mim')
    proc = subprocess.Popen(
        cmd,
        cwd=REPO,
        env=env,
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 600
        while not (tmp_path / 'epoch_1.pth').exists():
            assert proc.poll() is None, 'training exited before writing epoch_1.pth'
            assert time.time() < deadline
            time.sleep(0.5)
        time.sleep(1)  # let the checkpoint file be written whole
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert not (tmp_path / 'epoch_3.pth').exists()
    res = run_cli(_train_cmd(tmp_path, '--resume'))
    log = res.stdout + res.stderr
    assert 'resumed epoch: ' in log, log[-3000:]
    assert (tmp_path / 'epoch_3.pth').exists()


def test_load_from_starts_a_new_run(trained, tmp_path):
    ckpt = trained / 'epoch_12.pth'
    res = run_cli(_train_cmd(tmp_path, 'load_from=' + str(ckpt), 'train_cfg.max_epochs=1'))
    log = res.stdout + res.stderr
    assert f'Load checkpoint from {ckpt}' in log, log[-3000:]
    assert (tmp_path / 'epoch_1.pth').exists()
