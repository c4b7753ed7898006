"""Supernet fine-tuning: DetNASPathHook draws one path per step and every
rank trains rank 0's path (two gloo processes, different seeds); blocks off the path get no
momentum or weight-decay update in that step, in the paper's Faster R-CNN 4conv1fc detector.
With ``off_path_decay_momentum=True`` the blocks trained before still get
both, as in the released COCO trainer on PyTorch 1.x; blocks never trained stay as they are."""
import multiprocessing
import os
import pickle
import socket
from types import SimpleNamespace

import pytest
import torch
import torch.distributed as dist
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.logging import MessageHub
from mmengine.optim import build_optim_wrapper

from projects.detnas.detnas import CHOICES, DetNASPathHook, DetNASShuffleNet, find_supernet
from benchmark import random_batch

TINY = dict(stage_repeats=[4, 4, 8, 4], stage_out_channels=[8, 16, 32, 64, 128, 128])
FRCNN_TOY = 'projects/detnas/configs/_base_/faster-rcnn_detnas-toy_fpn-4conv1fc.py'
PAPER_FT = ('projects/detnas/configs/'
            'faster-rcnn_detnas-300m-supernet_fpn-4conv1fc_syncbn_8xb2-90k_coco.py')


def _runner(model, name):
    return SimpleNamespace(model=model, message_hub=MessageHub.get_instance(name))


def test_hook_draws_one_path_per_step():
    net = DetNASShuffleNet(seed=0, **TINY).train()
    runner = _runner(net, 'detnas-hook-single')
    hook = DetNASPathHook()
    hook.before_train(runner)
    assert net.sample_per_forward is False
    paths = []
    for i in range(3):
        hook.before_train_iter(runner, i)
        path = runner.message_hub.get_info('detnas_path')
        assert net.get_choice() == path
        net(torch.randn(2, 3, 64, 64))
        assert net.get_choice() == path  # the forward did not resample
        paths.append(path)
    assert paths[0] != paths[1] != paths[2]


def _worker(rank, port, use_hook, out):
    os.environ.update(MASTER_ADDR='127.0.0.1', MASTER_PORT=str(port))
    dist.init_process_group('gloo', rank=rank, world_size=2)
    torch.manual_seed(0)
    net = DetNASShuffleNet(seed=rank, **TINY).train()  # different sampler seeds per rank
    ddp = torch.nn.parallel.DistributedDataParallel(net, find_unused_parameters=True)
    runner = _runner(ddp, f'detnas-hook-{rank}-{use_hook}')
    if use_hook:
        hook = DetNASPathHook()
        hook.before_train(runner)
        hook.before_train_iter(runner, 0)
    else:
        net.sample_per_forward = False
        net.sample_choice()
    path = net.get_choice()
    sum(o.mean() for o in ddp(torch.randn(2, 3, 32, 32))).backward()
    grads = {
        i: {
            c: [p.grad is None for p in layer[c].parameters()]
            for c in CHOICES
        }
        for i, layer in enumerate(net.layers)
    }
    with open(out, 'wb') as f:
        pickle.dump(dict(path=path, grads=grads), f)
    dist.destroy_process_group()


def _run_two_ranks(tmp_path, use_hook):
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        port = s.getsockname()[1]
    ctx = multiprocessing.get_context('fork')
    outs = [tmp_path / f'rank{r}_{use_hook}.pkl' for r in range(2)]
    procs = [ctx.Process(target=_worker, args=(r, port, use_hook, outs[r])) for r in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    return [pickle.loads(o.read_bytes()) for o in outs]


def test_all_ranks_train_rank0_path_and_off_path_grads_stay_none(tmp_path):
    r0, r1 = _run_two_ranks(tmp_path, use_hook=True)
    assert r0['path'] == r1['path']
    for res in (r0, r1):
        for i, by_choice in res['grads'].items():
            for c, none in by_choice.items():
                # on the path: a gradient; off the path on every rank: None (skipped by SGD)
                assert all(none) if c != res['path'][i] else not any(none)
    # control: with per-rank sampling the paths differ and DDP zero-fills the grads of blocks
    # used on the other rank only -- momentum and weight decay would then move them
    a, b = _run_two_ranks(tmp_path, use_hook=False)
    assert a['path'] != b['path']
    i = next(i for i in range(len(a['path'])) if a['path'][i] != b['path'][i])
    assert not any(a['grads'][i][b['path'][i]])


def _frcnn_supernet():
    cfg = Config.fromfile(FRCNN_TOY)
    model = MODELS.build(cfg.model)
    model.init_weights()
    optim = build_optim_wrapper(model, Config.fromfile(PAPER_FT).optim_wrapper)  # SGD, m, WD
    return model.train(), optim


def _block_params(model, choice):
    return {
        n: p.detach().clone()
        for n, p in model.named_parameters() if f'.{choice}.' in n and n.startswith('backbone.')
    }


def test_off_path_blocks_get_no_momentum_or_weight_decay_update():
    model, optim = _frcnn_supernet()
    assert optim.optimizer.defaults['momentum'] == 0.9
    assert optim.optimizer.defaults['weight_decay'] == 1e-4
    net = find_supernet(model)
    batch = random_batch(2, (96, 96), 6, 'cpu')
    net.set_choice(['shuffle_3x3'] * 20)  # step 1 gives these blocks momentum buffers
    model.train_step(batch, optim)
    before = _block_params(model, 'shuffle_3x3')
    xcep = _block_params(model, 'xception_3x3')
    net.set_choice(['xception_3x3'] * 20)  # step 2: shuffle_3x3 is off the path
    model.train_step(batch, optim)
    after = _block_params(model, 'shuffle_3x3')
    assert all(torch.equal(before[n], after[n]) for n in before)
    assert any(not torch.equal(xcep[n], p) for n, p in _block_params(model, 'xception_3x3').items())
    # control: a zero-filled grad instead of None lets momentum and decay move the block
    for p in model.parameters():
        if p.grad is None:
            p.grad = torch.zeros_like(p)
    optim.step()
    moved = _block_params(model, 'shuffle_3x3')
    assert any(not torch.equal(after[n], moved[n]) for n in after)


@pytest.mark.parametrize('decay_momentum', [False, True])
def test_off_path_weights_frozen_or_decayed(decay_momentum):
    torch.manual_seed(0)
    net = DetNASShuffleNet(seed=0, **TINY).train()
    lr, momentum, wd = 0.1, 0.9, 0.01
    optim = build_optim_wrapper(
        net, dict(optimizer=dict(type='SGD', lr=lr, momentum=momentum, weight_decay=wd)))
    runner = SimpleNamespace(
        model=net,
        message_hub=MessageHub.get_instance(f'detnas-off-path-{decay_momentum}'),
        optim_wrapper=optim)
    hook = DetNASPathHook(off_path_decay_momentum=decay_momentum)
    hook.before_train(runner)
    x = torch.randn(2, 3, 32, 32)
    params = dict(net.named_parameters())
    paths, before, buffers = [], None, None
    for step in range(2):
        hook.before_train_iter(runner, step)
        paths.append(runner.message_hub.get_info('detnas_path'))
        before = {n: p.detach().clone() for n, p in params.items()}
        buffers = {
            n: optim.optimizer.state[p]['momentum_buffer'].clone()
            for n, p in params.items() if optim.optimizer.state.get(p)
        }
        optim.update_params(sum(o.mean() for o in net(x)))
    first, second = paths

    def block(i, c):
        return [n for n in params if n.startswith(f'layers.{i}.{c}.')]

    off = [n for i in range(20) if first[i] != second[i] for n in block(i, first[i])]
    never = [
        n for i in range(20) for c in CHOICES if c not in (first[i], second[i])
        for n in block(i, c)
    ]
    on = [n for i in range(20) for n in block(i, second[i])]
    assert off and never

    def moved(names):
        return [not torch.equal(before[n], params[n].detach()) for n in names]

    assert any(moved(on))  # the path trains (BN biases after a BN may get a zero grad)
    assert not any(moved(never))  # no grad in any step: untouched either way
    if not decay_momentum:  # default: off the path = frozen that step
        assert not any(moved(off))
    else:  # SGD with a zero grad: p <- p - lr * (momentum * buf + wd * p)
        for n in off:
            expected = before[n] - lr * (momentum * buffers[n] + wd * before[n])
            torch.testing.assert_close(params[n].detach(), expected)
