"""What an Auto-FPN search trains and scores: registered components (``train_cfg.objective``).

A differentiable search trains one supernet; the objective owns it and its data:

* :class:`AutoFPNDetectionObjective`: the paper's setting: the config's Faster R-CNN whose neck
  (stage ``fusion``) or RoI box head (stage ``head``) is a supernet; the training split is cut
  into two halves (a seeded 50/50 split of the images: DARTS's ``train_portion=0.5``, quark0/darts
  @f276dd3 ``cnn/train_search.py``); ``loss`` is the detection loss of a mini-batch. For the
  head stage the config's neck is the fixed neck of the fusion search's genotype, and
  ``neck_checkpoint`` loads the weights the fusion search ended with (the paper's tip 4).
* :class:`AutoFPNSyntheticObjective`: a toy supernet with a known optimum: the real Auto-fusion
  (or Auto-head) supernet at a few channels, its candidate ops frozen random functions, and a
  target computed by the fixed network of a target genotype with the same weights (the
  supernet's own export). Only the target edges with the target ops fit the target exactly, so
  the search must decode them (tests, demos, the suite's contract test, the cost curve).

The interface the loop drives: ``setup(runner, loop)``, ``model`` (what trains: an
``nn.Module``), ``searched`` (the supernet module: neck or box head, unwrapped),
``batches(half, epoch)`` (``half`` = 'weights' or 'arch'; the same batches for the same epoch, so
a resumed epoch repeats itself), ``loss(batch) -> dict``, ``nominal_forward()`` (runs the
searched module at the input its costs are counted at, :mod:`.resource_cost`),
``fixed_genotype()`` (the components searched before, written beside the result),
``metric_keys`` and ``__call__(genotype, seed) -> Evaluation``.
"""
import copy
import itertools
import os.path as osp
import random
from typing import Dict, NamedTuple, Optional

import torch
import torch.nn as nn
import torch.nn.functional as F
import yaml
from mmdet.registry import DATA_SAMPLERS, TASK_UTILS
from mmengine.dist import get_dist_info
from mmengine.model import is_model_wrapper
from torch.utils.data import Sampler

from .genotype import genotype_to_dict, load_component, load_genotype, resolve_path
from .mixed_op import mixed_ops
from .neck import AutoFusionNeck, live_edges
from .supernet import SUPERNETS, AutoFusionSuperNeck, AutoHeadSuperBBoxHead


class Evaluation(NamedTuple):
    metrics: Dict[str, float]
    cost: Dict[str, float]


@DATA_SAMPLERS.register_module()
class AutoFPNHalfSampler(Sampler):
    """One half of a seeded 50/50 split of the dataset, shuffled per epoch, sharded over ranks
    (the supernet trains data-parallel).

    Args:
        half (str): 'weights' or 'arch'.
        split_seed (int): seed of the split (the same on every rank and every run).
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

    def _per_rank(self) -> int:
        return -(-len(self.indices) // self.world)  # padded as DistributedSampler pads

    def __iter__(self):
        g = torch.Generator().manual_seed(self.seed + self.epoch)
        order = [self.indices[i] for i in torch.randperm(len(self.indices), generator=g)]
        order += order[:self._per_rank() * self.world - len(order)]  # equal steps on all ranks
        return iter(order[self.rank::self.world])

    def __len__(self) -> int:
        return self._per_rank()

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch


def _unwrap(model):
    return model.module if is_model_wrapper(model) else model


@TASK_UTILS.register_module()
class AutoFPNDetectionObjective:
    """The detector with a supernet neck or box head on two halves of the training split.

    Args:
        split_seed (int): seed of the 50/50 split of the training images.
        max_batches (int, optional): batches of each half per epoch (None: the whole half; a
            small number makes CPU toy searches affordable).
        nominal_size (tuple[int, int]): image size the neck's costs are counted at
            (800 x 1216: Hit-Detector's 800 x 1200 FLOPs basis padded to 32).
        roi_size (int): RoI side the head's costs are counted at (7).
        neck_checkpoint (str, optional): head stage: the fusion search's ``searched_fusion.pth``
            (the fixed neck's weights), loaded strictly into ``model.neck`` (the paper's tip 4;
            None: the neck starts from its init, with a warning).
        freeze_backbone (bool): no gradient for the backbone's parameters (the paper's tip 2).
            Its norm layers follow the config's ``norm_eval`` (COCO: frozen statistics of the
            ImageNet backbone; toy: batch statistics, the toy backbone is not pretrained).
        backbone_seed (int, optional): re-initialise the backbone from this seed at set-up. Only
            for a backbone that is not pretrained (the toy's): the fusion and head stages then
            see the same frozen features, so the neck weights the head stage loads (tip 4) fit
            them. None (COCO): the backbone keeps its (ImageNet) weights.
    """

    metric_keys = set()

    def __init__(self,
                 split_seed: int = 0,
                 max_batches: Optional[int] = None,
                 nominal_size=(800, 1216),
                 roi_size: int = 7,
                 neck_checkpoint: Optional[str] = None,
                 freeze_backbone: bool = True,
                 backbone_seed: Optional[int] = None):
        self.split_seed, self.max_batches = split_seed, max_batches
        self.backbone_seed = backbone_seed
        self.freeze_backbone = freeze_backbone
        self.nominal_size, self.roi_size = tuple(nominal_size), roi_size
        self.neck_checkpoint = neck_checkpoint

    def setup(self, runner, loop) -> None:
        self.runner = runner
        self.model = runner.model  # DDP-wrapped under --launcher pytorch: data-parallel
        module = _unwrap(self.model)
        self.stage = loop.stage
        self.searched = module.neck if loop.stage == 'fusion' else module.roi_head.bbox_head
        where = 'model.neck' if loop.stage == 'fusion' else 'model.roi_head.bbox_head'
        if not isinstance(self.searched, SUPERNETS[loop.stage]):
            raise TypeError(f"stage '{loop.stage}' searches {where}, which must be a "
                            f'{SUPERNETS[loop.stage].__name__}, got {type(self.searched).__name__}')
        if self.backbone_seed is not None:
            with torch.random.fork_rng():
                torch.manual_seed(self.backbone_seed)
                for m in module.backbone.modules():
                    if hasattr(m, 'reset_parameters'):
                        m.reset_parameters()
        if self.freeze_backbone:
            for p in module.backbone.parameters():
                p.requires_grad_(False)
            if is_model_wrapper(self.model):
                # DDP reduces the gradients of the parameters that required one when it was
                # built (by the runner, before this set-up): wrapped anew, it expects none from
                # the frozen backbone
                self.model = runner.wrap_model(runner.cfg.get('model_wrapper_cfg'), module)
                runner.model = self.model
        if loop.stage == 'head' and self.neck_checkpoint is None:
            runner.logger.warning('[search] head stage without neck_checkpoint: the neck starts '
                                  "from its init, not from the fusion search's weights (tip 4)")
        if loop.stage == 'head' and self.neck_checkpoint is not None:
            if not isinstance(module.neck, AutoFusionNeck):
                raise TypeError('neck_checkpoint: model.neck must be an AutoFusionNeck (the fixed '
                                f'neck of the fusion search), got {type(module.neck).__name__}')
            path = resolve_path(self.neck_checkpoint)
            if not osp.isfile(path):
                raise FileNotFoundError(f'neck_checkpoint not found: {self.neck_checkpoint} (the '
                                        "fusion search's searched_fusion.pth)")
            state = torch.load(path, map_location='cpu', weights_only=True)
            module.neck.load_state_dict(state, strict=True)
        cfg = copy.deepcopy(loop.dataloader_cfg)
        cfg['sampler'] = dict(type='AutoFPNHalfSampler', half='arch', split_seed=self.split_seed)
        cfg.pop('batch_sampler', None)
        # new workers every epoch, seeded from the loop's per-epoch RNG state: an epoch trained
        # again after a kill sees the same augmentation (the loop's loader, too)
        cfg['persistent_workers'] = False
        # the weights half is the loop's own loader (built with this split_seed)
        self.loaders = dict(
            weights=loop.dataloader, arch=runner.build_dataloader(cfg, seed=loop.seed))

    def fixed_genotype(self) -> dict:
        """The neck's genotype for the head stage (written into ``best_genotype.yaml``)."""
        neck = _unwrap(self.model).neck
        if self.stage == 'head' and isinstance(neck, AutoFusionNeck):
            return genotype_to_dict(load_genotype(dict(fusion=neck.genotype)))
        return {}

    @torch.no_grad()
    def nominal_forward(self) -> None:
        """One forward at the nominal input, the whole model in eval mode (no norm statistics
        change)."""
        module = _unwrap(self.model)
        was_training = module.training
        module.eval()
        device = next(module.parameters()).device
        if self.stage == 'fusion':
            image = torch.zeros(1, 3, *self.nominal_size, device=device)
            module.neck(module.backbone(image))
        else:
            head = module.roi_head.bbox_head
            head(torch.zeros(1, head.in_channels, self.roi_size, self.roi_size, device=device))
        module.train(was_training)

    def batches(self, half: str, epoch: int):
        loader = self.loaders[half]
        loader.sampler.set_epoch(epoch)
        return itertools.islice(loader, self.max_batches)

    def loss(self, batch) -> Dict[str, torch.Tensor]:
        data = _unwrap(self.model).data_preprocessor(batch, True)
        losses = self.model(**data, mode='loss')
        return {
            k: sum(v) if isinstance(v, (list, tuple)) else v
            for k, v in losses.items() if 'loss' in k
        }

    def __call__(self, genotype, seed: int) -> Evaluation:
        """Nothing beyond the loop's losses: the decoded genotype is the result."""
        return Evaluation({}, {})


def _target(value):
    """A genotype dict as given, or the dict of a YAML file."""
    if isinstance(value, str):
        with open(resolve_path(value)) as f:
            value = yaml.safe_load(f)
    return genotype_to_dict(load_genotype(value))


def edge_match(genotype: list, target: list, component: str = 'head') -> float:
    """The share of the target's ``[op, input]`` edges that ``genotype`` has, per node (a
    node's edges as a set), averaged over the nodes. For ``fusion`` only the nodes the target's
    outputs depend on count (an edge into a node no later edge reads changes nothing, so no
    search can find it)."""
    if component == 'fusion':
        live = live_edges(load_component({'fusion': target}, 'fusion'))
        nodes = [(u, t) for u, edges in enumerate(live) for t in sorted({e[0] for e in edges})]
    else:
        nodes = [(u, j) for u, unit in enumerate(target) for j in range(len(unit))]
    scores = []
    for u, j in nodes:
        want = {tuple(e) for e in target[u][j]}
        scores.append(len(want & {tuple(e) for e in genotype[u][j]}) / len(want))
    return sum(scores) / len(scores)


@TASK_UTILS.register_module()
class AutoFPNSyntheticObjective:
    """A toy supernet where the known optimum is a target genotype (see the module docstring).

    Args:
        target (dict | str): a genotype with one component, ``fusion`` (L layers) or ``head``
            (M cells), or a YAML file of it; its component must be the loop's stage, and it
            should keep as many edges per node as the loop decodes (2).
        channels (int): channels of the toy supernet; size (int): the side of its largest map
            (fusion: levels of size, size/2, size/4, size/8; head: the RoI side).
        num_batches (int): batches per half and epoch; batch_size (int): inputs per batch.
        candidates (list[str], optional): the op set (default: the stage's whole set).
    """

    metric_keys = {'synthetic/match'}

    def __init__(self,
                 target,
                 channels: int = 8,
                 size: int = 16,
                 num_batches: int = 4,
                 batch_size: int = 4,
                 candidates=None):
        self.target = _target(target)
        if len(self.target) != 1:
            raise ValueError(f'the synthetic target holds one component, got {list(self.target)}')
        self.component = next(iter(self.target))
        self.channels, self.size = channels, size
        self.num_batches, self.batch_size = num_batches, batch_size
        self.candidates = candidates

    def setup(self, runner, loop) -> None:
        if loop.stage != self.component:
            raise ValueError(f"the synthetic target is a '{self.component}' genotype; the loop's "
                             f"stage is '{loop.stage}'")
        torch.manual_seed(loop.seed)
        c = self.channels
        target = self.target[self.component]
        if self.component == 'fusion':
            net = AutoFusionSuperNeck(
                num_layers=len(target),
                candidates=self.candidates,
                in_channels=[c] * 4,
                out_channels=c,
                num_outs=4)
        else:
            net = AutoHeadSuperBBoxHead(
                num_cells=len(target),
                candidates=self.candidates,
                in_channels=c,
                roi_feat_size=self.size,
                fc_out_channels=8,
                num_classes=2)
        self.model = net
        self._calibrate(net)
        for p in net.parameters():  # the candidates are fixed random functions
            p.requires_grad_(False)
        for _, m in mixed_ops(net):
            m.arch_alpha.requires_grad_(True)
        self.teacher = net.export(self.target).eval()
        self.model = self.searched = net
        self.stage = self.component
        self.seed = loop.seed

    def fixed_genotype(self) -> dict:
        return {}

    @torch.no_grad()
    def _calibrate(self, net, passes: int = 3) -> None:
        """Give every candidate op and align conv unit gain (output RMS = input RMS) on random
        inputs, by scaling its last conv: without norm layers, PyTorch's default init makes the
        conv ops' outputs orders of magnitude smaller than ``skip_connect``'s, and such an op is
        hard to tell from ``none``. A few passes, as earlier edges change later inputs."""
        units = []
        for _, m in mixed_ops(net):
            units += [op for op in m.ops if any(isinstance(c, nn.Conv2d) for c in op.modules())]
        units += [m.align for m in net.modules() if getattr(m, 'align', None) is not None]
        x = self._input(self.batch_size, torch.Generator().manual_seed(12345))
        for _ in range(passes):
            rms = {}

            def hook(mod, inp, out):
                rms[mod] = (float(inp[0].pow(2).mean().sqrt()), float(out.pow(2).mean().sqrt()))

            hooks = [u.register_forward_hook(hook) for u in units]
            self._run(net, x)
            for h in hooks:
                h.remove()
            for u in units:
                rin, rout = rms[u]
                last = [c for c in u.modules() if isinstance(c, nn.Conv2d)][-1]
                last.weight.mul_(rin / max(rout, 1e-12))

    def _run(self, net, x):
        if self.component == 'fusion':
            return list(net(x))
        return [net.forward_cells(x)]

    def _input(self, n, generator=None):
        c, s = self.channels, self.size
        if self.component == 'head':
            return torch.randn(n, c, s, s, generator=generator)
        return [torch.randn(n, c, s >> i, s >> i, generator=generator) for i in range(4)]

    @torch.no_grad()
    def nominal_forward(self) -> None:
        x = self._input(1)
        self._run(self.model,
                  [torch.zeros_like(t) for t in x] if isinstance(x, list) else torch.zeros_like(x))

    def batches(self, half: str, epoch: int):
        g = torch.Generator().manual_seed(self.seed * 1000 + epoch * 2 + (half == 'arch'))
        for _ in range(self.num_batches):
            x = self._input(self.batch_size, g)
            with torch.no_grad():
                y = self._run(self.teacher, x)
            yield x, y

    def loss(self, batch) -> Dict[str, torch.Tensor]:
        x, ys = batch
        outs = self._run(self.model, x)
        # every output level weighs the same: the error relative to the target's power
        loss = sum(F.mse_loss(o, y) / y.pow(2).mean().clamp(min=1e-12) for o, y in zip(outs, ys))
        return {'loss_mse': loss / len(ys)}

    def __call__(self, genotype, seed: int) -> Evaluation:
        score = edge_match(genotype[self.component], self.target[self.component], self.component)
        return Evaluation({'synthetic/match': score}, {})
