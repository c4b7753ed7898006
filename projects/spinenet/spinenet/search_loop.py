"""``SpineNetSearchLoop``: the paper's search (Sec. 5.1) as an MMEngine train loop.

An RNN controller proposes scale-permuted genotypes; each is scored by the objective (the
paper's proxy task, :class:`.SpineNetProxyObjective`: the proxy trained from scratch, box AP on
images held out of train); the controller is updated with REINFORCE (:mod:`.controller`).

The loop follows the suite's search-loop contract (the root README, "The search-loop contract";
``projects/spinenet/README.md``, "Search"): propose -> evaluate -> record -> update -> save, one
step at a time. Files in ``work_dir`` are described in :mod:`.search_records`. Resume rule:
``--resume`` continues the search of ``work_dir`` (finished candidates are read back, never
re-evaluated; the step's pending proposals come from the state); without ``--resume`` a
``work_dir`` that already holds a search is refused. With ``--launcher pytorch`` the ranks
evaluate different candidates of a step (one candidate per accelerator, as the paper) and every
rank applies the same controller update.
"""
import copy
import json
import os
import os.path as osp
import time
import traceback
from contextlib import contextmanager
from datetime import timedelta
from typing import Dict, List, Optional

import torch
from mmdet.registry import LOOPS, TASK_UTILS
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, get_world_size
from mmengine.runner import BaseLoop

from .controller import Reinforce, SpineNetController
from .genotype import dump_genotype, genotype_key
from .search_records import (SearchHistory, SearchRecord, best_record, load_state, now,
                             plot_progress, save_state)
from .search_space import SpineNetSearchSpace

# options that may change between a run and its resume (the budget, run control)
RUN_CONTROL = ('num_steps', 'max_new_candidates', 'allow_changed_settings')
CONTROLLER_KEYS = ('hidden_size', 'num_layers', 'temperature', 'tanh_constant')
REINFORCE_KEYS = ('lr', 'baseline_decay', 'entropy_weight')


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


@contextmanager
def as_one_process():
    """Run the block as if this rank were alone (``torch.distributed.is_initialized()`` is False).

    The ranks evaluate different candidates, each its own single-process job (the paper trained
    one candidate per accelerator). A collective inside an evaluation (mmdet's ``reduce_mean``
    in a loss, the evaluator gathering its results over ranks) would mix the candidates of
    different ranks, and a rank without a candidate in a round would leave the others waiting in
    it. mmengine's and mmdet's rank helpers read ``torch.distributed.is_initialized``, so inside
    the block they see one process; the loop's own collectives run outside it."""
    initialized = torch.distributed.is_initialized
    torch.distributed.is_initialized = lambda: False
    try:
        yield
    finally:
        torch.distributed.is_initialized = initialized


@LOOPS.register_module()
class SpineNetSearchLoop(BaseLoop):
    """REINFORCE search over SpineNet genotypes (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader``: the proxy's training split).
        objective (dict): what scores a candidate, e.g. ``dict(type='SpineNetProxyObjective',
            epochs=5)`` or ``dict(type='SpineNetMatchObjective', target=...)``.
        num_steps (int): controller updates (the budget: ``num_steps * samples_per_step``
            proposals).
        samples_per_step (int): proposals per update.
        score_key (str): the metric used as reward; a key the objective does not produce is an
            error.
        space (dict): :class:`SpineNetSearchSpace` arguments.
        controller (dict): :class:`SpineNetController` arguments (hidden_size, num_layers, ...)
            and :class:`Reinforce` ones (lr, baseline_decay, entropy_weight).
        max_new_candidates (int, optional): stop this run after that many new evaluations (a
            time box; ``--resume`` continues).
        allow_changed_settings (bool): resume even if the search settings differ from the stored
            ones (otherwise an error names the differences).
        seed (int): seeds the controller, its sampling, the data order and each candidate.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 objective: dict,
                 num_steps: int = 10,
                 samples_per_step: int = 4,
                 score_key: str = 'coco/bbox_mAP',
                 space: Optional[dict] = None,
                 controller: Optional[dict] = None,
                 max_new_candidates: Optional[int] = None,
                 allow_changed_settings: bool = False,
                 seed: int = 0):
        for name, value in (('num_steps', num_steps), ('samples_per_step', samples_per_step),
                            ('seed', seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(f'train_cfg.{name} must be a non-negative int, got {value!r}')
        ctrl = dict(controller or {})
        unknown = set(ctrl) - set(CONTROLLER_KEYS) - set(REINFORCE_KEYS)
        if unknown:
            raise ValueError(f'train_cfg.controller: unknown keys {sorted(unknown)}; known: '
                             f'{CONTROLLER_KEYS + REINFORCE_KEYS}')
        loader_cfg = copy.deepcopy(dataloader)
        loader_cfg['sampler'] = dict(type='SpineNetCandidateSampler', shuffle=True)
        self.dataloader_cfg = loader_cfg  # the objective builds each candidate's loader from it
        super().__init__(runner, runner.build_dataloader(copy.deepcopy(loader_cfg), seed=seed))
        self.objective = TASK_UTILS.build(objective)
        self.num_steps, self.samples_per_step = num_steps, samples_per_step
        self.score_key, self.seed = score_key, seed
        self.max_new_candidates = max_new_candidates
        self.allow_changed_settings = allow_changed_settings
        self.space = SpineNetSearchSpace(**(space or {}))
        torch.manual_seed(seed)
        self.algorithm = Reinforce(
            SpineNetController(self.space, **{k: ctrl[k]
                                              for k in CONTROLLER_KEYS if k in ctrl}),
            seed=seed,
            **{k: ctrl[k]
               for k in REINFORCE_KEYS if k in ctrl})
        self.step = 0
        self.pending: Optional[List[List[int]]] = None
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
        self.plot_path = osp.join(work_dir, 'search_progress.png')

    # what the runner and its hooks read: a step is an "epoch", a candidate an "iteration"
    @property
    def max_epochs(self):
        return self.num_steps

    @property
    def max_iters(self):
        return self.num_steps * self.samples_per_step

    @property
    def epoch(self):
        return self.step

    @property
    def iter(self):
        return len(self.records)

    # ------------------------------------------------------------------ state
    def _start(self) -> None:
        """Apply the resume rule (module docstring); rank 0 reads, every rank gets the same."""
        files = [self.history.path, self.state_path, self.best_path]
        if not self.runner._resume:
            found = _from_rank0([osp.basename(p) for p in files if osp.exists(p)])
            if found:
                raise RuntimeError(f'{self.runner.work_dir} already holds a search ({found}): add '
                                   '--resume to continue it, or choose another --work-dir')
            return
        state, rows = _from_rank0((load_state(self.state_path),
                                   self.history.read()) if get_rank() == 0 else None)
        if state is None:
            raise RuntimeError(f'--resume: no search state ({self.state_path}) to continue; the '
                               'previous run stopped before its first step. Start without '
                               '--resume.')
        if state['settings'] != self.settings and not self.allow_changed_settings:
            old, new = json.loads(state['settings']), json.loads(self.settings)
            diff = changed_settings(old, new)
            raise RuntimeError(f'--resume: the search settings differ from the stored ones '
                               f'(changed: {diff}); restore them, or set '
                               'train_cfg.allow_changed_settings=True to continue anyway')
        self.step, self.pending = state['step'], state['pending']
        self.algorithm.load_state_dict(state['algorithm'])
        self.records = rows
        self._write_best()
        self.runner.logger.info(f'[search] resumed at step {self.step} with {len(rows)} '
                                f'candidates from {self.history.path}')

    def _save(self) -> None:
        if get_rank() == 0:
            save_state(
                self.state_path,
                dict(
                    step=self.step,
                    pending=self.pending,
                    algorithm=self.algorithm.state_dict(),
                    settings=self.settings))

    # ------------------------------------------------------------------ evaluate
    def _candidate_seed(self, step: int, index: int) -> int:
        return self.seed * 1000003 + step * self.samples_per_step + index

    def _evaluate(self, jobs, genotypes) -> List[dict]:
        """Evaluate proposals ``jobs`` (indices), one per rank; every rank gets every result."""
        rank, world = get_rank(), get_world_size()
        mine = None
        if rank < len(jobs):
            i = jobs[rank]
            try:
                with as_one_process():
                    ev = self.objective(genotypes[i], self._candidate_seed(self.step, i))
                if self.score_key not in ev.metrics:
                    raise KeyError(f'score_key {self.score_key!r} is not among the metrics the '
                                   f'objective produced: {sorted(ev.metrics)}')
                mine = dict(metrics=ev.metrics, cost=dict(ev.cost, rank=rank))
            except Exception as e:
                if world == 1:
                    raise
                mine = dict(error=f'{type(e).__name__}: {e}', trace=traceback.format_exc())
        results = all_gather_object(mine) if world > 1 else [mine]
        for r, res in enumerate(results[:len(jobs)]):
            if 'error' in res:  # stop every rank, not only the failing one
                raise RuntimeError(f'rank {r} failed on proposal {jobs[r]} of step {self.step}: '
                                   f'{res["error"]}\n{res["trace"]}')
        return results[:len(jobs)]

    def _write_best(self) -> None:
        """``best_genotype.yaml`` from the records (rank 0): after a new best, after a resume and
        at the end, so a kill between a history row and this file leaves nothing stale."""
        best = best_record(self.records)
        if get_rank() != 0 or best is None:
            return
        tmp = self.best_path + '.tmp'
        dump_genotype(
            best.genotype,
            tmp,
            name='SpineNet search best',
            source=self.history.path,
            score=best.score,
            score_key=self.score_key,
            step=best.step,
            index=best.index)
        os.replace(tmp, self.best_path)

    def _record(self, row: SearchRecord, timing: Dict[str, float]) -> None:
        self.records.append(row)
        if get_rank() == 0:
            self.history.append(row)
            if best_record(self.records) is row:
                self._write_best()
        best = best_record(self.records)
        step_best = max(r.score for r in self.records if r.step == row.step)
        runner = self.runner
        runner.visualizer.add_scalars({
            'search/score': row.score,
            'search/best': best.score
        },
                                      step=len(self.records))
        total = self.num_steps * self.samples_per_step
        per = timing['seconds'] / max(1, timing['evaluated'])
        eta = timedelta(seconds=int(per * (total - len(self.records))))
        runner.logger.info(
            f'[search] step {row.step + 1}/{self.num_steps}, candidate {row.index + 1}/'
            f'{self.samples_per_step}: {self.score_key}={row.score:.4f}'
            f'{" (cached)" if row.cached else ""} | step best {step_best:.4f} | best '
            f'{best.score:.4f} | {len(self.records)}/{total} candidates, {per:.1f} s each, '
            f'ETA {eta}')

    def _run_step(self, timing) -> bool:
        """Evaluate and record the pending proposals; False if the run must stop here."""
        genotypes = [self.space.decode(a) for a in self.pending]
        keys = [genotype_key(g) for g in genotypes]
        done = {r.index: r for r in self.records if r.step == self.step}
        evaluated = {r.key: r for r in self.records if not r.cached}
        jobs, seen = [], set(evaluated)
        for i, key in enumerate(keys):
            if i not in done and key not in seen:
                jobs.append(i)
                seen.add(key)
        world = get_world_size()
        written = 0
        while True:
            # write, in proposal order, every row whose result is known
            while written < len(keys) and (written in done or keys[written] in evaluated):
                i = written
                if i not in done:
                    src = evaluated[keys[i]]
                    fresh = (src.step, src.index) == (self.step, i)
                    row = src if fresh else SearchRecord(self.step, i, src.key, src.genotype,
                                                         src.score, src.metrics, {}, True, now())
                    self._record(row, timing)
                    done[i] = row
                written += 1
            if not jobs:
                return True
            chunk = jobs[:world]
            if self.max_new_candidates is not None:
                chunk = chunk[:max(0, self.max_new_candidates - timing['evaluated'])]
                if not chunk:
                    self.runner.logger.info('[search] max_new_candidates reached: stopping '
                                            '(--resume continues)')
                    return False
            t0 = time.time()
            results = self._evaluate(chunk, genotypes)
            timing['seconds'] += time.time() - t0
            timing['evaluated'] += len(chunk)
            for i, res in zip(chunk, results):
                evaluated[keys[i]] = SearchRecord(self.step, i, keys[i],
                                                  [s.to_list() for s in genotypes[i]],
                                                  float(res['metrics'][self.score_key]),
                                                  res['metrics'], res['cost'], False, now())
            jobs = jobs[len(chunk):]

    def run(self):
        runner = self.runner
        self._start()
        self.objective.setup(runner, self)
        keys = self.objective.metric_keys
        if keys is not None and self.score_key not in keys:
            raise ValueError(f'train_cfg.score_key={self.score_key!r} is not produced by the '
                             f'objective (it reports {sorted(keys)})')
        runner.call_hook('before_train')
        timing = dict(seconds=0.0, evaluated=0)
        while self.step < self.num_steps:
            if self.pending is None:
                self.pending = _from_rank0(self.algorithm.propose(self.samples_per_step))
                self._save()
            if not self._run_step(timing):
                break
            rewards = [r.score for r in self.records if r.step == self.step]
            stats = self.algorithm.update(self.pending, rewards)
            runner.logger.info(f'[search] step {self.step + 1}/{self.num_steps} done: ' +
                               ', '.join(f'{k}={v:.4f}' for k, v in stats.items()))
            self.step += 1
            self.pending = None
            self._save()
            if get_rank() == 0:
                plot_progress(self.records, self.plot_path, 'SpineNet search (REINFORCE)',
                              self.score_key)
        self._write_best()
        if get_rank() == 0:
            plot_progress(self.records, self.plot_path, 'SpineNet search (REINFORCE)',
                          self.score_key)
        runner.call_hook('after_train')
        return runner.model
