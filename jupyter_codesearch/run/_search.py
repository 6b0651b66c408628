"""``search()``: a run with the configured source and the local verifier, started."""

from __future__ import annotations

import os
from typing import Any

from .._config import SearchConfig, resolve_config
from .._exceptions import CodeSearchError
from .._seams import CandidateSource, Verifier
from ..execute._isolation import detect_isolation, warn_if_unsandboxed
from ..execute._verifier import LocalVerifier
from ..generate._sources import LLMSource, MergedSource
from ..generate._synth_client import SynthSource
from ..spec import Spec
from ._database import scored_spec
from ._run import SearchRun

__all__ = ["search", "source_for"]


def source_for(spec: Spec, config: SearchConfig) -> CandidateSource:
    """Where candidates come from: the model, the offline synthesizer, or both."""
    which = config.effective_generator
    if which == "llm":
        return LLMSource(spec, config)
    if which == "synth":
        return SynthSource(spec, config, required=True)
    return MergedSource([LLMSource(spec, config), SynthSource(spec, config, required=False)])


def search(
    spec: Spec | str,
    config: SearchConfig | None = None,
    *,
    wait: bool = True,
    source: CandidateSource | None = None,
    verifier: Verifier | None = None,
    **options: Any,
) -> SearchRun:
    """Search for implementations of ``spec``'s function.

    ``config`` (or keyword ``options`` naming :class:`SearchConfig` fields, which take
    precedence) says how; unset fields come from ``CODESEARCH_*`` environment variables, then
    defaults. With ``wait=False`` the run continues in the background and is returned at once.
    ``source`` and ``verifier`` replace where candidates come from and who judges them
    (default: the configured model or synthesizer; this machine's sandboxed kernels).
    """
    spec = Spec.parse(spec) if isinstance(spec, str) else spec
    if config is None:
        config, _ = resolve_config(options)
    elif options:
        config = config.with_(**options)
    spec = scored_spec(spec, config)  # before the source is made: its prompts say what is optimised
    if verifier is None:
        try:  # said here, in the caller's thread, where a warning is seen; the run notes it too
            warn_if_unsandboxed(detect_isolation(config.sandbox))
        except CodeSearchError:
            pass  # the run reports it as its error
        verifier = LocalVerifier(config.sandbox, config.workers or os.cpu_count() or 1)
    run = SearchRun(spec, config, source=source or source_for(spec, config), verifier=verifier)
    run.start()
    if wait:
        try:
            run.wait()
        except KeyboardInterrupt:
            run.stop()
            run.wait(10)
            raise
    return run
