"""The history database's tables, its version, and the migrations between versions.

``PRAGMA user_version`` holds the schema version and ``PRAGMA application_id`` marks the file
as ours, so a SQLite file some other program wrote is told apart from an old history of ours.
A migration is a list of statements that takes version ``k - 1`` to ``k``; opening a file runs
those it lacks, in one transaction. A file from a *newer* version is left alone (read-only use
would misread it; writing could break it): the store says so and starts a fresh file.
"""

from __future__ import annotations

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION"]

APPLICATION_ID = 0x43534831  # "CSH1": a jupyter-codesearch history
"""Marks the file as ours (``PRAGMA application_id``)."""

_V1 = (
    # One row per run. Counters (candidates, verified, passing, tokens, cost) are kept up to date
    # as the run goes, so listing a long history never aggregates its candidates.
    """CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        function TEXT NOT NULL,
        spec_text TEXT NOT NULL,
        spec_key TEXT NOT NULL,
        settings TEXT NOT NULL,
        model TEXT,
        started REAL NOT NULL,
        ended REAL,
        status TEXT NOT NULL,
        best_status TEXT,
        generated INTEGER NOT NULL DEFAULT 0,
        candidates INTEGER NOT NULL DEFAULT 0,
        verified INTEGER NOT NULL DEFAULT 0,
        passing INTEGER NOT NULL DEFAULT 0,
        requests INTEGER NOT NULL DEFAULT 0,
        tokens INTEGER NOT NULL DEFAULT 0,
        cost REAL,
        notices TEXT NOT NULL DEFAULT '[]',
        error TEXT,
        probes TEXT,
        pid INTEGER
    )""",
    "CREATE INDEX runs_started ON runs(started)",
    """CREATE TABLE candidates (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        code TEXT NOT NULL,
        key TEXT NOT NULL,
        origin TEXT NOT NULL,
        model TEXT,
        round INTEGER NOT NULL,
        parent INTEGER,
        samples INTEGER NOT NULL,
        synth_samples INTEGER NOT NULL,
        tokens INTEGER NOT NULL,
        cost REAL,
        size INTEGER NOT NULL,
        invalid_reason TEXT,
        behaviours TEXT,
        PRIMARY KEY (run_id, id)
    )""",
    """CREATE TABLE verdicts (
        run_id TEXT NOT NULL,
        candidate INTEGER NOT NULL,
        status TEXT NOT NULL,
        passed INTEGER NOT NULL,
        runtime_s REAL,
        error TEXT,
        stdout TEXT NOT NULL,
        output_bytes INTEGER NOT NULL,
        cached INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (run_id, candidate),
        FOREIGN KEY (run_id, candidate) REFERENCES candidates(run_id, id) ON DELETE CASCADE
    )""",
    """CREATE TABLE test_results (
        run_id TEXT NOT NULL,
        candidate INTEGER NOT NULL,
        n INTEGER NOT NULL,
        passed INTEGER NOT NULL,
        source TEXT NOT NULL,
        line INTEGER NOT NULL,
        hidden INTEGER NOT NULL,
        got TEXT,
        expected TEXT,
        error TEXT,
        duration_s REAL NOT NULL,
        calls TEXT NOT NULL,
        PRIMARY KEY (run_id, candidate, n),
        FOREIGN KEY (run_id, candidate) REFERENCES verdicts(run_id, candidate) ON DELETE CASCADE
    )""",
    """CREATE TABLE clusters (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        id INTEGER NOT NULL,
        members TEXT NOT NULL,
        weight INTEGER NOT NULL,
        representative INTEGER NOT NULL,
        score REAL NOT NULL,
        behaviours TEXT NOT NULL,
        PRIMARY KEY (run_id, id)
    )""",
    # What was said to the model and what it replied (left out with history_prompts=false).
    """CREATE TABLE exchanges (
        run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
        n INTEGER NOT NULL,
        round INTEGER,
        kind TEXT NOT NULL,
        prompt TEXT,
        reply TEXT,
        PRIMARY KEY (run_id, n)
    )""",
    # The verdict cache: a program already judged against the same tests under the same limits,
    # and where its verdict is (a verdict is stored once, in its run; pruning the run forgets it).
    """CREATE TABLE verdict_cache (
        spec_key TEXT NOT NULL,
        program_key TEXT NOT NULL,
        limits TEXT NOT NULL,
        run_id TEXT NOT NULL,
        candidate INTEGER NOT NULL,
        created REAL NOT NULL,
        PRIMARY KEY (spec_key, program_key, limits)
    ) WITHOUT ROWID""",
)

_V2 = (
    # Scores (a cell with a ``@score`` function): the value or median runtime, its 95% interval,
    # why a passing candidate has none, and the candidate whose score it shares (same behaviour).
    "ALTER TABLE verdicts ADD COLUMN score REAL",
    "ALTER TABLE verdicts ADD COLUMN score_low REAL",
    "ALTER TABLE verdicts ADD COLUMN score_high REAL",
    "ALTER TABLE verdicts ADD COLUMN score_error TEXT",
    "ALTER TABLE verdicts ADD COLUMN score_from INTEGER",
    # The climb of an optimising run: [[samples drawn, best score], ...] at each improvement.
    "ALTER TABLE runs ADD COLUMN trajectory TEXT",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2)
"""``MIGRATIONS[k - 1]`` takes the schema from version ``k - 1`` to ``k`` (0 is an empty file)."""

SCHEMA_VERSION = len(MIGRATIONS)
