"""``DetNASSearchLoop``: DetNAS step 3, the evolutionary search on the fine-tuned supernet, as
an MMEngine loop (``train_cfg=dict(type='DetNASSearchLoop', ...)`` under ``mim train``).

Paper Sec. 3.3 / megvii-model/DetNAS ``distributed_arch_search/``: population 50, top 10
parents, 20 mutations (p=0.1 per gene), 20 crossovers, 10 random, 20 generations, candidates
above the backbone-FLOPs limit (1x3x224x224, conv multiply-adds as the official count) rejected
(:mod:`.evolution`). Each candidate is scored by the objective (the paper's fitness,
:class:`.DetNASSupernetObjective`: supernet weights from ``load_from``, BN recalibration, AP on
the search split held out of train).

The loop follows the suite's search-loop contract (``projects/detnas/README.md``, "Search"):
propose -> evaluate -> record -> update -> save, one generation ("step") at a time. Files in
``work_dir`` are described in :mod:`.search_records`, plus ``best_subnet.pth`` from the
objective. Resume rule: ``--resume`` continues the search of ``work_dir`` (scored candidates are
read back, never re-scored; the generation's population and the supernet checkpoint come from
the state, since mmdet's ``train.py`` drops ``load_from`` under ``--resume``); without
``--resume`` a ``work_dir`` that already holds a search is refused. With ``--launcher pytorch``
the ranks score different candidates of a population and every rank breeds the same next one.
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
from mmengine.runner import BaseLoop, load_checkpoint

from .blocks import CHOICES
from .bn_calibration import calibration_dataloader_cfg
from .evolution import Evolution
from .genotype import dump_genotype
from .path_hook import find_supernet
from .search_records import (SearchHistory, SearchRecord, best_record, load_state, now,
                             plot_progress, save_state)

# options that may change between a run and its resume (the budget, run control)
RUN_CONTROL = ('num_steps', 'max_new_candidates', 'allow_changed_settings')


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
class DetNASSearchLoop(BaseLoop):
    """Evolutionary search over DetNAS backbone paths (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader``: training split, for the BN
            calibration).
        objective (dict): what scores a path, e.g. ``dict(type='DetNASSupernetObjective',
            bn_calibration=dict(num_iters=500))`` or ``dict(type='DetNASMatchObjective',
            target=...)``.
        num_steps (int): generations (paper: 20).
        population_num, select_num, mutation_num, crossover_num, mutation_prob: paper: 50, 10,
            20, 20, 0.1 (random fill = 50 - 20 - 20 = 10).
        flops_limit (float): backbone FLOPs limit at ``flops_input_size`` (paper: 300e6 for the
            300M space), counted as the official search (``distributed_arch_search/search.py``
            ``legal``: conv multiply-adds of the detection body, BN not counted; see
            :mod:`.flops`); None = unconstrained.
        flops_input_size (int): side of the square input the FLOPs are counted at (224).
        score_key (str): the fitness metric; a key the objective does not produce is an error.
        max_new_candidates (int, optional): stop this run after that many new evaluations (a
            time box; ``--resume`` continues).
        allow_changed_settings (bool): resume even if the search settings differ from the stored
            ones (otherwise an error names the differences).
        seed (int): seeds the evolution, the calibration batches' order and their augmentation
            (the same for every candidate on every rank, :func:`.calibration_dataloader_cfg`).
    """

    def __init__(self,
                 runner,
                 dataloader,
                 objective: dict,
                 num_steps: int = 20,
                 population_num: int = 50,
                 select_num: int = 10,
                 mutation_num: int = 20,
                 crossover_num: int = 20,
                 mutation_prob: float = 0.1,
                 flops_limit: Optional[float] = 300e6,
                 flops_input_size: int = 224,
                 score_key: str = 'coco/bbox_mAP',
                 max_new_candidates: Optional[int] = None,
                 allow_changed_settings: bool = False,
                 seed: int = 0):
        for name, value in (('num_steps', num_steps), ('population_num', population_num), ('seed',
                                                                                           seed)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise TypeError(f'train_cfg.{name} must be a non-negative int, got {value!r}')
        # BN calibration batches: the whole, same-seeded sequence on every rank (not a shard)
        loader_cfg = calibration_dataloader_cfg(copy.deepcopy(dataloader), seed)
        super().__init__(runner, runner.build_dataloader(loader_cfg, seed=seed))
        self.objective = TASK_UTILS.build(objective)
        self.num_steps, self.samples_per_step = num_steps, population_num
        self.score_key, self.seed = score_key, seed
        self.max_new_candidates = max_new_candidates
        self.allow_changed_settings = allow_changed_settings
        self.flops_limit, self.flops_input_size = flops_limit, flops_input_size
        self.supernet = find_supernet(runner.model)
        self.num_blocks = self.supernet.num_blocks
        # the fine-tuned supernet; `mim train --resume` drops load_from, so the state keeps it
        self.supernet_weights = runner._load_from
        self.algorithm = Evolution(
            self.num_blocks,
            len(CHOICES),
            population_num=population_num,
            select_num=select_num,
            mutation_num=mutation_num,
            mutation_prob=mutation_prob,
            crossover_num=crossover_num,
            is_legal=self._within_flops,
            seed=seed)
        self.step = 0
        self.pending: Optional[List[List[int]]] = None  # the generation's population
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

    # ------------------------------------------------------------------ costs
    def flops(self, cand) -> float:
        """Backbone FLOPs of ``cand`` at ``flops_input_size``, the official search's count (conv
        only, lookup table)."""
        return self.supernet.genotype_flops([CHOICES[i] for i in cand],
                                            self.flops_input_size,
                                            count_bn=False)

    def _within_flops(self, cand) -> bool:
        return self.flops_limit is None or self.flops(cand) <= self.flops_limit

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
        over = [i for i, c in enumerate(self.pending or []) if not self._within_flops(c)]
        if over:
            raise RuntimeError(f'--resume: members {over} of the stored population of generation '
                               f'{self.step} exceed flops_limit={self.flops_limit}; restore the '
                               'limit the search was started with')
        if self.supernet_weights is None and state['load_from']:
            self.supernet_weights = state['load_from']
            load_checkpoint(
                self.runner.model,
                self.supernet_weights,
                map_location='cpu',
                logger=self.runner.logger)
            self.runner.logger.info('[search] supernet weights reloaded from '
                                    f'{self.supernet_weights}')
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
                    settings=self.settings,
                    load_from=self.supernet_weights))

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
            stage_repeats=self.supernet.stage_repeats,
            stage_out_channels=self.supernet.stage_out_channels,
            backbone_flops_M=best.cost['flops_M'],
            name='DetNAS search best',
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
            f'[search] generation {row.step + 1}/{self.num_steps}, candidate {row.index + 1}/'
            f'{self.samples_per_step}: {self.score_key}={row.score:.4f}'
            f'{" (cached)" if row.cached else ""} | generation best {step_best:.4f} | best '
            f'{best.score:.4f} | {len(self.records)}/{total} candidates, {per:.1f} s each, '
            f'ETA {eta}')

    def _run_step(self, timing) -> bool:
        """Evaluate and record the pending proposals; False if the run must stop here."""
        genotypes = [[CHOICES[i] for i in cand] for cand in self.pending]
        keys = [','.join(g) for g in genotypes]
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
                cost = dict(flops_M=round(self.flops(self.pending[i]) / 1e6, 2), **res['cost'])
                evaluated[keys[i]] = SearchRecord(self.step, i, keys[i], genotypes[i],
                                                  float(res['metrics'][self.score_key]),
                                                  res['metrics'], cost, False, now())
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
                self.pending = _from_rank0([list(c) for c in self.algorithm.propose()])
                self._save()
            if not self._run_step(timing):
                break
            rewards = [r.score for r in self.records if r.step == self.step]
            stats = self.algorithm.update(self.pending, rewards)
            runner.logger.info(f'[search] generation {self.step + 1}/{self.num_steps} done: ' +
                               ', '.join(f'{k}={v:.4f}' for k, v in stats.items()))
            self.step += 1
            self.pending = None
            self._save()
            if get_rank() == 0:
                plot_progress(self.records, self.plot_path, 'DetNAS evolutionary search',
                              self.score_key)
        self._write_best()
        if get_rank() == 0:
            plot_progress(self.records, self.plot_path, 'DetNAS evolutionary search',
                          self.score_key)
        if self.step >= self.num_steps:  # finished, not stopped by max_new_candidates
            self.objective.after_search(best_record(self.records), runner.work_dir)
        runner.call_hook('after_train')
        return runner.model
