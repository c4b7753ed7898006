"""The DetNAS toy cycle as `projects/detnas/demo.sh` runs it under `mim train` (point
7): ImageNet supernet pretraining -> COCO supernet fine-tuning -> evolutionary search with BN
recalibration on the held-out split -> best_genotype.yaml + sliced subnet -> retrain with that
file unchanged, as the paper retrains: the found path on toy ImageNet, then
fine-tuned on toy COCO from those weights -> COCO bbox eval on toy val. Learning must have
happened: an untrained detector scores 0; the floor is well above that."""
import json

import torch
import yaml

from projects.detnas.detnas import load_genotype
from conftest import assert_toy_search_ranks, run_cli

AP_FLOOR = 30.0  # toy val bbox mAP, percent, after 12 retrain epochs (untrained: 0). Measured
# 53.8 for the 5-block toy space's pick (2026-12-05); 16.1 for a pick of the 20-block
# space before it, 14.3 from scratch before the ImageNet step


def test_supernet_search_export_retrain_eval(tmp_path, toy_coco, monkeypatch):
    work = tmp_path / 'demo'
    monkeypatch.setenv('DETNAS_RETRAIN_IMAGENET_ITERS', '300')  # of 600: test time
    run_cli(['bash', 'projects/detnas/demo.sh', str(work)], timeout=1800)
    # step 1 -> 2: the detector's supernet started from the ImageNet supernet
    assert str(work / 'imagenet') in next((work / 'supernet').glob('*.py')).read_text()
    history = [
        json.loads(line)
        for line in (work / 'search' / 'search_history.jsonl').read_text().splitlines()
    ]
    keys = [r['key'] for r in history]
    assert len(history) >= 10 and len(set(keys)) == len(keys)
    assert all(r['cost']['flops_M'] <= 30.0 for r in history)  # the toy FLOPs limit
    assert_toy_search_ranks(history)  # the 5-block toy space's supernet ranks
    best = yaml.safe_load((work / 'search' / 'best_genotype.yaml').read_text())
    assert best['score'] == max(r['score'] for r in history) and best['score'] > 0
    # the exported subnet is the best path's weights, keyed for the fixed backbone
    ckpt = torch.load(work / 'search' / 'best_subnet.pth', map_location='cpu')
    assert ckpt['meta']['genotype'] == best['genotype'] and ckpt['meta']['bn_stats'] == 'as scored'
    assert ckpt['meta']['channel_shuffle'] == 1  # the supernet's split, which the fixed net needs
    assert 'backbone.layers.0.proj.0.weight' in ckpt['state_dict']
    assert not any('shuffle_3x3' in k for k in ckpt['state_dict'])
    # ... and scores what the search measured: the fixed detector with the sliced weights (BN
    # recalibrated for that path) on the search split
    res = run_cli([
        'mim', 'test', 'mmdet', 'projects/detnas/configs/retinanet_detnas-toy_fpn_1xb8-12e_toy.py',
        '--checkpoint',
        str(work / 'search' / 'best_subnet.pth'), '--work-dir',
        str(tmp_path / 'check'), '--cfg-options',
        f'model.backbone.genotype={work}/search/best_genotype.yaml',
        f'model.backbone.channel_shuffle={ckpt["meta"]["channel_shuffle"]}',
        'test_dataloader.dataset.ann_file=annotations/instances_search.json',
        'test_dataloader.dataset.data_prefix.img=train/',
        'test_evaluator.ann_file=data/toy_coco/annotations/instances_search.json'
    ])
    assert f'coco/bbox_mAP: {best["score"]:.4f}' in res.stdout + res.stderr
    # the retrain consumed best_genotype.yaml unchanged, first on toy ImageNet (the found path
    # alone), then on toy COCO from that checkpoint
    dumped = next((work / 'retrain').glob('*.py')).read_text()
    assert 'best_genotype.yaml' in dumped
    assert 'best_genotype.yaml' in next((work / 'retrain-imagenet').glob('*.py')).read_text()
    assert str(work / 'retrain-imagenet' / 'iter_300.pth') in dumped
    assert load_genotype(str(work / 'search' / 'best_genotype.yaml'))['genotype'] == \
        best['genotype']
    summary = json.loads((work / 'demo_summary.json').read_text())
    assert summary['top1'] is not None and summary['top1'] > 100 / 6  # above chance
    assert summary['retrain_top1'] is not None and summary['retrain_top1'] > 100 / 6
    assert summary['ap'] > AP_FLOOR, summary
