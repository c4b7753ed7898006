"""SpineNet's proxy objective (the loop's bookkeeping is held to the suite's contract in
tests/suite/test_search_contract.py): the proxy sees a new data order every epoch, the same on
every rank; a candidate that detects nothing scores 0 with a warning, any other failure is an
error, not a reward of 0; options are checked before any work."""
import types

import pytest
import torch
from mmdet.structures import DetDataSample
from mmengine.config import Config
from mmengine.runner import Runner
from mmengine.structures import InstanceData

from projects.spinenet.spinenet import SpineNetCandidateSampler, SpineNetProxyObjective

CFG = 'projects/spinenet/configs/spinenet_search_retinanet-proxy_toy.py'


def test_candidate_sampler_is_rank_free_and_reshuffles_per_epoch():
    data = list(range(50))
    a, b = SpineNetCandidateSampler(data, seed=3), SpineNetCandidateSampler(data, seed=3)
    assert list(a) == list(b) and sorted(a) == data  # the whole split, same order everywhere
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and sorted(a) == data
    g = torch.Generator().manual_seed(3)  # mmengine DefaultSampler's order on one process
    assert first == torch.randperm(50, generator=g).tolist()


class _Loader:
    """Two batches per epoch; records the epochs its sampler was set to."""

    def __init__(self):
        self.sampler = self
        self.batch_sampler = None
        self.epochs = []

    def set_epoch(self, epoch):
        self.epochs.append(epoch)

    def __len__(self):
        return 2

    def __iter__(self):
        return iter([{}, {}])


class _Model(torch.nn.Module):

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))

    def train_step(self, data, optim):
        return {'loss': torch.tensor(0.)}


def test_proxy_training_advances_the_epoch(tmp_path):
    obj = SpineNetProxyObjective(epochs=3, warmup_iters=1, log_interval=0)
    obj.runner = types.SimpleNamespace(
        cfg=Config(
            dict(optim_wrapper=dict(type='OptimWrapper', optimizer=dict(type='SGD', lr=.1)))))
    obj.train_loader = loader = _Loader()
    obj._loader = lambda seed: loader  # the candidate's own loader (tested below)
    assert obj._train(_Model(), seed=0) == (6, 0.0)  # iterations, final training loss
    assert loader.epochs == [0, 1, 2]


def _flips(loader):
    return [s.metainfo['flip'] for batch in loader for s in batch['data_samples']]


def test_a_candidates_batches_depend_on_its_seed_only(tmp_path, toy_coco):
    """Each candidate trains on a loader of its own: its augmentation (random flips, drawn in
    2 data workers) comes from its seed, not from the candidates evaluated before it in the
    process, nor from the rank (persistent workers carried their random state over)."""
    cfg = _cfg(tmp_path)
    cfg.train_dataloader.update(num_workers=2, persistent_workers=True)
    cfg.train_dataloader.dataset.indices = 24
    runner = Runner.from_cfg(cfg)
    loop = runner.build_train_loop(runner.cfg.train_cfg)
    obj = loop.objective
    obj.setup(runner, loop)
    first = _flips(obj._loader(5))
    _flips(obj._loader(6))  # another candidate in between
    assert _flips(obj._loader(5)) == first
    assert _flips(obj._loader(6)) != first and len(set(first)) == 2


def _cfg(tmp_path):
    cfg = Config.fromfile(CFG)
    cfg.work_dir = str(tmp_path)
    return cfg


class _Detector:
    """Fixed predictions for every image of the search split."""

    def __init__(self, labels):
        self.labels = labels

    def eval(self):
        return self

    def val_step(self, data):
        out = []
        for sample in data['data_samples']:
            pred = DetDataSample(metainfo=sample.metainfo)
            n = len(self.labels)
            pred.pred_instances = InstanceData(
                bboxes=torch.tensor([[10., 10., 50., 50.]] * n).reshape(n, 4),
                scores=torch.ones(n),
                labels=torch.tensor(self.labels, dtype=torch.long))
            out.append(pred)
        return out


def _objective(tmp_path):
    runner = Runner.from_cfg(_cfg(tmp_path))
    loop = runner.build_train_loop(runner.cfg.train_cfg)
    loop.objective.setup(runner, loop)
    return loop.objective


def test_no_detections_score_zero_but_failures_raise(tmp_path, toy_coco, caplog):
    obj = _objective(tmp_path)
    assert obj._score(_Detector([])) == {k: 0.0 for k in obj.metric_keys}
    assert 'coco/bbox_mAP' in obj.metric_keys
    assert obj._score(_Detector([0]))['coco/bbox_mAP'] >= 0.0
    with pytest.raises(IndexError):  # a bug (a class index outside the dataset) is an error
        obj._score(_Detector([99]))


def test_missing_search_split_and_unknown_options_fail_before_training(tmp_path, toy_coco):
    cfg = _cfg(tmp_path)
    cfg.search_evaluator.ann_file = 'data/toy_coco/annotations/missing.json'
    runner = Runner.from_cfg(cfg)
    loop = runner.build_train_loop(runner.cfg.train_cfg)
    with pytest.raises(FileNotFoundError, match='missing.json'):
        loop.objective.setup(runner, loop)
    with pytest.raises(TypeError, match='max_iter'):
        SpineNetProxyObjective(max_iter=5)
