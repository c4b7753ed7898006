"""MMEngine checkpoints load with torch's weights-only unpickler once ``projects`` is imported."""
import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub

from conftest import REPO


@pytest.fixture
def mmengine_like_checkpoint(tmp_path):
    """What mmengine's Runner.save_checkpoint writes: weights, meta, message hub, optimizer."""
    hub = MessageHub('ckpt-test')
    for i in range(3):
        hub.update_scalar('train/loss', np.float64(1.0 / (i + 1)))
        hub.update_scalar('train/lr', 0.01)
    hub.update_info('epoch', 2)
    model = torch.nn.Linear(2, 2)
    optim = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 2)).sum().backward()
    optim.step()
    ckpt = dict(
        meta=dict(
            epoch=2,
            iter=10,
            seed=0,
            mmengine_version='0.10.7',
            dataset_meta=dict(classes=('a', 'b'), palette=[(1, 2, 3)])),
        state_dict=model.state_dict(),
        message_hub=hub.state_dict(),
        optimizer=optim.state_dict(),
        param_schedulers=[dict(base_lrs=[0.1], last_epoch=2)])
    path = tmp_path / 'epoch_2.pth'
    torch.save(ckpt, path)
    return path


def _load_in_fresh_process(path, pre_import=''):
    code = f'{pre_import}\nimport torch\ntorch.load({str(path)!r})\nprint("LOADED")'
    return subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)


def test_plain_torch_load_refuses_mmengine_checkpoints(mmengine_like_checkpoint):
    """The problem this module fixes (if torch ever stops refusing, the module can go)."""
    res = _load_in_fresh_process(mmengine_like_checkpoint)
    assert 'LOADED' not in res.stdout
    assert 'UnpicklingError' in res.stderr and 'weights_only' in res.stderr


def test_importing_projects_lets_them_load(mmengine_like_checkpoint):
    res = _load_in_fresh_process(mmengine_like_checkpoint, 'import projects')
    assert 'LOADED' in res.stdout, res.stderr[-2000:]


def test_allow_list_round_trips_the_message_hub(mmengine_like_checkpoint):
    import projects  # noqa: F401
    ckpt = torch.load(mmengine_like_checkpoint, weights_only=True)
    hub = MessageHub('restored')
    hub.load_state_dict(ckpt['message_hub'])
    buf = hub.get_scalar('train/loss')
    assert isinstance(buf, HistoryBuffer)
    np.testing.assert_allclose(buf.data[0], [1.0, 0.5, 1 / 3])
    assert hub.get_info('epoch') == 2


def test_an_empty_history_buffer_loads(tmp_path):
    """A scalar logged zero times (e.g. a hook's buffer before its first iteration) pickles its
    empty numpy buffer through ``builtins.bytes()``."""
    hub = MessageHub('empty-buffer')
    hub._log_scalars['train/loss'] = HistoryBuffer()
    path = tmp_path / 'empty.pth'
    torch.save(dict(message_hub=hub.state_dict()), path)
    res = _load_in_fresh_process(path, 'import projects')
    assert 'LOADED' in res.stdout, res.stderr[-2000:]


class _GetattrOnNumpy:
    """Pickles as getattr(numpy.ndarray, 'tofile'): a getattr the allow-list must refuse."""

    def __reduce__(self):
        return getattr, (np.ndarray, 'tofile')


@pytest.mark.parametrize('payload', [subprocess.Popen, _GetattrOnNumpy()], ids=['class', 'getattr'])
def test_anything_else_is_still_refused(tmp_path, payload):
    import projects  # noqa: F401
    path = tmp_path / 'evil.pth'
    torch.save({'x': payload}, path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)
