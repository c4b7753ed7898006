"""Every config parses; the COCO proxy model (ResNet-10, NAS-FPN 3@256) runs a forward pass.
The split tool that writes the search split is tested in tests/suite/test_search_split.py."""
import glob

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

import projects.nas_fpn.nas_fpn  # noqa: F401

CONFIGS = sorted(glob.glob('projects/nas_fpn/configs/*.py'))


@pytest.mark.parametrize('path', CONFIGS)
def test_config_parses(path):
    cfg = Config.fromfile(path)
    assert cfg.model.neck.type == 'GenotypeNASFPN'
    assert 'projects.nas_fpn.nas_fpn' in cfg.custom_imports['imports']


def test_coco_proxy_model_forward():
    torch.set_num_threads(1)
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        'projects/nas_fpn/configs/nasfpn_search_r10_nasfpn-3x256_1xb64-512-10e_coco.py')
    assert cfg.train_cfg.type == 'NASFPNSearchLoop' and cfg.model.neck.stack_times == 3
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        cls, _ = model(torch.zeros(1, 3, 128, 128))
    assert [tuple(c.shape[-2:]) for c in cls] == [(16, 16), (8, 8), (4, 4), (2, 2), (1, 1)]


def test_from_scratch_config_keeps_the_tpu_recipe():
    """tensorflow/tpu spinenet49_retinanet.yaml (rev. ff414a9): lr 0.28, warm-up from 0.0067
    over 2000 steps, l2 4e-5, gradient_clip_norm 10, BN momentum 0.997 (PyTorch 0.003)."""
    cfg = Config.fromfile(
        'projects/nas_fpn/configs/retinanet_r50-scratch_nasfpn-tpu-7x256_8xb32-350e_coco-640.py')
    opt = cfg.optim_wrapper
    assert opt.optimizer.lr == 0.28 and opt.optimizer.weight_decay == 4e-5
    assert opt.clip_grad.max_norm == 10.0
    warmup = cfg.param_scheduler[0]
    assert warmup.end == 2000 and abs(warmup.start_factor * 0.28 - 0.0067) < 1e-9
    for part in ('backbone', 'neck', 'bbox_head'):
        assert cfg.model[part].norm_cfg.momentum == 0.003
