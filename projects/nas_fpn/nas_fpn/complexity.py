"""Params and FLOPs of a detector config, counted as the suite counts them.

``mmengine.analysis.get_model_complexity_info`` over the whole detector (backbone, neck, head;
no NMS/post-processing) on one zero image of ``H x W`` in ``tensor`` mode. MMEngine counts one
multiply-add as one FLOP, the convention of the TPU model zoo's "FLOPs (B)" (NAS-FPN Table 1
counts 2 FLOPs per multiply-add: 281.3B there = 140.6B here).

Run: ``python -m projects.nas_fpn.nas_fpn.complexity CONFIG [H W]``.
"""
import argparse


def detector_complexity(config, hw=(640, 640)):
    """(params in M, FLOPs in G) of the model of ``config`` (a path or a Config)."""
    import torch
    from mmdet.registry import MODELS
    from mmengine.analysis import get_model_complexity_info
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    cfg = Config.fromfile(config) if isinstance(config, str) else config
    init_default_scope(cfg.get('default_scope', 'mmdet'))
    if cfg.get('custom_imports'):
        from mmengine.utils import import_modules_from_strings
        import_modules_from_strings(**cfg.custom_imports)
    model = MODELS.build(cfg.model)
    model.eval()
    with torch.no_grad():
        info = get_model_complexity_info(
            model, inputs=(torch.zeros(1, 3, *hw), ), show_table=False, show_arch=False)
    return info['params'] / 1e6, info['flops'] / 1e9


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('config')
    parser.add_argument('size', nargs='*', type=int, default=[640, 640])
    args = parser.parse_args()
    hw = tuple(args.size) if len(args.size) == 2 else (args.size[0], args.size[0])
    params, flops = detector_complexity(args.config, hw)
    print(f'{args.config} @ {hw[0]}x{hw[1]}: params {params:.2f} M, FLOPs {flops:.1f} G '
          '(whole detector, mmengine, 1 multiply-add = 1 FLOP)')


if __name__ == '__main__':
    main()
