"""Split COCO train2017 annotations into a proxy-training part and a held-out search part.

NAS-FPN scores every sampled architecture on images held out of train2017 (paper Sec. 3.2;
the number is read as 7329 or 7392 depending on the source -- 7392 is the held-out size of
SpineNet, by the same group). The reported split (val2017) is never used by the search.

    python projects/nas_fpn/tools/split_coco_train.py \
        data/coco/annotations/instances_train2017.json --num-search 7392

writes ``instances_train2017_nas-train.json`` and ``instances_train2017_nas-search.json`` next
to the input (images stay in ``train2017/``).
"""
import argparse
import json
import os.path as osp
import random


def split(ann_file, num_search, seed=0, out_dir=None):
    with open(ann_file) as f:
        data = json.load(f)
    ids = sorted(img['id'] for img in data['images'])
    if not 0 < num_search < len(ids):
        raise ValueError(f'num_search={num_search} must be in (0, {len(ids)})')
    search_ids = set(random.Random(seed).sample(ids, num_search))
    stem = osp.splitext(osp.basename(ann_file))[0]
    out_dir = out_dir or osp.dirname(ann_file)
    paths = {}
    for part, keep in (('nas-train', lambda i: i not in search_ids), ('nas-search',
                                                                      lambda i: i in search_ids)):
        sub = dict(data)
        sub['images'] = [im for im in data['images'] if keep(im['id'])]
        sub['annotations'] = [a for a in data['annotations'] if keep(a['image_id'])]
        paths[part] = osp.join(out_dir, f'{stem}_{part}.json')
        with open(paths[part], 'w') as f:
            json.dump(sub, f)
    return paths


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('ann_file')
    parser.add_argument('--num-search', type=int, default=7392)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--out-dir', default=None)
    args = parser.parse_args()
    for part, path in split(args.ann_file, args.num_search, args.seed, args.out_dir).items():
        print(f'{part}: {path}')


if __name__ == '__main__':
    main()
