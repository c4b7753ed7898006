"""Every NAS-FCOS config parses and builds; the retrain configs carry the official protocol
(read from each config and compared with the official YAML it names); the toy config runs a
training step and takes a search's genotype file in both the neck and the head."""
import glob
import os.path as osp

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.nas_fcos.nas_fcos import PUBLISHED_GENOTYPE, dump_genotype, load_genotype

# the retrain configs (search configs belong to the search's tests)
CONFIGS = sorted(p for p in glob.glob('projects/nas_fcos/configs/*.py') if '_search' not in p)
TOY = 'projects/nas_fcos/configs/nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py'

# The official solver of each model (Lausannen/NAS-FCOS @d586b28 configs/search/<yaml>, SOLVER
# and INPUT; NUM_GPUS 4, IMS_PER_BATCH 16, BASE_LR 0.01, WEIGHT_DECAY 1e-4; defaults.py:450-466:
# momentum 0.9, bias lr x2 / no decay, 500 warm-up iterations at 1/3).
OFFICIAL = {
    'nas-fcos_r50-caffe_nas-fcos-fpn_nas-fcos-head_4xb4-90k_coco.py':
    dict(
        yaml='R_50_NAS_head.yaml',
        iters=90000,
        steps=[60000, 80000],
        warmup='LinearLR',
        min_size=(800, 800),
        head='NASFCOSGenotypeHead',
        depth=50),
    'nas-fcos_r101-caffe_nas-fcos-fpn_nas-fcos-head_4xb4-ms-640-800-180k_coco.py':
    dict(
        yaml='R_101_NAS_head.yaml',
        iters=180000,
        steps=[120000, 160000],
        warmup='ConstantLR',
        min_size=(640, 800),
        head='NASFCOSGenotypeHead',
        depth=101),
    'nas-fcos_mobilenetv2_nas-fcos-fpn_nas-fcos-head_4xb4-90k_coco.py':
    dict(
        yaml='Mobile_NAS_head.yaml',
        iters=90000,
        steps=[60000, 80000],
        warmup='LinearLR',
        min_size=(800, 800),
        head='NASFCOSGenotypeHead',
        depth=None),
    'nas-fcos_r50-caffe_nas-fcos-fpn_fcos-head-gn_4xb4-90k_coco.py':
    dict(
        yaml='R_50_NAS_densebox.yaml',
        iters=90000,
        steps=[60000, 80000],
        warmup='LinearLR',
        min_size=(800, 800),
        head='FCOSHead',
        depth=50),
}


def _gpus_x_batch(path):
    """'..._4xb4-...' -> (4, 4), the GPUs x images per GPU the config name states."""
    tag = next(p for p in osp.basename(path).split('_') if 'xb' in p).split('-')[0]
    gpus, batch = tag.split('xb')
    return int(gpus), int(batch)


def _build(cfg):
    init_default_scope('mmdet')
    if cfg.model.backbone.get('init_cfg'):
        cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


@pytest.mark.parametrize('path', CONFIGS)
def test_config_parses_and_reads_one_genotype_file(path):
    cfg = Config.fromfile(path)
    assert cfg.model.neck.type == 'NASFCOSDecoder'
    assert 'projects.nas_fcos.nas_fcos' in cfg.custom_imports['imports']
    assert load_genotype(cfg.model.neck.genotype) == load_genotype(PUBLISHED_GENOTYPE)
    if cfg.model.bbox_head.type == 'NASFCOSGenotypeHead':
        assert cfg.model.bbox_head.genotype == cfg.model.neck.genotype
    gpus, batch = _gpus_x_batch(path)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == gpus * batch


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_retrain_config_carries_the_official_protocol(name):
    path = 'projects/nas_fcos/configs/' + name
    cfg, ref = Config.fromfile(path), OFFICIAL[name]
    gpus, batch = _gpus_x_batch(path)
    assert gpus * batch == 16  # NUM_GPUS 4, IMS_PER_BATCH 16
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.01, 0.9, 1e-4)
    assert cfg.optim_wrapper.paramwise_cfg.custom_keys['bias'] == dict(
        lr_mult=2.0, decay_mult=0.0)  # solver/build.py:12-15
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == ref['iters']
    warmup, steps = cfg.param_scheduler
    assert warmup.type == ref['warmup'] and warmup.end == 500 and not warmup.by_epoch
    assert abs(warmup.get('start_factor', warmup.get('factor')) - 1 / 3) < 1e-12
    assert steps.type == 'MultiStepLR' and steps.milestones == ref['steps'] and steps.gamma == 0.1
    assert steps.end == ref['iters'] and not steps.by_epoch
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if 'Resize' in t.type][0]
    scales = resize.get('scale') if resize.type == 'RandomResize' else [resize.scale]
    assert (min(s[1] for s in scales), max(s[1] for s in scales)) == ref['min_size']
    assert all(s[0] == 1333 for s in scales)
    assert cfg.model.bbox_head.type == ref['head']
    assert cfg.model.test_cfg.nms.iou_threshold == 0.6  # RETINANET.NMS_TH in the YAML
    neck = cfg.model.neck
    assert (neck.upsample_mode, neck.out_channels, neck.deform_groups) == ('bilinear', 256, 2)
    if ref['depth']:
        assert cfg.model.backbone.depth == ref['depth'] and cfg.model.backbone.frozen_stages == 1


def test_fpn_only_config_uses_the_official_densebox_head():
    cfg = Config.fromfile(
        'projects/nas_fcos/configs/nas-fcos_r50-caffe_nas-fcos-fpn_fcos-head-gn_4xb4-90k_coco.py')
    head = cfg.model.bbox_head
    assert (head.stacked_convs, head.conv_bias, head.norm_cfg.num_groups) == (4, True, 32)
    model = _build(cfg)
    # densebox.py:28-45: 3x3 convs with bias + GN(32) + ReLU, 4 per tower
    conv = model.bbox_head.cls_convs[0].conv
    assert conv.bias is not None and len(model.bbox_head.cls_convs) == 4


@pytest.mark.parametrize('name', [
    'nas-fcos_r101-caffe_nas-fcos-fpn_nas-fcos-head_4xb4-ms-640-800-180k_coco.py',
    'nas-fcos_mobilenetv2_nas-fcos-fpn_nas-fcos-head_4xb4-90k_coco.py'
])
def test_other_backbones_build_and_run(name):
    torch.set_num_threads(1)
    model = _build(Config.fromfile('projects/nas_fcos/configs/' + name)).eval()
    with torch.no_grad():
        cls, _, _ = model(torch.zeros(1, 3, 64, 96), mode='tensor')
    assert [tuple(c.shape[-2:]) for c in cls] == [(8, 12), (4, 6), (2, 3), (1, 2), (1, 1)]


def test_toy_config_trains_a_step_and_takes_a_search_genotype(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    cfg = Config.fromfile(TOY)
    assert cfg.model.neck.deform_impl == cfg.model.bbox_head.deform_impl == 'torch'
    assert cfg.train_cfg.max_epochs == 12
    other = load_genotype(PUBLISHED_GENOTYPE)._replace(head=(2, 3, 4, 4, 4, 4), share_level=1)
    best = dump_genotype(other, str(tmp_path / 'best_genotype.yaml'), score=0.1, step=2)
    cfg.merge_from_dict({'model.neck.genotype': best, 'model.bbox_head.genotype': best})
    model = _build(cfg)
    assert model.bbox_head.genotype == other and len(model.bbox_head.cls_split[0]) == 1
    meta = dict(img_shape=(96, 96), pad_shape=(96, 96), ori_shape=(96, 96), scale_factor=(1., 1.))
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 12., 60., 70.]]), labels=torch.tensor([2]))
    data = model.data_preprocessor(
        dict(inputs=[torch.randint(0, 255, (3, 96, 96), dtype=torch.uint8)], data_samples=[sample]),
        True)
    losses = model(**data, mode='loss')
    total = sum(losses.values())
    total.backward()
    assert torch.isfinite(total)
    assert model.neck.cells[6].op1.conv.weight.grad.abs().sum() > 0
