"""DetNASSearchLoop with two ranks (gloo, CPU), as `--launcher pytorch` runs it (issue 5, point
5): the ranks score different candidates of one shared population, each on the whole search
split (the loop refuses a sharded split), and rank 0 writes every result once."""
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
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    run_cli([
        sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
        str(port),
        str(launch), CFG, '--launcher', 'pytorch', '--work-dir',
        str(work), '--cfg-options', 'model_wrapper_cfg.device_ids=None',
        'train_cfg.population_num=4', 'train_cfg.select_num=2', 'train_cfg.mutation_num=1',
        'train_cfg.crossover_num=1', 'train_cfg.max_epochs=2',
        'train_cfg.bn_calibration.num_iters=2'
    ])
    hist = [json.loads(line) for line in (work / 'search_history.jsonl').read_text().splitlines()]
    keys = [tuple(r['genotype']) for r in hist]
    assert len(hist) == 8 and len(set(keys)) == 8  # 2 generations x 4, each written once
    assert {r['rank'] for r in hist} == {0, 1}  # both ranks scored candidates
    assert [r['generation'] for r in hist] == [0] * 4 + [1] * 4
    assert (work / 'best_genotype.yaml').exists()
    # the BN statistics of the best candidate come from the rank that scored it
    assert torch.load(work / 'best_subnet.pth')['meta']['bn_stats'] == 'as scored'
