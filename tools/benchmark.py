"""Time training steps and inference of a detector config on random inputs.

Training: ``model.train_step`` (data preprocessor, forward with losses, backward, optimizer step
of the config's ``optim_wrapper``) on a batch of random images with random boxes. Inference:
``model.test_step`` (forward and post-processing with NMS). Reports images/s and peak memory
(CUDA: peak allocated by torch; CPU: peak resident set of the process). Each config runs in a
fresh process, so peaks do not leak between configs; with ``--compare`` the second config runs
at the same batch and resolution and the ratio is printed.

    python tools/benchmark.py CONFIG [--compare CONFIG2] [--batch 8] [--size 640 640]
                              [--device cuda] [--iters 20] [--warmup 5] [--json out.json]

Weights are random (no ``init_weights``, so nothing is downloaded) and SyncBN becomes BN (one
process). Timings exclude data loading.
"""
import argparse
import json
import os
import os.path as osp
import subprocess
import sys
import tempfile
import time


def _num_classes(cfg_model):
    """The first ``num_classes`` in a model config (80 when there is none)."""
    stack = [cfg_model]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if 'num_classes' in node:
                return node['num_classes']
            stack.extend(node.values())
        elif isinstance(node, (list, tuple)):
            stack.extend(node)
    return 80


def random_batch(batch, hw, num_classes, device, seed=0):
    """Data as a dataloader would give it: uint8 CHW images and samples with random boxes."""
    import torch
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    h, w = hw
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        n = 8
        xy = torch.rand(n, 2, generator=g) * torch.tensor([w * 0.7, h * 0.7])
        wh = (0.05 + 0.25 * torch.rand(n, 2, generator=g)) * torch.tensor([w, h])
        sample = DetDataSample(
            metainfo=dict(
                img_shape=(h, w), ori_shape=(h, w), scale_factor=(1.0, 1.0), pad_shape=(h, w)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], dim=1),
            labels=torch.randint(0, num_classes, (n, ), generator=g))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def _sync(device):
    import torch
    if device.startswith('cuda'):
        torch.cuda.synchronize()


def _peak_mb(device):
    import resource

    import torch
    if device.startswith('cuda'):
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def bench_one(config, batch, hw, device, iters, warmup, mode):
    """Time one config in this process; returns a dict of figures."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.config import Config
    from mmengine.model import revert_sync_batchnorm
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope

    sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
    from paper_report import resolve_config

    cfg = Config.fromfile(resolve_config(config))
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    torch.manual_seed(0)
    model = revert_sync_batchnorm(MODELS.build(cfg.model)).to(device)
    data = random_batch(batch, hw, _num_classes(cfg.model), device)
    out = dict(
        config=config,
        device=device,
        batch=batch,
        size=list(hw),
        params_m=sum(p.numel() for p in model.parameters()) / 1e6)
    if device.startswith('cuda'):
        out['device_name'] = torch.cuda.get_device_name()
    if mode in ('train', 'both'):
        optim_cfg = cfg.get('optim_wrapper',
                            dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=0.01)))
        optim_wrapper = build_optim_wrapper(model, optim_cfg)
        model.train()
        for i in range(warmup + iters):
            if i == warmup:
                _sync(device)
                if device.startswith('cuda'):
                    torch.cuda.reset_peak_memory_stats()
                t0 = time.perf_counter()
            model.train_step(data, optim_wrapper)
        _sync(device)
        dt = time.perf_counter() - t0
        out.update(
            train_img_s=batch * iters / dt, train_s_iter=dt / iters, train_peak_mb=_peak_mb(device))
    if mode in ('infer', 'both'):
        model.eval()
        if device.startswith('cuda'):
            torch.cuda.reset_peak_memory_stats()
        with torch.no_grad():
            for i in range(warmup + iters):
                if i == warmup:
                    _sync(device)
                    t0 = time.perf_counter()
                model.test_step(data)
        _sync(device)
        dt = time.perf_counter() - t0
        out.update(
            infer_img_s=batch * iters / dt, infer_s_iter=dt / iters, infer_peak_mb=_peak_mb(device))
    return out


def run_in_subprocess(args, config):
    """Run this script on one config in a fresh process; returns its figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = osp.join(tmp, 'out.json')
        cmd = [
            sys.executable,
            osp.abspath(__file__), config, '--single', '--json', path, '--batch',
            str(args.batch), '--size', *map(str, args.size), '--device', args.device, '--iters',
            str(args.iters), '--warmup',
            str(args.warmup), '--mode', args.mode
        ]
        subprocess.run(cmd, check=True)
        with open(path) as f:
            return json.load(f)


def format_table(results):
    keys = [('train_img_s', 'train img/s'), ('train_peak_mb', 'train peak MB'),
            ('infer_img_s', 'infer img/s'), ('infer_peak_mb', 'infer peak MB'),
            ('params_m', 'params (M)')]
    keys = [k for k in keys if k[0] in results[0]]
    lines = ['| config | ' + ' | '.join(n for _, n in keys) + ' |', '|---|' + '---|' * len(keys)]
    for r in results:
        lines.append(f'| {r["config"]} | ' + ' | '.join(f'{r[k]:.2f}' for k, _ in keys) + ' |')
    if len(results) == 2:
        a, b = results
        lines.append('| ratio (first / second) | ' + ' | '.join(f'{a[k] / b[k]:.3f}'
                                                                for k, _ in keys) + ' |')
    r = results[0]
    dev = r.get('device_name', r['device'])
    return (f'batch {r["batch"]}, {r["size"][0]}x{r["size"][1]}, {dev}, '
            f'random inputs\n' + '\n'.join(lines))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--compare', help='a second config, timed the same way in the same run')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, nargs=2, default=[640, 640], metavar=('H', 'W'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--iters', type=int, default=10)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--mode', choices=['train', 'infer', 'both'], default='both')
    parser.add_argument('--json', help='also write the figures here')
    parser.add_argument(
        '--single',
        action='store_true',
        help='time CONFIG in this process (used by the subprocess runs)')
    args = parser.parse_args(argv)
    if args.single:
        results = [
            bench_one(args.config, args.batch, tuple(args.size), args.device, args.iters,
                      args.warmup, args.mode)
        ]
    else:
        configs = [args.config] + ([args.compare] if args.compare else [])
        results = [run_in_subprocess(args, c) for c in configs]
        print(format_table(results))
    if args.json:
        os.makedirs(osp.dirname(osp.abspath(args.json)), exist_ok=True)
        with open(args.json, 'w') as f:
            json.dump(results if not args.single else results[0], f, indent=1)
    return results


if __name__ == '__main__':
    main()
