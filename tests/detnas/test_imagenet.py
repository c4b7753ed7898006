"""DetNAS step 1 (ImageNet supernet pretraining): dataset, transforms, classifier, optimizer rules,
configs and the toy run through ``mim train``."""
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose, pseudo_collate
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.structures import BaseDataElement

from projects.detnas.detnas import (DetNASImageNetClassifier, DetNASRandomResizedCrop,
                                    DetNASShuffleNet, ImageNetFolder, TopKAccuracy, get_flops_table)
from projects.detnas.detnas.blocks import CHOICES
from conftest import REPO, run_cli

CFG_DIR = REPO / 'projects' / 'detnas' / 'configs'
PAPER_CFG = CFG_DIR / 'detnas_supernet-300m_8xb128-300k_imagenet.py'
TOY_CFG = CFG_DIR / 'detnas_supernet-toy_1xb16-600it_toy-imagenet.py'
TINY = dict(
    type='DetNASShuffleNet',
    stage_repeats=[1, 1, 2, 1],
    stage_out_channels=[8, 16, 32, 64, 128, 64],
    out_indices=(3, ),
    seed=0)


@pytest.fixture(autouse=True)
def _scope():
    init_default_scope('mmdet')


def _write_images(folder, n, size=(40, 60), seed=0):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(n):
        cv2.imwrite(str(folder / f'{i}.png'), rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _batch(n, num_classes, size=32, seed=0):
    g = torch.Generator().manual_seed(seed)
    inputs = [
        torch.randint(0, 256, (3, size, size), generator=g, dtype=torch.uint8) for _ in range(n)
    ]
    samples = [BaseDataElement(gt_label=torch.tensor([i % num_classes])) for i in range(n)]
    return dict(inputs=inputs, data_samples=samples)


# --- dataset ------------------------------------------------------------------------------------
def test_folder_scan_labels_and_errors(tmp_path):
    _write_images(tmp_path / 'train' / 'n02', 2)
    _write_images(tmp_path / 'train' / 'n01', 3)
    _write_images(tmp_path / 'train' / 'n01' / 'sub', 1)  # listed recursively, as ImageFolder
    (tmp_path / 'train' / 'n01' / 'notes.txt').write_text('not an image')
    ds = ImageNetFolder(data_root=str(tmp_path), data_prefix=dict(img_path='train'))
    assert ds.metainfo['classes'] == ('n01', 'n02')
    labels = [ds.get_data_info(i)['gt_label'] for i in range(len(ds))]
    assert labels == [0, 0, 0, 0, 1, 1]
    paths = [Path(ds.get_data_info(i)['img_path']) for i in range(len(ds))]
    assert paths[0].name == '0.png' and paths[3].parent.name == 'sub'

    # a fixed class list: label = index in it, other folders ignored
    ds = ImageNetFolder(data_root=str(tmp_path), data_prefix='train', classes=['n02'])
    assert len(ds) == 2 and {ds.get_data_info(i)['gt_label'] for i in range(2)} == {0}
    with pytest.raises(FileNotFoundError, match='n03'):
        ImageNetFolder(data_root=str(tmp_path), data_prefix='train', classes=['n01', 'n03'])
    with pytest.raises(FileNotFoundError, match='no folder'):
        ImageNetFolder(data_root=str(tmp_path), data_prefix='val')
    (tmp_path / 'empty' / 'n01').mkdir(parents=True)
    with pytest.raises(FileNotFoundError, match='no images'):
        ImageNetFolder(data_root=str(tmp_path), data_prefix='empty')


# --- transforms ---------------------------------------------------------------------------------
def test_pipelines_shapes_and_raw_bgr_values(tmp_path):
    img = np.zeros((100, 150, 3), np.uint8)
    img[..., 0] = 255  # pure blue in BGR
    img[:, :75, 2] = 200
    cv2.imwrite(str(tmp_path / 'a.png'), img)
    cfg = Config.fromfile(PAPER_CFG)
    train = Compose(cfg.train_pipeline)
    val = Compose(cfg.test_pipeline)
    info = dict(img_path=str(tmp_path / 'a.png'), gt_label=3)
    out = train(dict(info))
    assert out['inputs'].shape == (3, 224, 224) and out['inputs'].dtype == torch.uint8
    assert out['data_samples'].gt_label.tolist() == [3]
    out = val(dict(info))
    assert out['inputs'].shape == (3, 224, 224)
    assert out['data_samples'].img_shape == (224, 224)
    # val keeps the exact pixel values: BGR order, 0-255, no normalisation
    x = out['inputs']
    assert x[0].min() == 255 and x[1].max() == 0 and x[2].max() == 200 and x[2].min() == 0
    model = DetNASImageNetClassifier(TINY, num_classes=4)
    data = model.data_preprocessor(pseudo_collate([out]), False)
    assert data['inputs'].dtype == torch.float32
    assert torch.equal(data['inputs'][0], x.float())


def test_resize_shorter_and_crop_fallback():
    from projects.detnas.detnas import (DetNASCenterCrop, DetNASColorJitter, DetNASRandomFlip,
                                        DetNASResizeShorter)
    img = np.arange(100 * 150 * 3, dtype=np.uint32).reshape(100, 150, 3).astype(np.uint8)
    out = DetNASResizeShorter(256)(dict(img=img))
    assert out['img'].shape == (256, 384, 3)  # official: int(256 / 100 * 150 + 0.5)
    assert DetNASCenterCrop(64)(dict(img=img))['img'].shape == (64, 64, 3)
    assert DetNASCenterCrop(128)(dict(img=img))['img'].shape == (128, 128, 3)  # zero-padded
    # no crop of that area exists: the central crop with the ratio clamped to 4/3 (torchvision)
    crop = DetNASRandomResizedCrop(32, crop_scale=(2., 3.))
    assert crop.get_params(100, 150) == (0, 8, 100, 133)
    np.random.seed(0)
    for _ in range(20):
        top, left, h, w = DetNASRandomResizedCrop(32).get_params(100, 150)
        assert 0 <= top and top + h <= 100 and 0 <= left and left + w <= 150
        assert 3 / 4 - 0.05 <= w / h <= 4 / 3 + 0.05
    assert np.array_equal(DetNASColorJitter(0, 0, 0)(dict(img=img))['img'], img)
    flipped = DetNASRandomFlip(prob=1.)(dict(img=img))
    assert flipped['flip'] and np.array_equal(flipped['img'], img[:, ::-1])
    jittered = DetNASColorJitter()(dict(img=img))['img']
    assert jittered.dtype == np.uint8 and jittered.shape == img.shape


# --- model --------------------------------------------------------------------------------------
def test_classifier_loss_predict_tensor():
    model = DetNASImageNetClassifier(TINY, num_classes=5)
    model.init_weights()
    data = model.data_preprocessor(_batch(4, 5), True)
    losses = model(**data, mode='loss')
    assert losses['loss_cls'].ndim == 0 and losses['loss_cls'].requires_grad
    assert model(data['inputs'], mode='tensor').shape == (4, 5)
    model.eval()
    path = model.backbone.get_choice()
    preds = model(**data, mode='predict')
    assert model.backbone.get_choice() == path  # predict draws its own path, then restores
    assert len(preds) == 4
    for p in preds:
        assert p.pred_score.shape == (5, ) and abs(p.pred_score.sum().item() - 1) < 1e-5
        assert p.pred_label.item() == p.pred_score.argmax().item()
    # the detector loads `backbone.*`: the names the Pretrained init with prefix expects
    keys = model.state_dict().keys()
    assert 'backbone.stem.0.weight' in keys and 'head.fc.weight' in keys
    assert any(k.startswith('backbone.layers.0.shuffle_3x3.') for k in keys)


def test_label_smoothing_matches_hand_computation(monkeypatch):
    model = DetNASImageNetClassifier(TINY, num_classes=3, label_smoothing=0.1)
    logits = torch.tensor([[2., 0., -1.], [0.5, 0.5, 3.]])
    monkeypatch.setattr(model, 'extract_logits', lambda x: logits)
    samples = [
        BaseDataElement(gt_label=torch.tensor([0])),
        BaseDataElement(gt_label=torch.tensor([1]))
    ]
    loss = model(torch.zeros(2, 3, 8, 8), samples, mode='loss')['loss_cls'].item()
    expected = 0.
    for row, label in zip(logits.tolist(), (0, 1)):
        log_z = math.log(sum(math.exp(v) for v in row))
        target = [0.1 / 3 + (0.9 if k == label else 0.) for k in range(3)]
        expected -= sum(t * (v - log_z) for t, v in zip(target, row))
    assert loss == pytest.approx(expected / 2, rel=1e-6)


# --- optimizer rules ----------------------------------------------------------------------------
def _paper_optim(model, lr=0.1):
    cfg = Config.fromfile(PAPER_CFG)
    cfg.optim_wrapper.optimizer.lr = lr
    return build_optim_wrapper(model, cfg.optim_wrapper)


def test_weight_decay_only_on_conv_and_linear_weights():
    model = DetNASImageNetClassifier(TINY, num_classes=5)
    optim = _paper_optim(model)
    wd = {}
    for group in optim.optimizer.param_groups:
        for p in group['params']:
            wd[id(p)] = group['weight_decay']
    names = dict(model.named_modules())
    n_decay = 0
    for name, p in model.named_parameters():
        module = names[name.rsplit('.', 1)[0]]
        if isinstance(module, (nn.Conv2d, nn.Linear)) and name.endswith('weight'):
            assert wd[id(p)] == pytest.approx(4e-5), name
            n_decay += 1
        else:
            assert wd[id(p)] == 0, name  # BN weight / bias, conv / linear bias
    assert n_decay > 0
    assert optim.optimizer.defaults['momentum'] == 0.9


def test_off_path_blocks_get_no_momentum_or_decay_update():
    """A block used in step 1 is off the path in step 2: with momentum and weight decay on, its
    weights must not move in step 2 (official: all-zero grads -> None before step)."""
    backbone = dict(TINY, sample_per_forward=False)
    model = DetNASImageNetClassifier(backbone, num_classes=5)
    model.init_weights()
    model.train()
    optim = _paper_optim(model)
    data = _batch(4, 5)

    def block_params(choice):
        return {n: p.detach().clone() for n, p in model.named_parameters() if f'.{choice}.' in n}

    model.backbone.set_choice(['shuffle_3x3'] * 5)
    before1 = block_params('shuffle_3x3')
    model.train_step(data, optim)
    after1 = block_params('shuffle_3x3')
    assert any(not torch.equal(before1[n], after1[n]) for n in before1)
    # step 1 left momentum buffers on the used block: a zero-filled grad would now move it
    p = dict(model.named_parameters())['backbone.layers.0.shuffle_3x3.branch.0.weight']
    assert 'momentum_buffer' in optim.optimizer.state[p]

    model.backbone.set_choice(['xception_3x3'] * 5)
    before2 = block_params('xception_3x3')
    model.train_step(data, optim)
    after2 = block_params('shuffle_3x3')
    for n in after1:
        assert torch.equal(after1[n], after2[n]), f'{n} moved while off the path'
    moved = block_params('xception_3x3')
    assert any(not torch.equal(before2[n], moved[n]) for n in before2)


# --- metric -------------------------------------------------------------------------------------
def test_topk_accuracy_with_fewer_classes_than_k():
    metric = TopKAccuracy(topk=(1, 2, 5))
    scores = torch.tensor([[0.6, 0.3, 0.1], [0.2, 0.5, 0.3], [0.5, 0.1, 0.4], [0.1, 0.2, 0.7]])
    labels = [0, 2, 2, 0]
    metric.process({},
                   [dict(pred_score=s, gt_label=torch.tensor([y])) for s, y in zip(scores, labels)])
    res = metric.compute_metrics(metric.results)
    assert res == {'top1': 25.0, 'top2': 75.0, 'top5': 100.0}


# --- configs ------------------------------------------------------------------------------------
def test_paper_configs_follow_the_official_recipe():
    cfg = Config.fromfile(PAPER_CFG)
    assert cfg.train_dataloader.batch_size * 8 == cfg.auto_scale_lr.base_batch_size == 1024
    assert cfg.train_cfg.max_iters == 300000 and cfg.train_cfg.val_interval == 10000
    opt = cfg.optim_wrapper.optimizer
    assert (opt.lr, opt.momentum, opt.weight_decay) == (0.5, 0.9, 4e-5)
    assert cfg.model.label_smoothing == 0.1 and cfg.model.dropout == 0.2
    assert cfg.model.backbone.flops_bins == (290, 360, 10)
    assert cfg.model_wrapper_cfg.find_unused_parameters
    sched = cfg.param_scheduler[0]
    assert (sched.end, sched.end_factor, sched.by_epoch) == (300001, 0., False)

    # the same LinearLR settings give the official lr = base * (1 - iter / total) per iteration
    from mmengine.optim.scheduler import LinearLR
    total = 10
    opt = torch.optim.SGD([nn.Parameter(torch.zeros(1))], lr=0.5)
    sch = LinearLR(opt, start_factor=1., end_factor=0., by_epoch=False, begin=0, end=total + 1)
    for it in range(total + 3):
        assert opt.param_groups[0]['lr'] == pytest.approx(0.5 * max(0., 1 - it / total), abs=1e-9)
        opt.step()
        sch.step()

    for name, widths in (('1.3g', [48, 96, 240, 480, 960,
                                   1024]), ('3.8g', [72, 172, 432, 864, 1728, 1728])):
        c = Config.fromfile(CFG_DIR / f'detnas_supernet-{name}_8xb128-300k_imagenet.py')
        assert c.model.backbone.stage_repeats == [8, 8, 16, 8]
        assert c.model.backbone.stage_out_channels == widths
        assert c.model.backbone.flops_bins is None
        # the official 290-360 MFLOPs bins lie below every path of these spaces
        table = get_flops_table([8, 8, 16, 8], widths, count_bn=False)
        cheapest = table.stem + sum(min(row.values()) for row in table.blocks)
        assert cheapest > 360e6


def test_subnet_config_builds_from_a_genotype(tmp_path):
    from mmdet.registry import MODELS

    from projects.detnas.detnas import dump_genotype, load_genotype
    cfg = Config.fromfile(CFG_DIR / 'detnas_subnet_8xb128-300k_imagenet.py')
    assert cfg.model.backbone.type == 'DetNASShuffleNetFixed'
    assert 'flops_bins' not in cfg.model.backbone
    model = MODELS.build(cfg.model)
    assert model.head.fc.out_features == 1000
    data = load_genotype('detnas_coco_fpn_300m')
    # a search's best_genotype.yaml drops in through --cfg-options
    path = tmp_path / 'best_genotype.yaml'
    dump_genotype([CHOICES[0]] * 20, str(path), data['stage_repeats'], data['stage_out_channels'])
    cfg.merge_from_dict({'model.backbone.genotype': str(path)})
    assert MODELS.build(cfg.model).backbone.genotype == [CHOICES[0]] * 20


# --- toy run ------------------------------------------------------------------------------------
def test_toy_supernet_pretraining_learns_and_feeds_the_detector(toy_coco, tmp_path):
    run_cli(['python', 'projects/detnas/tools/make_toy_imagenet.py'])
    work = tmp_path / 'work'
    cfg = Config.fromfile(TOY_CFG)
    assert cfg.model.backbone.stage_repeats == [1, 1, 2, 1]  # the toy space
    assert cfg.model.backbone.stage_out_channels == [16, 32, 64, 128, 256, 256]
    run_cli(['mim', 'train', 'mmdet', str(TOY_CFG), '--work-dir', str(work)])
    scalars = next(work.glob('*/vis_data/scalars.json'))
    top1 = [
        json.loads(line)['accuracy/top1'] for line in scalars.read_text().splitlines()
        if 'accuracy/top1' in line
    ]
    # chance is 16.7%; measured 79.8% and 72.2% (seeds 0, 1); the earlier 20-block toy supernet
    # stayed near chance (26.8%), so this floor fails for a supernet that does not learn
    assert top1 and top1[-1] > 50, top1

    max_iters = cfg.train_cfg.max_iters
    ckpt = work / f'iter_{max_iters}.pth'
    from mmengine.runner.checkpoint import CheckpointLoader
    state = CheckpointLoader.load_checkpoint(str(ckpt), map_location='cpu')['state_dict']
    assert any(k.startswith('backbone.layers.0.shuffle_3x3.') for k in state)
    det_backbone = DetNASShuffleNet(
        stage_repeats=[1, 1, 2, 1],
        stage_out_channels=[16, 32, 64, 128, 256, 256],
        out_indices=(0, 1, 2, 3),
        init_cfg=dict(type='Pretrained', checkpoint=str(ckpt), prefix='backbone.'))
    det_backbone.init_weights()
    loaded = det_backbone.state_dict()
    backbone_keys = [k for k in state if k.startswith('backbone.')]
    assert len(backbone_keys) == len(loaded)
    for k in backbone_keys:
        assert torch.equal(loaded[k[len('backbone.'):]], state[k]), k
