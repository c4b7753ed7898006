"""What a DetNAS search keeps in its ``work_dir`` (the suite's search-loop contract).

* ``search_history.jsonl``: one :class:`SearchRecord` per sampled candidate, appended as whole
  lines; :meth:`SearchHistory.read` drops a line cut by a kill *from the file*, so the next append
  starts on a fresh line;
* ``search_state.pth``: the search algorithm's state, the step and its pending proposals, written
  atomically (temporary file + rename), loaded with ``weights_only=True``;
* ``best_genotype.yaml``: the best record's genotype with its score, written atomically;
* ``search_progress.png``: score per candidate, best so far and the per-generation mean.

Only rank 0 writes; every function here is called by the loop on rank 0 only.
"""
import dataclasses
import json
import os
import time
from typing import Any, Dict, List, Optional

import torch


@dataclasses.dataclass(frozen=True)
class SearchRecord:
    """One row of ``search_history.jsonl``.

    ``step``/``index``: the candidate's place (generation, member of its population); ``key``:
    the choices joined by commas; ``genotype``: the list of choice names; ``score``:
    ``metrics[score_key]``; ``cost``: backbone FLOPs as the limit counts them, seconds, rank;
    ``cached``: always False here (the evolution never proposes a scored candidate again).
    """
    step: int
    index: int
    key: str
    genotype: Any
    score: float
    metrics: Dict[str, float]
    cost: Dict[str, Any]
    cached: bool
    time: str

    @classmethod
    def from_dict(cls, row: dict) -> 'SearchRecord':
        names = [f.name for f in dataclasses.fields(cls)]
        if sorted(row) != sorted(names):
            raise ValueError(f'a history row needs exactly the fields {names}, got {sorted(row)}')
        return cls(**row)

    def to_line(self) -> str:
        return json.dumps(dataclasses.asdict(self)) + '\n'


def now() -> str:
    return time.strftime('%Y-%m-%dT%H:%M:%S')


class SearchHistory:
    """The append-only ``search_history.jsonl``."""

    def __init__(self, path: str):
        self.path = path

    def read(self) -> List[SearchRecord]:
        """All complete records; a last line cut by a kill is removed from the file.

        A kill inside :meth:`append` can only leave the last line incomplete. A complete line
        that does not parse anywhere else means the file was edited or damaged: that is an error
        rather than a silent loss.
        """
        if not os.path.exists(self.path):
            return []
        with open(self.path, 'rb') as f:
            data = f.read()
        lines = data.split(b'\n')
        tail = lines.pop()  # b'' when the file ends with a newline
        records = []
        for n, line in enumerate(lines, 1):
            try:
                records.append(SearchRecord.from_dict(json.loads(line)))
            except ValueError as e:
                raise ValueError(f'{self.path}, line {n}: not a search record ({e}); this is not '
                                 'a line cut by a kill (only the last line can be)') from None
        if tail:
            try:  # a whole record whose newline was not written yet
                records.append(SearchRecord.from_dict(json.loads(tail)))
                with open(self.path, 'ab') as f:
                    f.write(b'\n')
            except ValueError:
                with open(self.path, 'r+b') as f:
                    f.truncate(len(data) - len(tail))
        return records

    def append(self, record: SearchRecord) -> None:
        with open(self.path, 'a') as f:
            f.write(record.to_line())
            f.flush()
            os.fsync(f.fileno())


def save_state(path: str, state: dict) -> None:
    """``torch.save`` to a temporary file, then rename: a kill leaves the old or the new file."""
    tmp = path + '.tmp'
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_state(path: str) -> Optional[dict]:
    if not os.path.exists(path):
        return None
    return torch.load(path, map_location='cpu', weights_only=True)


def best_record(records: List[SearchRecord]) -> Optional[SearchRecord]:
    """The highest score; ties go to the earliest record (the one that evaluated it)."""
    if not records:
        return None
    return max(records, key=lambda r: (r.score, -r.step, -r.index))


def plot_progress(records: List[SearchRecord], path: str, title: str, score_key: str) -> None:
    """Score of every candidate (counted from 1), best so far and each generation's mean, in %."""
    if not records:
        return
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    xs = list(range(1, len(records) + 1))
    scores = [100 * r.score for r in records]
    best = [max(scores[:i]) for i in xs]
    steps = sorted({r.step for r in records})
    step_x = [max(x for x, r in zip(xs, records) if r.step == s) for s in steps]
    step_mean = [
        sum(100 * r.score for r in records if r.step == s) / sum(r.step == s for r in records)
        for s in steps
    ]
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.plot(xs, scores, '.', alpha=0.5, label='candidate')
    ax.plot(xs, best, '-', label='best so far')
    ax.plot(step_x, step_mean, 's--', markersize=3, label='generation mean')
    ax.set_xlabel('candidate')
    ax.set_ylabel(f'{score_key} (%)')
    ax.set_title(title)
    ax.legend(loc='upper left', bbox_to_anchor=(1.01, 1.0), fontsize=8)
    fig.tight_layout()
    tmp = path + '.tmp.png'
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
