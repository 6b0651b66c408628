"""Scores in the search history (a real SQLite file) and scores shared by behaviour.

A fake verifier scores in-process (the real scoring is tested in ``test_score``); it counts
how often it was asked to score, which is how often the cell's score function would run.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest

from jupyter_codesearch import SearchConfig, Spec
from jupyter_codesearch._model import Limits, Verdict
from jupyter_codesearch.run import SearchRun, search
from jupyter_codesearch.run._past import restored
from jupyter_codesearch.store import open_store
from jupyter_codesearch.store._read import load_run
from jupyter_codesearch.store._schema import MIGRATIONS, SCHEMA_VERSION
from jupyter_codesearch.ui._text import summary_text
from tests.test_search_seams import ALSO_RIGHT, RIGHT, SPEC, WRONG, FakeSource, FakeVerifier
from tests.test_store import SkippingSource

SCORED = Spec.parse(SPEC.text + "\n@score\ndef shortest(f):\n    return f(1)\n")
SAME = ["def inc(x):\n    return (x + 1) * 1\n", "def inc(x):\n    return x - -1\n"]
"""Two more programs that behave as RIGHT and ALSO_RIGHT do."""


@dataclass
class ScoringVerifier(FakeVerifier):
    """Scores a passing program by its length (``runtime``: as seconds, with an interval) when the
    spec it is given has a score function; ``scored`` lists what it scored."""

    scored: list[str] = field(default_factory=list)

    async def verify(self, spec: Spec, index: int, source: str, limits: Limits) -> Verdict:
        v = await super().verify(spec, index, source, limits)
        if spec.score is None or not v.passed:
            return v
        self.scored.append(source)
        value = float(len(source))
        if spec.score_mode == "runtime":
            value /= 1e5
            return replace(v, score=value, score_interval=(value * 0.9, value * 1.1))
        return replace(v, score=value, score_interval=(value, value))


def scored_run(tmp_path: Path, texts: list[str], verifier: ScoringVerifier | None = None,
               **options: object) -> SearchRun:
    config = SearchConfig().with_(history=str(tmp_path / "h.sqlite"), maximize=False, n=len(texts), **options)
    run = search(SCORED, config, source=FakeSource({1: texts}), verifier=verifier or ScoringVerifier(),
                 wait=False).wait(10)
    assert run.error is None, run.error
    assert run.recorded(5) and run.history_id is not None
    return run


def _scores(run: SearchRun) -> dict[str, tuple[float | None, tuple[float, float] | None, int | None]]:
    return {c.code: (c.score, c.verdict.score_interval, c.verdict.score_from) for c in run.candidates
            if c.verdict is not None}


def test_scores_and_the_climb_are_in_the_history_and_a_past_run_shows_them(tmp_path: Path) -> None:
    longer = ALSO_RIGHT + "    # a longer version\n"
    run = scored_run(tmp_path, [longer, WRONG, RIGHT], cluster=False)
    assert run.best is not None and run.best.code == RIGHT and len(run.trajectory) == 2
    past = restored(load_run(open_store(tmp_path / "h.sqlite"), run.history_id or ""))
    assert _scores(past) == _scores(run) and past.trajectory == run.trajectory
    assert [(c.id, c.rank_reason) for c in past.ranked()] == [(c.id, c.rank_reason) for c in run.ranked()]
    assert f"score {len(RIGHT)}" in past.ranked()[0].rank_reason
    frame = past.to_frame()
    assert list(frame["score"].dropna()) == [len(RIGHT), len(longer)]  # best first, WRONG unscored
    assert " score " in summary_text(past.ranked(), past.best, []).splitlines()[0]


def test_a_runtime_score_keeps_its_interval_and_every_program_is_timed(tmp_path: Path) -> None:
    verifier = ScoringVerifier()
    run = scored_run(tmp_path, [RIGHT, ALSO_RIGHT, *SAME], verifier, optimize="runtime", share_scores=True)
    assert sorted(verifier.scored) == sorted([RIGHT, ALSO_RIGHT, *SAME])  # behaviour-equal, timed all the same
    past = restored(load_run(open_store(tmp_path / "h.sqlite"), run.history_id or ""))
    best = past.ranked()[0]
    assert best.verdict is not None and best.verdict.score_interval == run.ranked()[0].verdict.score_interval
    assert best.verdict.score_interval is not None and best.verdict.score_interval[0] < best.verdict.score_interval[1]
    assert "95%" in best.rank_reason
    assert list(past.to_frame()["score_low"]) == list(run.to_frame()["score_low"])


def test_behaviour_equal_programs_share_one_score_and_the_score_function_runs_once(tmp_path: Path) -> None:
    texts = [RIGHT, ALSO_RIGHT, *SAME, WRONG]
    apart = ScoringVerifier()
    scored_run(tmp_path / "apart", texts, apart, cluster=False)  # no probes: each program is scored itself
    shared = ScoringVerifier()
    run = scored_run(tmp_path, texts, shared, share_scores=True)
    unshared = ScoringVerifier()
    scored_run(tmp_path / "unshared", texts, unshared)  # probes, but sharing is off by default
    assert len(apart.scored) == len(unshared.scored) == 4 and len(shared.scored) == 1
    first = next(c for c in run.candidates if c.code == shared.scored[0])
    others = [c for c in run.candidates if c.passed and c.id != first.id]
    assert first.verdict is not None and first.verdict.score_from is None and len(others) == 3
    assert all(c.score == first.score and c.verdict is not None and c.verdict.score_from == first.id for c in others)
    reasons = {c.id: c.rank_reason for c in run.ranked()}
    assert all(f"(that of #{first.id}: same behaviour on every probe)" in reasons[c.id] for c in others)
    assert run._scoring.runs == 1 and run._scoring.shared == 3
    past = load_run(open_store(tmp_path / "h.sqlite"), run.history_id or "")
    assert {c.id: c.verdict.score_from for c in past.candidates if c.passed and c.verdict} == \
        {c.id: c.verdict.score_from for c in run.candidates if c.passed and c.verdict}


def test_a_resumed_optimising_run_scores_only_what_its_predecessor_had_not(tmp_path: Path) -> None:
    texts = [RIGHT, WRONG, "def inc(x):\n    return x + 1 if x < 10**9 else 0\n", ALSO_RIGHT]
    for cluster, rescored in ((False, [texts[2], ALSO_RIGHT]), (True, [])):
        options = {"history": str(tmp_path / f"h{cluster}.sqlite"), "n": 4, "confident": False, "maximize": False,
                   "cluster": cluster, "share_scores": True}
        first = search(SCORED, SearchConfig().with_(**options), source=FakeSource({1: texts}, budget=2),
                       verifier=ScoringVerifier(), wait=False).wait(10)
        assert first.recorded(5) and first.history_id is not None and first.progress.generated == 2
        verifier = ScoringVerifier()
        run = search(SCORED, SearchConfig().with_(**options), source=SkippingSource({1: texts}), verifier=verifier,
                     resume=first.history_id, wait=False).wait(10)
        assert run.error is None and run.recorded(5)
        # Scored already: RIGHT. With probes, the other two behave as RIGHT does on them and share its score.
        assert verifier.scored == rescored, cluster
        assert run.trajectory[0] == first.trajectory[0] and all(c.score is not None for c in run.candidates if c.passed)


def test_a_schema_1_history_is_migrated_and_its_runs_still_open(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        for statement in MIGRATIONS[0]:
            conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {0x43534831}")
        conn.execute("PRAGMA user_version = 1")
        conn.execute("INSERT INTO runs (id, function, spec_text, spec_key, settings, started, status) "
                     "VALUES ('abc123', 'inc', ?, ?, '{}', 0, 'done')", (SPEC.text, SPEC.key))
        conn.execute("INSERT INTO candidates VALUES ('abc123', 0, ?, 'k', 'llm', NULL, 1, NULL, 1, 0, 0, 0, 3, NULL, "
                     "NULL)", (RIGHT,))
        conn.execute("INSERT INTO verdicts VALUES ('abc123', 0, 'passed', 1, 0.001, NULL, '', 0, 0)")
    store = open_store(path)
    with store.read() as conn:
        assert conn.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,) and SCHEMA_VERSION == 2
        columns = {row[1] for row in conn.execute("PRAGMA table_info(verdicts)")}
        assert {"score", "score_low", "score_high", "score_error", "score_from"} <= columns
    past = load_run(store, "abc123")
    [c] = past.candidates
    assert c.passed and c.score is None and past.trajectory == ()
    # and a new run in the migrated file records its scores
    run = search(SCORED, SearchConfig().with_(history=str(path), maximize=False, cluster=False),
                 source=FakeSource({1: [RIGHT]}), verifier=ScoringVerifier(), wait=False).wait(10)
    assert run.recorded(5) and run.history_id is not None
    with store.read() as conn:
        row = conn.execute("SELECT score, score_low, score_high, trajectory FROM verdicts JOIN runs ON id = run_id "
                           "WHERE run_id = ?", (run.history_id,)).fetchone()
    assert row[:3] == (len(RIGHT),) * 3 and json.loads(row[3]) == [[1, len(RIGHT)]]


def test_show_prints_the_scores_and_the_climb_and_open_draws_them(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], view_of: Callable[..., Any]) -> None:
    from jupyter_codesearch import cli

    run = scored_run(tmp_path, [ALSO_RIGHT + "    # a longer version\n", RIGHT], cluster=False)
    capsys.readouterr()
    assert cli.main(["show", run.history_id or "", "--history", str(tmp_path / "h.sqlite")]) == 0
    out = capsys.readouterr().out
    assert " score " in out.splitlines()[0] and f" {len(RIGHT)} " in out
    climb = out[out.index("best score by samples drawn:"):].splitlines()[2:]
    assert [float(line.split()[1]) for line in climb if line.strip()] == [v for _, v in run.trajectory]
    # %search_open: the past run in the live view, with its score column and its chart
    view = view_of(restored(load_run(open_store(tmp_path / "h.sqlite"), run.history_id or "")))
    view.render()
    assert "score" in [c.key for c in view.columns] and f" {len(RIGHT)} " in view.rows[0].description
    assert "<polyline" in view.progress.value and f"best score {len(RIGHT)} after 2 of 2" in view.progress.value
