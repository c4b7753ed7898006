"""DetNASSearchLoop with two ranks (gloo, CPU), as `--launcher pytorch` runs it (issue 5, point
5): the ranks score different candidates of one shared population, each on the whole search
split (the loop refuses a sharded split), and rank 0 writes every result once; a stopped search
resumes on both ranks from the files rank 0 reads."""
import json
import socket
import sys

import mmdet
import torch

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

    cmd = [
        CFG, '--launcher', 'pytorch', '--work-dir',
        str(work), '--cfg-options', 'model_wrapper_cfg.device_ids=None',
        'train_cfg.population_num=4', 'train_cfg.select_num=2', 'train_cfg.mutation_num=1',
        'train_cfg.crossover_num=1', 'train_cfg.max_epochs=2',
        'train_cfg.bn_calibration.num_iters=2'
    ]
    run_cli(torchrun() + cmd + ['train_cfg.max_new_candidates=6'])  # stops inside generation 1
    first = (work / 'search_history.jsonl').read_text()
    assert len(first.splitlines()) == 6
    with open(work / 'search_history.jsonl', 'a') as f:
        f.write('{"generation": 1, "geno')  # a line cut by a kill
    run_cli(torchrun() + cmd + ['--resume'])
    text = (work / 'search_history.jsonl').read_text()
    assert text.startswith(first)
    hist = [json.loads(line) for line in text.splitlines()]
    keys = [tuple(r['genotype']) for r in hist]
    assert len(hist) == 8 and len(set(keys)) == 8  # 2 generations x 4, each written once
    assert {r['rank'] for r in hist} == {0, 1}  # both ranks scored candidates
    assert [r['generation'] for r in hist] == [0] * 4 + [1] * 4
    assert (work / 'best_genotype.yaml').exists()
    # the BN statistics of the best candidate come from the rank that scored it, if it was
    # scored after the resume; a best scored before it is recalibrated
    best = max(range(8), key=lambda i: hist[i]['score'])
    expected = 'as scored' if best >= 6 else 'recalibrated at export'
    assert torch.load(work / 'best_subnet.pth')['meta']['bn_stats'] == expected
