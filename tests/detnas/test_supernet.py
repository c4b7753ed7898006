"""DetNAS supernet: choice blocks, path sampling, genotypes, export."""
import random

import pytest
import torch
from mmdet.registry import MODELS

from projects.detnas.detnas import (CHOICES, DetNASShuffleNet, DetNASShuffleNetFixed, GenotypeError,
                                    ShuffleChoiceBlock, channel_split_shuffle, dump_genotype,
                                    load_genotype, slice_supernet_state_dict)

TINY20 = dict(stage_repeats=[4, 4, 8, 4], stage_out_channels=[8, 16, 32, 64, 128, 128])
TINY40 = dict(stage_repeats=[8, 8, 16, 8], stage_out_channels=[8, 16, 32, 64, 128, 128])


def _randomize_bn(model, seed=0):
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)


def test_channel_splits_are_the_official_two():
    """channel_shuffle2 (fixed networks): even / odd; channel_shuffle1 (the official supernet):
    the groups=2 shuffle orders 0 4 1 5 2 6 3 7, then the first and second half."""
    x = torch.arange(8.).view(1, 8, 1, 1)
    a, b = channel_split_shuffle(x)
    assert a.flatten().tolist() == [0, 2, 4, 6] and b.flatten().tolist() == [1, 3, 5, 7]
    a, b = channel_split_shuffle(x, 1)
    assert a.flatten().tolist() == [0, 4, 1, 5] and b.flatten().tolist() == [2, 6, 3, 7]
    for bad in (3, True, '1', 1.0):
        with pytest.raises(ValueError, match='channel_shuffle must be 1'):
            channel_split_shuffle(x, bad)
        with pytest.raises(ValueError, match='channel_shuffle must be 1'):
            DetNASShuffleNet(channel_shuffle=bad, **TINY20)


def test_the_supernet_splits_as_the_official_supernet_and_the_fixed_net_as_released():
    net = DetNASShuffleNet(seed=0, **TINY20)
    fixed = DetNASShuffleNetFixed(['shuffle_3x3'] * 20, **TINY20)
    assert {m.channel_shuffle for m in net.modules() if isinstance(m, ShuffleChoiceBlock)} == {1}
    assert {m.channel_shuffle for m in fixed.modules() if isinstance(m, ShuffleChoiceBlock)} == {2}
    assert net.fixed_config()['channel_shuffle'] == 1  # sliced weights keep their function
    # the split changes what a stride-1 block computes with the same weights
    torch.manual_seed(0)
    one = ShuffleChoiceBlock('shuffle_3x3', 16, 16, 1, channel_shuffle=1).eval()
    two = ShuffleChoiceBlock('shuffle_3x3', 16, 16, 1, channel_shuffle=2).eval()
    two.load_state_dict(one.state_dict())
    x = torch.randn(1, 16, 4, 4)
    with torch.no_grad():
        assert not torch.allclose(one(x), two(x))


@pytest.mark.parametrize('choice', CHOICES)
def test_choice_block_shapes_and_structure(choice):
    x = torch.randn(2, 16, 8, 8)
    down = ShuffleChoiceBlock(choice, 16, 40, stride=2)
    assert down(x).shape == (2, 40, 4, 4)
    assert down.proj is not None  # projection branch: dw kxk conv + 1x1 conv
    k = 3 if choice.startswith('xception') else int(choice[-1])
    assert down.proj[0].kernel_size == (k, k) and down.proj[0].stride == (2, 2)
    same = ShuffleChoiceBlock(choice, 16, 16, stride=1).eval()
    assert same.proj is None
    # channel split: the even channels pass through unchanged (before the concat)
    assert torch.equal(same(x)[:, :8], x[:, 0::2])
    dws = [m for m in same.branch.modules() if isinstance(m, torch.nn.Conv2d) and m.groups > 1]
    assert [m.kernel_size[0] for m in dws] == ([3, 3, 3] if choice.startswith('xception') else [k])


def test_the_runner_seed_fixes_the_path_sequence():
    """Without its own seed the sampler draws one from Python's ``random``, which mmengine seeds
    (``randomness.seed``) before building the model: the same seed, the same paths. (It was
    seeded from the OS: every run trained a different path sequence.)"""
    from mmengine.runner import set_random_seed

    def paths(seed):
        set_random_seed(seed)
        net = DetNASShuffleNet(**TINY20)
        return [net.sample_choice() for _ in range(3)]

    assert paths(0) == paths(0)
    assert paths(0) != paths(1)


@pytest.mark.parametrize('space', [TINY20, TINY40])
def test_supernet_outputs_c2_to_c5(space):
    net = MODELS.build(dict(type='DetNASShuffleNet', seed=0, **space))
    assert len(net.layers) == sum(space['stage_repeats'])
    assert all(set(layer.keys()) == set(CHOICES) for layer in net.layers)
    outs = net(torch.randn(1, 3, 64, 64))
    chs = space['stage_out_channels'][1:5]
    assert [tuple(o.shape) for o in outs] == [(1, c, 64 // s, 64 // s)
                                              for c, s in zip(chs, (4, 8, 16, 32))]
    assert net.out_channels == chs


def test_single_path_sampling_and_choice_api():
    net = DetNASShuffleNet(seed=1, **TINY20)
    x = torch.randn(2, 3, 32, 32)
    paths = []
    for _ in range(5):
        net(x)
        paths.append(net.get_choice())
    assert len({tuple(p) for p in paths}) == 5  # a new uniform path every training forward
    assert all(len(p) == 20 and set(p) <= set(CHOICES) for p in paths)
    net.set_choice([3] * 20)  # official indices are accepted
    assert net.get_choice() == ['xception_3x3'] * 20
    net.eval()
    net(x)
    assert net.get_choice() == ['xception_3x3'] * 20  # eval keeps the current path
    net.train()
    net.sample_per_forward = False  # path set from outside (e.g. broadcast by a hook)
    net.set_choice(paths[0])
    net(x)
    assert net.get_choice() == paths[0]
    # only the chosen candidate of each position takes part in the forward
    net.zero_grad()
    sum(o.sum() for o in net(x)).backward()
    for layer, c in zip(net.layers, paths[0]):
        for name, block in layer.items():
            has_grad = any(p.grad is not None for p in block.parameters())
            assert has_grad == (name == c)


@pytest.mark.parametrize('space', [TINY20, TINY40])
def test_export_fixed_backbone_equal_outputs(space):
    net = DetNASShuffleNet(seed=0, **space)
    _randomize_bn(net)
    rng = random.Random(3)
    genotype = [rng.choice(CHOICES) for _ in range(sum(space['stage_repeats']))]
    fixed = MODELS.build(net.fixed_config(genotype))
    assert isinstance(fixed, DetNASShuffleNetFixed)
    fixed.load_state_dict(net.export_state_dict(genotype), strict=True)
    net.set_choice(genotype)
    net.eval(), fixed.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        for a, b in zip(net(x), fixed(x)):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # a detector checkpoint ('backbone.' prefix) slices the same way, other keys kept
    sd = {'backbone.' + k: v for k, v in net.state_dict().items()}
    sd['neck.w'] = torch.ones(1)
    sliced = slice_supernet_state_dict(sd, genotype, prefix='backbone.')
    assert 'neck.w' in sliced
    assert {k[len('backbone.'):] for k in sliced if k != 'neck.w'} == set(fixed.state_dict())


def test_invalid_genotypes_name_the_block(tmp_path):
    good = ['shuffle_3x3'] * 20
    with pytest.raises(GenotypeError, match='19 blocks'):
        DetNASShuffleNetFixed(good[:19], **TINY20)
    bad = list(good)
    bad[7] = 'shuffle_9x9'
    with pytest.raises(GenotypeError, match='block 7'):
        DetNASShuffleNetFixed(bad, **TINY20)
    with pytest.raises(GenotypeError, match='block 3'):
        DetNASShuffleNet(**TINY20).set_choice([0, 1, 2, 4] + [0] * 16)
    path = tmp_path / 'g.yaml'
    path.write_text('stage_repeats: [4, 4, 8, 4]\nstage_out_channels: [8, 16, 32, 64, 128, 128]\n'
                    'genotype: [' + ', '.join(['shuffle_3x3'] * 12 + ['conv_3x3'] * 8) + ']\n')
    with pytest.raises(GenotypeError, match='block 12'):
        MODELS.build(dict(type='DetNASShuffleNetFixed', genotype=str(path)))


def test_a_list_genotype_is_checked_before_any_layer_is_built(monkeypatch):
    """A bad list genotype is refused before the stem conv exists (building it would fail)."""
    import projects.detnas.detnas.backbone as backbone

    def no_layers(*args, **kwargs):
        raise AssertionError('a layer was built before the genotype was checked')

    monkeypatch.setattr(backbone.nn, 'Conv2d', no_layers)
    with pytest.raises(GenotypeError, match='19 blocks'):
        DetNASShuffleNetFixed(['shuffle_3x3'] * 19, **TINY20)
    with pytest.raises(GenotypeError, match="block 0: unknown op 'x'"):
        DetNASShuffleNetFixed(['x'] + ['shuffle_3x3'] * 19, **TINY20)
    with pytest.raises(ValueError, match='flops_bins'):
        DetNASShuffleNet(flops_bins=(300, 200, 10), **TINY20)


@pytest.mark.parametrize('text, match', [
    ('', 'holds a mapping'),
    ('7', 'holds a mapping'),
    ('genotype: [shuffle_3x3]\n', "'stage_repeats' is missing"),
    ('stage_repeats: "4484"\nstage_out_channels: [8, 16, 32, 64, 128, 128]\ngenotype: []\n',
     'stage_repeats must be a list of 4 positive ints'),
    ('stage_repeats: [4, 4, 8.0, 4]\nstage_out_channels: [8, 16, 32, 64, 128, 128]\ngenotype: []\n',
     'stage_repeats must be a list of 4 positive ints'),
    ('stage_repeats: [4, 4, 8, 4]\nstage_out_channels: [8, 15, 32, 64, 128, 128]\ngenotype: []\n',
     's1=15 must be even'),
    ('stage_repeats: [4, 4, 8, 4]\nstage_out_channels: [8, 32, 16, 64, 128, 128]\ngenotype: []\n',
     'stem < s1 < s2 < s3 < s4'),
    ('stage_repeats: [4, 4, 8, 4]\nstage_out_channels: [8, 16, 32, 64, 128, 128]\ngenotype: '
     '[shuffle_3x3, 1.0]\n', 'genotype has 2 blocks'),
])
def test_bad_genotype_files_are_refused_naming_file_and_entry(tmp_path, text, match):
    """Before any layer is built: wrong types are refused, not coerced ("4484" was [4, 4, 8, 4]),
    widths that cannot build ShuffleNetV2 blocks are named (they failed with an empty
    AssertionError after dozens of convs)."""
    path = tmp_path / 'g.yaml'
    path.write_text(text)
    with pytest.raises(GenotypeError, match=match) as err:
        MODELS.build(dict(type='DetNASShuffleNetFixed', genotype=str(path)))
    assert str(path) in str(err.value)


def test_a_float_choice_index_is_refused():
    with pytest.raises(GenotypeError, match='block 1: unknown op 2.0'):
        DetNASShuffleNetFixed([0, 2.0] + [0] * 18, **TINY20)


def test_genotype_yaml_round_trip(tmp_path):
    rng = random.Random(0)
    genotype = [rng.choice(CHOICES) for _ in range(40)]
    path = tmp_path / 'best_genotype.yaml'
    dump_genotype(genotype, str(path), name='toy', **TINY40)
    data = load_genotype(str(path))
    assert data['genotype'] == genotype and data['name'] == 'toy'
    fixed = MODELS.build(dict(type='DetNASShuffleNetFixed', genotype=str(path)))
    assert fixed.genotype == genotype and fixed.stage_repeats == [8, 8, 16, 8]
    assert len(fixed.eval()(torch.randn(1, 3, 32, 32))) == 4
