"""Stored backbone features: NAS-FCOS's fast proxy ("skipping the backbone finetuning stage").

The official code loads ``features_<backbone>_<res>/<img_id>.pth`` with precomputed targets for
the search images and skips the backbone in ``SingleStageDetector.forward(features=...)``
(Lausannen/NAS-FCOS ``data/datasets/coco.py``, ``single_stage_detector.py``). Here a frozen
backbone (the config's ``model.backbone`` and ``data_preprocessor``, weights from its
``init_cfg``) runs once over each split; every image becomes one file.

Layout of a store (``feature_dir``)::

    manifest.json          what made the store (fingerprint) and what it holds; written last
    <split>/<n>.pth        one image: feats (C2..C5 as float16), bboxes, labels, metainfo

Size: per image the sum over levels of channels x H/stride x W/stride x 2 bytes. ResNet-50 at
the official 384x384 proxy crops: (256x96^2 + 512x48^2 + 1024x24^2 + 2048x12^2) x 2 B = 8.8 MB,
so about 88 GB per 10k images; :meth:`FeatureStore.estimate_bytes` gives the figure for a config
and ``max_gb`` refuses a store larger than allowed before writing anything.

A store whose fingerprint (backbone, its weights file, data pipeline, annotations, dtype) differs
from the current config is refused with the differences named; a store without a manifest (a
kill while writing) is rebuilt.
"""
import json
import os
import os.path as osp
import shutil
from typing import Dict, List

import torch
from mmdet.structures import DetDataSample
from mmengine.structures import InstanceData

META_KEYS = ('img_id', 'img_path', 'ori_shape', 'img_shape', 'pad_shape', 'scale_factor',
             'batch_input_shape', 'flip', 'flip_direction')


def _file_facts(path) -> dict:
    if path and osp.isfile(path):
        st = os.stat(path)
        return dict(path=osp.abspath(path), bytes=st.st_size, mtime=int(st.st_mtime))
    return dict(path=path)


def fingerprint(backbone_cfg, preprocessor_cfg, loader_cfgs: Dict[str, dict], dtype: str) -> dict:
    """What a store depends on, as plain data (compared key by key)."""
    init = backbone_cfg.get('init_cfg') or {}
    return json.loads(
        json.dumps(
            dict(
                backbone=backbone_cfg,
                data_preprocessor=preprocessor_cfg,
                weights=_file_facts(init.get('checkpoint')),
                splits={
                    k: v.get('dataset')
                    for k, v in loader_cfgs.items()
                },
                dtype=dtype),
            sort_keys=True,
            default=str))


class FeatureStore:
    """A directory of stored backbone features (see the module docstring)."""

    def __init__(self, root: str):
        self.root = root
        self.manifest_path = osp.join(root, 'manifest.json')

    def manifest(self):
        if not osp.isfile(self.manifest_path):
            return None
        with open(self.manifest_path) as f:
            return json.load(f)

    def check(self, expected: dict) -> bool:
        """True if the store exists and matches ``expected``; an error if it does not match."""
        manifest = self.manifest()
        if manifest is None:
            return False
        stored = manifest['fingerprint']
        if stored != expected:
            diff = sorted(
                k for k in set(stored) | set(expected) if stored.get(k) != expected.get(k))
            raise RuntimeError(f'the feature store {self.root} was made with other settings '
                               f'(differ: {diff}); delete it or set another feature_dir')
        for split, n in manifest['splits'].items():
            found = len([f for f in os.listdir(osp.join(self.root, split)) if f.endswith('.pth')])
            if found != n:
                raise RuntimeError(f'the feature store {self.root} is damaged: {split} holds '
                                   f'{found} of {n} files; delete it to rebuild')
        return True

    @staticmethod
    def estimate_bytes(backbone, data_preprocessor, loader, dtype=torch.float16) -> int:
        """Bytes of a store of ``loader``'s split: one batch's features times the images."""
        data = data_preprocessor(next(iter(loader)), False)
        with torch.no_grad():
            feats = backbone(data['inputs'])
        per_image = sum(f[0].numel() for f in feats) * torch.tensor([], dtype=dtype).element_size()
        return per_image * len(loader.dataset)

    @torch.no_grad()
    def build(self,
              backbone,
              data_preprocessor,
              loaders: Dict[str, object],
              expected: dict,
              dtype=torch.float16,
              max_gb: float = 100.,
              logger=None) -> None:
        """Run the frozen backbone over every split and write the store (rank 0 only)."""
        if osp.isdir(self.root):
            shutil.rmtree(self.root)  # no manifest: an unfinished store
        backbone.eval()
        total = sum(
            self.estimate_bytes(backbone, data_preprocessor, ld, dtype) for ld in loaders.values())
        if total > max_gb * 2**30:
            raise RuntimeError(f'the feature store would take {total / 2**30:.1f} GB > max_gb='
                               f'{max_gb}; raise max_gb or store fewer images')
        splits, shapes = {}, None
        for split, loader in loaders.items():
            os.makedirs(osp.join(self.root, split))
            n = 0
            for data in loader:
                data = data_preprocessor(data, False)
                feats = backbone(data['inputs'])
                got = [tuple(f.shape[1:]) for f in feats]
                if shapes is not None and got != shapes:
                    raise RuntimeError(f'stored features must have one size (a fixed crop or pad '
                                       f'of the inputs): {got} after {shapes}')
                shapes = got
                for i, sample in enumerate(data['data_samples']):
                    meta = {k: sample.metainfo[k] for k in META_KEYS if k in sample.metainfo}
                    gt = sample.gt_instances
                    torch.save(
                        dict(
                            feats=[f[i].to(dtype).clone() for f in feats],
                            bboxes=gt.bboxes.tensor if hasattr(gt.bboxes, 'tensor') else gt.bboxes,
                            labels=gt.labels,
                            meta=meta), osp.join(self.root, split, f'{n}.pth'))
                    n += 1
            splits[split] = n
            if logger:
                logger.info(f'[search] stored {n} {split} images in {self.root}')
        tmp = self.manifest_path + '.tmp'
        with open(tmp, 'w') as f:
            json.dump(dict(fingerprint=expected, splits=splits, bytes=total), f, indent=1)
        os.replace(tmp, self.manifest_path)

    def split(self, name: str) -> 'StoredSplit':
        return StoredSplit(osp.join(self.root, name), self.manifest()['splits'][name])


class StoredSplit:
    """The stored images of one split, batched as (features, data samples)."""

    def __init__(self, root: str, size: int):
        self.root, self.size = root, size

    def __len__(self) -> int:
        return self.size

    def load(self, indices: List[int]):
        items = [
            torch.load(osp.join(self.root, f'{i}.pth'), map_location='cpu', weights_only=True)
            for i in indices
        ]
        feats = [
            torch.stack([it['feats'][lvl] for it in items]).float()
            for lvl in range(len(items[0]['feats']))
        ]
        samples = []
        for it in items:
            sample = DetDataSample(metainfo=it['meta'])
            sample.gt_instances = InstanceData(bboxes=it['bboxes'], labels=it['labels'])
            samples.append(sample)
        return feats, samples

    def batches(self, batch_size: int, generator=None):
        """Batches in a shuffled order (``generator``) or in order (None)."""
        order = (
            torch.randperm(self.size, generator=generator).tolist()
            if generator is not None else list(range(self.size)))
        for start in range(0, self.size, batch_size):
            yield self.load(order[start:start + batch_size])
