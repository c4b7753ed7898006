"""What a Hit-Detector search trains and scores: registered components (``train_cfg.objective``).

A differentiable search trains one supernet. The objective owns it and its data:

* :class:`HitDetDetectionObjective`: the paper's setting (Sec. 3.3): the config's detector with
  mixed ops (the runner's model); the training split is cut into two halves (a seeded 50/50 split
  of the images, paper: "network weights are trained on 50% of the training data, alpha, beta,
  gamma on the remaining 50%"); ``loss`` is the detection loss of a mini-batch.
* :class:`HitDetSyntheticObjective`: a toy supernet with a known optimum: a chain of mixed ops
  whose candidates are fixed random functions, and a target made by one candidate per position
  (the target genotype). Only the target ops fit the target exactly, so the search must pick
  them (tests, demos, the suite's contract test, the FLOPs-weight curve).

The interface the loop drives: ``setup(runner, loop)``, ``model`` (the supernet, an
``nn.Module`` with :class:`.MixedOp` positions), ``components`` (component -> module names of
its positions), ``batches(half, epoch)`` (``half`` = 'weights' or 'arch'; the same batches for
the same epoch, so a resumed epoch repeats itself), ``loss(batch) -> dict``,
``nominal_forward()`` (runs every position at the input size its FLOPs are counted at, see
:mod:`.flops_cost`), ``cost_scale`` (component -> factor of its counted FLOPs: the head's
RoIs), ``rewrap()`` (after pruning: a data-parallel model is wrapped anew),
``metric_keys`` and ``__call__(genotype, seed) -> Evaluation`` (metrics of
the genotype decoded at an epoch's end beyond the loop's own losses; the detection objective has
none, the synthetic one the match with its target).
"""
import copy
import itertools
import random
from typing import Dict, List, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from mmdet.registry import DATA_SAMPLERS, TASK_UTILS
from mmengine.dist import get_dist_info
from mmengine.model import is_model_wrapper
from torch.utils.data import Sampler

from .mixed_op import MixedOp, mixed_ops
from .ops import OPS


class Evaluation(NamedTuple):
    metrics: Dict[str, float]
    cost: Dict[str, float]


@DATA_SAMPLERS.register_module()
class HitDetHalfSampler(Sampler):
    """One half of a seeded 50/50 split of the dataset, shuffled per epoch, sharded over ranks
    (the supernet trains data-parallel). Every rank gets as many images: the shuffled half is
    padded with its first images to a multiple of the ranks, as mmengine's ``DefaultSampler``
    does, so no rank starts a data-parallel step that another rank does not take.

    Args:
        half (str): 'weights' or 'arch'.
        split_seed (int): seed of the 50/50 split (the same on every rank and every run).
    """

    def __init__(self, dataset, half: str, split_seed: int = 0, seed: Optional[int] = None):
        if half not in ('weights', 'arch'):
            raise ValueError(f"half must be 'weights' or 'arch', got {half!r}")
        self.dataset = dataset
        order = list(range(len(dataset)))
        random.Random(split_seed).shuffle(order)
        cut = len(order) // 2
        self.indices = sorted(order[:cut] if half == 'weights' else order[cut:])
        self.seed, self.epoch = seed or 0, 0
        self.rank, self.world = get_dist_info()

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = [self.indices[i] for i in torch.randperm(len(self.indices), generator=g)]
        order += order[:len(self) * self.world - len(order)]
        return iter(order[self.rank::self.world])

    def __len__(self) -> int:
        return -(-len(self.indices) // self.world)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


@TASK_UTILS.register_module()
class HitDetDetectionObjective:
    """The detector supernet on two halves of the training split (the paper's search).

    Args:
        split_seed (int): seed of the 50/50 split of the training images.
        max_batches (int, optional): batches of each half per epoch (None: the whole half; a
            small number makes CPU toy searches affordable).
        nominal_sizes (dict): input sizes the candidates' FLOPs are measured at
            (:mod:`.flops_cost`): ``backbone`` (image side; official ``fbnet.py``: 800),
            ``neck`` (image side whose backbone features feed the neck; official
            ``hit_neck_search.py``: 160/80/40/20 maps, i.e. 640), ``roi`` (RoI side, 7),
            ``rois`` (RoIs per image the head's FLOPs count: 1000, the proposals Faster R-CNN's
            head runs on at test time, as the paper counts the detector's FLOPs; the head's
            candidates are counted on one RoI and scaled, which is exact for convs and linears).
    """

    metric_keys = set()

    def __init__(self,
                 split_seed: int = 0,
                 max_batches: Optional[int] = None,
                 nominal_sizes: Optional[dict] = None):
        self.split_seed, self.max_batches = split_seed, max_batches
        self.nominal_sizes = dict(backbone=800, neck=640, roi=7, rois=1000)
        unknown = set(nominal_sizes or {}) - set(self.nominal_sizes)
        if unknown:
            raise ValueError(f'nominal_sizes: unknown keys {sorted(unknown)}; expected '
                             f'{sorted(self.nominal_sizes)}')
        self.nominal_sizes.update(nominal_sizes or {})
        for key, value in self.nominal_sizes.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise TypeError(f'nominal_sizes.{key} must be a positive int, got {value!r}')
        self.cost_scale = dict(head=self.nominal_sizes['rois'])

    def setup(self, runner, loop) -> None:
        self.runner = runner
        self.model = runner.model  # DDP-wrapped under --launcher pytorch: data-parallel
        module = self.model.module if is_model_wrapper(self.model) else self.model
        self.components = {  # module names in the supernet (the unwrapped detector)
            name: [f'{attr}.{n}' for n, _ in mixed_ops(getattr(module, attr))]
            for name, attr in (('backbone', 'backbone'), ('neck', 'neck'), ('head', 'roi_head'))
        }
        self.components = {k: v for k, v in self.components.items() if v}  # searched ones
        cfg = copy.deepcopy(loop.dataloader_cfg)
        cfg['sampler'] = dict(type='HitDetHalfSampler', half='arch', split_seed=self.split_seed)
        cfg.pop('batch_sampler', None)
        cfg['persistent_workers'] = False  # new workers per epoch, seeded by the loop's epoch
        # the weights half is the loop's own loader (built with this split_seed)
        self.loaders = dict(
            weights=loop.dataloader, arch=runner.build_dataloader(cfg, seed=loop.seed))

    @torch.no_grad()
    def nominal_forward(self) -> None:
        """The backbone on a ``backbone``-sized image, the neck on the backbone's features of a
        ``neck``-sized image, the RoI head's blocks on one ``roi``-sized RoI feature (scaled to
        ``rois`` RoIs by ``cost_scale``)."""
        module = self.model.module if is_model_wrapper(self.model) else self.model
        sizes = self.nominal_sizes
        device = next(module.parameters()).device
        module.backbone(torch.zeros(1, 3, sizes['backbone'], sizes['backbone'], device=device))
        module.neck(module.backbone(torch.zeros(1, 3, sizes['neck'], sizes['neck'], device=device)))
        head = module.roi_head.bbox_head
        head(torch.zeros(1, head.in_channels, sizes['roi'], sizes['roi'], device=device))

    def batches(self, half: str, epoch: int):
        loader = self.loaders[half]
        loader.sampler.set_epoch(epoch)
        return itertools.islice(loader, self.max_batches)

    def rewrap(self) -> None:
        """A new data-parallel wrapper after pruning: DDP reduces the gradients of the parameters
        it was built with, and pruning replaces a position's ops and architecture weights."""
        if is_model_wrapper(self.model):
            self.model = self.runner.wrap_model(
                self.runner.cfg.get('model_wrapper_cfg'), self.model.module)
            self.runner.model = self.model  # what hooks and checkpoints see

    def loss(self, batch) -> Dict[str, torch.Tensor]:
        module = self.model.module if is_model_wrapper(self.model) else self.model
        data = module.data_preprocessor(batch, True)
        losses = self.model(**data, mode='loss')  # through DDP: gradients reduced over ranks
        return {
            k: sum(v) if isinstance(v, (list, tuple)) else v
            for k, v in losses.items() if 'loss' in k
        }

    def __call__(self, genotype, seed: int) -> Evaluation:
        """Nothing beyond the loop's losses: the paper decodes without evaluating."""
        return Evaluation({}, {})


def _data(value):
    """A dict as given, or the dict of a YAML file."""
    if isinstance(value, str):
        with open(value) as f:
            value = yaml.safe_load(f)
    if not isinstance(value, dict):
        raise TypeError(f'expected a dict (component -> op names) or a YAML file of one, got '
                        f'{value!r}')
    return value


class _SyntheticSupernet(nn.Module):
    """A chain of mixed ops per component on an ``channels x size x size`` map."""

    def __init__(self, components: Dict[str, List[str]], positions: int, channels: int):
        super().__init__()
        self.components = nn.ModuleDict({
            name:
            nn.Sequential(*[
                MixedOp({op: OPS[op](channels, channels, 1, dict(type='BN'))
                         for op in ops}) for _ in range(positions)
            ])
            for name, ops in components.items()
        })

    def forward(self, x):
        for seq in self.components.values():
            x = seq(x)
        return x

    def train(self, mode: bool = True):
        """Always eval: BN with fixed statistics keeps every candidate a fixed function."""
        return super().train(False)


@TASK_UTILS.register_module()
class HitDetSyntheticObjective:
    """A toy supernet where one op per position is clearly best (see the module docstring).

    Args:
        target (dict | str): component -> list of op names, one per position (the known
            optimum), or a YAML file of it; every op must be a candidate of its component.
        candidates (dict | str): component -> candidate op names (a sub-space, or the 32-op
            pool for screening), or a YAML file of it.
        channels, size (int): the feature map the ops run on.
        num_batches (int): batches per half and epoch; batch_size (int): maps per batch.
    """

    metric_keys = {'synthetic/match'}
    cost_scale: Dict[str, int] = {}

    def __init__(self,
                 target,
                 candidates,
                 channels: int = 8,
                 size: int = 8,
                 num_batches: int = 4,
                 batch_size: int = 8):
        target, candidates = _data(target), _data(candidates)
        for comp, ops in target.items():
            missing = [op for op in ops if op not in candidates.get(comp, ())]
            if missing:
                raise ValueError(f'target {comp}: {missing} are not candidates of {comp}')
        self.target, self.candidates = target, candidates
        self.channels, self.size = channels, size
        self.num_batches, self.batch_size = num_batches, batch_size

    def setup(self, runner, loop) -> None:
        torch.manual_seed(loop.seed)
        positions = {len(v) for v in self.target.values()}
        if len(positions) != 1:
            raise ValueError('every component of the synthetic target needs as many positions')
        model = _SyntheticSupernet(self.candidates, positions.pop(), self.channels)
        for p in model.parameters():  # the candidates are fixed random functions
            p.requires_grad_(False)
        for _, m in mixed_ops(model):
            m.arch_alpha.requires_grad_(True)
        model.train()  # = eval, see _SyntheticSupernet.train
        self.teacher = copy.deepcopy(model)
        for comp, ops in self.target.items():
            for m, op in zip(self.teacher.components[comp], ops):
                m.keep([op])
        self.model = model
        self.components = {
            comp: [f'components.{comp}.{i}' for i in range(len(seq))]
            for comp, seq in model.components.items()
        }
        self.seed = loop.seed

    @torch.no_grad()
    def nominal_forward(self) -> None:
        self.model(torch.zeros(1, self.channels, self.size, self.size))

    def rewrap(self) -> None:
        """Nothing to do: the toy supernet is never wrapped (every rank computes the same)."""

    def batches(self, half: str, epoch: int):
        g = torch.Generator().manual_seed(self.seed * 1000 + epoch * 2 + (half == 'arch'))
        for _ in range(self.num_batches):
            x = torch.randn(self.batch_size, self.channels, self.size, self.size, generator=g)
            with torch.no_grad():
                y = self.teacher(x)
            yield x, y

    def loss(self, batch) -> Dict[str, torch.Tensor]:
        x, y = batch
        return {'loss_mse': F.mse_loss(self.model(x), y)}

    def __call__(self, genotype, seed: int) -> Evaluation:
        hits = sum(a == b for comp, ops in self.target.items() for a, b in zip(genotype[comp], ops))
        return Evaluation({'synthetic/match': hits / sum(map(len, self.target.values()))}, {})
