"""What an Auto-FPN search keeps in its ``work_dir`` (the suite's search-loop contract).

* ``search_history.jsonl``: one :class:`SearchRecord` per epoch, appended as whole
  lines; :meth:`SearchHistory.read` drops a line cut by a kill *from the file*, so the next append
  starts on a fresh line;
* ``search_state.pth``: the supernet (weights and architecture weights), the optimisers and the
  epoch (no random state: each epoch seeds itself from the seed and its number), written
  atomically (temporary file + rename), loaded with ``weights_only=True``;
* ``best_genotype.yaml``: the genotype decoded at the last finished epoch with its score,
  written atomically (by the loop);
* ``search_progress.png``: score and expected cost per epoch, and the weight of the strongest
  non-none op of every edge over the epochs (the architecture weights' evolution).

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

    A differentiable search has one row per epoch: ``step`` = the epoch, ``index`` = 0; ``key``:
    the canonical string of the genotype decoded at the epoch's end; ``genotype``: that genotype
    (the searched component, DARTS's decoding); ``score``: ``metrics[score_key]`` (None where
    that metric is, as the architecture losses before ``arch_start_epoch``); ``metrics``:
    losses, the expected cost and its terms, and every edge's softmax weights; ``cost``: expected
    and decoded cost (normalised C), the decoded edges' parameters (M), GFLOPs and MAC (M),
    seconds; ``cached``: always False.
    """
    step: int
    index: int
    key: str
    genotype: Any
    score: Optional[float]
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


def plot_progress(records: List[SearchRecord], path: str, title: str, score_key: str) -> None:
    """Score and expected cost per epoch; per edge, the weight of its strongest non-none op."""
    if not records:
        return
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    epochs = [r.step + 1 for r in records]
    fig, (ax, aw) = plt.subplots(1, 2, figsize=(10, 3.6))
    scores = [float('nan') if r.score is None else 100 * r.score for r in records]
    ax.plot(epochs, scores, 'o-', label=score_key)
    ax.set_xlabel('epoch')
    ax.set_ylabel(f'{score_key} (%)')
    cost = ax.twinx()
    cost.plot(
        epochs, [r.cost['expected_cost'] for r in records],
        's--',
        color='C1',
        label='expected cost C')
    cost.set_ylabel('expected cost C')
    ax.set_title(title)
    positions = sorted(k for k in records[-1].metrics if k.startswith('weight/'))
    for k in positions:
        aw.plot(epochs, [r.metrics.get(k, float('nan')) for r in records], lw=1)
    aw.set_xlabel('epoch')
    aw.set_ylabel('weight of the strongest op')
    aw.set_title(f'{len(positions)} edges')
    fig.legend(loc='upper left', bbox_to_anchor=(0.0, 1.0), fontsize=8)
    fig.tight_layout()
    tmp = path + '.tmp.png'
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, path)
