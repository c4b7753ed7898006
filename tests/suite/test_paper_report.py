"""tools/paper_report.py: metafile rows -> measured params/FLOPs, AP from work dirs, md + png."""
import json

import pytest
import yaml

import paper_report

# RetinaNet R-50-FPN, 80 classes, counted by hand: ResNet-50 without fc 23,508,032; FPN
# (laterals 918,272 + 3x3 outputs 1,770,240 + P6 on C5 4,718,848 + P7 590,080) 7,997,440;
# head (8 convs 4,720,640 + cls 1,659,600 + reg 82,980) 6,463,220.
RETINANET_R50_PARAMS = 23_508_032 + 7_997_440 + 6_463_220
# ResNet-50 at 224x224 without its fc: 4.09 GFLOPs (one multiply-add = one FLOP), the figure
# torchvision and fvcore give for ResNet-50 (4.11 G) less the fc's 2.05 M.
RESNET50_224_GFLOPS = 4.09


def _metafile(tmp_path, models):
    (tmp_path / 'projects' / 'stock').mkdir(parents=True)
    meta = dict(Collections=[dict(Name='Stock')], Models=models)
    with open(tmp_path / 'projects' / 'stock' / 'metafile.yml', 'w') as f:
        yaml.safe_dump(meta, f)
    return tmp_path / 'projects'


def _model(name, config, scope, size, params, flops, ap):
    return {
        'Name':
        name,
        'Config':
        config,
        'Metadata': {
            'FLOPs Scope': scope,
            'FLOPs Input': size,
            'Params (M)': params,
            'FLOPs (G)': flops
        },
        'Results': [{
            'Task': 'Object Detection',
            'Dataset': 'COCO',
            'Split': 'val2017',
            'Metrics': {
                'box AP': ap
            },
            'Source': 'test table'
        }]
    }


def test_report_measures_stock_retinanet(tmp_path, monkeypatch):
    cfg = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
    projects = _metafile(tmp_path, [
        _model('RetinaNet R-50-FPN', cfg, 'whole detector', '800x1333', 37.97, 239.0, 36.5),
        _model('ResNet-50 backbone', cfg, 'backbone', '224x224', 23.5, 4.1, None),
        _model('Not built yet', None, 'whole detector', '640x640', 10.0, 50.0, 40.0),
    ])
    # A finished run of that config: mmengine's validation scalars.
    run = tmp_path / 'work_dirs' / 'retinanet_r50_fpn_1x_coco' / '20260101_000000' / 'vis_data'
    run.mkdir(parents=True)
    with open(run / 'scalars.json', 'w') as f:
        f.write(json.dumps({'loss': 1.0, 'step': 1}) + '\n')
        f.write(json.dumps({'coco/bbox_mAP': 0.361, 'step': 12}) + '\n')
    out = tmp_path / 'report'
    rows = paper_report.main([
        '--projects',
        str(projects), '--work-dir-root',
        str(tmp_path / 'work_dirs'), '--out',
        str(out)
    ])
    det, backbone, missing = rows
    assert det['params'] * 1e6 == pytest.approx(RETINANET_R50_PARAMS, abs=0.5)
    assert 150 < det['flops'] < 350  # 1333x800 RetinaNet R-50 is a few hundred GFLOPs
    assert det['ap'] == pytest.approx(36.1)
    assert backbone['flops'] == pytest.approx(RESNET50_224_GFLOPS, rel=0.01)
    assert backbone['params'] == pytest.approx(23.508, abs=1e-3)
    assert missing['params'] is None and missing['ours_source'] == 'no config yet'
    md = (out / 'paper_report.md').read_text()
    assert '| stock: RetinaNet R-50-FPN [1] | 38.0 | 37.97 | -0.0% |' in md
    assert '| 36.5 | 36.1 | -0.4 |' in md
    assert '1. paper: test table (val2017); counted over whole detector at 800x1333' in md
    assert 'EfficientDet-D0' in md and '**!**' not in md.split('Notes:')[0].split('|---|')[1]
    png = (out / 'ap_vs_flops.png').read_bytes()
    assert png[:8] == b'\x89PNG\r\n\x1a\n' and len(png) > 10_000

    # a rerun takes the counts from the cache (nothing is built), a changed row is recounted
    def no_build(*args):
        raise AssertionError(f'counted again: {args}')

    monkeypatch.setattr(paper_report, 'measure', no_build)
    again = paper_report.main([
        '--projects',
        str(projects), '--work-dir-root',
        str(tmp_path / 'work_dirs'), '--out',
        str(out)
    ])
    assert [(r['params'], r['flops']) for r in again] == [(r['params'], r['flops']) for r in rows]
    assert '(cached)' in again[0]['ours_source']
    changed = _metafile(
        tmp_path / 'changed',
        [_model('RetinaNet R-50-FPN', cfg, 'whole detector', '640x640', 37.97, 239.0, 36.5)])
    with pytest.raises(AssertionError, match='counted again'):
        paper_report.main(['--projects', str(changed), '--out', str(out)])


def test_rows_outside_the_tolerance_are_flagged():
    row = dict(
        project='p',
        name='m',
        paper_params=30.0,
        params=33.0,
        paper_flops=100.0,
        flops=101.0,
        paper_ap=40.0,
        ap=None,
        source='s',
        split='val',
        scope='whole detector',
        size='800x1333',
        ours_source='x')
    assert '| p: m [1] **!** | 30.0 | 33.00 | +10.0% |' in paper_report.to_markdown([row])
    row['params'] = 31.0
    assert '| p: m [1] | 30.0 | 31.00 | +3.3% |' in paper_report.to_markdown([row])


def test_every_project_metafile_is_read(repo):
    rows = paper_report.load_rows(str(repo / 'projects'))
    projects = {r['project'] for r in rows}
    assert projects == {'detnas', 'nas_fpn', 'auto_fpn', 'nas_fcos', 'spinenet', 'hitdet'}
    for r in rows:
        assert r['paper_ap'] is not None and r['source'], r
        if r['config']:
            assert (repo / r['config']).exists(), r['config']
        if r['complexity_config']:
            assert (repo / r['complexity_config']).exists(), r['complexity_config']


def test_complexity_config_counts_another_network(tmp_path):
    # DetNAS counts the backbone with its ImageNet head (the classifier config), not the detector
    row = _model(
        'DetNAS-300M', 'projects/detnas/configs/'
        'faster-rcnn_detnas-coco-fpn-300m_fpn-4conv1fc_syncbn_8xb2-90k_coco.py',
        'backbone with ImageNet head', '224x224', 3.5, 0.3, 36.4)
    row['Metadata']['Complexity Config'] = (
        'projects/detnas/configs/detnas_subnet_8xb128-300k_imagenet.py')
    rows = paper_report.fill_ours(
        paper_report.load_rows(str(_metafile(tmp_path, [row]))), str(tmp_path / 'none'))
    assert rows[0]['params'] == pytest.approx(3.533, abs=1e-3)  # tools/complexity.py: 3.53M
    assert rows[0]['flops'] == pytest.approx(0.330, abs=2e-3)  # with BN, mmengine: 330M
    assert 'detnas_subnet_8xb128-300k_imagenet.py' in rows[0]['ours_source']


def test_read_ap_takes_the_newest_run(tmp_path):
    for stamp, ap in (('20260101_000000', 0.2), ('20260102_000000', 0.3)):
        d = tmp_path / 'cfg' / stamp
        d.mkdir(parents=True)
        with open(d / f'{stamp}.json', 'w') as f:
            f.write(json.dumps({'coco/bbox_mAP': ap}))
    ap, path = paper_report.read_ap(str(tmp_path), 'x/cfg.py')
    assert ap == pytest.approx(30.0) and '20260102' in path
    assert paper_report.read_ap(str(tmp_path), 'x/other.py') == (None, None)


def test_complexity_options_and_only(tmp_path):
    """``Complexity Options`` are merged into the config before counting (SpineNet counts the TF
    head's 91 class outputs); ``--only`` keeps the named projects."""
    cfg = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
    row = _model('RetinaNet R-50-FPN, 91 outputs', cfg, 'whole detector', '256x256', 38.2, 1, 1)
    row['Metadata']['Complexity Options'] = {'model.bbox_head.num_classes': 91}
    projects = _metafile(tmp_path, [row])
    assert paper_report.load_rows(str(projects), only=['other']) == []
    cache = str(tmp_path / 'cache.json')
    rows = paper_report.fill_ours(
        paper_report.load_rows(str(projects), only=['stock']),
        str(tmp_path / 'none'),
        cache_path=cache)
    # 11 more classes: the class conv gains 256 x 3 x 3 x (9 anchors x 11) weights + 99 biases
    extra = 256 * 9 * 9 * 11 + 9 * 11
    assert rows[0]['params'] * 1e6 == pytest.approx(RETINANET_R50_PARAMS + extra, abs=0.5)
    assert "{'model.bbox_head.num_classes': 91}" in rows[0]['ours_source']
    assert rows[0]['trained_params'] is None
    assert 'as the config trains' not in rows[0]['ours_source']
    # --as-trained: the same row counted as the config trains it (80 classes) too, from the cache
    # for the 91-class count
    rows = paper_report.fill_ours(
        paper_report.load_rows(str(projects)), 'none', cache_path=cache, as_trained=True)
    assert rows[0]['trained_params'] * 1e6 == pytest.approx(RETINANET_R50_PARAMS, abs=0.5)
    assert rows[0]['params'] * 1e6 == pytest.approx(RETINANET_R50_PARAMS + extra, abs=0.5)
    assert f'as the config trains it: {RETINANET_R50_PARAMS / 1e6:.2f}M' in rows[0]['ours_source']
    assert 'with {' in rows[0]['ours_source'] and '(cached)' in rows[0]['ours_source']
    # a Complexity Config row counts another network (DetNAS: the ImageNet backbone): no
    # "as trained" count for it
    assert not paper_report._differs_from_training(
        dict(complexity_config='imagenet.py', complexity_options={'a': 1}))


def test_plot_legend_lists_only_what_is_drawn_and_labels_do_not_collide(tmp_path):
    """Filled markers for val rows, hollow for test-dev; no legend entry without points (no
    'ours' when nothing was run, no project whose rows count a backbone only); close points get
    labels at least the minimum gap apart."""
    base = dict(params=None, ap=None, source='s', size='640x640', ours_source='')
    rows = [
        dict(
            base,
            project='a',
            name='A val',
            scope='whole detector',
            paper_flops=100.,
            paper_ap=40.,
            flops=None,
            split='COCO val2017'),
        dict(
            base,
            project='a',
            name='A dev',
            scope='whole detector',
            paper_flops=104.,
            paper_ap=40.3,
            flops=None,
            split='COCO test-dev'),
        dict(
            base,
            project='b',
            name='B backbone',
            scope='backbone',
            paper_flops=4.,
            paper_ap=30.,
            flops=4.1,
            split='COCO val2017'),
    ]
    legend = paper_report.plot(rows, tmp_path / 'p.png')
    assert legend == [
        'a', 'paper, val (whole-detector FLOPs)', 'paper, test-dev',
        'EfficientDet-D0 (reference, test-dev)'
    ]
    assert (tmp_path / 'p.png').read_bytes()[:4] == b'\x89PNG'
    places = paper_report._place_labels([(100., 40.), (104., 40.3), (1000., 40.1), (3000., 45.)],
                                        [0.3, 0.3, 0.3, 0.3],
                                        0.9,
                                        x_max=4000.)
    (y0, _), (y1, _), (y2, right2), (y3, right3) = places
    assert abs(y0 - y1) == pytest.approx(0.9) and y2 == 40.1 and right2  # far from the others
    assert not right3 and y3 == 45.  # would pass x_max: on the left


def test_complexity_key_follows_what_builds_the_model():
    """Two configs of one model (RetinaNet 1x and 2x: only the schedule differs) share a count;
    an option that changes the model, the input size or the scope makes another."""
    one_x = 'mmdet::retinanet/retinanet_r50_fpn_1x_coco.py'
    key = paper_report.complexity_key(one_x, 'whole detector', (640, 640))
    assert key == paper_report.complexity_key('mmdet::retinanet/retinanet_r50_fpn_2x_coco.py',
                                              'whole detector', (640, 640))
    classes_91 = {'model.bbox_head.num_classes': 91}
    others = [
        (one_x, 'whole detector', (640, 640), classes_91),
        (one_x, 'whole detector', (512, 512), None),
        (one_x, 'backbone', (640, 640), None),
        ('mmdet::retinanet/retinanet_r18_fpn_1x_coco.py', 'whole detector', (640, 640), None),
    ]
    assert key not in {paper_report.complexity_key(*args) for args in others}
