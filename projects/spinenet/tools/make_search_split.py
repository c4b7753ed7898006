"""Hold images out of COCO train2017 for the search's reward (SpineNet paper Sec. 5.1: "7392 images
held out of COCO train2017 as the search validation set"; which images is not published).

    python projects/spinenet/tools/make_search_split.py \
        --ann data/coco/annotations/instances_train2017.json --num 7392 --seed 0

writes ``instances_train2017_minus_search.json`` (the search's training set) and
``instances_train2017_search.json`` (its reward split) next to ``--ann``; the images stay in
train2017/. Deterministic for a given seed.
"""
import argparse
import json
import os.path as osp
import random


def split(ann, num, seed=0):
    images = sorted(ann['images'], key=lambda im: im['id'])
    held = set(im['id'] for im in random.Random(seed).sample(images, num))

    def subset(keep):
        return dict(
            ann,
            images=[im for im in images if keep(im['id'])],
            annotations=[a for a in ann['annotations'] if keep(a['image_id'])])

    return subset(lambda i: i not in held), subset(lambda i: i in held)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--ann', default='data/coco/annotations/instances_train2017.json')
    p.add_argument('--num', type=int, default=7392)
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args(argv)
    with open(args.ann) as f:
        ann = json.load(f)
    train, search = split(ann, args.num, args.seed)
    stem = osp.splitext(args.ann)[0]
    for suffix, data in (('_minus_search', train), ('_search', search)):
        with open(stem + suffix + '.json', 'w') as f:
            json.dump(data, f)
        print(f'{stem}{suffix}.json: {len(data["images"])} images')


if __name__ == '__main__':
    main()
