"""``NASFPNSearchLoop``: the NAS-FPN architecture search as an MMEngine loop.

Paper Sec. 3 / 3.2: an RNN controller samples pyramid cells; each sampled architecture is
trained on a proxy task (small ResNet, reduced image size, short schedule, pyramid repeated 3
times) and its AP on held-out images of the *training* set is the reward; the controller is
updated with PPO; the architecture with the highest proxy AP is kept.

Run with ``mim train mmdet CONFIG`` where the config sets
``train_cfg=dict(type='NASFPNSearchLoop', ...)``; the config's ``model`` is the proxy detector
(its ``neck.genotype`` is replaced by each sample). Files written into ``work_dir``:

* ``search_history.jsonl``: one line per trained candidate (step, sample, seed, genotype,
  score, cost, wall time); a genotype sampled again (same :func:`.genotype_key`, which also
  matches mirrored inputs that build the same network) is not retrained, its score is reused;
* ``samples.jsonl``: one line per sampled genotype (step, sample, genotype, the reward the
  controller got, ``candidate`` = its line in ``search_history.jsonl``, ``duplicate_of`` =
  the step/sample that trained it, null if trained here), i.e. every sampled architecture;
* ``search_state.pth``: controller + PPO state, the step and its pending samples, so that
  ``--resume`` (or a rerun with ``resume=True``) continues after a kill without losing any
  finished candidate;
* ``best_genotype.yaml``: the best genotype so far, the input of a retrain config as is;
* ``search_progress.png``: score of every candidate and the running best.
"""
import copy
import json
import os
import os.path as osp
import time

import numpy as np
import torch
from mmdet.registry import LOOPS, MODELS
from mmengine.dist import get_world_size
from mmengine.optim import build_optim_wrapper
from mmengine.runner import BaseLoop, set_random_seed

from .controller import LSTMController, PPOTrainer
from .genotype import dump_genotype, genotype_key, genotype_to_list, load_genotype
from .search_space import NASFPNSearchSpace


def neck_cost(genotype, channels, stack_times, hw, min_level=3):
    """Analytic cost of the pyramid cells: params (M) and MACs (G) of the post-merge convs."""
    per_conv = channels * channels * 9 + channels + 2 * channels  # conv + bias + BN affine
    macs = 0
    for cell in genotype:
        s = 2**cell.level
        macs += channels * channels * 9 * -(-hw[0] // s) * -(-hw[1] // s)
    return dict(
        neck_cells_params_M=round(stack_times * len(genotype) * per_conv / 1e6, 4),
        neck_cells_GMACs=round(stack_times * macs / 1e9, 4))


@LOOPS.register_module()
class NASFPNSearchLoop(BaseLoop):
    """Controller search over NAS-FPN cells (see the module docstring).

    Args:
        runner, dataloader: given by the runner (``dataloader`` = the proxy's training split).
        num_steps (int): controller updates.
        samples_per_step (int): architectures sampled per update (PPO batch).
        num_cells (int): merging cells per pyramid cell (7 as published).
        intermediate_levels (tuple): levels allowed for non-output cells (paper: not P3).
        controller (dict): ``hidden_size`` of the LSTM.
        ppo (dict): :class:`PPOTrainer` arguments (lr, clip, epochs, entropy_weight, ...).
        proxy (dict): proxy training: ``max_iters``, ``optim_wrapper`` (mmengine config),
            ``warmup_iters``, ``lr_decay_at`` (fraction of ``max_iters`` where lr x0.1; paper:
            epoch 8 of 10), ``cost_input`` (H, W of the reported neck cost).
        search_dataloader, search_evaluator (dict): the held-out split the reward is read on;
            default: the config's top-level ``search_dataloader``/``search_evaluator``.
        score_key (str): metric used as reward (COCO bbox AP).
        reward (dict, optional): ``dict(type='match', target=YAML)`` replaces proxy training by
            the fraction of decisions equal to ``target`` (a synthetic objective for tests).
        max_new_candidates (int, optional): stop this run after training that many new
            candidates (a time budget; rerun with ``--resume`` to continue).
        resume (bool, optional): continue from ``work_dir`` state; default: the runner's resume.
        seed (int): controller sampling seed; candidate ``n`` (n-th sample of the search) is
            trained with ``set_random_seed(seed + n)``.
    """

    def __init__(self,
                 runner,
                 dataloader,
                 num_steps=10,
                 samples_per_step=4,
                 num_cells=7,
                 intermediate_levels=(4, 5, 6, 7),
                 controller=dict(hidden_size=64),
                 ppo=dict(),
                 proxy=dict(),
                 search_dataloader=None,
                 search_evaluator=None,
                 score_key='coco/bbox_mAP',
                 reward=None,
                 max_new_candidates=None,
                 resume=None,
                 seed=0):
        super().__init__(runner, dataloader)
        self.num_steps = num_steps
        self.samples_per_step = samples_per_step
        neck = runner.cfg.model.get('neck', {})
        min_level = neck.get('min_level', 3)
        num_outs = neck.get('num_outs', 5)
        self.space = NASFPNSearchSpace(num_cells, min_level, min_level + num_outs - 1,
                                       intermediate_levels)
        self.seed = seed
        torch.manual_seed(seed)
        self.ppo = PPOTrainer(LSTMController(self.space, **controller), **ppo)
        self.generator = torch.Generator().manual_seed(seed)
        self.proxy = dict(
            max_iters=100,
            optim_wrapper=dict(
                type='OptimWrapper',
                optimizer=dict(type='SGD', lr=0.08, momentum=0.9, weight_decay=1e-4),
                clip_grad=dict(max_norm=10, norm_type=2)),
            warmup_iters=20,
            lr_decay_at=0.8,
            cost_input=(512, 512))
        self.proxy.update(proxy)
        self.search_dataloader_cfg = search_dataloader or runner.cfg.get('search_dataloader')
        self.search_evaluator_cfg = search_evaluator or runner.cfg.get('search_evaluator')
        self.score_key = score_key
        self.reward_cfg = reward
        self.max_new_candidates = max_new_candidates
        self.resume = runner._resume if resume is None else resume
        self.work_dir = runner.work_dir
        self.history_path = osp.join(self.work_dir, 'search_history.jsonl')
        self.samples_path = osp.join(self.work_dir, 'samples.jsonl')
        self.plot_path = osp.join(self.work_dir, 'search_progress.png')
        self.state_path = osp.join(self.work_dir, 'search_state.pth')
        self.best_path = osp.join(self.work_dir, 'best_genotype.yaml')
        self._search_loader = None
        self._evaluator = None
        self._target = None
        if reward is not None:
            assert reward.get('type') == 'match', f'unknown reward {reward}'
            self._target = self.space.encode(load_genotype(reward['target']))

    # ------------------------------------------------------------------ state
    # The runner and its hooks read these counters; a search step counts as one iteration.
    _epoch = 0
    _iter = 0

    @property
    def max_iters(self):
        return self.num_steps

    @property
    def max_epochs(self):
        return 1

    @property
    def iter(self):
        return self._iter

    @property
    def epoch(self):
        return self._epoch

    def _save_state(self, step, pending, num_samples):
        state = dict(
            step=step,
            pending=pending,
            num_samples=num_samples,
            ppo=self.ppo.state_dict(),
            generator=self.generator.get_state())
        tmp = self.state_path + '.tmp'
        torch.save(state, tmp)
        os.replace(tmp, self.state_path)

    @staticmethod
    def _read_jsonl(path):
        """Records of a JSON-lines log; a last line cut by a kill is dropped from the file."""
        records = []
        if not osp.exists(path):
            return records
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        records.append(json.loads(line))
                    except json.JSONDecodeError:
                        break
        with open(path, 'w') as f:
            f.writelines(json.dumps(r) + '\n' for r in records)
        return records

    def _load(self):
        """(next step, pending samples, #samples, history, samples log) from ``work_dir``."""
        if not self.resume:
            for p in (self.history_path, self.samples_path, self.state_path, self.best_path,
                      self.plot_path):
                if osp.exists(p):
                    os.remove(p)
            return 0, None, 0, [], []
        history = self._read_jsonl(self.history_path)
        samples = self._read_jsonl(self.samples_path)
        if not osp.exists(self.state_path):
            return 0, None, 0, history, samples
        state = torch.load(self.state_path, map_location='cpu', weights_only=True)
        self.ppo.load_state_dict(state['ppo'])
        self.generator.set_state(state['generator'])
        self.runner.logger.info(f'NAS-FPN search: resumed at step {state["step"]} with '
                                f'{len(history)} trained candidates')
        return state['step'], state['pending'], state['num_samples'], history, samples

    # ----------------------------------------------------------------- reward
    def _set_epoch(self, epoch):
        """Reshuffle the proxy's training data each epoch (mmengine ``DistSamplerSeedHook``)."""
        sampler = self.dataloader.sampler
        if not hasattr(sampler, 'set_epoch'):
            sampler = getattr(self.dataloader.batch_sampler, 'sampler', None)
        if hasattr(sampler, 'set_epoch'):
            sampler.set_epoch(epoch)

    def _proxy_score(self, genotype, seed):
        """Train the proxy detector with ``genotype`` and return its held-out AP.

        Every candidate sees the same data order (epoch ``e`` shuffled with the dataloader's
        seed + ``e``); its weights are initialised with ``seed``.
        """
        runner = self.runner
        set_random_seed(seed)
        cfg = copy.deepcopy(runner.cfg.model)
        cfg.neck.genotype = genotype_to_list(genotype)
        model = MODELS.build(cfg)
        model.init_weights()
        device = next(runner.model.parameters()).device
        model.to(device)
        optim = build_optim_wrapper(model, copy.deepcopy(self.proxy['optim_wrapper']))
        base_lrs = [g['lr'] for g in optim.optimizer.param_groups]
        max_iters = self.proxy['max_iters']
        warmup = self.proxy['warmup_iters']
        decay_at = int(self.proxy['lr_decay_at'] * max_iters)
        model.train()
        it = epoch = 0
        while it < max_iters:
            self._set_epoch(epoch)
            epoch += 1
            for data in self.dataloader:
                factor = min(1.0, (it + 1) / warmup) if warmup else 1.0
                if it >= decay_at:
                    factor *= 0.1
                for g, lr in zip(optim.optimizer.param_groups, base_lrs):
                    g['lr'] = lr * factor
                model.train_step(data, optim)
                it += 1
                if it >= max_iters:
                    break
        if self._search_loader is None:
            self._search_loader = runner.build_dataloader(self.search_dataloader_cfg)
            self._evaluator = runner.build_evaluator(self.search_evaluator_cfg)
            self._evaluator.dataset_meta = self._search_loader.dataset.metainfo
        model.eval()
        with torch.no_grad():
            for data in self._search_loader:
                outputs = model.val_step(data)
                self._evaluator.process(data_samples=outputs, data_batch=data)
        metrics = self._evaluator.evaluate(len(self._search_loader.dataset))
        return float(metrics.get(self.score_key, 0.0) or 0.0)

    def _score(self, actions, genotype, seed):
        if self._target is not None:
            return float(np.mean(np.asarray(actions) == np.asarray(self._target)))
        return self._proxy_score(genotype, seed)

    # -------------------------------------------------------------- outputs
    def _write_best(self, history):
        if not history:
            return
        best = max(history, key=lambda r: r['score'])
        dump_genotype(
            best['genotype'],
            self.best_path,
            source=f'NASFPNSearchLoop, {self.history_path}',
            score=best['score'],
            score_key=self.score_key if self._target is None else 'synthetic_match',
            step=best['step'])

    def _plot(self, history):
        if not history:
            return
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        scores = [r['score'] for r in history]
        fig, ax = plt.subplots(figsize=(6, 3.5))
        ax.plot(range(1, len(scores) + 1), scores, '.', label='candidate')
        ax.plot(range(1, len(scores) + 1), np.maximum.accumulate(scores), '-', label='best')
        ax.set_xlabel('trained candidate')
        ax.set_ylabel(self.score_key if self._target is None else 'synthetic reward')
        ax.set_title('NAS-FPN controller search')
        ax.legend(loc='lower right')
        fig.tight_layout()
        fig.savefig(self.plot_path, dpi=80)
        plt.close(fig)

    # ------------------------------------------------------------------- run
    def run(self):
        logger = self.runner.logger
        if get_world_size() > 1:
            raise RuntimeError('NASFPNSearchLoop trains candidates one after another in one '
                               'process; launch it without --launcher pytorch')
        step, pending, num_samples, history, samples = self._load()
        space = self.space
        levels = (space.min_level, space.max_level)
        # genotype key -> index of its search_history.jsonl line
        cache = {
            genotype_key(load_genotype(r['genotype'], *levels), *levels): n
            for n, r in enumerate(history)
        }
        logged = {(r['step'], r['sample']) for r in samples}
        new = 0
        while step < self.num_steps:
            if pending is None:
                actions, logp = self.ppo.sample(self.samples_per_step, self.generator)
                pending = dict(actions=actions.tolist(), log_prob=logp.tolist())
                num_samples += self.samples_per_step
                self._save_state(step, pending, num_samples)
            rewards = []
            for k, actions in enumerate(pending['actions']):
                genotype = space.decode(actions)
                key = genotype_key(genotype, *levels)
                if key not in cache:
                    if self.max_new_candidates is not None and new >= self.max_new_candidates:
                        logger.info('NAS-FPN search: max_new_candidates reached, stopping '
                                    '(rerun with --resume to continue)')
                        return self.runner.model
                    t0 = time.time()
                    seed = self.seed + step * self.samples_per_step + k
                    score = self._score(actions, genotype, seed)
                    rec = dict(
                        step=step,
                        sample=k,
                        seed=seed,
                        genotype=genotype_to_list(genotype),
                        score=score,
                        cost=neck_cost(genotype, self.runner.cfg.model.neck.out_channels,
                                       self.runner.cfg.model.neck.get('stack_times', 7),
                                       self.proxy['cost_input']),
                        wall_time_s=round(time.time() - t0, 2))
                    with open(self.history_path, 'a') as f:
                        f.write(json.dumps(rec) + '\n')
                    history.append(rec)
                    cache[key] = len(history) - 1
                    new += 1
                    self._write_best(history)
                    self._plot(history)
                    logger.info(f'NAS-FPN search: step {step} sample {k}: {self.score_key}='
                                f'{score:.4f} ({rec["wall_time_s"]} s), {len(history)} unique '
                                f'/ {num_samples} sampled')
                first = history[cache[key]]
                rewards.append(first['score'])
                if (step, k) not in logged:
                    trained_here = (first['step'], first['sample']) == (step, k)
                    rec = dict(
                        step=step,
                        sample=k,
                        genotype=genotype_to_list(genotype),
                        score=first['score'],
                        candidate=cache[key],
                        duplicate_of=None if trained_here else dict(
                            step=first['step'], sample=first['sample']))
                    with open(self.samples_path, 'a') as f:
                        f.write(json.dumps(rec) + '\n')
                    logged.add((step, k))
            stats = self.ppo.update(pending['actions'], pending['log_prob'], rewards)
            best = max(r['score'] for r in history)
            logger.info(f'NAS-FPN search: step {step} done, mean reward '
                        f'{np.mean(rewards):.4f}, best {best:.4f}, {stats}')
            step += 1
            self._iter = step
            pending = None
            self._save_state(step, pending, num_samples)
        self._write_best(history)
        self._plot(history)
        return self.runner.model
