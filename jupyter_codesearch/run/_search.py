"""``search()``: a run with the configured source and verifier (local, or a Dask cluster), started."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .._config import SearchConfig, resolve_config
from .._exceptions import CodeSearchError
from .._seams import CandidateSource, Verifier
from ..execute._executors import verifier_for
from ..execute._isolation import detect_isolation, warn_if_unsandboxed
from ..generate._sources import LLMSource, MergedSource
from ..generate._synth_client import SynthSource
from ..spec import Spec
from ._database import scored_spec
from ._run import SearchRun

if TYPE_CHECKING:
    from ..store import PastRun

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
    resume: str | PastRun | None = None,
    client: Any = None,
    **options: Any,
) -> SearchRun:
    """Search for implementations of ``spec``'s function.

    ``config`` (or keyword ``options`` naming :class:`SearchConfig` fields, which take
    precedence) says how; unset fields come from ``CODESEARCH_*`` environment variables, then
    defaults. With ``wait=False`` the run continues in the background and is returned at once.
    ``source`` and ``verifier`` replace where candidates come from and who judges them
    (default: the configured model or synthesizer; this machine's sandboxed kernels, or the
    Dask cluster at ``executor``). ``client``, a ``distributed.Client``, verifies on its cluster.
    ``resume`` is the history id of a stopped run to continue: its candidates and verdicts are
    kept and only the samples it did not draw are asked for; an empty ``spec`` means its spec,
    and its settings are the defaults under ``options``.
    """
    from ..store import load_past, past_settings, prepare

    given = config
    if config is None:
        config, _ = resolve_config(options)
    elif options:
        config = config.with_(**options)
    past = load_past(config, resume) if isinstance(resume, str) else resume
    if past is not None and given is None:
        config, _ = resolve_config(options, past_settings(past))
    if isinstance(spec, str):
        spec = Spec.parse(past.spec_text if past is not None and not spec.strip() else spec)
    spec = scored_spec(spec, config)  # before the source is made: its prompts say what is optimised
    if verifier is None:
        verifier = verifier_for(config.executor, config.sandbox, config.workers, client)
        if client is None and config.executor == "local":
            try:  # said here, in the caller's thread, where a warning is seen; the run notes it too
                warn_if_unsandboxed(detect_isolation(config.sandbox))
            except CodeSearchError:
                pass  # the run reports it as its error
    source, verifier, recorder = prepare(spec, config, source or source_for(spec, config), verifier,
                                         run_id=past.id if past is not None else None, resumed=past is not None)
    run = SearchRun(spec, config, source=source, verifier=verifier, past=past)
    if recorder is not None:
        recorder.attach(run)
    run.start()
    if wait:
        try:
            run.wait()
        except KeyboardInterrupt:
            run.stop()
            run.wait(10)
            raise
    return run
