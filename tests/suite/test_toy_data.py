"""The toy COCO set: valid COCO, boxes inside images, all classes and scale bands, deterministic."""
import filecmp
import json
import os

import numpy as np
import pytest
from pycocotools.coco import COCO

import make_toy_coco

SMALL = 32**2
MEDIUM = 96**2


@pytest.mark.parametrize('split', ['train', 'search', 'val'])
def test_split_loads_in_pycocotools(toy_coco, split):
    coco = COCO(str(toy_coco / 'annotations' / f'instances_{split}.json'))
    assert len(coco.getImgIds()) == make_toy_coco.SPLIT_SIZES[split]
    folder = 'val' if split == 'val' else 'train'
    bands, labels = set(), set()
    for img in coco.loadImgs(coco.getImgIds()):
        assert os.path.exists(toy_coco / folder / img['file_name'])
        anns = coco.loadAnns(coco.getAnnIds(imgIds=img['id']))
        assert anns, f'image {img["id"]} has no objects'
        for ann in anns:
            x, y, w, h = ann['bbox']
            assert 0 <= x and 0 <= y and w > 0 and h > 0
            assert x + w <= img['width'] and y + h <= img['height'], ann
            assert 0 < ann['area'] <= w * h
            labels.add(ann['category_id'])
            bands.add('small' if ann['area'] < SMALL else 'medium' if ann['area'] <
                      MEDIUM else 'large')
    assert labels == set(coco.getCatIds()) and len(labels) == len(make_toy_coco.CLASSES)
    assert bands == {'small', 'medium', 'large'}


def test_search_split_is_held_out_of_train(toy_coco):
    ids = {}
    for split in ('train', 'search', 'val'):
        with open(toy_coco / 'annotations' / f'instances_{split}.json') as f:
            ids[split] = {im['file_name'] for im in json.load(f)['images']}
    assert not ids['train'] & ids['search']
    assert not ids['val'] & (ids['train'] | ids['search'])


def test_images_have_clutter_not_flat_backgrounds(toy_coco):
    import cv2
    img = cv2.imread(str(toy_coco / 'val' / sorted(os.listdir(toy_coco / 'val'))[0]))
    assert img.shape == (*make_toy_coco.IMAGE_SIZE, 3)
    assert np.std(img.astype(float)) > 20


def test_same_seed_same_bytes_other_seed_differs(tmp_path):
    sizes = dict(train=6, search=3, val=3)
    a = make_toy_coco.generate(str(tmp_path / 'a'), seed=3, sizes=sizes)
    make_toy_coco.generate(str(tmp_path / 'b'), seed=3, sizes=sizes)
    make_toy_coco.generate(str(tmp_path / 'c'), seed=4, sizes=sizes)
    for sub in ('annotations', 'train', 'val'):
        names = sorted(os.listdir(tmp_path / 'a' / sub))
        match, mismatch, errors = filecmp.cmpfiles(
            tmp_path / 'a' / sub, tmp_path / 'b' / sub, names, shallow=False)
        assert match == names and not mismatch and not errors
    assert not filecmp.cmp(
        a['val'], str(tmp_path / 'c' / 'annotations' / 'instances_val.json'), shallow=False)


def test_ensure_skips_an_up_to_date_set(toy_coco):
    assert make_toy_coco.ensure(str(toy_coco)) is False
