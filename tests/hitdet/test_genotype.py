"""Hit-Detector genotypes: the released file equals the official config, round trips, aliases,
partial genotypes, and errors that name the file, the component, the position and what was
expected."""
import pytest
import yaml

from projects.hitdet.hitdet import (COMPONENTS, RELEASED_GENOTYPE, GenotypeError, HitDetBackbone,
                                    HitDetGenotype, HitDetNeck, dump_genotype,
                                    genotype_from_official, genotype_key, genotype_to_dict,
                                    load_component, load_genotype, validate_genotype)
from .test_ops import OFFICIAL_HEAD

# ggjy/HitDet.pytorch @38aee61 mmdet/models/backbones/fbnet_arch.py:34-41 ('fbnet_hit')
FBNET_HIT = [
    'conv3', 'ir_k3_e3', 'ir_k3_e3', 'ir_k3_e3_r2', 'ir_k3_e3', 'ir_k5_e6', 'ir_k5_e6', 'ir_k3_e3',
    'ir_k3_e3', 'ir_k7_e6', 'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k5_e3', 'ir_k5_e6', 'ir_k5_e6_r2',
    'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k7_e6', 'ir_k5_e6', 'ir_k5_e6_r2', 'ir_k5_e6', 'ir_k3_e3',
    'conv1'
]
NECK_GENOTYPE = [7, 7, 6, 5, 5, 7, 7, 5]  # configs/nas_trinity/2stage_hitdet.py:24


def _released():
    return genotype_to_dict(load_genotype(RELEASED_GENOTYPE))


def test_released_file_is_the_official_architecture():
    g = load_genotype(RELEASED_GENOTYPE, components=COMPONENTS)
    assert g == genotype_from_official(FBNET_HIT, NECK_GENOTYPE, OFFICIAL_HEAD)
    assert g.neck[:4] == ('sep_k5_d3', 'sep_k5_d3', 'sep_k5_d2', 'sep_k3_d3')
    assert g.neck[4:] == ('sep_k3_d3', 'sep_k5_d3', 'sep_k5_d3', 'sep_k3_d3')
    assert g.head == ('ir_k5_d1_e6', 'ir_k3_d1_e6', 'ir_k5_d1_e6', 'ir_k5_d1_e6')
    # 7 times (the reference note says 8; the resolution of the printed duplicate rests on it)
    assert g.backbone.count('ir_k5_d1_e6') == 7
    with open(RELEASED_GENOTYPE) as f:
        assert 'fbnet_arch.py:33-41' in yaml.safe_load(f)['source']


def test_dump_load_round_trip_genotype_first(tmp_path):
    g = load_genotype(RELEASED_GENOTYPE)
    path = dump_genotype(g, tmp_path / 'best_genotype.yaml', score=0.25, step=3, source='t')
    assert load_genotype(path) == g
    text = open(path).read()
    assert text.splitlines()[0].startswith('backbone: [ir_k3_d1_e3,')
    assert [line.split(':')[0] for line in text.splitlines()
            ] == ['backbone', 'neck', 'head', 'score', 'step', 'source']
    data = yaml.safe_load(text)
    assert (data['score'], data['step'], data['source']) == (0.25, 3, 't')
    with pytest.raises(GenotypeError, match='overwrite'):
        dump_genotype(g, tmp_path / 'x.yaml', neck=['a'])
    # a partial genotype round-trips too
    part = HitDetGenotype(head=g.head)
    assert load_genotype(dump_genotype(part, tmp_path / 'h.yaml')) == part


def test_aliases_are_stored_canonical_and_keyed_alike():
    data = _released()
    official = dict(data, backbone=FBNET_HIT[1:-2], head=OFFICIAL_HEAD)
    assert load_genotype(official) == load_genotype(data)
    assert genotype_key(official) == genotype_key(data)
    other = dict(data, head=['ir_k3_d1_e3'] * 4)
    assert genotype_key(other) != genotype_key(data)
    assert genotype_key(dict(backbone=data['backbone'])).endswith('|N:-|H:-')


@pytest.mark.parametrize('change, message', [
    (dict(neck=[7, 7, 6, 5, 5, 7, 7, 5]),
     r"neck position 0 \(lateral.C2\): expected an op name \(str\), got 7 \(int\)"),
    (dict(head=['ir_k5_e6', 'ir_k3_e6', 'ir_k5_e9', 'ir_k5_e6']),
     r"head position 2 \(block2\): 'ir_k5_e9' is not a Hit-Detector op; expected one of"),
    (dict(head=['ir_k5_e6', 'ir_k3_e6', 'conv3', 'ir_k5_e6']),
     r'head position 2 \(block2\): .conv3. is not a Hit-Detector op \(fbnet_blocks.py:40'),
    (dict(backbone=['ir_k3_d1_e3'] * 19), r'backbone: 19 ops, expected 20 \(positions g48.0'),
    (dict(neck='sep_k3_d1'), r'neck: expected a list of 8 op names'),
    (dict(neck=None), r'neck: expected a list of 8 op names, got None'),
    (dict(head=[True] * 4), r'head position 0 \(block0\): expected an op name \(str\), got True'),
])
def test_errors_name_file_component_position_and_expected(tmp_path, change, message):
    path = tmp_path / 'bad.yaml'
    path.write_text(yaml.safe_dump(dict(_released(), **change)))
    with pytest.raises(GenotypeError, match=str(path).replace('.', r'\.') + ': ' + message):
        load_genotype(str(path))


def test_type_errors_of_the_whole_genotype():
    with pytest.raises(GenotypeError, match='a genotype is a mapping'):
        validate_genotype([['ir_k3_d1_e3'] * 20])
    with pytest.raises(GenotypeError, match='no component'):
        validate_genotype(dict(source='x'))
    with pytest.raises(FileNotFoundError, match='genotype file not found'):
        load_genotype('no/such/file.yaml')
    with pytest.raises(GenotypeError, match='official neck: position 1'):
        genotype_from_official(neck=[7, 8, 6, 5, 5, 7, 7, 5])


def test_partial_genotype_builds_its_component_and_refuses_the_others(tmp_path):
    path = dump_genotype(dict(backbone=_released()['backbone']), tmp_path / 'backbone_only.yaml')
    backbone = HitDetBackbone(path, widen_factor=0.25)
    assert backbone.ops == load_component(RELEASED_GENOTYPE, 'backbone')
    with pytest.raises(
            GenotypeError,
            match=r"backbone_only\.yaml: no 'neck' list \(8 op names\); this genotype "
            r"has \['backbone'\]\. A missing component is never filled"):
        HitDetNeck(path)
    with pytest.raises(GenotypeError, match=r"no 'neck' list \(8 op names\), no 'head' list"):
        load_genotype(path, components=COMPONENTS)
