"""The cost of weight sharing: a supernet training step against the fixed subnet of the same path.

Builds the detector of a supernet config (DetNAS step 2) twice: as is (every candidate of every
choice block present) and with ``DetNASShuffleNetFixed`` of one genotype, and times
``model.train_step`` (forward, loss, backward, SGD step of the config's optimizer) on the same
random batch:

* ``supernet, same path``: the supernet running exactly the genotype's path every step, i.e.
  the pure overhead of holding four candidates per block (optimizer bookkeeping, memory);
* ``supernet, new path per step``: a uniform random path per step, as in supernet training;
* ``fixed subnet``: the plain network.

    python projects/detnas/tools/supernet_cost.py CONFIG [--genotype detnas_coco_fpn_300m]
        [--device cuda] [--batch 2] [--size 800 1333] [--iters 20] [--warmup 5] [--json out.json]

Weights are random and SyncBN becomes BN (one process); data loading is not timed.
"""
import argparse
import json
import time

import torch
from mmengine.config import Config
from mmengine.model import revert_sync_batchnorm
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope

from projects.detnas.detnas import find_supernet, load_genotype


def random_detection_batch(batch, hw, num_classes, device, seed=0):
    """A batch as mmdet's dataloader gives it: uint8 images, samples with 8 random boxes."""
    from mmdet.structures import DetDataSample
    from mmengine.structures import InstanceData
    g = torch.Generator().manual_seed(seed)
    h, w = hw
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(torch.randint(0, 256, (3, h, w), generator=g, dtype=torch.uint8))
        xy = torch.rand(8, 2, generator=g) * torch.tensor([w * 0.6, h * 0.6])
        wh = (0.1 + 0.3 * torch.rand(8, 2, generator=g)) * torch.tensor([w, h])
        sample = DetDataSample(
            metainfo=dict(img_shape=hw, ori_shape=hw, pad_shape=hw, scale_factor=(1.0, 1.0)))
        sample.gt_instances = InstanceData(
            bboxes=torch.cat([xy, xy + wh], 1).to(device),
            labels=torch.randint(0, num_classes, (8, ), generator=g).to(device))
        samples.append(sample)
    return dict(inputs=[i.to(device) for i in inputs], data_samples=samples)


def _time_steps(model, optim, data, device, iters, warmup, before_step=None):
    model.train()
    for i in range(warmup + iters):
        if i == warmup:
            if device.startswith('cuda'):
                torch.cuda.synchronize()
                torch.cuda.reset_peak_memory_stats()
            t0 = time.perf_counter()
        if before_step is not None:
            before_step()
        model.train_step(data, optim)
    if device.startswith('cuda'):
        torch.cuda.synchronize()
    out = dict(s_per_iter=(time.perf_counter() - t0) / iters)
    if device.startswith('cuda'):
        out['peak_mb'] = torch.cuda.max_memory_allocated() / 2**20
    return out


def measure(config, genotype, device='cpu', batch=2, size=(800, 1333), iters=20, warmup=5):
    """Seconds per training step of the three variants and the ratios to the fixed subnet."""
    from mmdet.registry import MODELS
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    genotype = load_genotype(genotype)
    num_classes = cfg.model.get('roi_head', cfg.model).bbox_head.num_classes
    data = random_detection_batch(batch, tuple(size), num_classes, device)
    results = {}

    def build(backbone=None):
        model_cfg = cfg.model.copy()
        model_cfg.backbone = dict(model_cfg.backbone, init_cfg=None)
        if backbone is not None:
            model_cfg.backbone = backbone
        torch.manual_seed(0)
        model = revert_sync_batchnorm(MODELS.build(model_cfg)).to(device)
        return model, build_optim_wrapper(model, cfg.optim_wrapper)

    model, optim = build()
    supernet = find_supernet(model)
    if supernet.num_blocks != len(genotype['genotype']):
        raise ValueError(f'genotype has {len(genotype["genotype"])} blocks, the supernet '
                         f'{supernet.num_blocks}')
    supernet.sample_per_forward = False
    supernet.set_choice(genotype['genotype'])
    results['supernet, same path'] = _time_steps(model, optim, data, device, iters, warmup)
    results['supernet, new path per step'] = _time_steps(model, optim, data, device, iters, warmup,
                                                         supernet.sample_choice)
    fixed_cfg = supernet.fixed_config(genotype['genotype'])
    del model, optim
    model, optim = build(fixed_cfg)
    results['fixed subnet'] = _time_steps(model, optim, data, device, iters, warmup)
    base = results['fixed subnet']['s_per_iter']
    for r in results.values():
        r['ratio_to_fixed'] = round(r['s_per_iter'] / base, 3)
    info = dict(
        config=config,
        genotype=genotype.get('name', ''),
        device=device,
        batch=batch,
        size=list(size),
        iters=iters)
    if device.startswith('cuda'):
        info['device_name'] = torch.cuda.get_device_name()
    return dict(info, results=results)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config', help='a supernet detector config (DetNASShuffleNet backbone)')
    parser.add_argument('--genotype', default='detnas_coco_fpn_300m')
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--batch', type=int, default=2)
    parser.add_argument('--size', type=int, nargs=2, default=[800, 1333], metavar=('H', 'W'))
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--json', help='also write the figures here')
    args = parser.parse_args(argv)
    out = measure(args.config, args.genotype, args.device, args.batch, args.size, args.iters,
                  args.warmup)
    for name, r in out['results'].items():
        print(f'{name:30s} {r["s_per_iter"] * 1000:8.1f} ms/step  x{r["ratio_to_fixed"]:.3f}' +
              (f'  peak {r["peak_mb"]:.0f} MB' if 'peak_mb' in r else ''))
    if args.json:
        with open(args.json, 'w') as f:
            json.dump(out, f, indent=1)
    return out


if __name__ == '__main__':
    main()
