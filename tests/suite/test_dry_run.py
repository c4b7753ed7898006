"""Every paper config of the suite runs before a user spends GPU hours on it
(``tools/dry_run.py`` on the toy set, in the data layout each config expects):

* every COCO search, screening and supernet config and every ImageNet config: one step of its
  loop on 2 CPU ranks (``--launcher pytorch``), with its own pipeline, optimizer wrapper and
  hooks;
* every retrain config (every metafile row's and the one-GPU variants): two training
  iterations and an evaluation of two images in one process (SyncBN reverted, as mmengine does
  without a launcher).

Images are 64 px. The configs of a group share one process (or one launch of the ranks).
"""
import socket
import sys
from pathlib import Path

import yaml

from conftest import REPO, run_cli

CONFIGS = sorted(
    str(p.relative_to(REPO)) for p in (REPO / 'projects').glob('*/configs/*.py')
    if not p.stem.endswith('_toy') and not p.stem.endswith('toy-imagenet'))
STAGES = ('_search', '_screen', 'supernet', 'imagenet')
SEARCH_LIKE = [c for c in CONFIGS if any(s in Path(c).stem for s in STAGES)]
RETRAIN = [c for c in CONFIGS if c not in SEARCH_LIKE]
SIZE = ['--size', '64', '64']


def _check(results, configs):
    """Every config printed ``[dry-run] ok``; else the failures' own reports."""
    ok, failed = set(), []
    for res in results:
        lines = res.stdout.splitlines()
        ok |= {line.split()[2] for line in lines if line.startswith('[dry-run] ok ')}
        for i, line in enumerate(lines):
            if line.startswith('[dry-run] FAILED'):
                end = next(
                    (j for j in range(i + 1, len(lines)) if lines[j].startswith('[dry-run]')),
                    len(lines))
                failed.append('\n'.join(lines[i:end][-40:]))
    missing = [c for c in configs if c not in ok]
    report = '\n'.join(failed) or (results[-1].stdout[-3000:] + results[-1].stderr[-5000:])
    assert not missing and all(r.returncode == 0 for r in results), f'{missing}\n{report}'


def test_every_retrain_config_trains_and_evaluates(tmp_path, toy_coco):
    res = run_cli(
        ['python', 'tools/dry_run.py'] + RETRAIN + SIZE +
        ['--work-dir', str(tmp_path)],
        timeout=1800,
        check=False)
    _check([res], RETRAIN)


def test_every_search_supernet_and_imagenet_config_runs_a_step_on_two_ranks(tmp_path, toy_coco):
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    res = run_cli(
        [
            sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2', '--master_port',
            str(port), 'tools/dry_run.py'
        ] + SEARCH_LIKE + SIZE + ['--launcher', 'pytorch', '--work-dir',
                                  str(tmp_path)],
        timeout=1800,
        check=False)
    _check([res], SEARCH_LIKE)


def test_every_metafile_row_config_is_a_retrain_config():
    """The split by name puts every config a metafile row reports among the retrain configs,
    and finds search stages in every project."""
    rows = set()
    for meta in (REPO / 'projects').glob('*/metafile.yml'):
        for model in yaml.safe_load(meta.read_text())['Models']:
            if model.get('Config'):
                rows.add(model['Config'])
    assert rows and rows <= set(RETRAIN)
    assert {Path(c).parts[1]
            for c in SEARCH_LIKE
            } == {'spinenet', 'nas_fpn', 'detnas', 'nas_fcos', 'hitdet', 'auto_fpn'}


def test_sizes_follow_each_transform_convention():
    """Resize scales are (w, h), crops (h, w); a list of scales keeps its length (a range stays
    a range); square crops and ImageNet sides take the shorter side."""
    import dry_run
    pipeline = [
        dict(type='Resize', scale=(1333, 800)),
        dict(type='RandomResize', scale=[(1333, 640), (1333, 800)]),
        dict(type='RandomCrop', crop_size=(640, 640)),
        dict(type='Pad', size=(1024, 1024)),
        dict(type='DetNASCenterCrop', size=224),
        dict(type='Unrelated', scale=(5, 5)),
    ]
    dry_run.set_size(pipeline, (64, 96))
    assert pipeline[0]['scale'] == (96, 64)
    assert pipeline[1]['scale'] == [(96, 64), (96, 64)]
    assert pipeline[2]['crop_size'] == (64, 96)
    assert pipeline[3]['size'] == (96, 64)
    assert pipeline[4]['size'] == 64
    assert pipeline[5]['scale'] == (5, 5)
    counts = dict(rcnn=dict(sampler=dict(num=512)), rpn=dict(nms_pre=2000, max_per_img=1000))
    dry_run.set_counts(counts)
    assert counts == dict(rcnn=dict(sampler=dict(num=8)), rpn=dict(nms_pre=256, max_per_img=100))


def test_a_failing_config_is_named_with_its_error(tmp_path, toy_coco):
    res = run_cli([
        'python', 'tools/dry_run.py', 'configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py',
        '--work-dir',
        str(tmp_path), '--cfg-options', 'model.backbone.depth=7'
    ],
                  check=False)
    assert res.returncode == 1
    assert '[dry-run] FAILED configs/toy/retinanet_r18-w16_fpn_1xb8-12e_toy.py' in res.stdout
    assert 'invalid depth 7' in res.stdout


def test_the_layout_speaks_the_configs_classes(tmp_path, toy_coco):
    """The toy images under the config's own names: a COCO json with every class of the config
    (a detector predicts any of them) and VOC XML naming its first classes."""
    import json
    import xml.etree.ElementTree as ET

    import dry_run
    layout = dry_run.ToyLayout(str(toy_coco), str(tmp_path))
    classes = [f'class{i}' for i in range(80)]
    layout.coco('annotations/train.json', 'train2017/', classes, 'train', 3)
    data = json.loads((tmp_path / 'annotations' / 'train.json').read_text())
    assert [c['name'] for c in data['categories']] == classes
    assert len(data['images']) == 3 and data['annotations']
    assert {a['category_id'] for a in data['annotations']} <= set(range(1, 7))
    assert all((tmp_path / 'train2017' / im['file_name']).exists() for im in data['images'])
    layout.voc('VOC2007/ImageSets/Main/trainval.txt', 'VOC2007/', classes[:20], 'val', 2)
    names = (tmp_path / 'VOC2007/ImageSets/Main/trainval.txt').read_text().split()
    assert len(names) == 2
    root = ET.parse(tmp_path / 'VOC2007' / 'Annotations' / f'{names[0]}.xml').getroot()
    assert {o.find('name').text for o in root.iter('object')} <= set(classes[:6])
    assert (tmp_path / 'VOC2007' / 'JPEGImages' / f'{names[0]}.jpg').exists()
