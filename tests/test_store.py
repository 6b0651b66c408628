"""The search history: runs recorded as they happen, the verdict cache, bad files, privacy."""

from __future__ import annotations

import sqlite3
import warnings
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from jupyter_codesearch import CodeSearchWarning, SearchConfig
from jupyter_codesearch._seams import RoundRequest, Sample
from jupyter_codesearch.run import SearchRun, search
from jupyter_codesearch.store import open_store
from jupyter_codesearch.store._read import list_runs, load_run, prune
from jupyter_codesearch.store._schema import SCHEMA_VERSION
from tests.test_search_seams import ALSO_RIGHT, RIGHT, SPEC, WRONG, FakeSource, FakeVerifier, fenced


def recorded(tmp_path: Path, source: FakeSource, verifier: FakeVerifier | None = None, **options: object) -> SearchRun:
    config = SearchConfig().with_(history=str(tmp_path / "h.sqlite"), **options)
    run = search(SPEC, config, source=source, verifier=verifier or FakeVerifier(), wait=False).wait(10)
    assert run.recorded(5)
    return run


def test_a_run_is_recorded_with_its_candidates_verdicts_and_tests(tmp_path: Path) -> None:
    run = recorded(tmp_path, FakeSource({1: [RIGHT, RIGHT, ALSO_RIGHT, WRONG]}))
    assert run.history_id is not None
    store = open_store(tmp_path / "h.sqlite")
    [summary] = list_runs(store)
    assert summary["id"] == run.history_id and summary["function"] == "inc" and summary["status"] == "done"
    assert (summary["candidates"], summary["passing"], summary["generated"]) == (3, 2, 4)
    assert summary["best_status"] == "passed" and summary["tokens"] == 40
    past = load_run(store, run.history_id[:6])
    assert [c.code for c in past.candidates] == [c.code for c in run.candidates]
    assert [c.samples for c in past.candidates] == [2, 1, 1]
    wrong = past.candidates[2]
    assert wrong.verdict is not None and wrong.status == "failed"
    assert [t.passed for t in wrong.verdict.tests] == [False, False] and wrong.verdict.tests[1].hidden
    assert past.candidates[0].behaviours == run.candidates[0].behaviours and len(past.probes) == len(run.probe_set)
    with store.read() as conn:
        assert conn.execute("SELECT count(*) FROM clusters WHERE run_id = ?", (run.history_id,)).fetchone() == (1,)


def test_a_program_verified_once_is_not_verified_again_in_a_later_run(tmp_path: Path) -> None:
    first = FakeVerifier()
    recorded(tmp_path, FakeSource({1: [RIGHT, WRONG]}), first)
    again = FakeVerifier()
    # Another spelling of the same program (a comment, other formatting) is the same program.
    run = recorded(tmp_path, FakeSource({1: [RIGHT + "# same\n", "def inc(x):  return x\n", ALSO_RIGHT]}), again)
    assert again.verified == [ALSO_RIGHT]
    cached = {c.code: c.verdict.cached for c in run.candidates if c.verdict is not None}
    assert cached == {RIGHT + "# same\n": True, "def inc(x):  return x\n": True, ALSO_RIGHT: False}
    assert run.best is not None and run.best.passed


def test_other_limits_are_verified_afresh(tmp_path: Path) -> None:
    recorded(tmp_path, FakeSource({1: [RIGHT]}))
    again = FakeVerifier()
    recorded(tmp_path, FakeSource({1: [RIGHT]}), again, timeout=3.0)
    assert again.verified == [RIGHT]


def test_history_off_records_nothing(tmp_path: Path) -> None:
    run = search(SPEC, SearchConfig(history="off"), source=FakeSource({1: [RIGHT]}), verifier=FakeVerifier(),
                 wait=False).wait(10)
    assert run.history_id is None and run.best is not None and run.recorded(0)


@pytest.mark.parametrize("content", [b"this is not a database at all" * 100, b""])
def test_a_corrupted_file_is_moved_aside_with_one_warning_and_the_run_goes_on(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "h.sqlite"
    path.write_bytes(content or b"SQLite format 3\x00" + b"\xff" * 4000)
    with pytest.warns(CodeSearchWarning) as caught:
        run = recorded(tmp_path, FakeSource({1: [RIGHT]}))
    [warning] = [w for w in caught if issubclass(w.category, CodeSearchWarning)]
    assert "moved it to h.sqlite.broken-" in str(warning.message) and "started a fresh history" in str(warning.message)
    assert run.best is not None and [p.name for p in tmp_path.glob("h.sqlite.broken-*")] != []
    assert list_runs(open_store(path))[0]["id"] == run.history_id


def test_a_database_of_another_program_is_not_touched_but_moved_aside(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE runs (x)")
    with pytest.warns(CodeSearchWarning, match="is a database of another program"):
        recorded(tmp_path, FakeSource({1: [RIGHT]}))
    [aside] = tmp_path.glob("h.sqlite.broken-*")
    with sqlite3.connect(aside) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == [("runs",)]


def test_the_schema_version_is_recorded_and_a_newer_file_is_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite"
    open_store(path)
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    newer = tmp_path / "newer.sqlite"
    with sqlite3.connect(newer) as conn:
        conn.execute(f"PRAGMA application_id = {0x43534831}")
        conn.execute("CREATE TABLE runs (x)")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.warns(CodeSearchWarning, match="written by a newer jupyter-codesearch"):
        open_store(newer)
    assert list(tmp_path.glob("newer.sqlite.broken-*"))


def test_api_keys_are_never_stored_and_prompts_can_be_kept_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "sk-live-0123456789abcdef"
    monkeypatch.setenv("MY_PROVIDER_KEY", secret)
    leaky = f"def inc(x):\n    return x + 1  # {secret}\n"
    recorded(tmp_path, FakeSource({1: [leaky]}), api_key_env="MY_PROVIDER_KEY")
    recorded(tmp_path, FakeSource({1: [RIGHT]}), history_prompts=False)
    store = open_store(tmp_path / "h.sqlite")
    store.close()  # everything written and checkpointed: the key is in no file of the history
    for f in tmp_path.glob("h.sqlite*"):
        assert secret.encode() not in f.read_bytes(), f
    with sqlite3.connect(tmp_path / "h.sqlite") as conn:
        kinds = conn.execute("SELECT r.settings LIKE '%\"history_prompts\": false%', count(e.n) FROM runs r "
                             "LEFT JOIN exchanges e ON e.run_id = r.id GROUP BY r.id ORDER BY r.started").fetchall()
    assert kinds[0][0] == 0 and kinds[0][1] > 0  # replies recorded (scrubbed) ...
    assert kinds[1] == (1, 0)  # ... and, with history_prompts off, none


def test_prune_deletes_old_runs_with_everything_they_hold(tmp_path: Path) -> None:
    old = recorded(tmp_path, FakeSource({1: [RIGHT, WRONG]}))
    new = recorded(tmp_path, FakeSource({1: [RIGHT]}))
    store = open_store(tmp_path / "h.sqlite")
    with store.read() as conn:
        conn.execute("UPDATE runs SET started = started - 10 * 86400 WHERE id = ?", (old.history_id,))
    assert prune(store, 7) == 1
    assert [r["id"] for r in list_runs(store)] == [new.history_id]
    with store.read() as conn:
        for table in ("candidates", "verdicts", "test_results", "verdict_cache"):
            ids = {r[0] for r in conn.execute(f"SELECT run_id FROM {table}")}
            assert ids == {new.history_id}, table
    verifier = FakeVerifier()
    recorded(tmp_path, FakeSource({1: [RIGHT, WRONG]}), verifier)
    assert verifier.verified == [WRONG]  # the pruned run's own verdict is forgotten; the one kept is not


def test_a_warning_free_start_when_the_file_is_fine(tmp_path: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        recorded(tmp_path, FakeSource({1: [RIGHT]}))
        recorded(tmp_path, FakeSource({1: [RIGHT]}))


class SkippingSource(FakeSource):
    """A fake that honours ``RoundRequest.skip`` as the real sources do."""

    async def samples(self, request: RoundRequest) -> AsyncIterator[Sample]:
        self.requests.append(request)
        for text in self.rounds.get(request.round, [])[request.skip : request.n]:
            self.sent += 1
            yield Sample(fenced(text), "llm", "fake/model", request.round, tokens=10, cost=0.001)


def test_resume_reuses_what_was_verified_and_asks_only_for_the_rest(tmp_path: Path) -> None:
    texts = [RIGHT, WRONG, ALSO_RIGHT, "def inc(x):\n    return x + 2\n"]
    first = recorded(tmp_path, FakeSource({1: texts}, budget=2), n=4, confident=False)
    assert first.progress.generated == 2
    verifier = FakeVerifier()
    source = SkippingSource({1: texts})
    config = SearchConfig().with_(history=str(tmp_path / "h.sqlite"), n=4, confident=False)
    run = search(SPEC, config, source=source, verifier=verifier, resume=first.history_id[:5], wait=False).wait(10)
    assert run.recorded(5)
    assert [(r.round, r.n, r.skip) for r in source.requests] == [(1, 4, 2)]
    assert verifier.verified == texts[2:]  # the first two kept their verdicts
    assert run.history_id == first.history_id and run.progress.generated == 4
    assert run.progress.tokens == 40 and run.progress.requests == 4
    [summary] = list_runs(open_store(tmp_path / "h.sqlite"))
    assert (summary["status"], summary["candidates"], summary["generated"]) == ("done", 4, 4)


def test_a_past_run_opens_as_a_finished_run_with_the_same_ranking(tmp_path: Path) -> None:
    from jupyter_codesearch.run._past import restored

    run = recorded(tmp_path, FakeSource({1: [RIGHT, RIGHT, WRONG, ALSO_RIGHT]}))
    assert run.history_id is not None
    past = restored(load_run(open_store(tmp_path / "h.sqlite"), run.history_id))
    assert past.done and past.progress.state == "done" and past.history_id == run.history_id
    assert [(c.id, c.rank_reason) for c in past.ranked()] == [(c.id, c.rank_reason) for c in run.ranked()]
    assert past.to_frame().drop(columns=["cached"]).equals(run.to_frame().drop(columns=["cached"]))
    assert list(past.to_frame().columns) == list(run.to_frame().columns)
    assert past.progress.tokens == run.progress.tokens and past.best is not None


def test_cached_verdicts_say_so_in_the_table_and_the_frame(tmp_path: Path) -> None:
    from jupyter_codesearch.ui._text import summary_text

    recorded(tmp_path, FakeSource({1: [RIGHT, WRONG]}))
    run = recorded(tmp_path, FakeSource({1: [RIGHT, WRONG]}))
    text = summary_text(run.ranked(), run.best, [])
    assert "passed (cached)" in text and "failed (cached)" in text
    assert list(run.to_frame()["cached"]) == [True, True]


def test_the_live_view_waits_for_the_history_between_reading_the_run_and_drawing_it(
    tmp_path: Path, view_of: Callable[..., Any]
) -> None:
    config = SearchConfig().with_(history=str(tmp_path / "h.sqlite"))
    run = search(SPEC, config, source=FakeSource({1: [RIGHT] * 20}, delay=0.1), verifier=FakeVerifier(), wait=False)
    order: list[str] = []
    real_ranked, real_recorded = run.ranked, run.recorded
    run.ranked = lambda: order.append("read") or real_ranked()  # type: ignore[method-assign]
    run.recorded = lambda timeout=10.0: order.append("recorded") or real_recorded(timeout)  # type: ignore[method-assign]
    try:
        view_of(run).render()
        assert order[:2] == ["read", "recorded"]
    finally:
        run.stop()
        run.wait(5)
