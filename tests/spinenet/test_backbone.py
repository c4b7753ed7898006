"""SpineNet backbone: builds from a genotype, right shapes, clear errors on bad genotypes."""
import copy

import pytest
import torch
import torch.nn as nn
import yaml

from projects.spinenet.spinenet import (DEFAULT_GENOTYPE, GenotypeError, SpineNet, dump_genotype,
                                        load_genotype, validate_genotype)
from projects.spinenet.spinenet.spinenet import Resample, SameMaxPool2d, same_max_pool

TINY = dict(
    stem_channels=8,
    filter_size_scale=0.125,
    endpoints_num_filters=16,
    resample_alpha=0.25,
    norm_cfg=dict(type='BN'))


def published():
    return load_genotype(DEFAULT_GENOTYPE)[0]


def test_published_spec_is_the_tpu_list():
    specs = published()
    assert len(specs) == 15 and sum(s.is_output for s in specs) == 5
    # tensorflow/tpu spinenet.py SPINENET_BLOCK_SPECS rows 0, 7 and 14
    assert tuple(specs[0]) == (2, 'bottleneck', (0, 1), False)
    assert tuple(specs[7]) == (7, 'residual', (6, 8), False)
    assert tuple(specs[14]) == (6, 'bottleneck', (12, 14), True)
    # paper Table 1: the 15 scale-permuted blocks have levels {L2:1, L3:2, L4:4, L5:4, L6:2, L7:2}
    counts = {lvl: sum(s.level == lvl for s in specs) for lvl in range(2, 8)}
    assert counts == {2: 1, 3: 2, 4: 4, 5: 4, 6: 2, 7: 2}


@pytest.mark.parametrize('hw', [(64, 64), (50, 70)])
def test_forward_shapes_p3_p7(hw):
    m = SpineNet(**TINY).eval()
    with torch.no_grad():
        outs = m(torch.randn(2, 3, *hw))
    assert len(outs) == 5
    for lvl, o in zip(range(3, 8), outs):
        assert o.shape == (2, 16, -(-hw[0] // 2**lvl), -(-hw[1] // 2**lvl))


def test_unconsumed_block_is_fused_into_same_level_output():
    m = SpineNet(**TINY)
    # block index 13 (spec 11, the L3 output) gets nothing; block 11 (L5 bottleneck, spec 9) has
    # no consumer and is summed into the L5 output block 14 (spec 12), as tpu spinenet.py does
    assert m.fused[12] == [11] and sum(map(len, m.fused)) == 1


def test_published_spec_uses_every_block():
    m = SpineNet(**TINY)
    assert m.used == set(range(2 + 15)) and len(m.init_blocks) == 2


def test_blocks_no_output_depends_on_are_not_built():
    """A searched genotype can leave a block unconsumed at a level with no fusing output (here the
    L2 block index 2, whose two consumers are re-pointed). It must not be built: DDP with
    ``find_unused_parameters=False`` fails on parameters without a gradient."""
    rows = _rows()
    rows[2][2] = [1, 3]  # index 4 was fed by index 2
    rows[3][2] = [3, 4]  # index 5 was fed by index 2
    m = SpineNet(genotype=dict(blocks=rows), **TINY)
    assert 2 not in m.used and len(m.nodes) - len(m.used) == 1
    assert not list(m.blocks[0].parameters()) and not list(m.resamples[0].parameters())
    n_full = sum(p.numel() for p in SpineNet(**TINY).parameters())
    assert sum(p.numel() for p in m.parameters()) < n_full
    outs = m(torch.randn(2, 3, 64, 64))
    sum(o.sum() for o in outs).backward()
    assert [n for n, p in m.named_parameters() if p.grad is None] == []


def test_random_searched_genotypes_give_every_parameter_a_gradient():
    """107 of 200 uniform samples of the search space have blocks no output depends on."""
    import random

    from projects.spinenet.spinenet import SpineNetSearchSpace
    space, rng = SpineNetSearchSpace(), random.Random(0)
    pruned = 0
    for _ in range(8):
        specs = space.decode(space.sample_random(rng))
        m = SpineNet(genotype=[s.to_list() for s in specs], **TINY)
        pruned += len(m.nodes) - len(m.used)
        sum(o.sum() for o in m(torch.randn(2, 3, 64, 64))).backward()
        assert [n for n, p in m.named_parameters() if p.grad is None] == []
    assert pruned > 0


def test_block_repeats_and_scaling_change_the_model():
    a = SpineNet(**TINY)
    b = SpineNet(**dict(TINY, block_repeats=2))
    n = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert len(b.blocks[0][1]) == 2 and n(b) > n(a)


def test_genotype_yaml_round_trip(tmp_path):
    specs = published()
    path = tmp_path / 'g.yaml'
    dump_genotype(specs, str(path), score=0.5)
    data = yaml.safe_load(path.read_text())
    assert data['score'] == 0.5 and data['blocks'][0] == [2, 'bottleneck', [0, 1], False]
    assert load_genotype(str(path))[0] == specs
    m1, m2 = SpineNet(genotype=str(path), **TINY), SpineNet(genotype=data, **TINY)
    assert [tuple(s) for s in m1.specs] == [tuple(s) for s in m2.specs]


def _rows():
    return [list(s.to_list()) for s in published()]


@pytest.mark.parametrize(
    'edit, match',
    [
        (lambda r: r[3].__setitem__(2, [0, 5]), r'block 3 .*parent 5 does not exist'),
        (lambda r: r[4].__setitem__(1, 'conv'), r'block 4 .*block_fn'),
        (lambda r: r[12].__setitem__(0, 4), r'block 12 .*duplicate output level 4'),
        (lambda r: r[13].__setitem__(3, False), r'no output block for level\(s\) \[7\]'),
        (lambda r: r[2].__setitem__(0, 9), r'block 2 .*level 9'),
        (lambda r: r[0].__setitem__(2, [0]), r'block 0: needs exactly two parents'),
        # wrong types are refused, not coerced
        (lambda r: r[10].__setitem__(3, 'false'), r'block 10: is_output must be true or false'),
        (lambda r: r[1].__setitem__(0, 3.0), r'block 1: level must be an int'),
        (lambda r: r[5].__setitem__(2, [2, 2]), r'block 5 .*two parents must differ'),
    ])
def test_invalid_genotypes_fail_naming_the_block(edit, match):
    rows = _rows()
    edit(rows)
    with pytest.raises(GenotypeError, match=match):
        SpineNet(genotype=dict(blocks=rows), **TINY)


@pytest.mark.parametrize('num_init', [2.7, '2', 0, True])
def test_bad_num_init_blocks_is_named(num_init):
    with pytest.raises(GenotypeError, match=r'^num_init_blocks must be a positive int'):
        SpineNet(genotype=dict(blocks=_rows(), num_init_blocks=num_init), **TINY)


@pytest.mark.parametrize('text', ['', '7', '[]', 'blocks: 3', 'cells: []'])
def test_bad_files_name_the_file(tmp_path, text):
    path = tmp_path / 'g.yaml'
    path.write_text(text)
    with pytest.raises(GenotypeError, match=str(path)):
        SpineNet(genotype=str(path), **TINY)


def test_structural_errors_name_the_file(tmp_path):
    rows = _rows()
    rows[3][2] = [0, 5]
    path = tmp_path / 'g.yaml'
    dump_genotype(rows, str(path))
    with pytest.raises(GenotypeError, match=rf'{path}: block 3 .*parent 5'):
        SpineNet(genotype=str(path), **TINY)


def test_missing_file_is_a_clear_error():
    with pytest.raises(GenotypeError, match='not found'):
        load_genotype('no/such/genotype.yaml')


def test_validate_accepts_published():
    validate_genotype(copy.deepcopy(published()))


def test_max_pools_pad_as_tf_same_on_even_sizes():
    """tpu spinenet.py pools with padding='SAME': on a 4x4 map a 3x3/2 window starts at 0 and the
    one padded row/column is after the data (PyTorch's padding=1 would give 5, 7, 13, 15)."""
    x = torch.arange(16.).view(1, 1, 4, 4)
    assert same_max_pool(x, 3, 2).flatten().tolist() == [10., 11., 14., 15.]
    assert nn.MaxPool2d(3, 2, 1)(x).flatten().tolist() == [5., 7., 13., 15.]
    odd = torch.randn(1, 2, 5, 7)  # odd sizes: SAME pads one on each side, as PyTorch does
    assert torch.equal(same_max_pool(odd, 3, 2), nn.MaxPool2d(3, 2, 1)(odd))
    neg = -torch.ones(1, 1, 4, 4)  # the padding is ignored by the max, not a zero
    assert same_max_pool(neg, 3, 2).eq(-1).all()
    m = SpineNet(**TINY)
    assert isinstance(m.stem[1], SameMaxPool2d) and (m.stem[1].kernel, m.stem[1].stride) == (3, 2)


def test_resampling_pools_with_the_tpu_size_and_stride():
    """L3 -> L6 (ratio 8) on a 32-wide map: the stride-2 conv (here a plain subsampling), then a
    5x5/4 SAME pool: windows start at 0, 4, 8, 12 and the last one ends at 15 (hand-computed on
    x[r, c] = 32 r + c); then the nearest resize to the target width."""
    r = Resample(4, 4, 3, 6, 4, 1., dict(type='BN'), None)
    r.squeeze, r.down, r.expand = nn.Identity(), nn.MaxPool2d(1, 2), nn.Identity()
    x = torch.arange(1024.).view(1, 1, 32, 32)
    out = r(x, (4, 4))
    ends = [min(4 * a + 4, 15) for a in range(4)]  # on the 16-wide map after the subsampling
    assert out.flatten().tolist() == [32. * 2 * i + 2 * j for i in ends for j in ends]
