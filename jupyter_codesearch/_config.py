"""One typed, frozen configuration for a search, and where each value came from.

Precedence, highest first: explicit arguments > session config (``%search_config``) >
environment (``CODESEARCH_<FIELD>``, e.g. ``CODESEARCH_MODEL``) > defaults. Provider keys
(``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``, ...) are litellm's business and work as they do there.
The settings themselves (types, defaults, help, flags) are declared once, in ``_options``.
"""

from __future__ import annotations

import argparse
import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any, Literal

from ._exceptions import ConfigError
from ._model import MAX_TIMEOUT_S, MIN_MEMORY_MB
from ._options import BY_NAME, SETTINGS, Setting, Surface, env_name, offered

__all__ = ["FIELDS", "SearchConfig", "convert", "env_name", "from_flags", "resolve_config"]

Generator = Literal["auto", "llm", "synth", "both"]


_D: dict[str, Any] = {s.name: s.default for s in SETTINGS}
"""The table's defaults (immutable values: shared safely by every instance)."""


@dataclass(frozen=True)
class SearchConfig:
    """Everything a search run can be told. Build one with :func:`resolve_config` or directly.

    Every field is a setting of ``_options.SETTINGS`` (listed below), with its default there.
    """

    # The types are mypy's to check; the defaults, help and spellings are the table's (a test
    # holds the two to the same names, order and types).
    model: str | None = _D["model"]
    api_base: str | None = _D["api_base"]
    api_key_env: str | None = _D["api_key_env"]
    n: int = _D["n"]
    temperatures: tuple[float, ...] = _D["temperatures"]
    concurrency: int = _D["concurrency"]
    request_timeout: float = _D["request_timeout"]
    retries: int = _D["retries"]
    rounds: int = _D["rounds"]
    until_pass: bool = _D["until_pass"]
    maximize: bool = _D["maximize"]
    optimize: str | None = _D["optimize"]
    reference: str | None = _D["reference"]
    best_shot: int = _D["best_shot"]
    islands: int = _D["islands"]
    share_scores: bool = _D["share_scores"]
    timeout: float = _D["timeout"]
    memory_mb: int = _D["memory_mb"]
    workers: int | None = _D["workers"]
    executor: str = _D["executor"]
    cache: bool = _D["cache"]
    cache_dir: str | None = _D["cache_dir"]
    max_cost: float | None = _D["max_cost"]
    max_tokens: int | None = _D["max_tokens"]
    time_limit: float | None = _D["time_limit"]
    generator: Generator = _D["generator"]
    cluster: bool = _D["cluster"]
    confident: bool = _D["confident"]
    test_cases: int | None = _D["test_cases"]
    overlap: bool = _D["overlap"]
    name: str = field(default=_D["name"], compare=False)  # where it is bound, not what it searches
    sandbox: str = _D["sandbox"]
    seed: int = _D["seed"]
    history: str | None = field(default=_D["history"], compare=False)  # where it is recorded, not what it searches
    history_prompts: bool = field(default=_D["history_prompts"], compare=False)

    def __post_init__(self) -> None:
        _validate(self)

    def with_(self, **changes: Any) -> SearchConfig:
        """A copy with some fields changed (validated)."""
        return replace(self, **changes)

    @property
    def test_requests(self) -> int:
        """Requests for model-written tests: ``test_cases``, or by default one per five samples
        (1 to 20), so the evidence grows with the number of programs it ranks."""
        if self.test_cases is not None:
            return self.test_cases
        return max(1, min(20, self.n // 5))

    @property
    def effective_generator(self) -> str:
        """``auto`` made concrete: ``llm`` with a model, else ``synth``."""
        if self.generator != "auto":
            return self.generator
        return "llm" if self.model else "synth"


SearchConfig.__doc__ = (SearchConfig.__doc__ or "") + "\n" + "\n".join(
    f"    ``{s.name}``: {s.help}" + (f" (default: {s.default_words()})" if s.default_words() else "")
    for s in SETTINGS
)

FIELDS: tuple[str, ...] = tuple(f.name for f in fields(SearchConfig))
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")


def _validate(c: SearchConfig) -> None:
    for s in SETTINGS:
        value = getattr(c, s.name)
        if s.positive and not (value is None and s.optional):
            if value is None or isinstance(value, bool) or not 0 < value < math.inf:
                raise ConfigError(f"{s.name} must be a positive number, not {value!r}")
        if s.choices and value not in s.choices and not (value is None and s.optional):
            raise ConfigError(f"{s.name} must be one of {', '.join(s.choices)}, not {value!r}")
    if c.timeout > MAX_TIMEOUT_S:
        raise ConfigError(f"{BY_NAME['timeout'].label} must be at most {MAX_TIMEOUT_S:g} seconds, not {c.timeout!r}")
    if c.memory_mb < MIN_MEMORY_MB:  # as verify() requires: less leaves a candidate no room to run at all
        raise ConfigError(f"{BY_NAME['memory_mb'].label} must be at least {MIN_MEMORY_MB} MB, not {c.memory_mb!r}")
    if c.test_cases is not None and (isinstance(c.test_cases, bool) or c.test_cases < 0):
        raise ConfigError(f"test_cases must be 0 or more, not {c.test_cases!r}")
    if c.retries < 0:
        raise ConfigError(f"retries must be 0 or more, not {c.retries!r}")
    if not c.temperatures or any(not 0 <= t <= 2 for t in c.temperatures):
        raise ConfigError(f"temperatures must be between 0 and 2, not {c.temperatures!r}")
    if c.generator in ("llm", "both") and not c.model:
        raise ConfigError(
            f"generator {c.generator!r} needs a model: pass --model (e.g. openai/gpt-4o-mini) "
            "or set CODESEARCH_MODEL"
        )
    if c.api_key_env is not None and not _ENV_VAR.match(c.api_key_env):
        # Said before anything echoes it back: a pasted key must not end up in a message or a log.
        raise ConfigError(f"{BY_NAME['api_key_env'].label} takes the NAME of the environment variable "
                          "holding the key (e.g. OPENAI_API_KEY), not the key itself.")
    if not c.name.isidentifier():
        raise ConfigError(f"name must be a Python identifier, not {c.name!r}")


_TYPE_WORDS = {"bool": "true/false", "int": "a whole number", "float": "a number", "floats": "a number",
               "str": "text"}


def convert(name: str, value: Any, label: str | None = None) -> Any:
    """Convert a string (from the environment, the CLI or ``%search_config``) to the field's type.

    Other values pass through unchanged (``SearchConfig`` checks them). ``label`` is how an error
    names the setting (``--memory`` on a command line); by default its name.
    """
    setting = BY_NAME.get(name)
    if setting is None:
        close = [f for f in FIELDS if f.startswith(name[:3])]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ConfigError(f"unknown setting {name!r}{hint}; known: {', '.join(FIELDS)}")
    if not isinstance(value, str):
        return value
    return _read(setting, value, label or name)


def _read(s: Setting, value: str, label: str) -> Any:
    text = value.strip()
    if s.optional and text.lower() in ("", "none", "null"):
        return None
    try:
        if s.kind == "floats":
            return tuple(float(t) for t in text.replace(",", " ").split())
        if s.kind == "bool":
            if text.lower() in ("1", "true", "yes", "on"):
                return True
            if text.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(text)
        if s.kind == "int":
            return int(text)
        if s.kind == "float":
            return float(text)
    except ValueError:  # the user's text, said back: the ValueError would only repeat it
        raise ConfigError(f"{label}: cannot read {value!r} as {_TYPE_WORDS[s.kind]}") from None
    return text


def from_flags(namespace: argparse.Namespace, surface: Surface) -> dict[str, Any]:
    """The settings given as flags (by ``_options.add_flags``), converted; errors name the flag."""
    out: dict[str, Any] = {}
    for s in offered(surface):
        value = getattr(namespace, s.name, None)
        if value is not None:
            out[s.name] = convert(s.name, value, s.flag)
    return out


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
        for key in (env_name(name), *BY_NAME[name].env_aliases):
            if key in environ and environ[key] != "":
                values[name] = convert(name, environ[key])
                origin[name] = "environment"
                break
    for source, mapping in (("session", session or {}), ("argument", explicit or {})):
        for name, value in mapping.items():
            if value is None and source == "argument":
                continue  # an option not given on the command line
            values[name] = convert(name, value)
            origin[name] = source
    return SearchConfig(**values), origin
