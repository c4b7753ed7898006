"""Genotype data: the published cell, round trips, errors that name the bad cell."""
import numpy as np
import pytest

from projects.nas_fpn.nas_fpn import (GenotypeError, NASFPNSearchSpace, dump_genotype,
                                      genotype_to_list, load_genotype)

PUBLISHED = 'projects/nas_fpn/genotypes/nasfpn_7cell.yaml'


def test_published_genotype_is_the_tpu_block_specs():
    cells = load_genotype(PUBLISHED)
    # tensorflow/tpu .../architecture/nasfpn.py NASFPN_BLOCK_SPECS
    assert genotype_to_list(cells) == [
        [4, 'attention', [1, 3], False],
        [4, 'sum', [1, 5], False],
        [3, 'sum', [0, 6], True],
        [4, 'sum', [6, 7], True],
        [5, 'attention', [7, 8], True],
        [7, 'attention', [6, 9], True],
        [6, 'attention', [9, 10], True],
    ]


def test_dump_load_round_trip(tmp_path):
    cells = load_genotype(PUBLISHED)
    path = dump_genotype(cells, str(tmp_path / 'g.yaml'), score=0.5)
    assert load_genotype(path) == cells
    dict_form = [
        dict(level=c.level, op=c.op, inputs=list(c.inputs), is_output=c.is_output) for c in cells
    ]
    assert load_genotype(dict_form) == cells


@pytest.mark.parametrize('idx,bad,msg', [
    (2, [3, 'sum', [0, 9], True], 'does not exist yet'),
    (1, [4, 'concat', [1, 5], False], 'binary_op'),
    (0, [4, 'attention', [1, 1], False], 'must differ'),
    (0, [9, 'attention', [1, 3], False], 'outside'),
    (4, [4, 'attention', [7, 8], True], 'produced twice'),
    (1, [4, 'sum', [1, 5], True], 'outputs'),
    (3, [4, 'sum', [6], True], 'two node indices'),
])
def test_invalid_genotype_names_the_cell(idx, bad, msg):
    cells = genotype_to_list(load_genotype(PUBLISHED))
    cells[idx] = bad
    with pytest.raises(GenotypeError, match=msg) as err:
        load_genotype(cells)
    assert f'merging cell {idx}' in str(err.value)


def test_search_space_round_trip_and_masks():
    space = NASFPNSearchSpace()
    cells = load_genotype(PUBLISHED)
    actions = space.encode(cells)
    assert len(actions) == 28
    assert space.decode(actions) == cells
    rng = np.random.default_rng(0)
    for _ in range(50):  # every random sample is a valid genotype of the space
        acts = space.random_actions(rng)
        g = space.decode(acts)
        assert all(c.level != 3 for c in g[:2])  # no stride-8 intermediate cell
        assert sorted(c.level for c in g[2:]) == [3, 4, 5, 6, 7]
