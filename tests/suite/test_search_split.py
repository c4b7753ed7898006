"""tools/make_search_split.py: the held-out search split of every project.

The split is disjoint from what stays for training, has the requested size, keeps every
annotation with its image and is the same for the same seed. Each project's README calls it with
its paper's number, and the files that command writes are the ones the project's configs read.
"""
import json
import re
import shlex

import pytest
from pycocotools.coco import COCO

import make_search_split
from conftest import REPO

# The paper's number of held-out train2017 images, per project (each README cites its source).
PAPER_SPLITS = {
    'detnas': 5000,  # megvii-model/DetNAS README: 5000 images of coco_2014_train+valminusminival
    'nas_fpn': 7392,  # NAS-FPN Sec. 3.2 (read as 7329 or 7392; 7392 = SpineNet's, same group)
    'spinenet': 7392,  # SpineNet Sec. 5.1
}


def _ids(path):
    with open(path) as f:
        return [im['id'] for im in json.load(f)['images']]


def test_split_holds_images_out_disjointly(tmp_path, toy_coco):
    src = toy_coco / 'annotations' / 'instances_train.json'
    full = json.loads(src.read_text())
    train_path, search_path = make_search_split.make_search_split(
        str(src), 50, 'x', seed=0, out_dir=str(tmp_path))
    assert (train_path, search_path) == (str(tmp_path / 'instances_train_x-train.json'),
                                         str(tmp_path / 'instances_train_x-search.json'))
    train, search = COCO(train_path), COCO(search_path)  # both are valid COCO files
    tid, sid = set(train.getImgIds()), set(search.getImgIds())
    assert len(sid) == 50 and len(tid) == len(full['images']) - 50 and not tid & sid
    assert tid | sid == {im['id'] for im in full['images']}
    assert len(train.getAnnIds()) + len(search.getAnnIds()) == len(full['annotations'])
    assert {a['image_id'] for a in search.dataset['annotations']} <= sid
    assert {a['image_id'] for a in train.dataset['annotations']} <= tid
    assert search.dataset['categories'] == full['categories']
    # images keep the input's order
    order = [im['id'] for im in full['images']]
    assert _ids(search_path) == [i for i in order if i in sid]


def test_same_seed_same_split_other_seed_differs(tmp_path, toy_coco):
    src = str(toy_coco / 'annotations' / 'instances_train.json')
    a = make_search_split.make_search_split(src, 40, 't', seed=3, out_dir=str(tmp_path / 'a'))
    b = make_search_split.make_search_split(src, 40, 't', seed=3, out_dir=str(tmp_path / 'b'))
    c = make_search_split.make_search_split(src, 40, 't', seed=4, out_dir=str(tmp_path / 'c'))
    for pa, pb in zip(a, b):
        assert open(pa, 'rb').read() == open(pb, 'rb').read()
    assert set(_ids(a[1])) != set(_ids(c[1]))


def test_bad_requests_fail_with_a_clear_message(tmp_path):
    src = tmp_path / 'ann.json'
    src.write_text(json.dumps(dict(images=[dict(id=i) for i in range(5)], annotations=[])))
    for num in (0, 5, 6):
        with pytest.raises(ValueError, match='num_search'):
            make_search_split.make_search_split(str(src), num, 't')
    with pytest.raises(ValueError, match='tag'):
        make_search_split.make_search_split(str(src), 2, 'a/b')
    with pytest.raises(SystemExit):  # --num-search and --tag are required
        make_search_split.main([str(src)])
    assert sorted(p.name for p in tmp_path.iterdir()) == ['ann.json']  # nothing written


def _readme_commands(project):
    text = (REPO / 'projects' / project / 'README.md').read_text().replace('\\\n', ' ')
    return [
        shlex.split(line)[2:] for line in text.splitlines()
        if line.startswith('python tools/make_search_split.py')
    ]


@pytest.mark.parametrize('project', sorted(PAPER_SPLITS))
def test_readme_command_writes_what_the_configs_read(project, tmp_path):
    """Run the README's command on a stand-in for instances_train2017.json: the paper's number
    of images is held out, and the two files are exactly those the project's configs read."""
    (args, ) = _readme_commands(project)
    assert args[0] == 'data/coco/annotations/instances_train2017.json'
    ann = tmp_path / 'instances_train2017.json'
    ann.write_text(json.dumps(dict(images=[dict(id=i) for i in range(8000)], annotations=[])))
    train, search = make_search_split.main([str(ann)] + args[1:])
    assert len(_ids(search)) == PAPER_SPLITS[project]

    read = set()
    for cfg in (REPO / 'projects' / project / 'configs').rglob('*.py'):
        read |= set(re.findall(r'annotations/(instances_train2017_[\w.-]+\.json)', cfg.read_text()))
    written = {p.rsplit('/', 1)[-1] for p in (train, search)}
    assert read == written, f'{project} configs read {sorted(read)}, the README writes {written}'
