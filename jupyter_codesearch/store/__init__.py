"""The history: every run recorded in SQLite as it happens, reopened, resumed, never re-verified.

One database file (``history`` setting; by default ``history.sqlite`` in the user data dir,
``off`` records nothing) holds runs, candidates, verdicts with per-test results, probe inputs,
behaviours and clusters, the verdict cache and (``history_prompts``) prompts and replies.
:func:`prepare` is what ``search()`` calls: it wraps the run's verifier in the verdict cache
and returns the :class:`Recorder` to attach. Reading (list, open, export, prune) is ``_read``'s.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from .._config import FIELDS, SearchConfig
from .._exceptions import CodeSearchWarning, ConfigError
from .._seams import CandidateSource, Verifier
from ..spec import Spec
from ._cache import CachingVerifier
from ._read import PastRun, load_run
from ._record import Recorder, RecordingSource
from ._store import OFF, Store, default_path, history_path, open_store

__all__ = [
    "OFF",
    "CachingVerifier",
    "PastRun",
    "Recorder",
    "RecordingSource",
    "Store",
    "default_path",
    "history_path",
    "load_past",
    "open_store",
    "past_settings",
    "prepare",
    "store_for",
]

log = logging.getLogger(__name__)


def store_for(config: SearchConfig | str | None) -> Store | None:
    """The store a config records to; ``None`` when ``history=off`` or the file cannot be made
    (said once, as a warning: the search goes on unrecorded)."""
    path = history_path(config)
    if path is None:
        return None
    try:
        return open_store(path)
    except OSError as e:
        warnings.warn(CodeSearchWarning(f"the search history {path} cannot be used ({e}); this run is not "
                                        "recorded (history=off says so on purpose)"), stacklevel=3)
        return None


def load_past(config: SearchConfig, wanted: str) -> PastRun:
    """The past run ``--resume`` names, from the history ``config`` records to."""
    store = store_for(config)
    if store is None:
        raise ConfigError("--resume needs the search history, which is off (history=off)")
    return load_run(store, wanted)


_NOT_CARRIED = frozenset({"history", "history_prompts", "name"})
"""Where a run is recorded and bound is the resuming session's business, not the past run's."""


def past_settings(past: PastRun) -> dict[str, Any]:
    """The settings a past run had that this version knows (session defaults for a resume)."""
    out: dict[str, Any] = {}
    for name, value in past.settings.items():
        if name in FIELDS and name not in _NOT_CARRIED:
            out[name] = tuple(value) if isinstance(value, list) else value
    return out


def prepare(
    spec: Spec, config: SearchConfig, source: CandidateSource, verifier: Verifier, *,
    run_id: str | None = None, resumed: bool = False,
) -> tuple[CandidateSource, Verifier, Recorder | None]:
    """The source and verifier a recorded run uses, and its recorder (attach it to the run);
    unchanged and ``None`` with ``history=off``."""
    store = store_for(config)
    if store is None:
        return source, verifier, None
    from .._model import Limits

    recorder = Recorder(store, config, run_id, resumed=resumed)
    caching = CachingVerifier(verifier, store, recorder.run_id)
    caching.preload(spec, Limits(config.timeout, config.memory_mb))
    if config.history_prompts:
        source = RecordingSource(source, recorder)
    return source, caching, recorder
