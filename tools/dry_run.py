"""Dry run of any config of the suite on the toy set: a few CPU minutes before the GPU hours.

For each config it builds, in ``--work-dir``, the data layout the config expects (its data roots,
annotation files and image folders, filled from the suite's toy COCO set: COCO json with the
config's class names, VOC XML, or ImageNet class folders), then trains through mmengine's Runner
with the config's own model, pipeline, optimizer wrapper and hooks, shrunk to a dry run:

* images resized to ``--size H W`` (every resize, crop and pad of the pipelines and the
  batch augments), ``--batch`` images per rank, ``--images`` validation images;
* a retrain config trains 2 iterations (one short epoch, or ``max_iters=2``) and evaluates;
* a search config runs one step of its search loop, shrunk (``SEARCH_STEP``): a step with 3
  proposals (not a multiple of 2 ranks), a 2-iteration proxy, one epoch of a differentiable
  search with its architecture update and, for a screening, one prune;
* weights the config reads from files that do not exist here (``load_from``, ``Pretrained``
  ``init_cfg`` URLs, a search stage's input from the stage before) are replaced by stand-ins
  of the right shape written from the built model (random weights), and listed.

With ``--launcher pytorch`` it runs under ``torchrun`` as ``mim train ... --launcher pytorch``
does (on a machine without CUDA: gloo, the data-parallel wrapper on CPU, SyncBN as BN, since
torch's SyncBN needs a GPU). Several configs share one launch::

    python tools/dry_run.py CONFIG [CONFIG ...] [--size 128 128]
    python -m torch.distributed.run --nproc_per_node 2 tools/dry_run.py CONFIG [CONFIG ...] \\
        --launcher pytorch

Each config ends with a line ``[dry-run] ok|FAILED <config> (<seconds> s)``; the exit code is
the number of failures (a failure under ``--launcher pytorch`` stops the launch). A passing
config's work dir is removed (its checkpoints can take gigabytes) unless ``--keep``; a failing
one's stays for a look.
"""
import argparse
import copy
import json
import os
import os.path as osp
import shutil
import sys
import time
import traceback
import xml.etree.ElementTree as ET

import torch

HERE = osp.dirname(osp.abspath(__file__))
REPO = osp.dirname(HERE)
sys.path.insert(0, HERE)

import make_toy_coco  # noqa: E402

# The search loop's step, shrunk: merged into ``train_cfg`` of a search config.
SEARCH_STEP = {
    'SpineNetSearchLoop':
    dict(
        num_steps=1,
        samples_per_step=3,
        objective=dict(epochs=1, max_iters=2, warmup_iters=1, log_interval=1)),
    'NASFPNSearchLoop':
    dict(
        num_steps=1,
        samples_per_step=3,
        objective=dict(max_iters=2, warmup_iters=1, log_interval=1)),
    'NASFCOSSearchLoop':
    dict(
        num_steps=1,
        samples_per_step=3,
        objective=dict(max_iters=2, batch_size=2, warmup_iters=1, log_interval=1)),
    'DetNASSearchLoop':
    dict(
        num_steps=1,
        population_num=3,
        select_num=2,
        mutation_num=1,
        crossover_num=1,
        objective=dict(bn_calibration=dict(num_iters=2))),
    'HitDetSearchLoop':
    dict(
        max_epochs=1,
        arch_start_epoch=0,
        prune=dict(start_epoch=0, every=1),
        objective=dict(max_batches=1)),
    'AutoFPNSearchLoop':
    dict(max_epochs=1, arch_start_epoch=0, objective=dict(max_batches=1)),
}
# Pipeline keys set to the dry run's size: (transform type, key) -> 'wh', 'hw' or 'int' (the
# shorter side for a square crop or resize).
SIZE_KEYS = {
    ('Resize', 'scale'): 'wh',
    ('RandomResize', 'scale'): 'wh',
    ('RandomChoiceResize', 'scales'): 'wh',
    ('RandomCrop', 'crop_size'): 'hw',
    ('Pad', 'size'): 'wh',
    ('BatchFixedSizePad', 'size'): 'hw',
    ('DetNASRandomResizedCrop', 'scale'): 'int',
    ('DetNASResizeShorter', 'size'): 'int',
    ('DetNASCenterCrop', 'size'): 'int',
    ('HitDetRandomResizedCrop', 'scale'): 'int',
    ('HitDetResizeCenterCrop', 'resize'): 'int',
    ('HitDetResizeCenterCrop', 'crop'): 'int',
}
# Sample and proposal counts of a detector's train_cfg / test_cfg, capped (``set_counts``).
COUNT_KEYS = dict(num=8, nms_pre=256, max_per_img=100)
LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader', 'search_dataloader')
EVALUATORS = ('val_evaluator', 'test_evaluator', 'search_evaluator')


def log(msg):
    from mmengine.dist import get_rank
    if get_rank() == 0:
        print(f'[dry-run] {msg}', flush=True)


# ----------------------------------------------------------------------------- data layout
def _leaves(dataset):
    """The datasets inside wrappers (``ConcatDataset.datasets``, ``RepeatDataset.dataset``)."""
    if 'datasets' in dataset:
        for d in dataset['datasets']:
            yield from _leaves(d)
    elif 'dataset' in dataset:
        yield from _leaves(dataset['dataset'])
    else:
        yield dataset


def _unrepeat(dataset):
    """Wrappers repeat nothing in a dry run."""
    if 'times' in dataset:
        dataset['times'] = 1
    for d in dataset.get('datasets', []):
        _unrepeat(d)
    if 'dataset' in dataset:
        _unrepeat(dataset['dataset'])


def _classes(leaf):
    from mmdet.registry import DATASETS
    metainfo = leaf.get('metainfo') or {}
    if metainfo.get('classes'):
        return list(metainfo['classes'])
    cls = DATASETS.get(leaf['type'])
    if cls is None:
        raise ValueError(f'the dry run does not know the dataset type {leaf["type"]!r}')
    return list(getattr(cls, 'METAINFO', {}).get('classes', ()))


class ToyLayout:
    """Files of the layout a config expects, made from the toy COCO set under ``root``."""

    def __init__(self, toy, root):
        self.toy, self.root = toy, root
        self.splits = {}
        for split in ('train', 'search', 'val'):
            with open(osp.join(toy, 'annotations', f'instances_{split}.json')) as f:
                self.splits[split] = json.load(f)
        self.made = {}  # relative path -> split it was made from

    def _images(self, split, num):
        data = self.splits[split]
        images = data['images'][:num]
        ids = {im['id'] for im in images}
        return images, [a for a in data['annotations'] if a['image_id'] in ids]

    def _source(self, split, image):
        return osp.join(self.toy, 'val' if split == 'val' else 'train', image['file_name'])

    def _link(self, src, dst):
        os.makedirs(osp.dirname(dst), exist_ok=True)
        if not osp.lexists(dst):
            os.symlink(osp.abspath(src), dst)

    def coco(self, ann_file, img_prefix, classes, split, num):
        """A COCO json with the config's classes; the toy shapes become its first classes."""
        path = osp.join(self.root, ann_file)
        if ann_file in self.made:
            return
        images, anns = self._images(split, num)
        cats = self.splits[split]['categories']
        if len(classes) < len(cats):
            raise ValueError(f'{ann_file}: the config has {len(classes)} classes, the toy set '
                             f'{len(cats)}')
        data = dict(  # every class of the config; the toy shapes take the first ids
            images=images,
            annotations=anns,
            categories=[dict(id=i + 1, name=n, supercategory='') for i, n in enumerate(classes)])
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            json.dump(data, f)
        for im in images:
            self._link(self._source(split, im), osp.join(self.root, img_prefix, im['file_name']))
        self.made[ann_file] = split

    def voc(self, ann_file, sub_root, classes, split, num):
        """VOC XML annotations, an image-set list and JPEGImages links."""
        if ann_file in self.made:
            return
        images, anns = self._images(split, num)
        names = []
        for im in images:
            stem = osp.splitext(im['file_name'])[0]
            names.append(stem)
            self._link(
                self._source(split, im), osp.join(self.root, sub_root, 'JPEGImages', f'{stem}.jpg'))
            root = ET.Element('annotation')
            size = ET.SubElement(root, 'size')
            for k in ('width', 'height'):
                ET.SubElement(size, k).text = str(im[k])
            ET.SubElement(size, 'depth').text = '3'
            for a in anns:
                if a['image_id'] != im['id']:
                    continue
                obj = ET.SubElement(root, 'object')
                ET.SubElement(obj, 'name').text = classes[a['category_id'] - 1]
                ET.SubElement(obj, 'difficult').text = '0'
                box = ET.SubElement(obj, 'bndbox')
                x, y, w, h = a['bbox']
                for k, v in zip(('xmin', 'ymin', 'xmax', 'ymax'), (x, y, x + w, y + h)):
                    ET.SubElement(box, k).text = str(int(round(v)))
            path = osp.join(self.root, sub_root, 'Annotations', f'{stem}.xml')
            os.makedirs(osp.dirname(path), exist_ok=True)
            ET.ElementTree(root).write(path)
        path = osp.join(self.root, ann_file)
        os.makedirs(osp.dirname(path), exist_ok=True)
        with open(path, 'w') as f:
            f.write('\n'.join(names) + '\n')
        self.made[ann_file] = split

    def folders(self, img_path, split, num):
        """ImageNet layout: ``<img_path>/<class>/<image>``, two classes."""
        if img_path in self.made:
            return
        images, _ = self._images(split, num)
        for i, im in enumerate(images):
            self._link(
                self._source(split, im),
                osp.join(self.root, img_path, f'class{i % 2}', im['file_name']))
        self.made[img_path] = split


def _rel(path, old_root):
    if old_root and path.startswith(old_root):
        return path[len(old_root):]
    return path if not osp.isabs(path) else osp.join('annotations', osp.basename(path))


def make_layout(cfg, layout, num_train, num_eval):
    """Point every dataset and evaluator of ``cfg`` at ``layout.root`` and make their files."""
    roles = {'train_dataloader': 'train', 'search_dataloader': 'search'}
    loaders = [(k, cfg.get(k)) for k in LOADERS]
    objective = (cfg.get('train_cfg') or {}).get('objective') or {}
    if objective.get('search_dataloader'):
        loaders.append(('search_dataloader', objective['search_dataloader']))
    old_roots, seen = {}, set()
    for key, loader in loaders:
        if not loader or id(loader['dataset']) in seen:  # a search objective's own reference
            continue
        seen.add(id(loader['dataset']))
        split = roles.get(key, 'val')
        _unrepeat(loader['dataset'])
        leaves = list(_leaves(loader['dataset']))
        num = num_train if split == 'train' else num_eval
        per_leaf = max(1, -(-num // len(leaves)))
        for leaf in leaves:
            old = leaf.get('data_root') or ''
            prefix = leaf.get('data_prefix') or {}
            kind = leaf['type']
            if kind in ('VOCDataset', ):
                layout.voc(leaf['ann_file'], prefix.get('sub_data_root', ''), _classes(leaf), split,
                           per_leaf)
            elif 'img_path' in prefix and 'ann_file' not in leaf:  # a class-folder dataset
                layout.folders(prefix['img_path'], split, per_leaf)
            else:
                ann = _rel(leaf['ann_file'], old)
                old_roots[ann] = old
                leaf['ann_file'] = ann
                layout.coco(ann, prefix.get('img', ''), _classes(leaf), split, per_leaf)
            leaf['data_root'] = layout.root + '/'
            leaf['indices'] = per_leaf
    evaluators = [(k, cfg.get(k)) for k in EVALUATORS]
    if objective.get('search_evaluator'):
        evaluators.append(('search_evaluator', objective['search_evaluator']))
    for key, ev in evaluators:
        for e in ev if isinstance(ev, (list, tuple)) else [ev] if ev else []:
            if e.get('ann_file') and id(e) not in seen:
                seen.add(id(e))
                rel = next((a for a, old in old_roots.items() if e['ann_file'] == old + a),
                           _rel(e['ann_file'], ''))
                if rel not in layout.made:
                    raise ValueError(f'{key}.ann_file {e["ann_file"]} is read by no dataloader')
                e['ann_file'] = osp.join(layout.root, rel)


# ----------------------------------------------------------------------------- shrinking
def _resize(value, kind, size):
    h, w = size
    if kind == 'int':
        return min(h, w)
    one = (w, h) if kind == 'wh' else (h, w)
    if isinstance(value, list):  # a list of scales (a range or choices) keeps its length
        return [one] * len(value)
    return one


def set_size(node, size):
    """Every resize, crop and pad in ``node`` (a config, recursively) to ``size``."""
    if isinstance(node, dict):
        t = str(node.get('type', '')).split('.')[-1]
        for k in list(node):
            if (t, k) in SIZE_KEYS and node[k] is not None:
                node[k] = _resize(node[k], SIZE_KEYS[(t, k)], size)
            else:
                set_size(node[k], size)
    elif isinstance(node, (list, tuple)):
        for v in node:
            set_size(v, size)


def set_counts(node):
    """The detector's per-image sample counts at a dry run's size (RoIs sampled for the box
    head, proposals kept): a Faster R-CNN box head on 512 RoIs per image costs a CPU seconds
    per iteration whatever the image size."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k in COUNT_KEYS and isinstance(v, int) and not isinstance(v, bool):
                node[k] = min(v, COUNT_KEYS[k])
            else:
                set_counts(v)
    elif isinstance(node, (list, tuple)):
        for v in node:
            set_counts(v)


def shrink(cfg, size, batch, workers):
    for key in list(cfg.keys()):
        set_size(cfg[key], size)
    for key in ('train_cfg', 'test_cfg'):
        set_counts(cfg.model.get(key))
        set_counts((cfg.model.get('roi_head') or {}).get(key))
    for key in LOADERS:
        loader = cfg.get(key)
        if loader:
            loader['batch_size'] = batch if key == 'train_dataloader' else 1
            loader['num_workers'] = workers
            loader['persistent_workers'] = workers > 0 and loader.get('persistent_workers', False)
    train = cfg.get('train_cfg') or {}
    loop = str(train.get('type', '')).split('.')[-1]
    if loop in SEARCH_STEP:
        cfg.merge_from_dict({'train_cfg': copy.deepcopy(SEARCH_STEP[loop])})
        objective = cfg.train_cfg.objective
        # the input a differentiable search counts its candidates' costs at (one forward of
        # every candidate op at 800 px costs CPU minutes)
        if objective.type == 'AutoFPNDetectionObjective':
            objective.nominal_size = tuple(size)
        elif objective.type == 'HitDetDetectionObjective':
            objective.nominal_sizes = dict(backbone=min(size), neck=min(size), roi=7)
    by_iter = 'max_iters' in train or 'IterBased' in loop or train.get('by_epoch') is False
    if loop not in SEARCH_STEP:
        if by_iter:
            train.update(max_iters=2, val_interval=2, val_begin=1)
        else:
            train.update(max_epochs=1, val_interval=1, val_begin=1)
    hooks = cfg.get('default_hooks') or {}
    if hooks.get('logger'):
        hooks['logger']['interval'] = 1
    if hooks.get('checkpoint'):  # one checkpoint at the end, as a run would write
        hooks['checkpoint'].update(interval=2 if by_iter else 1)
    return loop if loop in SEARCH_STEP else None


# ----------------------------------------------------------------------------- stand-ins
def _missing(path):
    return isinstance(path, str) and ('://' in path or not osp.isfile(path))


def _save(state, path):
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(dict(meta=dict(dry_run='random stand-in'), state_dict=state), path)
    return path


def stand_ins(cfg, loop, work):
    """Replace weights and stage inputs that this machine lacks; returns what was replaced."""
    from mmdet.registry import MODELS
    from mmengine.model import revert_sync_batchnorm
    done = []

    def state(module_cfg):
        """The state dict of a module built from ``module_cfg`` (random weights)."""
        module_cfg = copy.deepcopy(module_cfg)
        _no_pretrained(module_cfg)
        return revert_sync_batchnorm(MODELS.build(module_cfg)).state_dict()

    # Pretrained init_cfg of a file that is not here: random weights of the module it initialises
    for where, owner in _pretrained(cfg.model, 'model'):
        init = owner['init_cfg']
        if _missing(init.get('checkpoint')):
            weights = {init.get('prefix', '') + k: v for k, v in state(owner).items()}
            done.append(f'{where}.checkpoint {init["checkpoint"]}')
            init['checkpoint'] = _save(weights, osp.join(work, 'stand_ins', f'{where}.pth'))
    if cfg.get('load_from') and _missing(cfg.load_from):
        done.append(f'load_from {cfg.load_from}')
        cfg.load_from = _save(state(cfg.model), osp.join(work, 'stand_ins', 'load_from.pth'))
    train = cfg.get('train_cfg') or {}
    objective = train.get('objective') or {}
    init = objective.get('backbone_init') or {}  # NAS-FCOS: the frozen backbone of the proxy
    if init and _missing(init.get('checkpoint')):
        weights = {init.get('prefix', '') + k: v for k, v in state(cfg.model.backbone).items()}
        done.append(f'train_cfg.objective.backbone_init.checkpoint {init["checkpoint"]}')
        init['checkpoint'] = _save(weights, osp.join(work, 'stand_ins', 'backbone_init.pth'))
    if objective.get('feature_dir'):
        objective['feature_dir'] = osp.join(work, 'features')
    if loop == 'NASFCOSSearchLoop' and train.get('phase') == 'head' and _missing(
            train.get('decoder')):  # the decoder phase's result: the published decoder
        decoder = osp.join(REPO, 'projects', 'nas_fcos', 'genotypes', 'nas_fcos_published.yaml')
        done.append(f'train_cfg.decoder {train.get("decoder")} -> the published decoder')
        train['decoder'] = decoder
    if loop == 'AutoFPNSearchLoop' and train.get('stage') == 'head':
        ckpt = objective.get('neck_checkpoint')
        if ckpt is None or _missing(ckpt):  # the fusion search's searched_fusion.pth
            path = osp.join(work, 'stand_ins', 'searched_fusion.pth')
            os.makedirs(osp.dirname(path), exist_ok=True)
            torch.save(state(cfg.model.neck), path)
            done.append(f'train_cfg.objective.neck_checkpoint {ckpt}')
            objective['neck_checkpoint'] = path
    return done


def _pretrained(node, where):
    """``(dotted path of the init_cfg, the module config holding it)`` of every
    ``Pretrained`` init_cfg under ``node``."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            yield f'{where}.init_cfg', node
        for k, v in node.items():
            if k != 'init_cfg':
                yield from _pretrained(v, f'{where}.{k}')


def _no_pretrained(node):
    """Drop every ``Pretrained`` init_cfg under ``node`` (the stand-ins are built without)."""
    if isinstance(node, dict):
        init = node.get('init_cfg')
        if isinstance(init, dict) and init.get('type') == 'Pretrained':
            node['init_cfg'] = None
        for v in node.values():
            _no_pretrained(v)
    elif isinstance(node, list):
        for v in node:
            _no_pretrained(v)


# ----------------------------------------------------------------------------- running
def on_this_machine(cfg, launcher):
    """CPU stand-ins for what needs CUDA (when there is none): gloo, the data-parallel wrapper
    without device ids, SyncBN as BN."""
    cfg.launcher = launcher
    if torch.cuda.is_available():
        return []
    notes = []
    if launcher != 'none':
        cfg.setdefault('env_cfg', {}).setdefault('dist_cfg', {})['backend'] = 'gloo'
        wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
        wrapper['device_ids'] = None
        cfg.model_wrapper_cfg = wrapper
        if _replace_norm(cfg.model, 'SyncBN', 'BN'):
            notes.append('SyncBN as BN (no GPU)')
    return notes


def _replace_norm(node, old, new):
    found = False
    if isinstance(node, dict):
        if node.get('type') == old:
            node['type'] = new
            found = True
        for v in node.values():
            found |= _replace_norm(v, old, new)
    elif isinstance(node, list):
        for v in node:
            found |= _replace_norm(v, old, new)
    return found


def prepare(config, args, work):
    """The dry-run config of ``config`` and the notes on what was replaced."""
    from mmengine.config import Config
    cfg = Config.fromfile(config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    cfg.work_dir = work
    cfg.experiment_name = osp.splitext(osp.basename(config))[0]
    if cfg.get('visualizer'):  # a named instance per process: each run gets its own
        cfg.visualizer.name = f'visualizer_{cfg.experiment_name}'
    cfg.resume = False
    loop = shrink(cfg, tuple(args.size), args.batch, args.workers)
    world = int(os.environ.get('WORLD_SIZE', 1)) if args.launcher != 'none' else 1
    layout = ToyLayout(args.toy, osp.join(work, 'data'))
    make_layout(cfg, layout, num_train=2 * args.batch * world, num_eval=args.images)
    notes = on_this_machine(cfg, args.launcher)
    notes += stand_ins(cfg, loop, work)
    return cfg, loop, notes


def prepare_on_rank0(config, args, work):
    """Rank 0 writes the data layout and the stand-ins and shrinks the config; every rank gets
    the config (ranks writing the same files at once would read each other's half-written
    ones)."""
    from mmengine.config import Config
    from mmengine.dist import broadcast_object_list, get_rank, get_world_size
    if get_world_size() == 1:
        if osp.isdir(work):
            shutil.rmtree(work)
        return prepare(config, args, work)
    box = [None]
    if get_rank() != 0:
        Config.fromfile(config)  # imports the config's custom_imports on this rank
    else:
        if osp.isdir(work):
            shutil.rmtree(work)
        try:
            cfg, loop, notes = prepare(config, args, work)
            box = [(cfg.to_dict(), cfg.filename, loop, notes, None)]
        except Exception:
            box = [(None, None, None, None, traceback.format_exc())]
    broadcast_object_list(box, src=0)
    cfg_dict, filename, loop, notes, error = box[0]
    if error:
        raise RuntimeError(f'preparing the dry run failed on rank 0:\n{error}')
    return Config(cfg_dict, filename=filename), loop, notes


def dry_run(config, args):
    from mmengine.dist import get_rank
    from mmengine.runner import Runner
    name = osp.splitext(osp.basename(config))[0]
    work = osp.join(args.work_dir, name)
    t0 = time.time()
    error = None
    try:
        cfg, loop, notes = prepare_on_rank0(config, args, work)
        for n in notes:
            log(f'{name}: stand-in: {n}')
        runner = Runner.from_cfg(cfg)
        runner.train()
        if loop and get_rank() == 0 and not osp.isfile(osp.join(work, 'best_genotype.yaml')):
            raise RuntimeError(f'the search wrote no best_genotype.yaml in {work}')
    except Exception:
        error = traceback.format_exc()
    if args.launcher != 'none':  # every rank learns whether any failed
        if error:  # said at once: a rank left inside a collective may never reach the gather
            print(f'[dry-run] rank {get_rank()}: {config} failed:\n{error}', flush=True)
        from mmengine.dist import all_gather_object
        errors = [e for e in all_gather_object(error) if e]
        error = errors[0] if errors else None
    seconds = time.time() - t0
    if error:
        log(f'FAILED {config} ({seconds:.1f} s)\n{error}')
    else:
        log(f'ok {config} ({seconds:.1f} s)')
        if not args.keep and get_rank() == 0:  # checkpoints of a big model take GBs
            shutil.rmtree(work, ignore_errors=True)
    return error is None


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(
        description='Dry run of suite configs on the toy set (see the module docstring).')
    parser.add_argument('configs', nargs='+', help='config files')
    parser.add_argument('--launcher', choices=['none', 'pytorch'], default='none')
    parser.add_argument(
        '--size',
        nargs=2,
        type=int,
        default=[128, 128],
        metavar=('H', 'W'),
        help='image size of every pipeline (default 128 128)')
    parser.add_argument('--batch', type=int, default=2, help='training images per rank')
    parser.add_argument('--images', type=int, default=2, help='images of each evaluation split')
    parser.add_argument(
        '--workers',
        type=int,
        default=0,
        help='data workers per loader (default 0: in the main process)')
    parser.add_argument('--work-dir', default='work_dirs/dry_run')
    parser.add_argument(
        '--keep',
        action='store_true',
        help="keep a passing config's work dir (data, stand-ins, checkpoints, "
        'logs); a failing one is always kept')
    parser.add_argument(
        '--toy',
        default=osp.join(REPO, 'data', 'toy_coco'),
        help='the toy COCO set (generated if missing)')
    parser.add_argument(
        '--timeout',
        type=int,
        default=600,
        help='seconds a collective may wait under --launcher pytorch')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        action=DictAction,
        help='config overrides applied before the dry run shrinks the config')
    return parser.parse_args(argv)


def run_many_configs_quickly():
    """Speed for many configs in one process, without changing what runs: mmengine formats the
    config text it logs, dumps and stores in checkpoints with yapf (about 2 s a call, five calls
    a run: the dry run writes it unformatted, still valid Python), and parses every metafile of
    mmdet's model index (800 YAML files) for each ``mmdet::`` config it resolves (read once
    here)."""
    import functools

    from mmengine.config import config, utils
    config.FormatCode = lambda text, **kwargs: (text, False)
    load = utils.load
    utils.load = functools.lru_cache(maxsize=None)(lambda path: load(path))


def main(argv=None):
    args = parse_args(argv)
    run_many_configs_quickly()
    from mmdet.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    args.work_dir = osp.abspath(args.work_dir)
    if args.launcher != 'none':
        from mmengine.dist import init_dist
        if not torch.cuda.is_available():
            torch.cuda.set_device = lambda *a, **k: None  # mmengine's init_dist calls it
        init_dist(
            args.launcher,
            backend='nccl' if torch.cuda.is_available() else 'gloo',
            timeout=args.timeout)
    from mmengine.dist import barrier, get_rank
    if get_rank() == 0:
        make_toy_coco.ensure(args.toy)
    if args.launcher != 'none':
        barrier()
    failed = 0
    for config in args.configs:
        ok = dry_run(config, args)
        failed += not ok
        if not ok and args.launcher != 'none':
            break  # a rank may be left inside a collective: stop the launch
    log(f'{len(args.configs)} configs, {failed} failed')
    return failed


if __name__ == '__main__':
    sys.exit(main())
