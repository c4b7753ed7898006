"""Several training runs in one launch of ranks, each as ``mim train ... --launcher pytorch`` runs
it (mmdet's ``tools/train.py``), one after the other in the same processes: the contract tests
share the start-up of the ranks instead of paying it per run.

    python -m torch.distributed.run --nproc_per_node 2 tests/suite/dist_driver.py RUNS.json

``RUNS.json`` holds a list of runs: ``name``, ``argv`` (train.py's arguments) and optionally
``kill_at`` / ``kill_signal`` (:data:`contract_objectives.KILL` for the run) and ``crash``
(an error of this run leaves the process, as it leaves ``mim train``'s). The outcome of each
run on each rank, ``"ok"`` or the error, is written to ``RUNS.json.rank<r>.json`` after each
run. An error that the loops raise on every rank moves on to the next run; a rank that dies
(SIGKILL, an error that leaves the others in a collective) ends the launch, as a real one would.
On a machine without CUDA, ``torch.cuda.set_device`` (called by mmengine's ``init_dist``) is
made a no-op; the runs pass ``model_wrapper_cfg.device_ids=None``.
"""
import json
import os
import os.path as osp
import runpy
import sys

import mmdet
import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))

import contract_objectives  # noqa: E402  (registers the contract's objectives)

if not torch.cuda.is_available():
    torch.cuda.set_device = lambda *args, **kwargs: None


def main():
    spec = sys.argv[1]
    with open(spec) as f:
        runs = json.load(f)
    train = osp.join(osp.dirname(mmdet.__file__), '.mim', 'tools', 'train.py')
    out_path = f'{spec}.rank{os.environ.get("RANK", "0")}.json'
    outcomes = {}
    for run in runs:
        contract_objectives.KILL.update(at=run.get('kill_at'), signal=run.get('kill_signal', False))
        sys.argv = [train] + run['argv']
        try:
            runpy.run_path(train, run_name='__main__')
            outcomes[run['name']] = 'ok'
        except Exception as e:  # the loops raise a rank's error on every rank
            if run.get('crash'):  # the run ends the launch, as mim train's would
                raise
            outcomes[run['name']] = f'{type(e).__name__}: {e}'
        with open(out_path + '.tmp', 'w') as f:
            json.dump(outcomes, f, indent=1)
        os.replace(out_path + '.tmp', out_path)


if __name__ == '__main__':
    main()
