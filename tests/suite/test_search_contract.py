"""The suite's search-loop contract (``CONVENTIONS.md``, "The search-loop contract"), held for
every project's loop on its synthetic objective (a target genotype drawn at random from the
project's search space, so the optimum is known and is not the published architecture), in one
process. The same loops on 2 ranks, and with their real objectives, are in
``test_search_ranks.py``.

A project joins by adding an :class:`Entry` to ``contract_entries.ENTRIES``: its toy search
config, the options that put the loop on its synthetic objective, and how its retrain model
reads a genotype file.

Kills are real exceptions raised inside the loop by :class:`ContractKillAfter`, an objective that
wraps the project's synthetic objective and stops at its n-th evaluation (a kill while a
candidate is being evaluated). A kill inside a history append leaves a cut last line, made here
by cutting the file; a kill between a step's controller update and the save of the state leaves
the previous state beside the full step's history, made here by combining two killed runs; a
kill between a history row and ``best_genotype.yaml`` leaves a stale file, made here by
replacing it. Each must resume to the uninterrupted run's history and best genotype.
"""
import json
import shutil

import pytest
import yaml

from contract_entries import ENTRIES, best, history, run_search
from contract_objectives import EVALUATED


@pytest.fixture(scope='module', params=sorted(ENTRIES))
def reference(request, tmp_path_factory, toy_coco):
    """An uninterrupted synthetic search of one project."""
    entry = ENTRIES[request.param]
    work = tmp_path_factory.mktemp(f'{request.param}_reference')
    EVALUATED.clear()
    run_search(entry, work)
    return entry, work, list(EVALUATED)


def test_reference_run_follows_the_schema(reference):
    entry, work, evaluated = reference
    rows = [json.loads(line) for line in (work / 'search_history.jsonl').read_text().splitlines()]
    fields = ['step', 'index', 'key', 'genotype', 'score', 'metrics', 'cost', 'cached', 'time']
    assert rows and all(list(r) == fields for r in rows)
    assert len(rows) == entry.proposals
    assert all(r['score'] == r['metrics']['synthetic/match'] for r in rows)
    # no candidate evaluated twice: repeated genotypes are cached rows
    assert any(r['cached'] for r in rows) == entry.repeats
    fresh = [r['key'] for r in rows if not r['cached']]
    assert len(fresh) == len(evaluated)
    if not entry.differentiable:  # (a supernet's decoded genotype may stay the same for epochs)
        assert len(fresh) == len(set(fresh))
    for r in rows:
        if r['cached']:
            src = next(s for s in rows if s['key'] == r['key'] and not s['cached'])
            assert (src['step'], src['index']) < (r['step'], r['index'])
            assert src['score'] == r['score']
    b = best(work)
    assert b['score_key'] == 'synthetic/match'
    if entry.differentiable:  # the search's result: the genotype decoded at the last epoch
        assert (b['score'], b['step']) == (rows[-1]['score'], rows[-1]['step'])
    else:
        top = max(r['score'] for r in rows)
        first = next(r for r in rows if r['score'] == top)
        assert b['score'] == top and (b['step'], b['index']) == (first['step'], first['index'])
    assert (work / 'search_progress.png').stat().st_size > 0
    assert (work / 'search_state.pth').exists()
    entry.retrain(str(work / 'best_genotype.yaml'))


def test_same_seed_same_history(reference, tmp_path):
    entry, work, _ = reference
    run_search(entry, tmp_path)
    assert history(tmp_path) == history(work)
    assert best(tmp_path) == best(work)


def test_other_seed_other_history(reference, tmp_path):
    entry, work, _ = reference
    run_search(entry, tmp_path, seed=1)
    assert history(tmp_path) != history(work)


@pytest.mark.parametrize('kill_at, cut_line', [(1, True), (5, False)])
def test_killed_and_resumed_equals_uninterrupted(reference, tmp_path, kill_at, cut_line):
    entry, work, _ = reference
    run_search(entry, tmp_path, kill_at=kill_at)
    path = tmp_path / 'search_history.jsonl'
    if cut_line and path.exists() and path.read_text():
        if entry.differentiable:
            # the state is saved after each epoch's row: a kill inside that row's append left
            # the state of the epoch before it
            before = tmp_path.parent / f'{tmp_path.name}_before'
            run_search(entry, before, kill_at=kill_at - 1)
            shutil.copy(before / 'search_state.pth', tmp_path / 'search_state.pth')
        text = path.read_text()
        last = text.rstrip('\n').rsplit('\n', 1)[-1]
        path.write_text(text[:len(text) - len(last) // 2 - 1])  # killed inside the append
    kept = sum(1 for line in path.read_text().splitlines()
               if line.endswith('}') and not json.loads(line)['cached']) if path.exists() else 0
    EVALUATED.clear()
    run_search(entry, tmp_path, resume=True)
    assert history(tmp_path) == history(work)
    assert best(tmp_path) == best(work)
    # finished candidates were read back: only what the file lacked is evaluated again
    fresh = [r for r in history(work) if not r['cached']]
    assert len(EVALUATED) == len(fresh) - kept
    assert path.read_text().endswith('\n')


def test_kill_between_update_and_save(reference, tmp_path):
    """The state still holds step 0 (pending, controller before its update) while the history
    holds every row of step 0: the resume redoes the update from the stored state."""
    entry, work, _ = reference
    step0 = sum(1 for r in history(work) if r['step'] == 0 and not r['cached'])
    before = tmp_path / 'before'
    run_search(entry, before, kill_at=step0 - 1)
    after = tmp_path / 'after'
    run_search(entry, after, kill_at=step0)
    assert {r['step'] for r in history(after)} == {0}
    shutil.copy(before / 'search_state.pth', after / 'search_state.pth')
    run_search(entry, after, resume=True)
    assert history(after) == history(work)


def test_resume_rule_and_its_errors(reference, tmp_path):
    entry, work, _ = reference
    with pytest.raises(RuntimeError, match='no search state'):
        run_search(entry, tmp_path / 'empty', resume=True)
    done = tmp_path / 'done'
    shutil.copytree(work, done)
    with pytest.raises(RuntimeError, match='already holds a search'):
        run_search(entry, done)
    opts = entry.synthetic(0)
    with pytest.raises(RuntimeError, match='settings differ'):
        run_search(entry, done, resume=True, **{entry.step_size: opts[entry.step_size] + 1})
    if entry.budget:  # the budget may grow: a finished search continues where it stopped
        run_search(entry, done, resume=True, **{entry.budget: opts[entry.budget] + 1})
        rows = history(done)
        assert rows[:len(history(work))] == history(work)
        assert max(r['step'] for r in rows) == opts[entry.budget]


def test_score_key_the_objective_does_not_produce_is_an_error(reference, tmp_path):
    entry, _, _ = reference
    with pytest.raises(ValueError, match='is not produced by the'):
        run_search(entry, tmp_path, score_key='coco/bbox_mAP')


def test_a_stale_best_genotype_is_rebuilt_from_the_history(reference, tmp_path):
    """A kill after a history row but before ``best_genotype.yaml``: a resume rewrites the file
    from the history before it evaluates anything; so does the resume of a finished search."""
    entry, work, _ = reference
    killed = tmp_path / 'killed'
    run_search(entry, killed, kill_at=1)  # one row in the history, its best file written
    (killed / 'best_genotype.yaml').unlink()  # as if killed before the file was written
    if entry.differentiable:  # killed again at once: the file comes before any training
        run_search(entry, killed, resume=True, kill_at=0)
    else:  # a resume allowed no new evaluation
        run_search(entry, killed, resume=True, max_new_candidates=0)
    rows = history(killed)
    assert len(rows) == 1 and best(killed)['score'] == rows[0]['score']
    done = tmp_path / 'done'
    shutil.copytree(work, done)
    stale = dict(best(work), score=-1.0, step=0, source='x')
    (done / 'best_genotype.yaml').write_text(yaml.safe_dump(stale))
    run_search(entry, done, resume=True)  # finished: nothing to do but the result files
    assert best(done) == best(work)
