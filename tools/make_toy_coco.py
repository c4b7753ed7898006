"""Write the suite's deterministic toy COCO-format detection set.

Six shape classes drawn at COCO's three scale bands (area < 32^2, 32^2-96^2, > 96^2 pixels) over
cluttered backgrounds (noise, colour gradients, distractor strokes), 256x256 px images, for CPU
training at 128-256 px. Three splits, COCO layout under ``data/toy_coco/``::

    annotations/instances_train.json   images the detectors train on
    annotations/instances_search.json  held out of train (images in train/): searches score here
    annotations/instances_val.json     the split results are reported on
    train/*.png, val/*.png

Same seed, same bytes: drawing uses one seeded numpy generator per image, PNGs are written with
fixed compression and the JSON with sorted keys.

    python tools/make_toy_coco.py [--out data/toy_coco] [--seed 0]
"""
import argparse
import hashlib
import json
import os
import os.path as osp

import cv2
import numpy as np

CLASSES = ('circle', 'square', 'triangle', 'cross', 'ring', 'diamond')
# A base hue per class (OpenCV hue, 0-179); each object jitters it, so colour helps but the
# shape still has to be told apart (ring vs circle, square vs diamond share hue families).
BASE_HUE = (0, 30, 60, 90, 0, 30)
# COCO's scale bands, as side lengths of the drawn object's box at 256 px images.
SCALE_BANDS = {'small': (10, 28), 'medium': (36, 88), 'large': (104, 150)}
SPLIT_SIZES = {'train': 320, 'search': 64, 'val': 96}
IMAGE_SIZE = (256, 256)  # (height, width)


def _background(rng, h, w):
    """Low-frequency colour gradient + noise + distractor strokes (clutter)."""
    c0, c1 = rng.integers(40, 200, size=(2, 3))
    t = np.linspace(0, 1, w, dtype=np.float32)[None, :, None]
    img = (c0 * (1 - t) + c1 * t) * np.ones((h, 1, 1), np.float32)
    img += rng.normal(0, 12, size=(h, w, 3))
    img = np.clip(img, 0, 255).astype(np.uint8)
    for _ in range(int(rng.integers(4, 10))):
        p0 = tuple(int(v) for v in rng.integers(0, (w, h)))
        p1 = tuple(int(v) for v in rng.integers(0, (w, h)))
        color = tuple(int(v) for v in rng.integers(0, 256, size=3))
        cv2.line(img, p0, p1, color, int(rng.integers(1, 3)), cv2.LINE_AA)
    return img


def _color(rng, label):
    hue = (BASE_HUE[label] + int(rng.integers(-8, 9))) % 180
    hsv = np.uint8([[[hue, rng.integers(170, 256), rng.integers(170, 256)]]])
    return tuple(int(v) for v in cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR)[0, 0])


def _draw(mask, label, x, y, s):
    """Draw class ``label`` filling the s x s box at (x, y) into a uint8 mask."""
    cx, cy, r = x + s / 2, y + s / 2, s / 2
    if label == 0:  # circle
        cv2.circle(mask, (round(cx), round(cy)), max(1, round(r)), 255, -1)
    elif label == 1:  # square
        cv2.rectangle(mask, (x, y), (x + s - 1, y + s - 1), 255, -1)
    elif label == 2:  # triangle
        pts = np.int32([[x, y + s - 1], [x + s - 1, y + s - 1], [round(cx), y]])
        cv2.fillPoly(mask, [pts], 255)
    elif label == 3:  # cross
        t = max(2, s // 3)
        cv2.rectangle(mask, (x, round(cy - t / 2)), (x + s - 1, round(cy + t / 2)), 255, -1)
        cv2.rectangle(mask, (round(cx - t / 2), y), (round(cx + t / 2), y + s - 1), 255, -1)
    elif label == 4:  # ring
        cv2.circle(mask, (round(cx), round(cy)), max(1, round(r)), 255, -1)
        cv2.circle(mask, (round(cx), round(cy)), max(1, round(r * 0.55)), 0, -1)
    else:  # diamond
        pts = np.int32([[round(cx), y], [x + s - 1, round(cy)], [round(cx), y + s - 1],
                        [x, round(cy)]])
        cv2.fillPoly(mask, [pts], 255)


def _overlaps(box, boxes, max_cover=0.2):
    """Whether ``box`` would cover (or be covered by) a placed box by more than ``max_cover``."""
    x, y, s = box
    for bx, by, bs in boxes:
        iw = max(0, min(x + s, bx + bs) - max(x, bx))
        ih = max(0, min(y + s, by + bs) - max(y, by))
        if iw * ih > max_cover * min(s, bs)**2:
            return True
    return False


def make_image(rng, image_id):
    """One image and its annotations: one object of each scale band plus up to three extra
    small/medium ones, placed so that no object hides more than a fifth of another."""
    h, w = IMAGE_SIZE
    img = _background(rng, h, w)
    bands = ['large', 'medium', 'small'] + [
        str(b) for b in rng.choice(['small', 'small', 'medium'], size=int(rng.integers(0, 4)))
    ]
    anns, placed = [], []
    for band in bands:
        lo, hi = SCALE_BANDS[band]
        for _ in range(20):  # rejection sampling for a spot with little overlap
            s = int(rng.integers(lo, hi + 1))
            x, y = (int(v) for v in rng.integers(0, (w - s + 1, h - s + 1)))
            if not _overlaps((x, y, s), placed):
                break
        else:
            continue
        label = int(rng.integers(len(CLASSES)))
        mask = np.zeros((h, w), np.uint8)
        _draw(mask, label, x, y, s)
        ys, xs = np.nonzero(mask)
        img[mask > 0] = _color(rng, label)
        placed.append((x, y, s))
        x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1
        anns.append(
            dict(
                image_id=image_id,
                category_id=label + 1,
                bbox=[x0, y0, x1 - x0, y1 - y0],
                area=int(len(xs)),
                iscrowd=0))
    return img, anns


def generate(out, seed=0, sizes=None):
    """Write all splits under ``out``; returns {split: annotation file}."""
    sizes = dict(SPLIT_SIZES, **(sizes or {}))
    categories = [dict(id=i + 1, name=n, supercategory='shape') for i, n in enumerate(CLASSES)]
    os.makedirs(osp.join(out, 'annotations'), exist_ok=True)
    files, image_id, ann_id = {}, 0, 0
    for split in ('train', 'search', 'val'):
        folder = 'val' if split == 'val' else 'train'  # search is held out of train's images
        os.makedirs(osp.join(out, folder), exist_ok=True)
        images, annotations = [], []
        for _ in range(sizes[split]):
            image_id += 1
            rng = np.random.default_rng([seed, image_id])
            img, anns = make_image(rng, image_id)
            name = f'{image_id:06d}.png'
            cv2.imwrite(osp.join(out, folder, name), img, [cv2.IMWRITE_PNG_COMPRESSION, 3])
            images.append(
                dict(id=image_id, file_name=name, height=img.shape[0], width=img.shape[1]))
            for ann in anns:
                ann_id += 1
                annotations.append(dict(ann, id=ann_id))
        files[split] = osp.join(out, 'annotations', f'instances_{split}.json')
        with open(files[split], 'w') as f:
            json.dump(
                dict(images=images, annotations=annotations, categories=categories),
                f,
                sort_keys=True)
    return files


def ensure(out='data/toy_coco', seed=0):
    """Generate the set unless ``out`` already holds it for this seed and this generator."""
    with open(__file__, 'rb') as f:
        stamp = f'{seed}:{hashlib.sha256(f.read()).hexdigest()}'
    stamp_file = osp.join(out, '.generated')
    if osp.exists(stamp_file):
        with open(stamp_file) as f:
            if f.read() == stamp:
                return False
    generate(out, seed)
    with open(stamp_file, 'w') as f:
        f.write(stamp)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out', default='data/toy_coco')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    if not ensure(args.out, args.seed):
        print(f'{args.out} is up to date (seed {args.seed})')
    for split in ('train', 'search', 'val'):
        path = osp.join(args.out, 'annotations', f'instances_{split}.json')
        with open(path) as f:
            d = json.load(f)
        print(f'{split}: {len(d["images"])} images, {len(d["annotations"])} boxes -> {path}')


if __name__ == '__main__':
    main()
