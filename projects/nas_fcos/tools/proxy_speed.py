"""How much the stored-feature proxy saves: one candidate's training step with the backbone in
the loop (the whole detector on images) against the proxy's step (decoder + head on stored
backbone features), same genotype, same batch size, measured in the same run.

    python projects/nas_fcos/tools/proxy_speed.py \
        projects/nas_fcos/configs/nas-fcos_search-decoder_r18-w16_fcos-head_toy.py \
        --feature-dir WORK_DIR/features [--iters 20] [--frozen-backbone]

``--feature-dir`` is a store the search built (``train_cfg.objective.feature_dir``). By default
the backbone-in-the-loop step also trains the backbone (the search without the paper's trick);
``--frozen-backbone`` only runs it forward, which isolates the cost of computing the features.
Prints seconds per iteration of both and their ratio.
"""
import argparse
import copy
import time

import torch
from mmdet.registry import MODELS
from mmengine.config import Config
from mmengine.optim import build_optim_wrapper
from mmengine.registry import init_default_scope
from mmengine.runner import Runner

from projects.nas_fcos.nas_fcos import (PUBLISHED_GENOTYPE, FeatureStore, genotype_to_dict,
                                        load_genotype)


def _timed(step, iters):
    step()  # warm-up
    t0 = time.perf_counter()
    for _ in range(iters):
        step()
    return (time.perf_counter() - t0) / iters


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('--feature-dir', required=True)
    parser.add_argument('--iters', type=int, default=20)
    parser.add_argument('--frozen-backbone', action='store_true')
    args = parser.parse_args()
    init_default_scope('mmdet')
    cfg = Config.fromfile(args.config)
    objective = cfg.train_cfg.objective
    genotype = genotype_to_dict(load_genotype(PUBLISHED_GENOTYPE))
    cfg.model.neck.genotype = genotype
    if 'genotype' in cfg.model.bbox_head:
        cfg.model.bbox_head.genotype = genotype
    torch.manual_seed(0)
    detector = MODELS.build(copy.deepcopy(cfg.model))
    detector.init_weights()
    if args.frozen_backbone:
        detector.backbone.requires_grad_(False)
    optim = build_optim_wrapper(detector, copy.deepcopy(objective.optim_wrapper))
    loader_cfg = copy.deepcopy(cfg.train_dataloader)
    loader_cfg.batch_size = objective.batch_size
    loader = Runner.build_dataloader(loader_cfg)
    batch = next(iter(loader))

    def full_step():
        detector.train_step(batch, optim)

    split = FeatureStore(args.feature_dir).split('train')
    feats, samples = split.load(list(range(objective.batch_size)))
    neck, head = detector.neck, detector.bbox_head

    def proxy_step():
        losses = head.loss(neck([f for f in feats]), samples)
        optim.update_params(sum(v for v in losses.values()))

    full = _timed(full_step, args.iters)
    proxy = _timed(proxy_step, args.iters)
    what = 'frozen backbone forward' if args.frozen_backbone else 'backbone trained'
    print(f'backbone in the loop ({what}): {full:.3f} s/iter; stored features: {proxy:.3f} '
          f's/iter; ratio {full / proxy:.2f}x (batch {objective.batch_size}, {args.iters} '
          f'iterations, torch threads {torch.get_num_threads()})')


if __name__ == '__main__':
    main()
