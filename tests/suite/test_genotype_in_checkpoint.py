"""The genotype travels with the weights: every module built from a genotype
stores it in its ``state_dict``, and loading a checkpoint into a module of another genotype
stops with an error naming both, even when every parameter shape agrees (such a load used to
succeed without a word and evaluate another network). A genotype that builds the same network
(NAS-FPN's mirrored inputs) loads."""
import copy

import pytest
import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

from conftest import REPO


def _spinenet():
    from projects.spinenet.spinenet import DEFAULT_GENOTYPE, load_genotype
    specs, _ = load_genotype(DEFAULT_GENOTYPE)
    rows = [s.to_list() for s in specs]
    levels = [2, 2] + [s.level for s in specs]  # node levels: the stem's two L2 blocks first
    fns = ['bottleneck', 'bottleneck'] + [s.block_fn for s in specs]
    for b, row in enumerate(rows):  # a parent swapped for another node of its level and type
        node = 2 + b
        for k, parent in enumerate(row[2]):
            for q in range(node):
                if q not in row[2] and (levels[q], fns[q]) == (levels[parent], fns[parent]):
                    changed = copy.deepcopy(rows)
                    changed[b][2][k] = q
                    return ('projects/spinenet/configs/retinanet_spinenet-toy_1xb8-12e_toy.py',
                            'backbone', dict(blocks=rows), dict(blocks=changed), None)
    raise AssertionError('no shape-preserving change found')


def _nas_fpn():
    from projects.nas_fpn.nas_fpn import genotype_to_list, load_genotype
    cells = genotype_to_list(load_genotype('projects/nas_fpn/genotypes/nasfpn_7cell.yaml'))
    changed = copy.deepcopy(cells)
    changed[0][1] = 'sum' if cells[0][1] == 'attention' else 'attention'  # no parameters
    mirror = [[lv, op, ins[::-1], out] for lv, op, ins, out in cells]
    return ('projects/nas_fpn/configs/retinanet_r18-w16_nasfpn-3x64_1xb8-12e_toy.py', 'neck',
            dict(cells=cells), dict(cells=changed), dict(cells=mirror))


def _detnas():
    from projects.detnas.detnas import load_genotype
    g = load_genotype('detnas_coco_retinanet_300m')
    changed = list(g['genotype'])
    changed[0] = 'shuffle_5x5' if changed[0] != 'shuffle_5x5' else 'shuffle_7x7'
    data = dict(stage_repeats=g['stage_repeats'], stage_out_channels=g['stage_out_channels'])
    # DetNAS's four choices differ in kernel size or structure: no change keeps every shape; the
    # load used to copy the matching tensors and skip the others with size-mismatch warnings
    return ('projects/detnas/configs/retinanet_detnas-toy_fpn_1xb8-12e_toy.py', 'backbone',
            dict(data, genotype=list(g['genotype'])), dict(data, genotype=changed), None)


def _nas_fcos_decoder():
    from projects.nas_fcos.nas_fcos import PUBLISHED_GENOTYPE, genotype_to_dict, load_genotype
    g = genotype_to_dict(load_genotype(PUBLISHED_GENOTYPE))
    changed = copy.deepcopy(g)
    changed['decoder'][2][1] = 5  # n6's skip branch reads n5 instead of C5: no parameters moved
    return ('projects/nas_fcos/configs/'
            'nas-fcos_r18-w16_nas-fcos-fpn-64_nas-fcos-head_1xb8-12e_toy.py', 'neck', g, changed,
            None)


def _hitdet():
    from projects.hitdet.hitdet import RELEASED_GENOTYPE, genotype_to_dict, load_genotype
    g = genotype_to_dict(load_genotype(RELEASED_GENOTYPE))
    changed = copy.deepcopy(g)
    changed['backbone'][0] = 'ir_k3_d2_e3'  # dilation 2 instead of 1: the same weights' shapes
    assert g['backbone'][0] == 'ir_k3_d1_e3'
    return ('projects/hitdet/configs/faster-rcnn_hitdet-w0.25_hitdet-pafpn-32_1xb8-12e_toy.py',
            'backbone', g, changed, None)


CASES = dict(
    spinenet=_spinenet,
    nas_fpn=_nas_fpn,
    detnas=_detnas,
    nas_fcos=_nas_fcos_decoder,
    hitdet=_hitdet)


@pytest.mark.parametrize('project', sorted(CASES))
def test_checkpoint_refuses_another_genotype(project, tmp_path):
    init_default_scope('mmdet')
    config, key, genotype, changed, equivalent = CASES[project]()
    module_cfg = Config.fromfile(str(REPO / config)).model[key]

    def build(g):
        cfg = copy.deepcopy(module_cfg)
        cfg.genotype = g
        cfg.pop('init_cfg', None)
        return MODELS.build(cfg)

    trained = build(genotype)
    ckpt = tmp_path / 'epoch_12.pth'
    torch.save(dict(meta=dict(), state_dict=trained.state_dict()), ckpt)
    other = build(changed)

    def shapes(m):  # of the weights (the stored genotype's length differs, of course)
        return {k: v.shape for k, v in m.state_dict().items() if not k.endswith('_extra_state')}

    if project != 'detnas':
        assert shapes(trained) == shapes(other)
    with pytest.raises(Exception, match='checkpoint holds the weights of the genotype') as err:
        load_checkpoint(other, str(ckpt), map_location='cpu')
    assert 'but this model was built with' in str(err.value)
    same = build(genotype)
    load_checkpoint(same, str(ckpt), map_location='cpu')  # the trained genotype loads
    for k, v in trained.state_dict().items():
        if torch.is_tensor(v):
            assert torch.equal(same.state_dict()[k], v), k
    if equivalent is not None:  # the same network, written otherwise
        load_checkpoint(build(equivalent), str(ckpt), map_location='cpu')
