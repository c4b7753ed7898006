"""Every Hit-Detector retrain config parses and builds; the COCO configs carry the official
protocol (configs/nas_trinity/2stage_hitdet.py); the toy config trains a step and takes a
search's genotype file in all three searched modules; the ImageNet config's classifier, data and
metric work on a tiny folder."""
import glob
import os.path as osp

import cv2
import numpy as np
import pytest
import torch
from mmdet.registry import DATASETS, METRICS, MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.hitdet.hitdet import RELEASED_GENOTYPE, dump_genotype, load_genotype

CONFIG_DIR = 'projects/hitdet/configs/'
# the retrain configs (search/screening configs belong to the search's tests)
DETECTORS = sorted(
    p for p in glob.glob(CONFIG_DIR + '*.py')
    if '_search' not in p and '_screen' not in p and 'imagenet' not in p)
ONE_X = CONFIG_DIR + 'faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-1x_coco.py'
TWO_X = CONFIG_DIR + 'faster-rcnn_hitdet_hitdet-pafpn_syncbn_8xb2-2x_coco.py'
BN_1X = CONFIG_DIR + 'faster-rcnn_hitdet_hitdet-pafpn_bn_1xb2-1x_coco.py'
TOY = CONFIG_DIR + 'faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py'
IMAGENET = CONFIG_DIR + 'hitdet-backbone_8xb128-300e_imagenet.py'


def _gpus_x_batch(path):
    tag = next(p for p in osp.basename(path).split('_') if 'xb' in p).split('-')[0]
    gpus, batch = tag.split('xb')
    return int(gpus), int(batch)


def _build(cfg):
    init_default_scope('mmdet')
    cfg.model.backbone.init_cfg = None
    return MODELS.build(cfg.model)


def _searched(cfg):
    return [cfg.model.backbone, cfg.model.neck, cfg.model.roi_head.bbox_head]


@pytest.mark.parametrize('path', DETECTORS)
def test_config_parses_and_reads_one_genotype_file(path):
    cfg = Config.fromfile(path)
    assert 'projects.hitdet.hitdet' in cfg.custom_imports['imports']
    types = [m.type for m in _searched(cfg)]
    assert types == ['HitDetBackbone', 'HitDetNeck', 'HitDetBBoxHead']
    files = {m.genotype for m in _searched(cfg)}
    assert len(files) == 1 and load_genotype(files.pop()) == load_genotype(RELEASED_GENOTYPE)
    gpus, batch = _gpus_x_batch(path)
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.auto_scale_lr.base_batch_size == (16 if 'coco' in path else gpus * batch)


def test_coco_configs_carry_the_official_protocol():
    """2stage_hitdet.py: SGD 0.02/0.9/1e-4, grad clip 35, warm-up 800 iterations from 0.1, steps
    8/11 of 12 epochs, 8 x 2 images, SyncBN, 1333x800, RPN anchors 8 x [0.5, 1, 2] on strides
    4..64, RoIAlign 7 (sample_num 2), FC 512, class-specific regression."""
    cfg = Config.fromfile(ONE_X)
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', 0.02, 0.9, 1e-4)
    assert cfg.optim_wrapper.clip_grad == dict(max_norm=35, norm_type=2)
    warmup, steps = cfg.param_scheduler
    assert (warmup.type, warmup.start_factor, warmup.end, warmup.by_epoch) == ('LinearLR', 0.1, 800,
                                                                               False)
    assert steps.milestones == [8, 11] and steps.by_epoch and cfg.train_cfg.max_epochs == 12
    assert _gpus_x_batch(ONE_X) == (8, 2) and cfg.auto_scale_lr.base_batch_size == 16
    assert all(m.norm_cfg.type == 'SyncBN' for m in _searched(cfg))
    resize = [t for t in cfg.train_dataloader.dataset.pipeline if t.type == 'Resize'][0]
    assert resize.scale == (1333, 800) and resize.keep_ratio
    rpn = cfg.model.rpn_head.anchor_generator
    assert (rpn.scales, rpn.ratios, rpn.strides) == ([8], [0.5, 1.0, 2.0], [4, 8, 16, 32, 64])
    roi = cfg.model.roi_head.bbox_roi_extractor
    assert (roi.roi_layer.output_size, roi.roi_layer.sampling_ratio) == (7, 2)
    assert roi.featmap_strides == [4, 8, 16, 32]
    head = cfg.model.roi_head.bbox_head
    assert (head.fc_out_channels, head.reg_class_agnostic) == (512, False)
    assert cfg.model.backbone.init_cfg.prefix == 'backbone.'
    two = Config.fromfile(TWO_X)
    assert two.train_cfg.max_epochs == 24 and two.param_scheduler[1].milestones == [16, 22]
    assert two.param_scheduler[1].end == 24
    bn = Config.fromfile(BN_1X)
    assert all(m.norm_cfg.type == 'BN' for m in _searched(bn)) and bn.auto_scale_lr.enable


def test_coco_model_builds_and_runs():
    torch.set_num_threads(1)
    model = _build(Config.fromfile(BN_1X)).eval()
    with torch.no_grad():
        feats = model.extract_feat(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, 256, 16, 24), (1, 256, 8, 12), (1, 256, 4, 6),
                                               (1, 256, 2, 3), (1, 256, 1, 2)]


def _sample(h, w):
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    meta = dict(img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w), scale_factor=(1., 1.))
    sample = DetDataSample(metainfo=meta)
    sample.gt_instances = InstanceData(
        bboxes=torch.tensor([[10., 12., 40., 50.], [50., 20., 90., 60.]]),
        labels=torch.tensor([2, 4]))
    return sample


def test_toy_config_trains_a_step_and_takes_a_search_genotype(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = Config.fromfile(TOY)
    assert cfg.train_cfg.max_epochs == 12 and cfg.model.backbone.widen_factor == 0.25
    g = load_genotype(RELEASED_GENOTYPE)
    other = g._replace(
        backbone=('ir_k3_d1_e1', ) * 20, neck=('conv_k3_d3', ) * 8, head=('sep_k3_d1', ) * 4)
    best = dump_genotype(other, tmp_path / 'best_genotype.yaml', score=0.1, step=2)
    cfg.merge_from_dict({
        'model.backbone.genotype': best,
        'model.neck.genotype': best,
        'model.roi_head.bbox_head.genotype': best
    })
    model = _build(cfg)
    assert (model.backbone.ops, model.neck.ops,
            model.roi_head.bbox_head.ops) == (other.backbone, other.neck, other.head)
    model.train()
    data = model.data_preprocessor(
        dict(
            inputs=[torch.randint(0, 255, (3, 96, 96), dtype=torch.uint8)],
            data_samples=[_sample(96, 96)]), True)
    losses = model(**data, mode='loss')
    total, _ = model.parse_losses(losses)
    total.backward()
    assert torch.isfinite(total)
    for module in (model.backbone.layers[1], model.neck.cells[4],
                   model.roi_head.bbox_head.cells[3]):
        assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in module.parameters())


def _image_folder(root):
    rng = np.random.default_rng(0)
    for split in ('train', 'val'):
        for c in ('a', 'b', 'c'):
            osp_dir = root / split / c
            osp_dir.mkdir(parents=True)
            for i in range(2):
                cv2.imwrite(
                    str(osp_dir / f'{i}.png'), rng.integers(0, 255, (40, 56, 3), dtype=np.uint8))


def test_imagenet_config_classifier_data_and_metric(tmp_path):
    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = Config.fromfile(IMAGENET)
    assert cfg.model.type == 'HitDetImageNetClassifier' and cfg.max_epochs == 300
    assert cfg.model.backbone.genotype == RELEASED_GENOTYPE and cfg.model.dropout == 0.2
    init_default_scope('mmdet')
    _image_folder(tmp_path)
    data = {}
    for split, pipeline in (('train', cfg.train_pipeline), ('val', cfg.test_pipeline)):
        pipeline = [dict(t, scale=32) if 'RandomResized' in t['type'] else t for t in pipeline]
        pipeline = [
            dict(t, resize=36, crop=32) if 'CenterCrop' in t['type'] else t for t in pipeline
        ]
        ds = DATASETS.build(
            dict(
                type=cfg.dataset_type,
                data_root=str(tmp_path),
                data_prefix=dict(img_path=split),
                pipeline=pipeline))
        assert len(ds) == 6 and ds.metainfo['classes'] == ('a', 'b', 'c')
        data[split] = [ds[i] for i in range(len(ds))]
    assert all(d['inputs'].shape == (3, 32, 32) for d in data['train'] + data['val'])
    assert [int(d['data_samples'].gt_label) for d in data['val']] == [0, 0, 1, 1, 2, 2]
    cfg.model.backbone.widen_factor = 0.25
    cfg.model.num_classes = 3
    model = MODELS.build(cfg.model)
    batch = model.data_preprocessor(
        dict(
            inputs=[d['inputs'] for d in data['train']],
            data_samples=[d['data_samples'] for d in data['train']]), True)
    losses = model(**batch, mode='loss')
    losses['loss_cls'].backward()
    assert torch.isfinite(losses['loss_cls']) and model.fc.weight.grad.abs().sum() > 0
    model.eval()
    batch = model.data_preprocessor(
        dict(
            inputs=[d['inputs'] for d in data['val']],
            data_samples=[d['data_samples'] for d in data['val']]), False)
    with torch.no_grad():
        preds = model(**batch, mode='predict')
    metric = METRICS.build(dict(type='HitDetTopKAccuracy', topk=(1, 2)))
    metric.process(None, preds)
    res = metric.compute_metrics(metric.results)
    assert 0 <= res['top1'] <= res['top2'] <= 100
    # the detector loads the classifier's backbone under the prefix 'backbone.'
    assert all(k.startswith(('backbone.', 'fc.')) for k in model.state_dict())
