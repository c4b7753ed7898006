"""``AutoFPNSearchLoop``: Auto-FPN's resource-constrained differentiable search as an MMEngine
loop, one stage per run:

* ``stage='fusion'``: the Auto-fusion supernet (the neck), the rest of the detector fixed;
* ``stage='head'``: the Auto-head supernet (the RoI box head), with the neck the fusion search
  found, its weights loaded (the objective's ``neck_checkpoint``; the paper's tip 4).

Both (the paper: "efficient gradient-based architecture search with resource constraint";
first-order DARTS here, the order is not published): per pair of mini-batches, a weights step
(SGD, cosine over the epochs, DARTS's ``train_search.py``) on a batch of one half of the training
images, then, from ``arch_start_epoch`` ("starting optimizing architecture parameters in the
middle of training", tip 1), an architecture step (Adam, DARTS's lr 3e-4, betas (0.5, 0.999),
weight decay 1e-3) on a batch of the other half with loss = detection loss + lambda * C(beta),
C the expected normalised resource cost (:mod:`.resource_cost`); the epochs before it do not
load that half. The backbone is frozen by the configs (tip 2) and the supernets have no norm
layers (tip 3). ``seed`` draws the model's initial weights and the batches.

The loop follows the suite's search-loop contract (``projects/auto_fpn/README.md``, "Search"):
one epoch per step (train -> decode -> evaluate -> record -> save); ``search_history.jsonl`` has
one row per epoch (:mod:`.search_records`); ``best_genotype.yaml`` is the genotype decoded at
the last finished epoch (the search's result; the head stage writes the neck's ``fusion`` beside
its ``head``, so the file drops into the retrain config for both modules) and
``searched_<stage>.pth`` the fixed module of that genotype with the supernet's weights. Resume
rule: ``--resume`` continues from the last finished epoch (an epoch cut by a kill is trained
again from its start, on the same batches); without ``--resume`` a ``work_dir`` that holds a
search is refused. With ``--launcher pytorch`` the supernet trains data-parallel.
"""
import copy
import itertools
import json
import os.path as osp
import random
import time
import traceback
from typing import Dict, List, Optional

import numpy as np
import torch
from mmdet.registry import LOOPS, TASK_UTILS
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from .genotype import dump_genotype, genotype_key
from .mixed_op import arch_parameters, weight_parameters
from .resource_cost import ExpectedCost
from .search_records import SearchHistory, SearchRecord, load_state, now, plot_progress, save_state

RUN_CONTROL = ('allow_changed_settings', )
STAGES = ('fusion', 'head')
LOOP_METRICS = ('search/weight_loss', 'search/arch_loss', 'search/neg_arch_loss',
                'search/expected_cost', 'search/decoded_cost', 'search/regulariser')


def changed_settings(old: dict, new: dict) -> list:
    """The settings that differ, as dotted names (``train_cfg.<key>``, ``model.<key>``, ...)."""
    keys = []
    for part in sorted(set(old) | set(new)):
        a, b = old.get(part), new.get(part)
        if isinstance(a, dict) and isinstance(b, dict):
            keys += [f'{part}.{k}' for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            keys.append(part)
    return keys


def _from_rank0(obj):
    if get_world_size() == 1:
        return obj
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]


def _fmt(value) -> str:
    """A loss for the log line (``-`` in an epoch without architecture steps)."""
    return '-' if value is None else f'{value:.4f}'


def _nonneg_int(name, value):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError(f'train_cfg.{name} must be a non-negative int, got {value!r}')


@LOOPS.register_module()
class AutoFPNSearchLoop(BaseLoop):
    """Differentiable search of one Auto-FPN stage (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader``: the training split, which the
            detection objective cuts into two halves).
        objective (dict): the supernet and its task: ``AutoFPNDetectionObjective`` (the paper's)
            or ``AutoFPNSyntheticObjective`` (a known optimum).
        stage (str): 'fusion' or 'head'.
        max_epochs (int): epochs (not published; configs: 12).
        arch_start_epoch (int, optional): first epoch with architecture updates, counted from 0
            and below ``max_epochs`` (default: the middle, ``max_epochs // 2``, tip 1); the
            epochs before it train the weights only and do not load the architecture half.
        weight_optimizer (dict): torch optimizer of the weights (DARTS: SGD lr 0.025, momentum
            0.9, weight decay 3e-4); min_lr_ratio (float): the cosine's end (DARTS: 0.001/0.025).
        arch_optimizer (dict): torch optimizer of the architecture weights (DARTS: Adam lr 3e-4,
            betas (0.5, 0.999), weight decay 1e-3).
        grad_clip (float): max norm of the weights' gradient (DARTS: 5).
        cost_weight (float): lambda of the resource term (the paper's three levels: see the
            configs).
        edges_per_node (int): edges each node keeps when decoding (DARTS: 2).
        score_key (str): the metric of an epoch's row (the loop's or the objective's).
        allow_changed_settings (bool): resume even if the settings differ from the stored ones.
        seed (int): seeds the model's initial weights (whatever ``randomness`` says) and the
            batches' order.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 objective: dict,
                 stage: str = 'fusion',
                 max_epochs: int = 12,
                 arch_start_epoch: Optional[int] = None,
                 weight_optimizer: Optional[dict] = None,
                 min_lr_ratio: float = 0.04,
                 arch_optimizer: Optional[dict] = None,
                 grad_clip: Optional[float] = 5.,
                 cost_weight: float = 0.1,
                 edges_per_node: int = 2,
                 score_key: str = 'search/neg_arch_loss',
                 allow_changed_settings: bool = False,
                 seed: int = 0):
        if stage not in STAGES:
            raise ValueError(f'stage must be one of {STAGES}, got {stage!r}')
        if arch_start_epoch is None:
            arch_start_epoch = max_epochs // 2 if isinstance(max_epochs, int) else max_epochs
        for name, value in (('max_epochs', max_epochs), ('arch_start_epoch', arch_start_epoch),
                            ('seed', seed), ('edges_per_node', edges_per_node)):
            _nonneg_int(name, value)
        if edges_per_node < 1:
            raise ValueError('train_cfg.edges_per_node must be >= 1')
        if max_epochs < 1:
            raise ValueError('train_cfg.max_epochs must be >= 1')
        if arch_start_epoch >= max_epochs:
            raise ValueError(
                f'train_cfg.arch_start_epoch={arch_start_epoch} (counted from 0) leaves no '
                f'architecture step in max_epochs={max_epochs}: the decoded genotype would be '
                'the tie-break of untouched weights. Set arch_start_epoch < max_epochs.')
        number = isinstance(cost_weight, (int, float)) and not isinstance(cost_weight, bool)
        if not number or cost_weight < 0:
            raise TypeError(f'train_cfg.cost_weight must be a non-negative number, got '
                            f'{cost_weight!r}')
        self.dataloader_cfg = copy.deepcopy(dataloader)
        self.objective = TASK_UTILS.build(objective)
        # the loop's loader is the weights half, which the detection objective trains on (it
        # builds only the architecture half); a synthetic objective has no split and no use for it
        loader_cfg = copy.deepcopy(dataloader)
        loader_cfg['sampler'] = dict(
            type='AutoFPNHalfSampler',
            half='weights',
            split_seed=getattr(self.objective, 'split_seed', 0))
        loader_cfg.pop('batch_sampler', None)
        loader_cfg['persistent_workers'] = False  # new workers per epoch (see the objective)
        super().__init__(runner, runner.build_dataloader(loader_cfg, seed=seed))
        self.stage, self.max_epochs_, self.arch_start_epoch = stage, max_epochs, arch_start_epoch
        self.weight_optimizer_cfg = dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4)
        self.weight_optimizer_cfg.update(weight_optimizer or {})
        self.min_lr_ratio = min_lr_ratio
        self.arch_optimizer_cfg = dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
        self.arch_optimizer_cfg.update(arch_optimizer or {})
        self.grad_clip, self.cost_weight = grad_clip, cost_weight
        self.edges_per_node = edges_per_node
        self.score_key, self.seed = score_key, seed
        self.allow_changed_settings = allow_changed_settings
        self.epoch_ = 0
        self.records: List[SearchRecord] = []
        train_cfg = runner.cfg.get('train_cfg') or {}
        self.settings = json.dumps(
            dict(
                train_cfg={
                    k: v
                    for k, v in dict(train_cfg).items() if k not in RUN_CONTROL
                },
                model=runner.cfg.get('model'),
                train_dataloader=runner.cfg.get('train_dataloader'),
                randomness=runner.cfg.get('randomness')),
            sort_keys=True,
            default=str)
        work_dir = runner.work_dir
        self.history = SearchHistory(osp.join(work_dir, 'search_history.jsonl'))
        self.state_path = osp.join(work_dir, 'search_state.pth')
        self.best_path = osp.join(work_dir, 'best_genotype.yaml')
        self.weights_path = osp.join(work_dir, f'searched_{stage}.pth')
        self.plot_path = osp.join(work_dir, 'search_progress.png')
        self._draw_initial_weights(runner.model)

    def _draw_initial_weights(self, model) -> None:
        """The model's initial weights from ``seed`` alone: the runner built the model under
        ``randomness`` (or a random seed where the config sets none); every module draws its
        init again from ``seed``. The runner then applies the configs' ``init_cfg`` (and loads
        a pretrained backbone) from the same stream, right after building this loop."""
        torch.manual_seed(self.seed)
        for m in (model.module if is_model_wrapper(model) else model).modules():
            if hasattr(m, 'reset_parameters'):
                m.reset_parameters()

    # what the runner and its hooks read: an epoch is an "epoch" and an "iteration"
    @property
    def max_epochs(self):
        return self.max_epochs_

    @property
    def max_iters(self):
        return self.max_epochs_

    @property
    def epoch(self):
        return self.epoch_

    @property
    def iter(self):
        return self.epoch_

    # ------------------------------------------------------------------ the supernet
    @property
    def searched(self):
        """The searched supernet module (the neck or the box head)."""
        return self.objective.searched

    def _build_optimizers(self):

        def build(cfg, params):
            cfg = dict(cfg)
            return getattr(torch.optim, cfg.pop('type'))(params, **cfg)

        model = self.objective.model
        weights = [p for p in weight_parameters(model) if p.requires_grad]
        self.weight_optim = build(self.weight_optimizer_cfg, weights) if weights else None
        self.arch_optim = build(self.arch_optimizer_cfg, arch_parameters(model))
        self.cost = ExpectedCost(self.objective, self.searched)

    def genotype(self) -> Dict[str, list]:
        """The decoded genotype: the components searched before, then this stage's."""
        return dict(self.objective.fixed_genotype(),
                    **{self.stage: self.searched.decode(self.edges_per_node)})

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        model = self.objective.model
        model = model.module if is_model_wrapper(model) else model
        return dict(
            epoch=self.epoch_,
            model=model.state_dict(),
            weight_optim=self.weight_optim.state_dict() if self.weight_optim else None,
            arch_optim=self.arch_optim.state_dict(),
            settings=self.settings)  # no RNG state: every epoch seeds itself (_seed_epoch)

    def _save(self) -> None:
        if get_rank() == 0:
            save_state(self.state_path, self._state())

    def _start(self) -> Optional[dict]:
        files = [self.history.path, self.state_path, self.best_path]
        if not self.runner._resume:
            found = _from_rank0([osp.basename(p) for p in files if osp.exists(p)])
            if found:
                raise RuntimeError(f'{self.runner.work_dir} already holds a search ({found}): add '
                                   '--resume to continue it, or choose another --work-dir')
            return None
        state, rows = _from_rank0((load_state(self.state_path),
                                   self.history.read()) if get_rank() == 0 else None)
        if state is None:
            raise RuntimeError(f'--resume: no search state ({self.state_path}) to continue; the '
                               'previous run stopped before its first save. Start without '
                               '--resume.')
        if state['settings'] != self.settings and not self.allow_changed_settings:
            diff = changed_settings(json.loads(state['settings']), json.loads(self.settings))
            raise RuntimeError(f'--resume: the search settings differ from the stored ones '
                               f'(changed: {diff}); restore them, or set '
                               'train_cfg.allow_changed_settings=True to continue anyway')
        self.records = rows
        return state

    def _restore(self, state: dict) -> None:
        model = self.objective.model
        model = model.module if is_model_wrapper(model) else model
        model.load_state_dict(state['model'])
        if self.weight_optim is not None:
            self.weight_optim.load_state_dict(state['weight_optim'])
        self.arch_optim.load_state_dict(state['arch_optim'])
        self.epoch_ = state['epoch']
        self._write_last_result()
        self.runner.logger.info(f'[search] resumed at epoch {self.epoch_} with '
                                f'{len(self.records)} epochs recorded')

    # ------------------------------------------------------------------ one epoch
    def _seed_epoch(self) -> None:
        """Seed every random source from (seed, epoch, rank): an epoch trained again after a
        kill draws what the uninterrupted run drew (samplers, augmentation, workers)."""
        value = (self.seed * 1_000_003 + self.epoch_ * 1009 + get_rank()) % 2**31
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)  # CPU and every CUDA device

    def _train_epoch(self) -> Dict[str, float]:
        epoch, obj = self.epoch_, self.objective
        scale = self.min_lr_ratio + (1 - self.min_lr_ratio) * 0.5 * (
            1 + np.cos(np.pi * epoch / self.max_epochs_))
        if self.weight_optim is not None:
            for g in self.weight_optim.param_groups:
                g['lr'] = self.weight_optimizer_cfg['lr'] * scale
        obj.model.train()
        sums = dict(weight=0., arch=0., reg=0.)
        n = 0
        # before arch_start_epoch the architecture half is not even loaded: no forward, no
        # change of the norm layers' statistics
        arch = epoch >= self.arch_start_epoch
        arch_batches = obj.batches('arch', epoch) if arch else itertools.repeat(None)
        for wb, ab in zip(obj.batches('weights', epoch), arch_batches):
            if self.weight_optim is not None:
                loss = sum(obj.loss(wb).values())
                self.weight_optim.zero_grad()
                loss.backward()
                if self.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.weight_optim.param_groups[0]['params'],
                                                   self.grad_clip)
                self.weight_optim.step()
                sums['weight'] += float(loss)
            if arch:
                det = sum(obj.loss(ab).values())
                reg = self.cost_weight * self.cost.expected()
                self.arch_optim.zero_grad()
                (det + reg).backward()
                self.arch_optim.step()
                sums['arch'] += float(det)
                sums['reg'] += float(reg)
            n += 1
        means = {k: v / max(1, n) for k, v in sums.items()}
        if not arch:  # no architecture step: no architecture loss to report
            means.update(arch=None, reg=None)
        return means

    def _evaluate(self, genotype) -> dict:
        world = get_world_size()
        try:
            ev = self.objective(genotype, self.seed)
            mine = dict(metrics=ev.metrics, cost=dict(ev.cost))
        except Exception as e:
            if world == 1:
                raise
            mine = dict(error=f'{type(e).__name__}: {e}', trace=traceback.format_exc())
        results = all_gather_object(mine) if world > 1 else [mine]
        for r, res in enumerate(results):
            if 'error' in res:
                raise RuntimeError(f'rank {r} failed evaluating epoch {self.epoch_}: '
                                   f'{res["error"]}\n{res["trace"]}')
        return results[0]

    def _write_result(self, row: SearchRecord) -> None:
        """``best_genotype.yaml`` and the found module's weights of an epoch's row (rank 0), from
        the supernet as that epoch left it."""
        if get_rank() != 0:
            return
        genotype = row.genotype
        dump_genotype(
            genotype,
            self.best_path,
            name=f'Auto-FPN {self.stage} search (epoch {row.step + 1} of {self.max_epochs_})',
            source=self.history.path,
            score=row.score,
            score_key=self.score_key,
            step=row.step,
            cost_weight=self.cost_weight,
            decoded_cost=float(f"{row.cost['decoded_cost']:.6g}"),
            weights=osp.basename(self.weights_path))
        with torch.random.fork_rng():  # building modules draws from the RNG
            fixed = self.searched.export({self.stage: genotype[self.stage]})
        save_state(self.weights_path, fixed.state_dict())

    def _write_last_result(self) -> None:
        """The result files again from the last row, when the supernet is the one that row was
        decoded from (after a resume, at the end): whatever a kill cut, they match the history."""
        if self.records and self.records[-1].step == self.epoch_ - 1:
            self._write_result(self.records[-1])

    def _record(self, sums: Dict[str, float], seconds: float) -> None:
        genotype = self.genotype()
        ev = self._evaluate(genotype)
        decoded = self.cost.of_choice(
            self.searched.chosen_positions({self.stage: genotype[self.stage]}))
        metrics = {
            'search/weight_loss': sums['weight'],
            'search/arch_loss': sums['arch'],
            'search/neg_arch_loss': None if sums['arch'] is None else -sums['arch'],
            'search/regulariser': sums['reg'],
            'search/expected_cost': float(self.cost.expected()),
            'search/decoded_cost': decoded['cost'],
            **{
                f'search/expected_{k}': v
                for k, v in self.cost.expected_terms().items()
            },
        }
        for name, m in self.cost.mixed.items():
            w = m.weights().detach()
            metrics[f'weight/{name}'] = m.best()[1]
            metrics.update({f'arch/{name}/{op}': float(x) for op, x in zip(m.names, w)})
        metrics.update(ev['metrics'])
        if self.score_key not in metrics:
            raise KeyError(
                f'score_key {self.score_key!r} is not among the metrics: '
                f'{sorted(k for k in metrics if not k.startswith(("arch/", "weight/")))}')
        score = metrics[self.score_key]  # None in an epoch without architecture steps
        row = SearchRecord(
            self.epoch_, 0, genotype_key(genotype), genotype,
            None if score is None else float(score), metrics,
            dict(
                expected_cost=metrics['search/expected_cost'],
                decoded_cost=decoded['cost'],
                decoded_params_m=decoded['params_m'],
                decoded_gflops=decoded['gflops'],
                decoded_mac_m=decoded['mac_m'],
                train_s=round(seconds, 2),
                **ev['cost']), False, now())
        self.records.append(row)
        if get_rank() == 0:  # the result files first, the row last: a recorded epoch is whole
            self._write_result(row)
            self.history.append(row)
        scalars = {'search/expected_cost': metrics['search/expected_cost']}
        if row.score is not None:
            scalars['search/score'] = row.score
        self.runner.visualizer.add_scalars(scalars, step=row.step + 1)
        per_epoch = np.mean([r.cost['train_s'] for r in self.records])
        eta = time.strftime('%H:%M:%S', time.gmtime(per_epoch * (self.max_epochs_ - row.step - 1)))
        self.runner.logger.info(
            f'[search] {self.stage} epoch {row.step + 1}/{self.max_epochs_}: {self.score_key}='
            f'{_fmt(row.score)} | weights loss {sums["weight"]:.4f} | arch loss '
            f'{_fmt(sums["arch"])} | expected cost {metrics["search/expected_cost"]:.3f}, decoded '
            f'{decoded["cost"]:.3f} ({decoded["params_m"]:.3f}M params, '
            f'{decoded["gflops"]:.3f} GFLOPs) | {seconds:.1f} s/epoch, ETA {eta}')

    def run(self):
        runner = self.runner
        state = self._start()
        self.objective.setup(runner, self)
        keys = set(LOOP_METRICS) | set(self.objective.metric_keys)
        if self.score_key not in keys:
            raise ValueError(f'train_cfg.score_key={self.score_key!r} is not produced by the loop '
                             f'or the objective (they report {sorted(keys)})')
        self._build_optimizers()
        if state is not None:
            self._restore(state)
        else:
            self._save()
        runner.call_hook('before_train')
        while self.epoch_ < self.max_epochs_:
            t0 = time.time()
            self._seed_epoch()
            sums = self._train_epoch()
            if not any(r.step == self.epoch_ for r in self.records):  # cut by a kill: recorded
                self._record(sums, time.time() - t0)
            self.epoch_ += 1
            self._save()
            if get_rank() == 0:
                plot_progress(self.records, self.plot_path, f'Auto-FPN {self.stage}',
                              self.score_key)
        self._write_last_result()
        runner.call_hook('after_train')
        return runner.model
