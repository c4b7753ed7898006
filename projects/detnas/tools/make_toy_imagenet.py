"""Write a toy ImageNet-layout classification set from the suite's toy COCO set.

DetNAS step 1 pretrains the supernet on ImageNet (megvii-model/DetNAS ``Supernet-ImageNet/
train.py``, torchvision ``ImageFolder`` layout). No ImageNet exists on the suite's machines, so the
toy stand-in crops every ground-truth box of ``data/toy_coco`` (train images -> ``train/``, val
images -> ``val/``), keeps some context around it (the box grown by ``--margin`` of its side on
every side, clipped to the image), resizes the crop to ``--size`` px square and writes it as PNG::

    <out>/train/<class_name>/<image_id>_<ann_id>.png
    <out>/val/<class_name>/<image_id>_<ann_id>.png

Six classes (the toy shapes). Same input, same bytes (no randomness, fixed PNG compression);
a stamp file (``<out>/.generated``) holding a hash of this script, the options and the toy COCO
annotations makes a second run a no-op. If ``--coco`` is missing it is generated first by
``python tools/make_toy_coco.py --out <coco>``.

    python projects/detnas/tools/make_toy_imagenet.py [--coco data/toy_coco] \
        [--out data/toy_imagenet] [--size 64] [--margin 0.25]
"""
import argparse
import hashlib
import json
import os
import os.path as osp
import shutil
import subprocess
import sys

import cv2

REPO = osp.dirname(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))))
# toy COCO split -> (image folder, ImageNet-layout split); the 'search' split of the toy COCO set
# is held out for DetNAS' architecture search and is not used here.
SPLITS = {'train': ('train', 'train'), 'val': ('val', 'val')}


def _ann_file(coco, split):
    return osp.join(coco, 'annotations', f'instances_{split}.json')


def ensure_coco(coco):
    """Generate the toy COCO set with the suite's tool if its annotation files are missing."""
    if all(osp.exists(_ann_file(coco, s)) for s in SPLITS):
        return
    subprocess.run([sys.executable,
                    osp.join(REPO, 'tools', 'make_toy_coco.py'), '--out', coco],
                   check=True)


def _stamp(coco, size, margin):
    h = hashlib.sha256()
    with open(__file__, 'rb') as f:
        h.update(f.read())
    h.update(f'{size}:{margin}'.encode())
    for split in SPLITS:
        with open(_ann_file(coco, split), 'rb') as f:
            h.update(f.read())
    return h.hexdigest()


def crop_box(img, bbox, margin, size):
    """Crop COCO ``bbox`` (x, y, w, h) grown by ``margin`` * side on every side (a square around
    the box centre, clipped to the image) and resize it to ``size`` x ``size`` (INTER_AREA)."""
    x, y, w, h = bbox
    side = max(w, h) * (1 + 2 * margin)
    cx, cy = x + w / 2, y + h / 2
    H, W = img.shape[:2]
    x0, y0 = max(0, int(round(cx - side / 2))), max(0, int(round(cy - side / 2)))
    x1, y1 = min(W, int(round(cx + side / 2))), min(H, int(round(cy + side / 2)))
    crop = img[y0:y1, x0:x1]
    interp = cv2.INTER_AREA if min(crop.shape[:2]) >= size else cv2.INTER_LINEAR
    return cv2.resize(crop, (size, size), interpolation=interp)


def generate(coco, out, size=64, margin=0.25):
    """Write both splits under ``out``; returns {split: {class_name: count}}."""
    counts = {}
    for split, (img_folder, out_split) in SPLITS.items():
        with open(_ann_file(coco, split)) as f:
            data = json.load(f)
        names = {c['id']: c['name'] for c in data['categories']}
        images = {im['id']: im for im in data['images']}
        split_dir = osp.join(out, out_split)
        if osp.isdir(split_dir):
            shutil.rmtree(split_dir)  # stale crops of an older version must not survive
        for name in names.values():
            os.makedirs(osp.join(split_dir, name), exist_ok=True)
        counts[out_split] = {n: 0 for n in names.values()}
        cache = {}
        for ann in sorted(data['annotations'], key=lambda a: a['id']):
            if ann.get('iscrowd', 0):
                continue
            im = images[ann['image_id']]
            if im['id'] not in cache:
                cache.clear()
                cache[im['id']] = cv2.imread(osp.join(coco, img_folder, im['file_name']))
            crop = crop_box(cache[im['id']], ann['bbox'], margin, size)
            name = names[ann['category_id']]
            fname = f'{im["id"]:06d}_{ann["id"]:06d}.png'
            cv2.imwrite(osp.join(split_dir, name, fname), crop, [cv2.IMWRITE_PNG_COMPRESSION, 3])
            counts[out_split][name] += 1
    return counts


def ensure(coco='data/toy_coco', out='data/toy_imagenet', size=64, margin=0.25):
    """Generate the set unless ``out`` already holds it for these inputs; True if written."""
    ensure_coco(coco)
    stamp = _stamp(coco, size, margin)
    stamp_file = osp.join(out, '.generated')
    if osp.exists(stamp_file):
        with open(stamp_file) as f:
            if f.read() == stamp:
                return False
    os.makedirs(out, exist_ok=True)
    generate(coco, out, size, margin)
    with open(stamp_file, 'w') as f:
        f.write(stamp)
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--coco', default='data/toy_coco')
    parser.add_argument('--out', default='data/toy_imagenet')
    parser.add_argument('--size', type=int, default=64, help='side of the square crops (px)')
    parser.add_argument('--margin', type=float, default=0.25, help='context, fraction of side')
    args = parser.parse_args()
    if not ensure(args.coco, args.out, args.size, args.margin):
        print(f'{args.out} is up to date')
    for split in ('train', 'val'):
        root = osp.join(args.out, split)
        per_class = {c: len(os.listdir(osp.join(root, c))) for c in sorted(os.listdir(root))}
        print(f'{split}: {sum(per_class.values())} images {per_class} -> {root}')


if __name__ == '__main__':
    main()
