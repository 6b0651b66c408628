"""One typed, frozen configuration for a search, and where each value came from.

Precedence, highest first: explicit arguments > session config (``%search_config``) >
environment (``CODESEARCH_<FIELD>``, e.g. ``CODESEARCH_MODEL``) > defaults. Provider keys
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...) are litellm's business and work as they do there.
"""

from __future__ import annotations

import os
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ._exceptions import ConfigError

__all__ = ["SearchConfig", "resolve_config"]

Generator = Literal["auto", "llm", "synth", "both"]
_GENERATORS = ("auto", "llm", "synth", "both")


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run can be told. Build one with :func:`resolve_config` or directly."""

    model: str | None = None
    """A litellm model string (``openai/gpt-4o-mini``, ``anthropic/claude-3-5-haiku-latest``, ...)."""
    n: int = 16
    """Samples to ask the model for, per round."""
    temperatures: tuple[float, ...] = (0.2, 0.4, 0.6, 0.8, 1.0)
    """Sampling temperatures, spread over the samples in turn."""
    concurrency: int = 8
    """Model requests in flight at once."""
    request_timeout: float = 60.0
    """Seconds per model request."""
    retries: int = 3
    """Retries of a request after a rate limit, server error or timeout."""
    rounds: int = 1
    """Rounds of generation; rounds after the first repair failing candidates."""
    until_pass: bool = False
    """Stop after the first round that produces a passing candidate."""
    timeout: float = 2.0
    """Seconds per candidate verification."""
    memory_mb: int = 512
    """Memory per candidate, MB."""
    workers: int | None = None
    """Verification kernels (default: one per core)."""
    seed: int = 0
    """Seed sent with each request (and part of the cache key)."""
    cache: bool = True
    """Reuse earlier model responses for identical requests."""
    cache_dir: str | None = None
    """Response cache directory (default: the user cache dir)."""
    max_cost: float | None = None
    """Budget in USD; generation stops when it is spent."""
    max_tokens: int | None = None
    """Budget in tokens (prompt + completion); generation stops when it is spent."""
    time_limit: float | None = None
    """Seconds for the whole run."""
    api_base: str | None = None
    """Base URL of the model server (OpenAI-compatible servers, Ollama, vLLM, ...)."""
    api_key_env: str | None = None
    """Name of the environment variable holding the API key (the key itself is never stored)."""
    generator: Generator = "auto"
    """``llm``, ``synth`` (offline synthesizer), ``both``, or ``auto``: llm when a model is set."""
    sandbox: str = "auto"
    """``auto`` (bubblewrap when usable), ``bwrap`` (required) or ``none``."""
    cluster: bool = True
    """Rank passing candidates by behavioural agreement on probe inputs (votes of their cluster)."""
    overlap: bool = True
    """Verify each candidate as it arrives (``False``: only after generation ends, for comparison)."""
    name: str = field(default="_search", compare=False)
    """Variable the notebook binds the run to."""

    def __post_init__(self) -> None:
        _validate(self)

    def with_(self, **changes: Any) -> SearchConfig:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    @property
    def effective_generator(self) -> str:
        """``auto`` made concrete: ``llm`` with a model, else ``synth``."""
        if self.generator != "auto":
            return self.generator
        return "llm" if self.model else "synth"


def _validate(c: SearchConfig) -> None:
    def positive(name: str, value: float | int | None, allow_none: bool = False) -> None:
        if value is None and allow_none:
            return
        if value is None or isinstance(value, bool) or not value > 0:
            raise ConfigError(f"{name} must be a positive number, not {value!r}")

    positive("n", c.n)
    positive("concurrency", c.concurrency)
    positive("request_timeout", c.request_timeout)
    positive("rounds", c.rounds)
    positive("timeout", c.timeout)
    positive("memory_mb", c.memory_mb)
    if c.memory_mb < 16:  # as verify() requires: less leaves a candidate no room to run at all
        raise ConfigError(f"memory_mb (--memory) must be at least 16 MB, not {c.memory_mb!r}")
    positive("workers", c.workers, allow_none=True)
    positive("max_cost", c.max_cost, allow_none=True)
    positive("max_tokens", c.max_tokens, allow_none=True)
    positive("time_limit", c.time_limit, allow_none=True)
    if c.retries < 0:
        raise ConfigError(f"retries must be 0 or more, not {c.retries!r}")
    if not c.temperatures or any(not 0 <= t <= 2 for t in c.temperatures):
        raise ConfigError(f"temperatures must be between 0 and 2, not {c.temperatures!r}")
    if c.generator not in _GENERATORS:
        raise ConfigError(f"generator must be one of {', '.join(_GENERATORS)}, not {c.generator!r}")
    if c.sandbox not in ("auto", "bwrap", "none"):
        raise ConfigError(f"sandbox must be auto, bwrap or none, not {c.sandbox!r}")
    if c.generator in ("llm", "both") and not c.model:
        raise ConfigError(
            f"generator {c.generator!r} needs a model: pass --model (e.g. openai/gpt-4o-mini) "
            "or set CODESEARCH_MODEL"
        )
    if not c.name.isidentifier():
        raise ConfigError(f"name must be a Python identifier, not {c.name!r}")


FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SearchConfig))


def env_name(field_name: str) -> str:
    """The environment variable for a field: ``CODESEARCH_MODEL`` for ``model``."""
    return "CODESEARCH_" + field_name.upper()


def convert(name: str, value: Any) -> Any:
    """Convert a string (from the environment, the CLI or ``%search_config``) to the field's type."""
    if name not in FIELDS:
        close = [f for f in FIELDS if f.startswith(name[:3])]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown setting {name!r}{hint}; known: {', '.join(FIELDS)}")
    if not isinstance(value, str):
        return value
    hint = typing.get_type_hints(SearchConfig)[name]
    text = value.strip()
    args = set(typing.get_args(hint)) if isinstance(hint, types.UnionType) or typing.get_origin(hint) else {hint}
    if type(None) in args and text.lower() in ("", "none", "null"):
        return None
    try:
        if name == "temperatures":
            return tuple(float(t) for t in text.replace(",", " ").split())
        if hint is bool or bool in args:
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if int in args:
            return int(text)
        if float in args:
            return float(text)
    except ValueError:
        raise ConfigError(f"{name}: cannot read {value!r} as {_type_word(hint)}") from None
    return text


def _type_word(hint: Any) -> str:
    args = set(typing.get_args(hint)) or {hint}
    if bool in args:
        return "true/false"
    if int in args:
        return "a whole number"
    if float in args:
        return "a number"
    return "text"


def resolve_config(
    explicit: Mapping[str, Any] | None = None,
    session: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> tuple[SearchConfig, dict[str, str]]:
    """Build the config from all sources; also say where each value came from.

    Returns ``(config, origin)`` where ``origin[field]`` is ``"argument"``, ``"session"``,
    ``"environment"`` or ``"default"``.
    """
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    origin = dict.fromkeys(FIELDS, "default")
    for name in FIELDS:
        key = env_name(name)
        if key in environ and environ[key] != "":
            values[name] = convert(name, environ[key])
            origin[name] = "environment"
    for source, mapping in (("session", session or {}), ("argument", explicit or {})):
        for name, value in mapping.items():
            if value is None and source == "argument":
                continue  # an option not given on the command line
            values[name] = convert(name, value)
            origin[name] = source
    return SearchConfig(**values), origin
