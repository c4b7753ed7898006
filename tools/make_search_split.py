"""Hold a search split out of a COCO-format training annotation file (one tool, every project).

A search scores its candidates on images held out of the *training* set, never on the split the
results are reported on (val2017). This tool writes two annotation files, next to the input or
under ``--out-dir``::

    <stem>_<tag>-train.json    the input minus the held-out images (supernet / proxy training)
    <stem>_<tag>-search.json   the held-out images (what the search scores candidates on)

Only the annotation file is split: the images stay where they are (``train2017/``). The held-out
images are ``random.Random(seed).sample`` of the sorted image ids, so the same file, number and
seed give the same split on every machine; images keep their order, and every other top-level
key (``info``, ``licenses``, ``categories``) is copied unchanged.

Each project's README runs it with its paper's number and a tag of its own, and its COCO search
configs read the two files by those fixed names, e.g. from the repo root::

    python tools/make_search_split.py data/coco/annotations/instances_train2017.json \\
        --num-search 5000 --tag detnas
    # -> data/coco/annotations/instances_train2017_detnas-{train,search}.json
"""
import argparse
import json
import os
import os.path as osp
import random
import re


def split_coco(coco, num_search, seed=0):
    """Split a COCO dict into ``(train, search)``: ``num_search`` images drawn with ``seed``, and
    their annotations, go to ``search``; all the others to ``train``."""
    ids = sorted(im['id'] for im in coco['images'])
    if len(set(ids)) != len(ids):
        raise ValueError('the annotation file repeats image ids')
    if not 0 < num_search < len(ids):
        raise ValueError(f'num_search={num_search} must be between 1 and {len(ids) - 1} '
                         f'(the file has {len(ids)} images)')
    held = set(random.Random(seed).sample(ids, num_search))

    def subset(keep):
        return dict(
            coco,
            images=[im for im in coco['images'] if keep(im['id'])],
            annotations=[a for a in coco.get('annotations', []) if keep(a['image_id'])])

    return subset(lambda i: i not in held), subset(lambda i: i in held)


def output_paths(ann_file, tag, out_dir=None):
    """``(<out_dir>/<stem>_<tag>-train.json, <out_dir>/<stem>_<tag>-search.json)``."""
    if not re.fullmatch(r'[A-Za-z0-9_.-]+', tag or ''):
        raise ValueError(f'tag {tag!r}: use letters, digits, "_", "-" or "."')
    stem = osp.splitext(osp.basename(ann_file))[0]
    out_dir = osp.dirname(ann_file) if out_dir is None else out_dir
    return tuple(osp.join(out_dir, f'{stem}_{tag}-{part}.json') for part in ('train', 'search'))


def make_search_split(ann_file, num_search, tag, seed=0, out_dir=None, verbose=False):
    """Write the train / search annotation files of ``ann_file``; returns their paths."""
    paths = output_paths(ann_file, tag, out_dir)
    with open(ann_file) as f:
        coco = json.load(f)
    parts = split_coco(coco, num_search, seed)
    if osp.dirname(paths[0]):
        os.makedirs(osp.dirname(paths[0]), exist_ok=True)
    for path, part in zip(paths, parts):
        tmp = f'{path}.tmp{os.getpid()}'
        with open(tmp, 'w') as f:
            json.dump(part, f)
        os.replace(tmp, path)  # a killed run leaves no half-written file under the final name
        if verbose:
            print(f'{path}: {len(part["images"])} images, '
                  f'{len(part["annotations"])} annotations')
    return paths


def main(argv=None):
    parser = argparse.ArgumentParser(
        description='Hold a search split out of a COCO training annotation file.')
    parser.add_argument('ann_file', help='e.g. data/coco/annotations/instances_train2017.json')
    parser.add_argument(
        '--num-search', type=int, required=True, help='images held out (the paper\'s number)')
    parser.add_argument(
        '--tag', required=True, help='names the outputs <stem>_<tag>-{train,search}.json')
    parser.add_argument('--seed', type=int, default=0, help='seed of the sample (default 0)')
    parser.add_argument('--out-dir', help='where to write (default: next to ann_file)')
    args = parser.parse_args(argv)
    return make_search_split(
        args.ann_file, args.num_search, args.tag, args.seed, args.out_dir, verbose=True)


if __name__ == '__main__':
    main()
