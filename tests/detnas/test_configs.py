"""DetNAS configs (points 4-6): the paper's numbers are in the COCO fine-tuning, search
and retrain configs; the detectors build, the retrain backbones are the published genotypes.
The split tool that writes the search split is tested in tests/suite/test_search_split.py."""
import pytest
from mmdet.registry import MODELS
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from projects.detnas.detnas import load_genotype

CFG = 'projects/detnas/configs/'
SUPERNET_FT = {
    'faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py': 0.02,
    'retinanet_detnas-300m-supernet_fpn_syncbn_8xb2-90k_coco.py': 0.01,
}
SEARCH = ['detnas_search_faster-rcnn-300m_coco.py', 'detnas_search_retinanet-300m_coco.py']
RETRAIN = {
    'faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py': 'detnas_coco_fpn_300m',
    'faster-rcnn_detnas-coco-fpn-1.3g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py': 'detnas_coco_fpn_1_3g',
    'faster-rcnn_detnas-coco-fpn-3.8g_fpn-4conv1fc_syncbn_8xb2-90k_coco.py': 'detnas_coco_fpn_3_8g',
    'retinanet_detnas-coco-retinanet-300m_fpn_syncbn_8xb2-90k_coco.py':
    'detnas_coco_retinanet_300m',
}


def _schedule(cfg, lr):
    assert cfg.train_cfg.type == 'IterBasedTrainLoop' and cfg.train_cfg.max_iters == 90000
    assert cfg.train_dataloader.batch_size * 8 == 16  # 8 GPUs x 2 images
    opt = cfg.optim_wrapper.optimizer
    assert (opt.type, opt.lr, opt.momentum, opt.weight_decay) == ('SGD', lr, 0.9, 1e-4)
    # maskrcnn-benchmark SOLVER.BIAS_LR_FACTOR / WEIGHT_DECAY_BIAS
    assert cfg.optim_wrapper.paramwise_cfg == dict(bias_lr_mult=2., bias_decay_mult=0.)
    steps = next(s for s in cfg.param_scheduler if s.type == 'MultiStepLR')
    assert steps.milestones == [60000, 80000] and steps.by_epoch is False
    assert cfg.model.data_preprocessor.mean == [0., 0., 0.]  # BGR 0-255, as ToBGRTensor


@pytest.mark.parametrize('name,lr', SUPERNET_FT.items())
def test_supernet_finetune_configs(name, lr):
    cfg = Config.fromfile(CFG + name)
    _schedule(cfg, lr)
    bb = cfg.model.backbone
    assert bb.type == 'DetNASShuffleNet' and bb.norm_cfg.type == 'SyncBN'
    assert bb.stage_repeats == [4, 4, 8, 4] and bb.sample_per_forward is False
    assert bb.init_cfg.prefix == 'backbone.' and 'imagenet' in bb.init_cfg.checkpoint
    assert [h.type for h in cfg.custom_hooks] == ['DetNASPathHook']
    assert cfg.model_wrapper_cfg.find_unused_parameters is True
    assert cfg.model.neck.in_channels == [64, 160, 320, 640]
    if cfg.model.type == 'FasterRCNN':
        head = cfg.model.roi_head.bbox_head
        assert head.type == 'Shared4Conv1FCBBoxHead' and head.norm_cfg.type == 'SyncBN'
        assert (head.conv_out_channels, head.fc_out_channels) == (256, 1024)
        assert cfg.model.neck.norm_cfg.type == 'SyncBN'
    else:  # P6/P7 from P5 as the official LastLevelP6P7(256, 256)
        assert cfg.model.neck.add_extra_convs == 'on_output'
    # the 5k search split is held out of the training annotations
    assert cfg.train_dataloader.dataset.ann_file.endswith('_detnas-train.json')
    assert cfg.search_dataloader.dataset.ann_file.endswith('_detnas-search.json')
    assert cfg.search_dataloader.dataset.data_prefix.img == 'train2017/'


@pytest.mark.parametrize('name', SEARCH)
def test_search_configs_have_paper_settings(name):
    cfg = Config.fromfile(CFG + name)
    s = cfg.train_cfg
    assert s.type == 'DetNASSearchLoop'
    assert (s.population_num, s.select_num, s.mutation_num, s.crossover_num, s.mutation_prob,
            s.num_steps) == (50, 10, 20, 20, 0.1, 20)
    assert s.population_num - s.mutation_num - s.crossover_num == 10  # random candidates
    assert (s.flops_limit, s.flops_input_size) == (300e6, 224)
    assert s.objective.type == 'DetNASSupernetObjective'
    assert s.objective.bn_calibration == dict(num_iters=500, cumulative=False)
    assert cfg.train_dataloader.batch_size == 8  # official IMS_PER_BATCH for BN statistics
    assert s.objective.search_evaluator.ann_file.endswith('_detnas-search.json')
    assert cfg.load_from.endswith('iter_90000.pth') and 'supernet' in cfg.load_from


@pytest.mark.parametrize('name,genotype', RETRAIN.items())
def test_retrain_configs_build_the_published_detectors(name, genotype):
    cfg = Config.fromfile(CFG + name)
    _schedule(cfg, 0.01 if 'retinanet' in name else 0.02)
    bb = cfg.model.backbone
    assert bb.type == 'DetNASShuffleNetFixed' and bb.genotype == genotype
    assert bb.init_cfg.type == 'Pretrained' and bb.init_cfg.prefix == 'backbone.'
    assert cfg.train_dataloader.dataset.ann_file == 'annotations/instances_train2017.json'
    assert cfg.test_dataloader.dataset.ann_file == 'annotations/instances_val2017.json'
    assert cfg.test_pipeline[1].scale == (1333, 800)  # 800x1333
    cfg.model.backbone.init_cfg = None
    model = MODELS.build(cfg.model)
    # the config's SyncBN momentum (pinned in test_recipe_fidelity.py) reaches every layer
    momenta = {m.momentum for m in model.modules() if isinstance(m, _BatchNorm)}
    assert momenta == {cfg.norm_cfg.momentum}
    widths = load_genotype(genotype)['stage_out_channels']
    assert model.backbone.out_channels == widths[1:5] == list(cfg.model.neck.in_channels)
    # conv biases train at 2x lr without weight decay, weights at 1x with 1e-4
    from mmengine.optim import build_optim_wrapper
    optim = build_optim_wrapper(model, cfg.optim_wrapper).optimizer
    conv = model.bbox_head.retina_cls if 'retinanet' in name else model.rpn_head.rpn_cls
    groups = {id(p): g for g in optim.param_groups for p in g['params']}
    base = cfg.optim_wrapper.optimizer.lr
    bias, weight = groups[id(conv.bias)], groups[id(conv.weight)]
    assert (bias['lr'], bias['weight_decay']) == (2 * base, 0.)
    assert (weight['lr'], weight['weight_decay']) == (base, 1e-4)
