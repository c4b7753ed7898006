"""tools/demo.py: beside each toy cycle's mAP, what its searches scored; a search whose every
candidate is at noise level is called that, not presented as a result (issue 19.1)."""
import json

import demo


def _history(path, scores, key='coco/bbox_mAP'):
    path.mkdir(parents=True)
    with open(path / 'search_history.jsonl', 'w') as f:
        for i, s in enumerate(scores):
            row = dict(step=0, index=i, score=s, metrics={key: s, 'loss': 1.0})
            f.write(json.dumps(row) + '\n')


def test_noise_level_searches_are_flagged_and_ranked_ones_are_not(tmp_path):
    _history(tmp_path / 'nas_fpn' / 'search', [0.002, 0.003, 0.002, 0.002])
    _history(tmp_path / 'nas_fcos' / 'search-decoder', [0.05, 0.21])
    _history(tmp_path / 'nas_fcos' / 'search-head', [0.004, 0.011])  # one candidate above 1%
    _history(tmp_path / 'hitdet' / 'search', [-0.5, -0.3], key='loss_arch')
    noisy = demo.search_summary(str(tmp_path / 'nas_fpn'))
    assert noisy == 'search: 4 scored, AP 0.2-0.3% (noise level: the pick is random, not a result)'
    ranked = demo.search_summary(str(tmp_path / 'nas_fcos'))
    assert ranked == 'search-decoder: 2 scored, AP 5.0-21.0%; search-head: 2 scored, AP 0.4-1.1%'
    assert 'noise' not in ranked
    assert demo.search_summary(str(tmp_path / 'hitdet')) == 'search: 2 scored, score -0.5--0.3'
    assert demo.search_summary(str(tmp_path / 'none')) == ''
