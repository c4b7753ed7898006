"""Whole-detector params/FLOPs (mmengine) of the paper's RetinaNet rows, as the paper counts them.

Paper / TPU MODEL_ZOO.md: SpineNet-49S 640: 11.9-12.0M / 33.8B; SpineNet-49 640: 28.5M / 85.4B.
The TF detector's class net has 91 outputs per anchor (tpu retinanet config ``num_classes: 91``,
background included; mmdet's COCO: 80); with 91 our count matches the paper's to <1%, as
``tools/paper_report.py`` counts (metafile ``Complexity Options``). SpineNet-49S: the published
count is met with 256-wide endpoints feeding the 128-wide head; the tpu SCALING_MAP's 128-wide
endpoints, which the 49S configs keep, give ~6% fewer params (README).
"""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.analysis import FlopAnalyzer, parameter_count
from mmengine.config import Config
from mmengine.registry import init_default_scope

CFG = 'projects/spinenet/configs/retinanet_spinenet-{}_syncbn_8xb32-lsj-350e_coco-640.py'


def measure(repo, size, num_classes, endpoints=None):
    import projects.spinenet.spinenet  # noqa: F401
    init_default_scope('mmdet')
    cfg = Config.fromfile(str(repo / CFG.format(size)))
    m = copy.deepcopy(cfg.model)
    m.backbone.norm_cfg = m.bbox_head.norm_cfg = dict(type='BN')
    m.bbox_head.num_classes = num_classes
    if endpoints:
        m.backbone.endpoints_num_filters = m.bbox_head.in_channels = endpoints
    model = MODELS.build(m).eval()
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():  # get_model_complexity_info's counts, with one trace, not two
            flops = FlopAnalyzer(model, (torch.zeros(1, 3, 640, 640), )).total()
    finally:
        torch.set_num_threads(threads)
    return parameter_count(model)[''] / 1e6, flops / 1e9


@pytest.mark.parametrize('size, endpoints, params, flops', [
    ('49', None, 28.5, 85.4),
    ('49S', 256, 11.95, 33.8),
])
def test_paper_count_within_2pct_params_5pct_flops(repo, size, endpoints, params, flops):
    p, f = measure(repo, size, 91, endpoints)
    assert abs(p / params - 1) < 0.02, (p, params)
    assert abs(f / flops - 1) < 0.05, (f, flops)


def test_tpu_scaling_49S_is_the_documented_residual(repo):
    """The 49S retrain config (tpu SCALING_MAP: 128-wide endpoints), 80 classes: 11.15M/30.0B."""
    p, f = measure(repo, '49S', 80)
    assert 11.0 < p < 11.3 and 29.5 < f < 30.5, (p, f)
