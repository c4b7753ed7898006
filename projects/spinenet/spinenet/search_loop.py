"""``SpineNetSearchLoop``: the paper's search as an MMEngine train loop.

Paper Sec. 5.1 ("NAS details"): an RNN controller samples architectures; each is trained on a
proxy task (SpineNet-49 with feature dimension x0.25, resample alpha 0.25, 64-wide box/class
nets, 512 px, 5 epochs) and its AP on 7392 images held out of COCO train2017 is the reward;
the controller is trained by reinforcement learning (see :mod:`.controller`).

Here each step samples ``samples_per_step`` genotypes, trains each one from scratch as the
config's ``model`` (the proxy; its ``backbone.genotype`` replaced) on ``train_dataloader`` with the
config's ``optim_wrapper`` for ``proxy_epochs``, scores it with ``search_evaluator`` on
``search_dataloader`` (held out of train), and updates the controller with REINFORCE.

Everything lives in ``work_dir``:
  search_history.jsonl  one line per evaluated candidate (genotype, score, cost, wall time)
  search_state.pth      controller + optimiser + baseline, the step, the step's pending samples
  best_genotype.yaml    the best genotype so far (drop-in ``model.backbone.genotype``)
  search_progress.png   score per candidate, best so far, controller's mean reward per step
Killed and restarted in the same ``work_dir`` (``mim train ... --resume`` or not), it continues
from the stored state: finished candidates are read back from the history, not retrained. The
state is saved after each controller update, so a kill between an update and its save redoes
that update once from the saved (pre-update) controller, with the same stored samples.
"""
import copy
import json
import math
import os
import os.path as osp
import time
from typing import Dict, List, Optional

import torch
from mmdet.registry import LOOPS, MODELS
from mmengine.device import get_device
from mmengine.dist import is_distributed, is_main_process
from mmengine.evaluator import Evaluator
from mmengine.optim import build_optim_wrapper
from mmengine.runner import BaseLoop, Runner

from .controller import Reinforce, SpineNetController
from .genotype import dump_genotype, genotype_key, genotype_to_dict
from .search_space import SpineNetSearchSpace


@LOOPS.register_module()
class SpineNetSearchLoop(BaseLoop):
    """REINFORCE search over SpineNet genotypes with proxy-task AP as reward.

    Args:
        runner: the MMEngine runner (given by ``Runner.build_train_loop``).
        dataloader: the proxy's training dataloader config (``train_dataloader``).
        num_steps: controller updates.
        samples_per_step: architectures sampled (and trained) per update.
        proxy_epochs: training epochs per candidate (paper: 5).
        proxy_max_iters: optional cap of iterations per candidate (CPU smoke runs).
        warmup_iters: linear lr warm-up per candidate, then cosine decay to 0 (our choice:
            the paper gives no proxy schedule).
        search_dataloader / search_evaluator: where candidates are scored; default the
            config's ``search_dataloader`` / ``search_evaluator``.
        reward_key: the metric used as reward (COCO box AP).
        space: kwargs of :class:`SpineNetSearchSpace`.
        controller: kwargs of :class:`SpineNetController` plus ``lr``, ``baseline_decay``,
            ``entropy_weight`` for :class:`Reinforce`.
        seed: seeds the controller's sampling.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 num_steps: int = 10,
                 samples_per_step: int = 4,
                 proxy_epochs: int = 5,
                 proxy_max_iters: Optional[int] = None,
                 warmup_iters: int = 50,
                 search_dataloader=None,
                 search_evaluator=None,
                 reward_key: str = 'coco/bbox_mAP',
                 space: Optional[dict] = None,
                 controller: Optional[dict] = None,
                 seed: int = 0):
        self._runner = runner
        self._dataloader_cfg = dataloader
        self.num_steps, self.samples_per_step = num_steps, samples_per_step
        self.proxy_epochs, self.proxy_max_iters = proxy_epochs, proxy_max_iters
        self.warmup_iters = warmup_iters
        cfg = runner.cfg
        self.search_dataloader_cfg = search_dataloader or cfg.get('search_dataloader')
        self.search_evaluator_cfg = search_evaluator or cfg.get('search_evaluator')
        if self.search_dataloader_cfg is None or self.search_evaluator_cfg is None:
            raise ValueError('SpineNetSearchLoop needs `search_dataloader` and '
                             '`search_evaluator` (a split held out of train)')
        self.reward_key = reward_key
        self.space = SpineNetSearchSpace(**(space or {}))
        ctrl = dict(controller or {})
        rl = {k: ctrl.pop(k) for k in ('lr', 'baseline_decay', 'entropy_weight') if k in ctrl}
        torch.manual_seed(seed)
        self.controller = SpineNetController(self.space, **ctrl)
        self.reinforce = Reinforce(self.controller, **rl)
        self.generator = torch.Generator().manual_seed(seed)
        self.seed = seed
        self.step = 0
        self.pending: Optional[List[List[int]]] = None
        self._iter = 0
        work_dir = runner.work_dir
        self.history_path = osp.join(work_dir, 'search_history.jsonl')
        self.state_path = osp.join(work_dir, 'search_state.pth')
        self.best_path = osp.join(work_dir, 'best_genotype.yaml')
        self.plot_path = osp.join(work_dir, 'search_progress.png')

    # --- what the runner / hooks may ask a train loop
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
        return self._iter

    # --- persistence
    def _read_history(self) -> List[dict]:
        if not osp.isfile(self.history_path):
            return []
        rows = []
        with open(self.history_path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        rows.append(json.loads(line))
                    except json.JSONDecodeError:  # a line cut by a kill
                        continue
        return rows

    def _append_history(self, row: dict):
        if not is_main_process():
            return
        with open(self.history_path, 'a') as f:
            f.write(json.dumps(row) + '\n')

    def _save_state(self):
        if not is_main_process():
            return
        state = dict(
            step=self.step,
            pending=self.pending,
            reinforce=self.reinforce.state_dict(),
            generator=self.generator.get_state())
        tmp = self.state_path + '.tmp'
        torch.save(state, tmp)
        os.replace(tmp, self.state_path)

    def _load_state(self) -> bool:
        if not osp.isfile(self.state_path):
            return False
        state = torch.load(self.state_path, map_location='cpu', weights_only=False)
        self.step, self.pending = state['step'], state['pending']
        self.reinforce.load_state_dict(state['reinforce'])
        self.generator.set_state(state['generator'])
        return True

    # --- one candidate
    def _build_proxy(self, specs):
        cfg = copy.deepcopy(self._runner.cfg.model)
        cfg.backbone.genotype = genotype_to_dict(specs)
        model = MODELS.build(cfg)
        model.init_weights()
        model = model.to(get_device())
        if is_distributed():  # `--launcher pytorch`: candidates train data-parallel
            from mmengine.model import MMDistributedDataParallel
            model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
            model = MMDistributedDataParallel(
                module=model,
                device_ids=[torch.cuda.current_device()],
                broadcast_buffers=False,
                find_unused_parameters=False)
        return model

    def _train_candidate(self, model) -> int:
        optim = build_optim_wrapper(model, copy.deepcopy(self._runner.cfg.optim_wrapper))
        base_lrs = [g['lr'] for g in optim.param_groups]
        total = self.proxy_epochs * len(self.train_loader)
        if self.proxy_max_iters:
            total = min(total, self.proxy_max_iters)
        model.train()
        it = 0
        while it < total:
            for data in self.train_loader:
                if it >= total:
                    break
                warm = min(1., (it + 1) / max(1, self.warmup_iters))
                cos = 0.5 * (1 + math.cos(math.pi * it / total))
                for g, lr in zip(optim.param_groups, base_lrs):
                    g['lr'] = lr * warm * cos
                model.train_step(data, optim)
                it += 1
        return it

    @torch.no_grad()
    def _score(self, model) -> Dict[str, float]:
        model.eval()
        evaluator = Evaluator(copy.deepcopy(self.search_evaluator_cfg))
        evaluator.dataset_meta = self.search_loader.dataset.metainfo
        for data in self.search_loader:
            evaluator.process(data_samples=model.val_step(data), data_batch=data)
        try:
            return evaluator.evaluate(len(self.search_loader.dataset))
        except Exception as e:  # an untrained proxy can have no detections at all
            self._runner.logger.warning(f'search evaluation failed ({e}); reward 0')
            return {}

    def _evaluate(self, actions, index, history):
        specs = self.space.decode(actions)
        key = genotype_key(specs)
        done = {(r['step'], r['index']): r for r in history}
        if (self.step, index) in done:
            return done[(self.step, index)]['score']
        cached = next((r for r in history if r['key'] == key), None)
        t0 = time.time()
        if cached is not None:
            score, cost, metrics = cached['score'], cached['cost'], {}
        else:
            torch.manual_seed(self.seed * 100003 + self.step * 101 + index)
            model = self._build_proxy(specs)
            params = sum(p.numel() for p in model.parameters()) / 1e6
            iters = self._train_candidate(model)
            metrics = self._score(model)
            score = float(metrics.get(self.reward_key, 0.) or 0.)
            cost = dict(
                params_m=round(params, 4), train_iters=iters, train_s=round(time.time() - t0, 2))
        row = dict(
            step=self.step,
            index=index,
            key=key,
            genotype=[s.to_list() for s in specs],
            actions=list(map(int, actions)),
            score=score,
            cost=cost,
            wall_time_s=round(time.time() - t0, 2),
            cached=cached is not None,
            time=time.strftime('%Y-%m-%dT%H:%M:%S'))
        self._append_history(row)
        history.append(row)
        self._runner.logger.info(f'[search] step {self.step} cand {index}: {self.reward_key}='
                                 f'{score:.4f} params={cost.get("params_m")}M '
                                 f'({row["wall_time_s"]}s){" cached" if row["cached"] else ""}')
        return score

    # --- outputs
    def _write_best(self, history):
        if not history or not is_main_process():
            return
        best = max(history, key=lambda r: (r['score'], -r['step'], -r['index']))
        dump_genotype([tuple(b) for b in best['genotype']],
                      self.best_path,
                      name='SpineNet search best',
                      score=best['score'],
                      reward_key=self.reward_key,
                      step=best['step'],
                      index=best['index'])

    def _plot(self, history):
        if not is_main_process():
            return
        try:
            import matplotlib
            matplotlib.use('Agg')
            import matplotlib.pyplot as plt
        except ImportError:  # pragma: no cover
            return
        scores = [r['score'] for r in history]
        best = [max(scores[:i + 1]) for i in range(len(scores))]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(scores, '.', label='candidate')
        ax.plot(best, '-', label='best so far')
        steps = sorted({r['step'] for r in history})
        means = [
            sum(r['score'] for r in history if r['step'] == s) /
            max(1, sum(1 for r in history if r['step'] == s)) for s in steps
        ]
        xs = [max(i for i, r in enumerate(history) if r['step'] == s) for s in steps]
        ax.plot(xs, means, 's--', label='step mean (controller)')
        ax.set_xlabel('candidate')
        ax.set_ylabel(self.reward_key)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(self.plot_path, dpi=100)
        plt.close(fig)

    def run(self):
        runner = self._runner
        resumed = self._load_state()
        history = self._read_history()
        if resumed:
            runner.logger.info(f'[search] resumed at step {self.step} with {len(history)} '
                               f'candidates in {self.history_path}')
        self.train_loader = Runner.build_dataloader(
            copy.deepcopy(self._dataloader_cfg), seed=self.seed)
        self.search_loader = Runner.build_dataloader(copy.deepcopy(self.search_dataloader_cfg))
        while self.step < self.num_steps:
            if self.pending is None:
                with torch.no_grad():
                    out = self.controller(self.samples_per_step, generator=self.generator)
                self.pending = out['actions'].tolist()
                self._save_state()
            rewards = []
            for i, actions in enumerate(self.pending):
                rewards.append(self._evaluate(actions, i, history))
                self._iter += 1
                self._write_best(history)
                self._plot(history)
            stats = self.reinforce.update(self.pending, rewards)
            runner.logger.info(f'[search] step {self.step} done: ' +
                               ', '.join(f'{k}={v:.4f}' for k, v in stats.items()))
            self.step += 1
            self.pending = None
            self._save_state()
        self._write_best(history)
        self._plot(history)
        return runner.model
