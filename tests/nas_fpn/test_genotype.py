"""Genotype data: the published cell, round trips, errors that name the bad cell, the dedup
key (equal exactly for genotypes that build the same network)."""
import numpy as np
import pytest
import torch

from projects.nas_fpn.nas_fpn import (GenotypeError, GenotypeNASFPN, NASFPNSearchSpace,
                                      dump_genotype, genotype_key, genotype_to_list, load_genotype)

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
    (6, [6, 'attention', [9, 10], False], 'outputs'),
    (3, [4, 'sum', [6], True], 'two node indices'),
    (1, [4, 'sum', [1, 5], 'false'], 'is_output must be true/false'),
    (2, [4.0, 'sum', [1, 5], False], 'output_level must be an int'),
    (2, [4, 'sum', [1, 5.0], False], 'two node indices'),
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


FORMS = [
    dict(),
    dict(
        attention_pool='max',
        attention_gate_from='coarser',
        lateral_bias=True,
        lateral_conv='if_width_differs',
        extra_level_conv=False)
]


def _outputs(cells, form):
    torch.manual_seed(0)
    neck = GenotypeNASFPN([8, 16, 32], 8, cells, stack_times=2, **form).eval()
    ins = [torch.randn(1, c, 32 // 2**i, 32 // 2**i) for i, c in enumerate((8, 16, 32))]
    return neck, ins


def _swapped(cells, idx):
    out = [list(c) for c in cells]
    for i in idx:
        out[i][2] = out[i][2][::-1]
    return out


@pytest.mark.parametrize('form', FORMS)
def test_mirrored_inputs_share_the_key_and_the_network(form):
    """Swapping the inputs of sum cells and of attention cells between two levels gives the
    same network, so the search must not train it twice."""
    cells = genotype_to_list(load_genotype(PUBLISHED))
    mirror = _swapped(cells, range(len(cells)))  # every cell: (1, 3) -> (3, 1), ...
    assert load_genotype(mirror) != load_genotype(cells)  # other data ...
    assert genotype_key(load_genotype(mirror)) == genotype_key(load_genotype(cells))  # one key
    neck, ins = _outputs(cells, form)
    twin, _ = _outputs(mirror, form)
    twin.load_state_dict(neck.state_dict())
    with torch.no_grad():
        for a, b in zip(neck(ins), twin(ins)):
            assert torch.equal(a, b)


@pytest.mark.parametrize('form', FORMS)
def test_attention_between_same_level_inputs_keeps_its_order(form):
    """Attention between two P4 nodes gates with a fixed input: swapping them changes the
    network, so the key keeps the order."""
    cells = genotype_to_list(load_genotype(PUBLISHED))
    cells[1] = [4, 'attention', [1, 5], False]  # node 1 = P4, node 5 = cell 0 at level 4
    swapped = _swapped(cells, [1])
    assert genotype_key(load_genotype(swapped)) != genotype_key(load_genotype(cells))
    neck, ins = _outputs(cells, form)
    twin, _ = _outputs(swapped, form)
    with pytest.raises(GenotypeError, match='checkpoint holds the weights'):  # another network
        twin.load_state_dict(neck.state_dict())
    weights = {k: v for k, v in neck.state_dict().items() if k != '_extra_state'}
    twin.load_state_dict(weights, strict=False)  # the same weights, to compare the outputs
    with torch.no_grad():
        assert not torch.allclose(neck(ins)[1], twin(ins)[1])


@pytest.mark.parametrize('text', ['', '7', 'cells: 3', 'blocks: []'])
def test_bad_files_name_the_file(tmp_path, text):
    path = tmp_path / 'g.yaml'
    path.write_text(text)
    with pytest.raises(GenotypeError, match=str(path)):
        load_genotype(str(path))
