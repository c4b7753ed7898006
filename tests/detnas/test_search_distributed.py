"""DetNASSearchLoop with two ranks (gloo, CPU) on the real fitness (BN calibration + AP on the
search split), as `--launcher pytorch` runs it: the ranks score different candidates of one
shared population, each on the whole search split, and rank 0 writes every result once; a
stopped search resumes on both ranks from the files rank 0 reads, reloading the supernet that
mmdet's train.py drops under --resume; the best path is exported with the BN statistics it was
scored with. (The synthetic-objective equality of one- and two-rank searches is in
tests/suite/test_search_contract.py.)"""
import json
import socket
import sys

import mmdet
import torch
from mmdet.registry import MODELS
from mmengine.config import Config

from conftest import run_cli

CFG = 'projects/detnas/configs/detnas_search_retinanet-toy_toy.py'
# mmengine's init_dist calls torch.cuda.set_device, which a CPU-only torch lacks
LAUNCH = """import os.path as osp, runpy, sys, torch
torch.cuda.set_device = lambda *args, **kwargs: None
train = osp.join(osp.dirname({mmdet!r}), '.mim', 'tools', 'train.py')
sys.argv = [train] + sys.argv[1:]
runpy.run_path(train, run_name='__main__')
"""


def test_two_ranks_share_the_population(tmp_path, toy_coco):
    launch = tmp_path / 'cpu_dist_train.py'
    launch.write_text(LAUNCH.format(mmdet=mmdet.__file__))
    work = tmp_path / 'search'

    def torchrun():
        with socket.socket() as sock:
            sock.bind(('127.0.0.1', 0))
            port = sock.getsockname()[1]
        return [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
            str(port),
            str(launch)
        ]

    ckpt = tmp_path / 'supernet.pth'  # stands in for step 2's checkpoint
    torch.save(
        dict(meta=dict(), state_dict=MODELS.build(Config.fromfile(CFG).model).state_dict()), ckpt)
    cmd = [
        CFG, '--launcher', 'pytorch', '--work-dir',
        str(work), '--cfg-options', 'model_wrapper_cfg.device_ids=None',
        'train_cfg.population_num=4', 'train_cfg.select_num=2', 'train_cfg.mutation_num=1',
        'train_cfg.crossover_num=1', 'train_cfg.num_steps=2',
        'train_cfg.objective.bn_calibration.num_iters=2'
    ]
    # stops inside generation 1
    run_cli(torchrun() + cmd + [f'load_from={ckpt}', 'train_cfg.max_new_candidates=6'])
    first = (work / 'search_history.jsonl').read_text()
    assert len(first.splitlines()) == 6
    with open(work / 'search_history.jsonl', 'a') as f:
        f.write('{"step": 1, "index": 2, "ke')  # a line cut by a kill
    res = run_cli(torchrun() + cmd + ['--resume'])
    assert f'supernet weights reloaded from {ckpt}' in res.stdout + res.stderr
    text = (work / 'search_history.jsonl').read_text()
    assert text.startswith(first)
    hist = [json.loads(line) for line in text.splitlines()]
    keys = [r['key'] for r in hist]
    assert len(hist) == 8 and len(set(keys)) == 8  # 2 generations x 4, each written once
    assert {r['cost']['rank'] for r in hist} == {0, 1}  # both ranks scored candidates
    assert [(r['step'], r['index']) for r in hist] == [(s, i) for s in range(2) for i in range(4)]
    assert (work / 'best_genotype.yaml').exists()
    # the BN statistics of the best candidate come from the rank that scored it, if it was
    # scored after the resume; a best scored before it is recalibrated
    best = max(range(8), key=lambda i: hist[i]['score'])
    expected = 'as scored' if best >= 6 else 'recalibrated at export'
    assert torch.load(work / 'best_subnet.pth')['meta']['bn_stats'] == expected
