"""Hold DetNAS's search split out of COCO train (paper Sec. 4.1; megvii-model/DetNAS README).

The supernet is fine-tuned on COCO train minus 5,000 images, and the search scores candidates
on those 5,000 (official ``coco_2014_trainval_train`` / ``coco_2014_trainval_val``, cut from
coco_2014_train + valminusminival, i.e. train2017); val2017 stays for reporting.

    python projects/detnas/tools/split_search_set.py data/coco/annotations/instances_train2017.json

writes ``instances_train2017_detnas-train.json`` and ``instances_train2017_detnas-search.json``
next to the input (images stay in ``train2017/``), which
``configs/_base_/coco_detnas-search-split.py`` reads. The split is a seeded random sample of
image ids, so it is the same on every machine.
"""
import argparse
import json
import os.path as osp
import random


def split_search_set(ann_file, num_search=5000, seed=0):
    """Write the train / search annotation files; return their paths (train, search)."""
    with open(ann_file) as f:
        coco = json.load(f)
    ids = sorted(im['id'] for im in coco['images'])
    if not 0 < num_search < len(ids):
        raise ValueError(f'num_search={num_search} must be between 1 and {len(ids) - 1} '
                         f'(the file has {len(ids)} images)')
    search = set(random.Random(seed).sample(ids, num_search))
    root, _ = osp.splitext(ann_file)
    paths = []
    for part, in_part in (('train', lambda i: i not in search), ('search', lambda i: i in search)):
        out = {k: v for k, v in coco.items() if k not in ('images', 'annotations')}
        out['images'] = [im for im in coco['images'] if in_part(im['id'])]
        out['annotations'] = [a for a in coco['annotations'] if in_part(a['image_id'])]
        path = f'{root}_detnas-{part}.json'
        with open(path, 'w') as f:
            json.dump(out, f)
        paths.append(path)
    return tuple(paths)


def main():
    parser = argparse.ArgumentParser(description='Split COCO train into DetNAS train / search.')
    parser.add_argument('ann_file', help='e.g. data/coco/annotations/instances_train2017.json')
    parser.add_argument('--num-search', type=int, default=5000, help='paper: 5000')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    for path in split_search_set(args.ann_file, args.num_search, args.seed):
        print(path)


if __name__ == '__main__':
    main()
