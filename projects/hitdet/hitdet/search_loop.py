"""``HitDetSearchLoop``: Hit-Detector's two search stages as an MMEngine loop (Sec. 3.2-3.4).

* ``stage='screen'``: the supernet of one component holds the whole candidate pool at each
  position, weighted by its row of the layer-wise score matrix (non-negative scores, started at
  ``1 / N``: :meth:`.MixedOp.use_scores`); the scores are trained with the column-sparse
  (group-lasso) penalty ``mu * sum_i ||alpha_{:, i}||_2`` over the ops' columns (Eq. 4, mu = 0.1;
  the equation is not readable in the copy, this is its prose: a score of 0 is an op turned off,
  so a larger mu drives whole columns to 0 and sharpens the op distribution) and no resource
  term; after epoch ``prune.start_epoch``
  and every ``prune.every`` epochs after it, the ``prune.drop`` ops of lowest mean weight over the
  positions are removed, until ``prune.keep`` (8) remain (:func:`prune_schedule`). Epochs are
  counted from 0, as ``arch_start_epoch``; a prune must follow at least one epoch of
  architecture updates (``prune.start_epoch >= arch_start_epoch``), or it would rank untouched,
  all-equal weights. The kept ops are written to ``screened_ops.yaml``, the sub-space the next
  stage reads.
* ``stage='search'``: the trinity supernet over the screened sub-spaces; first-order DARTS with
  alternating updates (weights on one half of the training set, architecture weights on the
  other) and loss = detection loss + lambda (C(alpha) + C(beta) + C(gamma)) (:mod:`.flops_cost`).

Both: weights SGD (lr 0.04, momentum 0.9, cosine over the epochs), architecture weights Adam
(lr 4e-4) from ``arch_start_epoch`` (counted from 0; paper: "from epoch 6" of 12, index 5). The
decoded genotype (the op of the highest weight at each position) is recorded after every epoch.

The loop follows the suite's search-loop contract (``projects/hitdet/README.md``, "Search"): one
epoch per step (train -> decode -> evaluate -> record -> save); ``search_history.jsonl`` has one
row per epoch (:mod:`.search_records`), ``best_genotype.yaml`` is the genotype decoded at the
last finished epoch (the search's result). Resume rule: ``--resume`` continues from the last
finished epoch (an epoch cut by a kill is trained again from its start, with the same batches);
without ``--resume`` a ``work_dir`` that holds a search is refused. With ``--launcher pytorch``
the supernet trains data-parallel.
"""
import copy
import json
import os
import os.path as osp
import random
import time
import traceback
from typing import Dict, List, Optional, Tuple

import numpy as np
import torch
import yaml
from mmdet.registry import LOOPS, TASK_UTILS
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, get_world_size
from mmengine.model import is_model_wrapper
from mmengine.runner import BaseLoop

from .flops_cost import ExpectedCost
from .mixed_op import arch_parameters, weight_parameters
from .search_records import SearchHistory, SearchRecord, load_state, now, plot_progress, save_state

RUN_CONTROL = ('allow_changed_settings', )
LOOP_METRICS = ('search/weight_loss', 'search/arch_loss', 'search/neg_arch_loss',
                'search/expected_gflops', 'search/decoded_gflops')


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


def carry_optimizer_state(old: Optional[torch.optim.Optimizer],
                          new: Optional[torch.optim.Optimizer]) -> None:
    """Give ``new`` the state (SGD momentum) ``old`` holds for the parameters they share: after a
    prune the weights of the kept ops are the same tensors and keep their momentum; only the
    dropped ops' state goes."""
    if old is None or new is None:
        return
    for group in new.param_groups:
        for p in group['params']:
            if p in old.state:
                new.state[p] = old.state[p]


def prune_schedule(num_ops: int, max_epochs: int, prune: dict) -> List[Tuple[int, int]]:
    """The screening's prunes: ``(epoch, ops left after it)`` for a component of ``num_ops``
    candidates, epochs counted from 0 (the prune follows that epoch's training)."""
    out, left = [], num_ops
    for epoch in range(prune['start_epoch'], max_epochs, prune['every']):
        if left <= prune['keep']:
            break
        left = max(prune['keep'], left - prune['drop'])
        out.append((epoch, left))
    return out


@LOOPS.register_module()
class HitDetSearchLoop(BaseLoop):
    """Differentiable search (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader``: the training split, which the
            detection objective cuts into two halves).
        objective (dict): the supernet and its task: ``HitDetDetectionObjective`` (the paper's)
            or ``HitDetSyntheticObjective`` (a known optimum).
        stage (str): 'screen' or 'search'.
        max_epochs (int): epochs (paper: 12).
        arch_start_epoch (int): first epoch with architecture updates, counted from 0 (paper:
            "from epoch 6", the 6th of 12: 5).
        weight_optimizer (dict): torch optimizer of the weights (paper: SGD lr 0.04, momentum 0.9;
            weight decay 1e-4, the official retrain's, ``configs/nas_trinity/2stage_hitdet.py``).
        arch_optimizer (dict): torch optimizer of the architecture weights (paper: Adam lr 4e-4;
            betas and weight decay not published, DARTS's (0.5, 0.999) and 1e-3).
        grad_clip (float): max norm of the weights' gradient (official retrain: 35).
        cost_weight (float): lambda of the FLOPs term, search stage (paper: 0.01).
        sparsity_weight (float): mu of the group-lasso term, screen stage (paper: 0.1).
        prune (dict): screen stage: ``start_epoch`` (the first epoch after which it prunes,
            counted from 0, at least ``arch_start_epoch``; default ``arch_start_epoch``),
            ``every``, ``drop``, ``keep`` (see :func:`prune_schedule`).
        score_key (str): the metric of an epoch's row (the loop's losses or the objective's).
        allow_changed_settings (bool): resume even if the settings differ from the stored ones.
        seed (int): seeds the supernet's init and the batches' order.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 objective: dict,
                 stage: str = 'search',
                 max_epochs: int = 12,
                 arch_start_epoch: int = 5,
                 weight_optimizer: Optional[dict] = None,
                 arch_optimizer: Optional[dict] = None,
                 grad_clip: Optional[float] = 35.,
                 cost_weight: float = 0.01,
                 sparsity_weight: float = 0.1,
                 prune: Optional[dict] = None,
                 score_key: str = 'search/neg_arch_loss',
                 allow_changed_settings: bool = False,
                 seed: int = 0):
        if stage not in ('screen', 'search'):
            raise ValueError(f"stage must be 'screen' or 'search', got {stage!r}")
        for name, value in (('max_epochs', max_epochs), ('arch_start_epoch', arch_start_epoch),
                            ('seed', seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(f'train_cfg.{name} must be a non-negative int, got {value!r}')
        self.dataloader_cfg = copy.deepcopy(dataloader)
        self.objective = TASK_UTILS.build(objective)
        # the loop's loader is the weights half, which the detection objective trains on (it
        # builds only the architecture half); a synthetic objective has no split and no use for it
        loader_cfg = copy.deepcopy(dataloader)
        loader_cfg['sampler'] = dict(
            type='HitDetHalfSampler',
            half='weights',
            split_seed=getattr(self.objective, 'split_seed', 0))
        loader_cfg.pop('batch_sampler', None)
        loader_cfg['persistent_workers'] = False  # new workers per epoch (_seed_epoch)
        super().__init__(runner, runner.build_dataloader(loader_cfg, seed=seed))
        self.stage, self.max_epochs_, self.arch_start_epoch = stage, max_epochs, arch_start_epoch
        self.weight_optimizer_cfg = dict(type='SGD', lr=0.04, momentum=0.9, weight_decay=1e-4)
        self.weight_optimizer_cfg.update(weight_optimizer or {})
        self.arch_optimizer_cfg = dict(type='Adam', lr=4e-4, betas=(0.5, 0.999), weight_decay=1e-3)
        self.arch_optimizer_cfg.update(arch_optimizer or {})
        self.grad_clip, self.cost_weight = grad_clip, cost_weight
        self.sparsity_weight = sparsity_weight
        self.prune = dict(start_epoch=arch_start_epoch, every=2, drop=4, keep=8)
        unknown = set(prune or {}) - set(self.prune)
        if unknown:
            raise ValueError(f'train_cfg.prune: unknown keys {sorted(unknown)}')
        self.prune.update(prune or {})
        for key, value in self.prune.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < (key
                                                                                 != 'start_epoch'):
                raise TypeError(f'train_cfg.prune.{key} must be an int >= '
                                f'{int(key != "start_epoch")}, got {value!r}')
        if stage == 'screen' and self.prune['start_epoch'] < arch_start_epoch:
            raise ValueError(
                f'train_cfg.prune.start_epoch={self.prune["start_epoch"]} prunes after epoch '
                f'{self.prune["start_epoch"]}, before the first architecture update (epoch '
                f'{arch_start_epoch}; both counted from 0): the ops would be ranked on untouched, '
                f'equal weights')
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
                model=runner.cfg.get('model')),
            sort_keys=True,
            default=str)
        work_dir = runner.work_dir
        self.history = SearchHistory(osp.join(work_dir, 'search_history.jsonl'))
        self.state_path = osp.join(work_dir, 'search_state.pth')
        self.best_path = osp.join(work_dir, 'best_genotype.yaml')
        self.screened_path = osp.join(work_dir, 'screened_ops.yaml')
        self.plot_path = osp.join(work_dir, 'search_progress.png')

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
    def supernet(self):
        model = self.objective.model
        return model.module if is_model_wrapper(model) else model

    def _positions(self):
        modules = dict(self.supernet.named_modules())
        return {name: modules[name] for names in self.components.values() for name in names}

    def _build_optimizers(self):

        def build(cfg, params):
            cfg = dict(cfg)
            return getattr(torch.optim, cfg.pop('type'))(params, **cfg)

        weights = [p for p in weight_parameters(self.supernet) if p.requires_grad]
        self.weight_optim = build(self.weight_optimizer_cfg, weights) if weights else None
        self.arch_optim = build(self.arch_optimizer_cfg, arch_parameters(self.supernet))
        self.cost = ExpectedCost(self.objective, self.supernet, self.components)

    def genotype(self) -> Dict[str, List[str]]:
        positions = self._positions()
        return {c: [positions[n].chosen() for n in names] for c, names in self.components.items()}

    # ------------------------------------------------------------------ state
    def _state(self) -> dict:
        return dict(
            epoch=self.epoch_,
            candidates={
                n: list(m.names)
                for n, m in self._positions().items()
            },
            model=self.supernet.state_dict(),
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
            old, new = json.loads(state['settings']), json.loads(self.settings)
            diff = changed_settings(old, new)
            raise RuntimeError(f'--resume: the search settings differ from the stored ones '
                               f'(changed: {diff}); restore them, or set '
                               'train_cfg.allow_changed_settings=True to continue anyway')
        self.records = rows
        return state

    def _restore(self, state: dict) -> None:
        positions = self._positions()
        pruned = False
        for name, names in state['candidates'].items():
            if list(positions[name].names) != names:
                positions[name].keep(names)  # pruned by the screening before the kill
                pruned = True
        if pruned:
            self.objective.rewrap()  # DDP: the new parameters join the gradient reduction
        self.supernet.load_state_dict(state['model'])
        self._build_optimizers()
        if self.weight_optim is not None:
            self.weight_optim.load_state_dict(state['weight_optim'])
        self.arch_optim.load_state_dict(state['arch_optim'])
        self.epoch_ = state['epoch']
        self._write_best()
        self.runner.logger.info(f'[search] resumed at epoch {self.epoch_} with '
                                f'{len(self.records)} epochs recorded')

    # ------------------------------------------------------------------ one epoch
    def _seed_epoch(self) -> None:
        """Seed every random source from (seed, epoch, rank): an epoch trained again after a
        kill draws what the uninterrupted run drew (the RoI sampling, and the augmentation of
        the data workers, which are created anew for every epoch)."""
        value = (self.seed * 1_000_003 + self.epoch_ * 1009 + get_rank()) % 2**31
        random.seed(value)
        np.random.seed(value)
        torch.manual_seed(value)

    def _regulariser(self) -> torch.Tensor:
        if self.stage == 'search':
            return self.cost_weight * sum(self.cost.expected().values())
        # column-sparse: one group per op, its scores over the positions of the component (the
        # small constant keeps the gradient of a column at 0, an op turned off, finite)
        positions = self._positions()
        total = 0.
        for names in self.components.values():
            scores = torch.stack([positions[n].weights() for n in names])  # (L, N)
            total = total + (scores.square().sum(0) + 1e-12).sqrt().sum()
        return self.sparsity_weight * total

    def _train_epoch(self) -> Dict[str, float]:
        epoch, obj = self.epoch_, self.objective
        lr = 0.5 * (1 + np.cos(np.pi * epoch / self.max_epochs_))
        if self.weight_optim is not None:
            for g in self.weight_optim.param_groups:
                g['lr'] = self.weight_optimizer_cfg['lr'] * lr
        obj.model.train()
        sums = dict(weight=0., arch=0., reg=0.)
        n = 0
        for wb, ab in zip(obj.batches('weights', epoch), obj.batches('arch', epoch)):
            if self.weight_optim is not None:
                loss = sum(obj.loss(wb).values())
                self.weight_optim.zero_grad()
                loss.backward()
                if self.grad_clip:
                    torch.nn.utils.clip_grad_norm_(self.weight_optim.param_groups[0]['params'],
                                                   self.grad_clip)
                self.weight_optim.step()
                sums['weight'] += float(loss)
            update = epoch >= self.arch_start_epoch
            with torch.set_grad_enabled(update):
                det = sum(obj.loss(ab).values())
                reg = self._regulariser()
            if update:
                self.arch_optim.zero_grad()
                (det + reg).backward()
                self.arch_optim.step()
                if self.stage == 'screen':  # scores stay non-negative (0: the op is off)
                    with torch.no_grad():
                        for p in self.arch_optim.param_groups[0]['params']:
                            p.clamp_(min=0)
            sums['arch'] += float(det)
            sums['reg'] += float(reg)
            n += 1
        return {k: v / max(1, n) for k, v in sums.items()}

    def _log_prune_schedule(self) -> None:
        """Screen stage: say when each component will be pruned, and warn if the schedule ends
        above ``prune.keep`` (too few epochs for it)."""
        if self.stage != 'screen':
            return
        positions, keep = self._positions(), self.prune['keep']
        for comp, names in self.components.items():
            num = len(positions[names[0]].names)
            plan = prune_schedule(num, self.max_epochs_, self.prune)
            left = plan[-1][1] if plan else num
            msg = (f'[search] screening {comp}: {num} ops -> '
                   f'{" -> ".join(str(n) for _, n in plan) or "no prune"} (after epochs '
                   f'{[e + 1 for e, _ in plan]} of {self.max_epochs_})')
            if left > keep:
                self.runner.logger.warning(f'{msg}: ends with {left} ops, not prune.keep={keep}')
            else:
                self.runner.logger.info(msg)

    def _prune(self) -> Optional[List[str]]:
        """Screen stage: drop the lowest-ranked ops of each component; the kept names."""
        p, epoch = self.prune, self.epoch_  # the epoch just trained
        if self.stage != 'screen' or epoch < p['start_epoch'] or (epoch -
                                                                  p['start_epoch']) % p['every']:
            return None
        positions = self._positions()
        kept = {}
        for comp, names in self.components.items():
            ops = positions[names[0]].names
            if len(ops) <= p['keep']:
                continue
            mean = torch.stack([positions[n].weights().detach() for n in names]).mean(0)
            rank = sorted(range(len(ops)), key=lambda i: -float(mean[i]))
            keep = sorted(rank[:max(p['keep'], len(ops) - p['drop'])])
            kept[comp] = [ops[i] for i in keep]
            for n in names:
                positions[n].keep(kept[comp])
        if kept:
            self.objective.rewrap()  # DDP: the new parameters join the gradient reduction
            old = self.weight_optim
            self._build_optimizers()  # new architecture parameters: a fresh Adam state
            carry_optimizer_state(old, self.weight_optim)  # the kept weights keep their momentum
            self.runner.logger.info(f'[search] screening after epoch {epoch + 1} of '
                                    f'{self.max_epochs_} kept {kept}')
        return kept

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

    def _write_best(self) -> None:
        """``best_genotype.yaml``: the genotype of the last recorded epoch (rank 0), after each
        row, after a resume and at the end, so a kill between a row and this file leaves nothing
        stale."""
        if get_rank() != 0 or not self.records:
            return
        row = self.records[-1]
        meta = dict(
            name=f'Hit-Detector {self.stage} (epoch {row.step + 1} of {self.max_epochs_})',
            source=self.history.path,
            score=row.score,
            score_key=self.score_key,
            step=row.step,
            decoded_gflops=float(f"{row.cost['decoded_gflops']:.6g}"))
        tmp = self.best_path + '.tmp'
        with open(tmp, 'w') as f:
            yaml.safe_dump(dict(meta, **row.genotype), f, sort_keys=False)
        os.replace(tmp, self.best_path)

    def _record(self, sums: Dict[str, float], seconds: float) -> None:
        genotype = self.genotype()
        ev = self._evaluate(genotype)
        expected = {k: float(v) for k, v in self.cost.expected().items()}
        metrics = {
            'search/weight_loss': sums['weight'],
            'search/arch_loss': sums['arch'],
            'search/neg_arch_loss': -sums['arch'],
            'search/regulariser': sums['reg'],
            'search/expected_gflops': sum(expected.values()),
            'search/decoded_gflops': self.cost.decoded(),
            **{
                f'search/{c}_expected_gflops': v
                for c, v in expected.items()
            }
        }
        for name, m in self._positions().items():
            w = m.probabilities().detach()
            metrics[f'weight/{name}'] = float(w.max())
            metrics.update({f'arch/{name}/{op}': float(x) for op, x in zip(m.names, w)})
        metrics.update(ev['metrics'])
        if self.score_key not in metrics:
            raise KeyError(
                f'score_key {self.score_key!r} is not among the metrics: '
                f'{sorted(k for k in metrics if not k.startswith(("arch/", "weight/")))}')
        key = '|'.join(f'{c}:{",".join(ops)}' for c, ops in genotype.items())
        row = SearchRecord(
            self.epoch_, 0, key, genotype, float(metrics[self.score_key]), metrics,
            dict(
                expected_gflops=metrics['search/expected_gflops'],
                decoded_gflops=metrics['search/decoded_gflops'],
                train_s=round(seconds, 2),
                **ev['cost']), False, now())
        self.records.append(row)
        if get_rank() == 0:
            self.history.append(row)
            self._write_best()
        self.runner.visualizer.add_scalars(
            {
                'search/score': row.score,
                'search/expected_gflops': metrics['search/expected_gflops']
            },
            step=row.step + 1)
        self.runner.logger.info(
            f'[search] {self.stage} epoch {row.step + 1}/{self.max_epochs_}: {self.score_key}='
            f'{row.score:.4f} | weights loss {sums["weight"]:.4f} | arch loss {sums["arch"]:.4f} '
            f'| expected {metrics["search/expected_gflops"]:.3f} GFLOPs, decoded '
            f'{metrics["search/decoded_gflops"]:.3f} | {seconds:.1f} s')

    def _write_screened(self) -> None:
        if self.stage != 'screen' or get_rank() != 0:
            return
        positions = self._positions()
        data = dict(
            source=self.history.path,
            epoch=self.epoch_,
            **{
                c: list(positions[names[0]].names)
                for c, names in self.components.items()
            })
        tmp = self.screened_path + '.tmp'
        with open(tmp, 'w') as f:
            yaml.safe_dump(data, f, sort_keys=False)
        os.replace(tmp, self.screened_path)

    def run(self):
        runner = self.runner
        state = self._start()
        self.objective.setup(runner, self)
        self.components = self.objective.components
        if self.stage == 'screen':
            for m in self._positions().values():
                m.use_scores()
        keys = set(LOOP_METRICS) | {'search/regulariser'} | set(self.objective.metric_keys)
        if self.score_key not in keys:
            raise ValueError(f'train_cfg.score_key={self.score_key!r} is not produced by the loop '
                             f'or the objective (they report {sorted(keys)})')
        self._build_optimizers()
        if state is not None:
            self._restore(state)
        else:
            self._log_prune_schedule()
            self._save()
        runner.call_hook('before_train')
        while self.epoch_ < self.max_epochs_:
            t0 = time.time()
            self._seed_epoch()
            sums = self._train_epoch()
            self._prune()
            if not any(r.step == self.epoch_ for r in self.records):  # cut by a kill: recorded
                self._record(sums, time.time() - t0)
            self.epoch_ += 1
            self._save()
            self._write_screened()
            if get_rank() == 0:
                plot_progress(self.records, self.plot_path, f'Hit-Detector {self.stage}',
                              self.score_key)
        self._write_best()
        runner.call_hook('after_train')
        return runner.model
