"""The retrain configs carry the paper's recipe; every metafile row points at one of them."""
import glob

import pytest
import torch
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

SCALING = {  # tensorflow/tpu spinenet.py SCALING_MAP
    '49S': (0.65, 128, 0.5, 1),
    '49': (1.0, 256, 0.5, 1),
    '96': (1.0, 256, 0.5, 2),
    '143': (1.0, 256, 1.0, 3),
    '190': (1.3, 512, 1.0, 4)
}


def coco_configs(repo):
    return sorted(glob.glob(str(repo / 'projects/spinenet/configs/retinanet_spinenet-[0-9]*.py')))


def test_every_metafile_row_has_a_config(repo):
    meta = yaml.safe_load((repo / 'projects/spinenet/metafile.yml').read_text())
    for m in meta['Models']:
        assert m['Config'] and (repo / m['Config']).is_file(), m['Name']
        size = m['Config'].split('spinenet-')[1].split('_')[0].split('-')[0]
        assert f'SpineNet-{size} ' in m['Name'] + ' '
        hw = m['Metadata']['FLOPs Input'].split('x')[0]
        assert m['Config'].endswith(f'coco-{hw}.py')


def test_metafile_accounts_for_every_config(repo):
    text = (repo / 'projects/spinenet/metafile.yml').read_text()
    meta = yaml.safe_load(text)
    rows = {m['Config'].rsplit('/', 1)[1] for m in meta['Models']}
    for path in glob.glob(str(repo / 'projects/spinenet/configs/*.py')):
        name = path.rsplit('/', 1)[1]
        assert name in rows or f'#   {name}' in text, name
    for m in meta['Models']:  # the paper counted the TF head's 91 class outputs
        assert m['Metadata']['Complexity Options'] == {'model.bbox_head.num_classes': 91}


# The recipe of each AP row, as its source states it: (drop-connect, jitter, lr, epochs).
# Paper rows: Du et al. 2020 Sec. 5.1 (protocol B: relu, 350 epochs, jitter [0.5, 2.0]; C: swish,
# stochastic depth 0.2, 500 epochs, [0.1, 2.0] for 143 and 190). Zoo rows: tensorflow/tpu @7dc921f
# configs/spinenet/spinenet{143,190}_retinanet.yaml (MODEL_ZOO.md 50.6 / 52.0 AP).
RECIPES = {
    'retinanet_spinenet-143-zoo_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py':
    (0.16, (0.1, 1.9), 0.28, 500),
    'retinanet_spinenet-190-zoo_syncbn-swish-sd_8xb32-lsj-400e_coco-1280.py':
    (0.2, (0.1, 1.9), 0.3, 400),
    'retinanet_spinenet-143_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py':
    (0.2, (0.1, 2.0), 0.28, 500),
    'retinanet_spinenet-190_syncbn-swish-sd_8xb32-lsj-500e_coco-1280.py':
    (0.2, (0.1, 2.0), 0.28, 500),
}


def source_recipe(name):
    if name in RECIPES:
        return RECIPES[name]
    if 'swish' in name:  # protocol C
        return 0.2, (0.5, 2.0), 0.28, 500
    return 0., (0.5, 2.0), 0.28, 350  # protocol B / the zoo's 350-epoch relu rows


def test_recipes(repo):
    paths = coco_configs(repo)
    assert len(paths) == 13
    assert set(RECIPES) <= {p.rsplit('/', 1)[1] for p in paths}
    for path in paths:
        cfg = Config.fromfile(path)
        name = path.rsplit('/', 1)[1]
        drop, jitter, lr, epochs = source_recipe(name)
        size = name.split('spinenet-')[1].split('_')[0].split('-')[0]
        bb, head = cfg.model.backbone, cfg.model.bbox_head
        assert (bb.filter_size_scale, bb.endpoints_num_filters, bb.resample_alpha,
                bb.block_repeats) == SCALING[size]
        assert head.in_channels == bb.endpoints_num_filters
        assert head.anchor_generator.octave_base_scale == (4 if size in ('143', '190') else 3)
        assert cfg.model.neck is None
        assert cfg.optim_wrapper.optimizer.type == 'SGD'
        assert cfg.optim_wrapper.optimizer.lr == lr, name
        assert cfg.auto_scale_lr.base_batch_size == 256
        warm = cfg.param_scheduler[0]  # tpu detection config: from 0.0067 over 2000 steps
        assert warm.type == 'LinearLR' and warm.end == 2000 and not warm.by_epoch
        assert warm.start_factor * lr == pytest.approx(0.0067)
        assert cfg.train_cfg.max_epochs == epochs == int(name.split('lsj-')[1].split('e_')[0])
        assert cfg.param_scheduler[1].milestones == [epochs - 30, epochs - 10]
        assert cfg.param_scheduler[1].end == epochs
        assert cfg.train_dataloader.dataset.pipeline[2].type == 'RandomResize'
        hw = int(name.rsplit('-', 1)[1][:-3])
        assert cfg.train_dataloader.dataset.pipeline[2].scale == (hw, hw)
        assert cfg.train_dataloader.dataset.pipeline[2].ratio_range == jitter, name
        for pipe in (cfg.train_dataloader.dataset.pipeline, cfg.test_dataloader.dataset.pipeline):
            pad = [t for t in pipe if t.type == 'Pad']  # to the square, with the BGR mean pixel
            assert len(pad) == 1 and pad[0].size == (hw, hw)
            assert pad[0].pad_val.img == (103.53, 116.28, 123.675)
        # tpu base_config.py batch_norm_activation: momentum 0.997, epsilon 1e-4
        for norm in (bb.norm_cfg, head.norm_cfg):
            assert (1 - norm.momentum, norm.eps) == (pytest.approx(0.997), 1e-4)
        # tpu dataloader/anchor.py: centres at stride / 2 + k * stride
        assert head.anchor_generator.center_offset == 0.5
        if '_bn_1xb16' in name:
            assert bb.norm_cfg.type == 'BN' and cfg.train_dataloader.batch_size == 16
            assert cfg.auto_scale_lr.enable
        else:
            assert bb.norm_cfg.type == 'SyncBN' and cfg.train_dataloader.batch_size == 32
        swish = 'swish' in name
        assert bb.act_cfg.type == ('Swish' if swish else 'ReLU')
        assert bb.drop_path_rate == drop, name


@pytest.mark.parametrize('size', ['49S'])
def test_detector_builds_and_runs_tensor_mode(repo, size):
    import projects.spinenet.spinenet  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(
        str(repo / f'projects/spinenet/configs/retinanet_spinenet-{size}_syncbn_8xb32-lsj-'
            '350e_coco-640.py'))
    cfg.model.backbone.norm_cfg = cfg.model.bbox_head.norm_cfg = dict(type='BN')
    model = MODELS.build(cfg.model).eval()
    with torch.no_grad():
        cls, reg = model(torch.zeros(1, 3, 128, 128), mode='tensor')
    assert [c.shape[-1] for c in cls] == [16, 8, 4, 2, 1]
    assert cls[0].shape[1] == 9 * 80 and reg[0].shape[1] == 9 * 4
    # per-level BN in the head, shared convs (TF RetinanetHead)
    head = model.bbox_head
    assert len(head.cls_convs) == 4 and len(head.cls_norms[0]) == 5


def test_coco_search_config_uses_the_loop_on_a_held_out_split(repo):
    cfg = Config.fromfile(
        str(repo /
            'projects/spinenet/configs/spinenet_search_retinanet-proxy_1xb64-5e_coco-512.py'))
    assert cfg.train_cfg.type == 'SpineNetSearchLoop'
    assert cfg.train_cfg.objective == dict(
        type='SpineNetProxyObjective', epochs=5, warmup_iters=500)
    # one candidate per GPU at the proxy's batch 64 (vertex-ai-nas spinenet_search_tpu.yaml)
    assert cfg.train_dataloader.batch_size == 64 and cfg.optim_wrapper.optimizer.lr == 0.08
    bb = cfg.model.backbone
    assert (bb.filter_size_scale, bb.resample_alpha,
            cfg.model.bbox_head.feat_channels) == (0.25, 0.25, 64)
    # the files tools/make_search_split.py --tag spinenet writes (tests/suite/test_search_split.py)
    assert cfg.search_dataloader.dataset.ann_file.endswith('_spinenet-search.json')
    assert cfg.train_dataloader.dataset.ann_file.endswith('_spinenet-train.json')
