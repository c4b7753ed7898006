"""``DetNASSearchLoop``: DetNAS step 3, evolutionary search on the fine-tuned supernet, as an
MMEngine loop (``train_cfg=dict(type='DetNASSearchLoop', ...)`` under ``mim train``).

Paper Sec. 3.3 / megvii-model/DetNAS ``distributed_arch_search/``: population 50, top 10
parents, 20 mutations (p=0.1 per gene), 20 crossovers, 10 random, 20 generations, candidates
above the backbone-FLOPs limit (1x3x224x224, conv multiply-adds as the official count)
rejected; every candidate inherits the supernet weights (``load_from`` = the COCO-fine-tuned
supernet), gets its BN statistics reset and re-estimated on training batches (500 iterations),
and is scored by COCO bbox AP on the search split held out of train (the reported val split is
never used). The algorithm is in :mod:`.evolution`, the recalibration in :mod:`.bn_calibration`.

With ``--launcher pytorch`` each rank scores a different candidate (the official search spread
candidates over GPUs through a message queue); SyncBN is turned into BN for this, BN
calibration reads each rank's shard of the training set, and every rank evaluates its candidate
on the whole search split. Files in ``work_dir`` (written by rank 0):

* ``search_history.jsonl``: one line per scored candidate (generation, genotype, score,
  backbone FLOPs as the limit counts them, wall time); a candidate is never scored twice;
* ``search_state.json``: generation, population, random state and the supernet checkpoint, so
  ``--resume`` continues after a kill without losing any scored candidate (mmdet's ``train.py``
  drops ``load_from`` under ``--resume``; the loop reloads the checkpoint named here);
* ``best_genotype.yaml``: the best candidate with its widths, the input of a retrain config;
* ``best_subnet.pth``: the detector with the best path sliced out of the supernet, with the BN
  statistics it was scored with, loadable by ``load_from`` or as backbone init with
  ``prefix='backbone.'``;
* ``search_progress.png``: score of every candidate per generation.
"""
import copy
import json
import os
import os.path as osp
import time

import numpy as np
import torch
from mmdet.registry import DATA_SAMPLERS, LOOPS
from mmengine.dist import all_gather_object, broadcast_object_list, get_rank, get_world_size
from mmengine.model import is_model_wrapper, revert_sync_batchnorm
from mmengine.runner import BaseLoop, load_checkpoint
from torch.utils.data import Sampler

from .blocks import CHOICES
from .bn_calibration import calibrate_bn
from .evolution import Evolution
from .genotype import dump_genotype, load_genotype
from .path_hook import find_supernet


def _from_rank0(obj):
    """Rank 0's ``obj`` on every rank (all ranks must search the same population)."""
    if get_world_size() == 1:
        return obj
    box = [obj]
    broadcast_object_list(box, src=0)
    return box[0]


@DATA_SAMPLERS.register_module()
class DetNASWholeSplitSampler(Sampler):
    """Every index in order, on every rank: each rank scores its own candidate on the whole
    search split (``DefaultSampler`` would shard it)."""

    def __init__(self, dataset, seed=None):
        self.size = len(dataset)

    def __iter__(self):
        return iter(range(self.size))

    def __len__(self):
        return self.size


@LOOPS.register_module()
class DetNASSearchLoop(BaseLoop):
    """Evolutionary search over DetNAS backbone paths (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader`` = training split, used for BN
            calibration).
        max_epochs (int): generations (paper: 20).
        population_num, select_num, mutation_num, crossover_num, mutation_prob: paper: 50, 10,
            20, 20, 0.1 (random fill = 50 - 20 - 20 = 10).
        flops_limit (float): backbone FLOPs limit at ``flops_input_size`` (paper: 300e6 for the
            300M space), counted as the official search (``distributed_arch_search/search.py``
            ``legal``: conv multiply-adds of the detection body, BN not counted; see
            :mod:`.flops`); None = unconstrained.
        flops_input_size (int): side of the square input the FLOPs are counted at (224).
        bn_calibration (dict): :func:`calibrate_bn` arguments ``num_iters`` (paper 500) and
            ``cumulative``.
        search_dataloader, search_evaluator (dict): the held-out split; default: the config's
            top-level ``search_dataloader`` / ``search_evaluator``.
        score_key (str): fitness metric (COCO bbox AP).
        fitness (dict, optional): ``dict(type='match', target=GENOTYPE)`` replaces detector
            evaluation by the fraction of genes equal to ``target`` (synthetic objective with a
            known optimum, for tests).
        export (bool): write ``best_subnet.pth`` at the end (real fitness only).
        max_new_candidates (int, optional): stop after scoring that many new candidates (a time
            budget; rerun with ``--resume`` to continue).
        resume (bool, optional): continue from ``work_dir``; default: the runner's ``resume``.
        seed (int): seed of the evolution.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 max_epochs=20,
                 population_num=50,
                 select_num=10,
                 mutation_num=20,
                 crossover_num=20,
                 mutation_prob=0.1,
                 flops_limit=300e6,
                 flops_input_size=224,
                 bn_calibration=dict(num_iters=500, cumulative=False),
                 search_dataloader=None,
                 search_evaluator=None,
                 score_key='coco/bbox_mAP',
                 fitness=None,
                 export=True,
                 max_new_candidates=None,
                 resume=None,
                 seed=0):
        super().__init__(runner, dataloader)
        self.max_generations = max_epochs
        self.flops_limit = flops_limit
        self.flops_input_size = flops_input_size
        self.bn_calibration = dict(num_iters=500, cumulative=False)
        self.bn_calibration.update(bn_calibration)
        self.search_dataloader_cfg = search_dataloader or runner.cfg.get('search_dataloader')
        self.search_evaluator_cfg = search_evaluator or runner.cfg.get('search_evaluator')
        self.score_key = score_key
        self.export = export
        self.max_new_candidates = max_new_candidates
        self.resume = runner._resume if resume is None else resume
        self.work_dir = runner.work_dir
        self.history_path = osp.join(self.work_dir, 'search_history.jsonl')
        self.state_path = osp.join(self.work_dir, 'search_state.json')
        self.best_path = osp.join(self.work_dir, 'best_genotype.yaml')
        self.subnet_path = osp.join(self.work_dir, 'best_subnet.pth')
        # the fine-tuned supernet; `mim train --resume` drops load_from, so the path is also kept
        # in search_state.json and loaded from there on resume
        self.supernet_weights = runner._load_from
        self.supernet = find_supernet(runner.model)
        self.evolution = Evolution(
            self.supernet.num_blocks,
            len(CHOICES),
            population_num=population_num,
            select_num=select_num,
            mutation_num=mutation_num,
            mutation_prob=mutation_prob,
            crossover_num=crossover_num,
            is_legal=self._within_flops,
            seed=seed)
        self._target = None
        if fitness is not None:
            if fitness.get('type') != 'match':
                raise ValueError(f'unknown fitness {fitness}; only type="match" is defined')
            target = load_genotype(fitness['target'])
            if target['genotype'].__len__() != self.supernet.num_blocks:
                raise ValueError(f'fitness target has {len(target["genotype"])} blocks, the '
                                 f'supernet {self.supernet.num_blocks}')
            self._target = tuple(CHOICES.index(c) for c in target['genotype'])
        self._model = None
        self._search_loader = None
        self._metric = None
        self._kept_bn = None  # (cand, score, BN buffers) of this rank's best scored candidate

    # The runner and its hooks read these counters; one generation counts as one iteration.
    _epoch = 0
    _iter = 0

    @property
    def max_epochs(self):
        return 1

    @property
    def max_iters(self):
        return self.max_generations

    @property
    def epoch(self):
        return self._epoch

    @property
    def iter(self):
        return self._iter

    # ------------------------------------------------------------------- costs
    def flops(self, cand):
        """Backbone FLOPs of ``cand`` at ``flops_input_size``, the official search's count (conv
        only, lookup table)."""
        return self.supernet.genotype_flops([CHOICES[i] for i in cand],
                                            self.flops_input_size,
                                            count_bn=False)

    def _within_flops(self, cand):
        return self.flops_limit is None or self.flops(cand) <= self.flops_limit

    # ----------------------------------------------------------------- scoring
    def _detector(self):
        """The detector the candidates run in: unwrapped, with SyncBN as BN when ranks differ."""
        if self._model is None:
            model = self.runner.model.module if is_model_wrapper(
                self.runner.model) else self.runner.model
            if get_world_size() > 1:
                model = revert_sync_batchnorm(model)
            self._model = model
            self.supernet = find_supernet(model)
            self.supernet.sample_per_forward = False
        return self._model

    def _search_metric(self):
        if self._search_loader is None:
            cfg = copy.deepcopy(self.search_dataloader_cfg)
            if get_world_size() > 1:
                cfg['sampler'] = dict(type='DetNASWholeSplitSampler')
            self._search_loader = self.runner.build_dataloader(cfg)
            evaluator = self.runner.build_evaluator(self.search_evaluator_cfg)
            if len(evaluator.metrics) != 1:
                raise ValueError('search_evaluator must hold one metric')
            self._metric = evaluator.metrics[0]
            self._metric.dataset_meta = self._search_loader.dataset.metainfo
        return self._search_loader, self._metric

    def _set_path(self, cand):
        model = self._detector()
        self.supernet.set_choice(list(cand))
        calibrate_bn(model, self.dataloader, **self.bn_calibration)
        return model

    def score(self, cand):
        """Fitness of ``cand``: bbox AP on the search split after BN calibration."""
        if self._target is not None:
            return float(np.mean(np.asarray(cand) == np.asarray(self._target)))
        model = self._set_path(cand)
        loader, metric = self._search_metric()
        with torch.no_grad():
            for data in loader:
                samples = [s.to_dict() for s in model.val_step(data)]  # as Evaluator.process
                metric.process(data_batch=data, data_samples=samples)
        if len(metric.results) != len(loader.dataset):  # e.g. a sampler that shards by rank
            raise RuntimeError(f'scored {len(metric.results)} of the {len(loader.dataset)} '
                               'search images; every rank must see the whole split')
        # compute on this rank only: ranks score different candidates
        metrics = metric.compute_metrics(metric.results)
        metric.results.clear()
        prefix = f'{metric.prefix}/' if metric.prefix else ''
        value = float(metrics.get(self.score_key[len(prefix):], 0.0) or 0.0)
        if self._kept_bn is None or value > self._kept_bn[1]:
            buffers = {
                n: b.detach().cpu().clone()
                for n, b in model.named_buffers()
                if n.endswith(('running_mean', 'running_var', 'num_batches_tracked'))
            }
            self._kept_bn = (tuple(cand), value, buffers)
        return value

    # ------------------------------------------------------------------ state
    def _read_work_dir(self):
        """(state, history) as found in ``work_dir`` (rank 0 reads, and rewrites the history
        without a line cut by a kill)."""
        history, state = [], None
        if osp.exists(self.history_path):
            with open(self.history_path) as f:
                for line in f:
                    try:
                        history.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a kill
                        break
            with open(self.history_path, 'w') as f:
                f.writelines(json.dumps(r) + '\n' for r in history)
        if osp.exists(self.state_path):
            with open(self.state_path) as f:
                state = json.load(f)
        return state, history

    def _load(self):
        """(generation, population, history) from ``work_dir`` (fresh if not resuming); rank 0
        reads the files and shares them, so every rank resumes the same search."""
        if not self.resume:
            if get_rank() == 0:
                for p in (self.history_path, self.state_path, self.best_path, self.subnet_path,
                          osp.join(self.work_dir, 'search_progress.png')):
                    if osp.exists(p):
                        os.remove(p)
            return 0, None, []
        state, history = _from_rank0(self._read_work_dir() if get_rank() == 0 else None)
        if state is not None:
            self.evolution.set_state(state['rng'])
            if self.supernet_weights is None and state.get('load_from'):
                self.supernet_weights = state['load_from']
                load_checkpoint(
                    self._detector(),
                    self.supernet_weights,
                    map_location='cpu',
                    logger=self.runner.logger)
                self.runner.logger.info('DetNAS search: supernet weights reloaded from '
                                        f'{self.supernet_weights}')
        self.runner.logger.info(f'DetNAS search: resuming with {len(history)} scored candidates' +
                                (f', generation {state["generation"]}' if state else ''))
        if state is None:
            return 0, None, history
        return state['generation'], [tuple(c) for c in state['population']], history

    def _save_state(self, generation, population):
        if get_rank() != 0:
            return
        tmp = self.state_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(
                dict(
                    generation=generation,
                    population=[list(c) for c in population],
                    rng=self.evolution.get_state(),
                    load_from=self.supernet_weights), f)
        os.replace(tmp, self.state_path)

    # ---------------------------------------------------------------- outputs
    def _genotype_info(self):
        return dict(
            stage_repeats=self.supernet.stage_repeats,
            stage_out_channels=self.supernet.stage_out_channels)

    def _write_best(self, history):
        if get_rank() != 0 or not history:
            return
        best = max(history, key=lambda r: r['score'])
        dump_genotype(
            self.best_path,
            best['genotype'],
            name='DetNAS search result',
            source=f'DetNASSearchLoop, {self.history_path}',
            score=best['score'],
            score_key=self.score_key if self._target is None else 'synthetic_match',
            backbone_flops_M=best['flops_M'],
            generation=best['generation'],
            **self._genotype_info())

    def _plot(self, history):
        if get_rank() != 0 or not history:
            return
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        gens = np.array([r['generation'] for r in history])
        scores = np.array([r['score'] for r in history])
        fig, ax = plt.subplots(figsize=(6, 3.5))
        jitter = (np.arange(len(gens)) % 9 - 4) * 0.04
        ax.plot(gens + jitter, scores, '.', alpha=0.5, label='candidate')
        best = [scores[gens <= g].max() for g in range(gens.max() + 1)]
        ax.plot(range(len(best)), best, '-o', label='best so far')
        ax.set_xlabel('generation')
        ax.set_ylabel(self.score_key if self._target is None else 'synthetic fitness')
        ax.set_title('DetNAS evolutionary search')
        ax.legend(loc='lower right')
        fig.tight_layout()
        fig.savefig(osp.join(self.work_dir, 'search_progress.png'), dpi=80)
        plt.close(fig)

    def _export(self, history):
        """Save the detector sliced to the best path, with the BN statistics it was scored with
        (kept by the rank that scored it); recalibrated only if they are gone (e.g. the best was
        scored before a resume)."""
        from .backbone import slice_supernet_state_dict
        best = max(history, key=lambda r: r['score'])
        cand = tuple(CHOICES.index(c) for c in best['genotype'])
        kept = self._kept_bn[2] if self._kept_bn and self._kept_bn[0] == cand else None
        if get_world_size() > 1:  # from the rank that scored it in this run, if any
            kept = next((k for k in all_gather_object(kept) if k is not None), None)
        if kept is None:
            model = self._set_path(cand)
            bn_stats = 'recalibrated at export'
        else:
            model = self._detector()
            self.supernet.set_choice(list(cand))
            model.load_state_dict(kept, strict=False)
            model.eval()
            bn_stats = 'as scored'
        if get_rank() != 0:
            return
        prefix = next(n for n, m in model.named_modules() if m is self.supernet) + '.'
        state = slice_supernet_state_dict(model.state_dict(), best['genotype'], prefix=prefix)
        meta = dict(
            genotype=best['genotype'],
            score=best['score'],
            bn_stats=bn_stats,
            **self._genotype_info())
        torch.save(
            dict(meta=meta, state_dict={
                k: v.cpu()
                for k, v in state.items()
            }), self.subnet_path)
        self.runner.logger.info(f'DetNAS search: best path sliced to {self.subnet_path} '
                                f'(BN statistics {bn_stats})')

    # -------------------------------------------------------------------- run
    def _evaluate(self, population, scores, history, generation, budget):
        """Score the unscored candidates of ``population``, ``world_size`` at a time."""
        logger = self.runner.logger
        rank, world = get_rank(), get_world_size()
        pending = [c for c in population if c not in scores]
        new = 0
        for start in range(0, len(pending), world):
            if budget is not None and new >= budget:
                return new, False
            chunk = pending[start:start + world]
            rec = None
            if rank < len(chunk):
                t0 = time.time()
                score = self.score(chunk[rank])
                rec = dict(
                    generation=generation,
                    genotype=[CHOICES[i] for i in chunk[rank]],
                    score=score,
                    flops_M=round(self.flops(chunk[rank]) / 1e6, 2),
                    wall_time_s=round(time.time() - t0, 2),
                    rank=rank)
            recs = all_gather_object(rec) if world > 1 else [rec]
            for cand, rec in zip(chunk, recs):
                scores[cand] = rec['score']
                history.append(rec)
                if rank == 0:
                    with open(self.history_path, 'a') as f:
                        f.write(json.dumps(rec) + '\n')
                logger.info(f'DetNAS search: generation {generation}, candidate '
                            f'{len(history)}: {self.score_key}={rec["score"]:.4f}, '
                            f'{rec["flops_M"]} MFLOPs ({rec["wall_time_s"]} s)')
            new += len(chunk)
        return new, True

    def run(self):
        logger = self.runner.logger
        self._detector()
        generation, population, history = self._load()
        scores = {tuple(CHOICES.index(c) for c in r['genotype']): r['score'] for r in history}
        if population is None:
            population = _from_rank0(self.evolution.initial_population(scores))
            self._save_state(generation, population)
        new = 0
        while generation < self.max_generations:
            budget = None if self.max_new_candidates is None else self.max_new_candidates - new
            got, finished = self._evaluate(population, scores, history, generation, budget)
            new += got
            self._write_best(history)
            self._plot(history)
            if not finished:
                logger.info('DetNAS search: max_new_candidates reached, stopping (rerun with '
                            '--resume to continue)')
                return self.runner.model
            top = self.evolution.parents(scores)
            logger.info(f'DetNAS search: generation {generation} done, {len(scores)} scored, '
                        f'top-{len(top)} {self.score_key}: '
                        f'{[round(scores[c], 4) for c in top]}')
            generation += 1
            self._iter = generation
            if generation < self.max_generations:
                population = _from_rank0(self.evolution.next_population(scores))
            self._save_state(generation, population)
        if self.export and self._target is None and history:
            self._export(history)
        return self.runner.model
