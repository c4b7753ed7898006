"""Auto-FPN's modules: the ops (with and without norm), genotypes as strictly validated
data, the Auto-fusion neck and Auto-head box head built from a genotype (shapes at sizes that do
not halve exactly, only the edges the outputs depend on), the supernets, and their export: the
fixed module of a genotype with the supernet's weights computes what the supernet computes when
its architecture weights pick that genotype; the neck and head cost tool's counts."""
import pytest
import torch
import torch.nn as nn
import yaml
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope

from projects.auto_fpn.auto_fpn import (EXAMPLE_GENOTYPE, FUSION_OPS, HEAD_OPS, AutoFusionNeck,
                                        AutoFusionSuperNeck, AutoHeadBBoxHead,
                                        AutoHeadSuperBBoxHead, GenotypeError, build_op,
                                        dump_genotype, genotype_key, live_edges, load_genotype,
                                        mixed_ops, resize_to)

FUSION = [[[['sep_conv_3x3', 0], ['skip_connect', 1]], [['dil_conv_3x3', 1], ['skip_connect', 2]],
           [['skip_connect', 2], ['sep_conv_5x5', 3]], [['skip_connect', 2], ['dil_conv_5x5', 3]]],
          [[['skip_connect', 0], ['sep_conv_3x3', 1]], [['skip_connect', 1], ['dil_conv_3x3_r3',
                                                                              2]],
           [['skip_connect', 0], ['sep_conv_3x3', 1]], [['skip_connect', 0], ['skip_connect', 1]]]]
HEAD = [[[['sep_conv_3x3', 0], ['conv_5x5', 1]], [['skip_connect', 0], ['conv_3x3', 2]],
         [['sep_conv_5x5', 1], ['skip_connect', 3]], [['conv_5x5', 2], ['skip_connect', 4]]]]


def test_darts_ops_with_and_without_norm():
    x = torch.randn(2, 8, 9, 11)
    for name in set(FUSION_OPS) | set(HEAD_OPS):
        for norm in (None, dict(type='BN')):
            op = build_op(name, 8, norm).eval()
            assert op(x).shape == x.shape, name
            has_bn = any(isinstance(m, nn.BatchNorm2d) for m in op.modules())
            assert has_bn == (norm is not None and name not in ('none', 'skip_connect')), name
    sep = build_op('sep_conv_5x5', 8, dict(type='BN'))
    kinds = [type(m).__name__ for m in sep]
    assert kinds == ['ReLU', 'Conv2d', 'Conv2d', 'BatchNorm2d'] * 2  # DARTS SepConv
    assert sep[1].groups == 8 and sep[1].kernel_size == (5, 5) and sep[2].kernel_size == (1, 1)
    # dilated convs are dense (the paper's list calls only the separable ones separable; its
    # TridentNet's dilated convs are dense), not DARTS's dilated separable DilConv
    dil = build_op('dil_conv_5x5_r3', 8, dict(type='BN'))
    assert [type(m).__name__ for m in dil] == ['ReLU', 'Conv2d', 'BatchNorm2d']
    assert dil[1].dilation == (3, 3) and dil[1].padding == (6, 6) and dil[1].groups == 1
    assert dil[1].weight.shape == (8, 8, 5, 5)
    assert build_op('dil_conv_3x3', 8)[1].dilation == (2, 2)
    assert build_op('conv_3x3', 8)[1].dilation == (1, 1)
    assert all(c.bias is None for c in sep.modules() if isinstance(c, nn.Conv2d))
    assert float(build_op('none', 8)(x).abs().sum()) == 0
    with pytest.raises(KeyError, match='unknown Auto-FPN op'):
        build_op('max_pool_3x3', 8)


def test_resize_follows_the_merge_cell_convention():
    x = -torch.arange(1., 26.).view(1, 1, 5, 5)
    up = resize_to(x, (10, 10))
    assert up.shape[-2:] == (10, 10) and torch.equal(up[..., ::2, ::2], x)  # nearest
    down = resize_to(x, (3, 3))  # 5 -> zero-padded to 6 (at the bottom/right), max pool 2
    assert down.shape[-2:] == (3, 3) and float(down[0, 0, 0, 0]) == -1.
    assert float(down[0, 0, 2, 2]) == 0.  # the zero padding
    assert resize_to(x, (5, 5)) is x


def test_genotype_validation_names_the_entry(tmp_path):
    g = load_genotype(dict(fusion=FUSION, head=HEAD))
    assert g.components == ('fusion', 'head')
    assert g.fusion[0][0] == (('sep_conv_3x3', 0), ('skip_connect', 1))
    path = dump_genotype(g, tmp_path / 'g.yaml', source='test')
    assert load_genotype(path) == g and yaml.safe_load(open(path))['source'] == 'test'
    swapped = [[list(reversed(node)) for node in layer] for layer in FUSION]
    assert genotype_key(dict(fusion=swapped)) == genotype_key(dict(fusion=FUSION))
    bad = [
        (dict(fusion=[FUSION[0][:3]]), 'fusion layer 0: expected a list of 4 nodes'),
        (dict(fusion=[[[['none', 0]]] + FUSION[0][1:]]), 'an edge that is not kept'),
        (dict(fusion=[[[['sep_conv_3x3', 4]]] + FUSION[0][1:]]), r'input 4: expected an int in 0'),
        (dict(fusion=[[[['sep_conv_3x3', True]]] + FUSION[0][1:]]), 'input True'),
        (dict(fusion=[[[['sep_conv_3x3', '1']]] + FUSION[0][1:]]), "input '1'"),
        (dict(fusion=[[[['sep_conv_3x3', 1], ['skip_connect', 1]]] + FUSION[0][1:]]), 'twice'),
        (dict(head=[[[['dil_conv_3x3', 0]]] + HEAD[0][1:]]), 'not an op of head'),
        (dict(head=[[[['conv_3x3', 2]]] + HEAD[0][1:]]), r'head cell 0 node 0 edge 0: input 2'),
        (dict(head=[[HEAD[0][0], [], HEAD[0][2], HEAD[0][3]]]), 'cell 0 node 1: expected a non'),
        (dict(source='x'), 'no fusion / head'),
    ]
    for data, msg in bad:
        with pytest.raises(GenotypeError, match=msg):
            load_genotype(data)
    with pytest.raises(GenotypeError, match=f'{tmp_path / "h.yaml"}: no fusion'):
        dump_genotype(dict(head=HEAD), tmp_path / 'h.yaml')
        AutoFusionNeck(str(tmp_path / 'h.yaml'), in_channels=[8] * 4, out_channels=8)


def test_fixed_neck_builds_only_live_edges_and_any_input_size():
    live = live_edges(load_genotype(dict(fusion=FUSION)).fusion)
    # layer 1 reads nodes 0, 1, 2 of layer 0: node 3's edges (2 and 3 -> 3) are dropped
    assert {t for t, _, _ in live[0]} == {0, 1, 2}
    assert [(t, s) for t, s, _ in live[1]] == [(0, 0), (0, 1), (1, 1), (1, 2), (2, 0), (2, 1),
                                               (3, 0), (3, 1)]
    neck = AutoFusionNeck(dict(fusion=FUSION), in_channels=[4, 8, 16, 32], out_channels=8)
    assert len(neck.layers[0]) == 6 and len(neck.layers[1]) == 8
    assert neck.layers[1]['0_0'].align is None  # same level, same channels: a free skip
    assert isinstance(neck.layers[0]['0_0'].align[1], nn.BatchNorm2d)  # BN at retrain
    x = [
        torch.randn(2, c, (200 + 2**i - 1) // 2**i, (300 + 2**i - 1) // 2**i)
        for i, c in zip(range(0, 4), [4, 8, 16, 32])
    ]
    x[3] = torch.randn(2, 32, 25, 38)  # 800 x 1200 / 32 rounds up
    outs = neck.eval()(x)
    assert [tuple(o.shape) for o in outs] == [(2, 8, 200, 300), (2, 8, 100, 150), (2, 8, 50, 75),
                                              (2, 8, 25, 38), (2, 8, 13, 19)]


def test_fixed_head_is_a_convfc_head_after_the_cells():
    head = AutoHeadBBoxHead(
        dict(head=HEAD), in_channels=8, roi_feat_size=7, fc_out_channels=32, num_classes=3)
    assert len(head.cells) == 1 and len(head.cells[0].edges) == 8
    assert head.cells[0].out[0].in_channels == 32  # concat of the 4 intermediate nodes
    assert head.shared_fcs[0].in_features == 8 * 49 and head.shared_fcs[0].out_features == 32
    cls, reg = head.eval()(torch.randn(5, 8, 7, 7))
    assert cls.shape == (5, 4) and reg.shape == (5, 12)


def _pick(mixed, op):
    with torch.no_grad():
        mixed.arch_alpha.fill_(-1e4)
        mixed.arch_alpha[mixed.names.index(op)] = 1e4


def test_fusion_export_equals_the_supernet_at_its_genotype():
    torch.manual_seed(0)
    sup = AutoFusionSuperNeck(num_layers=2, in_channels=[4, 8, 16, 32], out_channels=8)
    assert len(list(
        mixed_ops(sup))) == 32 and not any(isinstance(m, nn.BatchNorm2d)
                                           for m in sup.modules())  # no norm while searching
    for layer, nodes in enumerate(FUSION):
        for t, node in enumerate(nodes):
            chosen = {s: op for op, s in node}
            for s in range(4):
                _pick(sup.layers[layer][f'{t}_{s}'].op, chosen.get(s, 'none'))
    assert sup.decode() == FUSION
    fixed = sup.export(dict(fusion=FUSION))
    assert isinstance(fixed, AutoFusionNeck) and fixed.norm_cfg is None
    x = [torch.randn(2, c, 32 >> i, 24 >> i) for i, c in enumerate([4, 8, 16, 32])]
    for a, b in zip(fixed(x), sup(x)):
        assert torch.allclose(a, b, atol=1e-5)


def test_head_export_equals_the_supernet_at_its_genotype():
    torch.manual_seed(0)
    sup = AutoHeadSuperBBoxHead(
        num_cells=1, in_channels=8, roi_feat_size=7, fc_out_channels=16, num_classes=2)
    assert len(list(mixed_ops(sup))) == 14  # 2 + 3 + 4 + 5 edges
    for j, node in enumerate(HEAD[0]):
        chosen = {i: op for op, i in node}
        for i in range(2 + j):
            _pick(sup.cells[0].edges[f'{j}_{i}'], chosen.get(i, 'none'))
    assert sup.decode() == HEAD
    fixed = sup.export(dict(head=HEAD)).eval()
    x = torch.randn(3, 8, 7, 7)
    for a, b in zip(fixed(x), sup.eval()(x)):
        assert torch.allclose(a, b, atol=1e-5)


def test_decoding_is_dartss_top_two_non_none_edges():
    sup = AutoHeadSuperBBoxHead(
        num_cells=1, in_channels=4, roi_feat_size=7, fc_out_channels=8, num_classes=2)
    edges = sup.cells[0].edges
    with torch.no_grad():
        edges['3_4'].arch_alpha[HEAD_OPS.index('none')] = 9.  # none never counts
        edges['3_1'].arch_alpha[HEAD_OPS.index('conv_3x3')] = 2.
        edges['3_2'].arch_alpha[HEAD_OPS.index('sep_conv_5x5')] = 1.
    assert sup.decode()[0][3] == [['conv_3x3', 1], ['sep_conv_5x5', 2]]
    assert sup.decode(k=1)[0][3] == [['conv_3x3', 1]]


def test_example_genotype_builds_the_coco_and_toy_detectors():
    init_default_scope('mmdet')
    assert 'NOT the paper' in open(EXAMPLE_GENOTYPE).read()
    for path in ('projects/auto_fpn/configs/faster-rcnn_r50_autofpn_8xb2-2x_coco.py',
                 'projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py'):
        cfg = Config.fromfile(path)
        cfg.model.backbone.init_cfg = None
        model = MODELS.build(cfg.model)
        assert isinstance(model.neck, AutoFusionNeck)
        assert isinstance(model.roi_head.bbox_head, AutoHeadBBoxHead)
        assert model.neck.genotype == load_genotype(EXAMPLE_GENOTYPE).fusion


def test_a_checkpoint_refuses_another_genotype(tmp_path):
    """The genotype travels with the weights: dil_conv_3x3 (rate 2) and dil_conv_3x3_r3 have the
    same weights' shapes (and a head edge moved to another input of a skip), so such a load would
    succeed without a word; a fusion genotype that differs only in edges no output depends on
    builds the same network and loads."""
    from mmengine.runner import load_checkpoint
    swapped = [[[['dil_conv_3x3_r3' if op == 'dil_conv_3x3' else op, s] for op, s in node]
                for node in layer] for layer in FUSION]
    dead = [[FUSION[0][0], FUSION[0][1], FUSION[0][2], [['sep_conv_3x3', 0]]], FUSION[1]]
    cases = [
        (lambda g: AutoFusionNeck(dict(fusion=g), in_channels=[4, 8, 16, 32], out_channels=8),
         FUSION, swapped, dead),
        (lambda g: AutoHeadBBoxHead(
            dict(head=g), in_channels=8, roi_feat_size=7, fc_out_channels=16, num_classes=2), HEAD,
         [HEAD[0][:2] + [[['sep_conv_5x5', 1], ['skip_connect', 2]], HEAD[0][3]]], None),
    ]
    for build, genotype, changed, equivalent in cases:
        trained = build(genotype)
        ckpt = tmp_path / 'epoch_12.pth'
        torch.save(dict(meta=dict(), state_dict=trained.state_dict()), ckpt)
        other = build(changed)
        assert {k: v.shape for k, v in other.state_dict().items() if 'extra' not in k} == \
            {k: v.shape for k, v in trained.state_dict().items() if 'extra' not in k}
        with pytest.raises(GenotypeError, match='checkpoint holds the weights of the genotype'):
            load_checkpoint(other, str(ckpt), map_location='cpu')
        load_checkpoint(build(genotype), str(ckpt), map_location='cpu')
        if equivalent is not None:
            load_checkpoint(build(equivalent), str(ckpt), map_location='cpu')


def test_genotype_key_ignores_dead_fusion_edges_only():
    """Nodes of layer 0 that no edge of the last layer reads build nothing: genotypes that
    differ only there share a key; a change on a live edge does not."""
    from projects.auto_fpn.auto_fpn import genotype_key
    last = [[['skip_connect', 0], ['skip_connect', 1]]] * 4
    first = [[['sep_conv_3x3', 0]], [['sep_conv_3x3', 1]], [['sep_conv_3x3', 2]],
             [['sep_conv_3x3', 3]]]
    dead_changed = first[:2] + [[['dil_conv_3x3', 0]], [['skip_connect', 1]]]
    live_changed = [[['dil_conv_3x3', 0]]] + first[1:]
    key = genotype_key(dict(fusion=[first, last]))
    assert genotype_key(dict(fusion=[dead_changed, last])) == key
    assert genotype_key(dict(fusion=[live_changed, last])) != key


def test_neck_head_cost_counts_the_budget_terms():
    """projects/auto_fpn/tools/neck_head_cost.py (the README's neck + head numbers) on the toy
    retrain model: the head's shared FC on the flattened 32 x 7 x 7 RoI feature holds
    1568 x 256 + 256 params and costs one MAC per weight and RoI; the parts add up."""
    import importlib.util
    spec = importlib.util.spec_from_file_location('auto_fpn_neck_head_cost',
                                                  'projects/auto_fpn/tools/neck_head_cost.py')
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    cost = tool.neck_head_cost(
        'projects/auto_fpn/configs/faster-rcnn_r18-w16_autofpn-32_1xb8-12e_toy.py', (64, 96), 10)
    fc_params, fc_gmac = cost['fc']
    assert fc_params * 1e6 == 32 * 49 * 256 + 256
    assert fc_gmac * 1e9 == pytest.approx(10 * 32 * 49 * 256)
    parts = sum(cost[k][0] for k in ('cells', 'fc', 'cls_reg'))
    assert parts == pytest.approx(cost['head'][0]) and cost['neck'][1] > 0
