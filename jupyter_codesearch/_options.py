"""Every setting of a search, declared once: its type, default, help, and where it is offered.

:data:`SETTINGS` is the one table. It is read by :class:`~jupyter_codesearch.SearchConfig`
(defaults, validation), ``_config.convert`` (types), ``resolve_config`` (``CODESEARCH_*``
names), the ``%%search`` line parser and its ``--help``, ``%search_config`` (its spellings), and
both ``jupyter-codesearch`` subcommands (their flags). A setting offered nowhere is config-only:
a keyword of ``search()``, a session default and an environment variable, but not a flag.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from ._model import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT_S

__all__ = [
    "BY_NAME",
    "SETTINGS",
    "Kind",
    "Setting",
    "Surface",
    "add_flags",
    "env_name",
    "lookup",
    "offered",
]

Kind = Literal["str", "int", "float", "bool", "floats"]
"""How a setting's text is read: ``floats`` is a list of numbers (``0.2 0.4`` or ``0.2,0.4``)."""
Surface = Literal["magic", "run", "verify"]
"""Where a setting is a flag: the ``%%search`` line, ``jupyter-codesearch run``, ``... verify``."""

_SEARCH: frozenset[Surface] = frozenset({"magic", "run"})
_LIMITS: frozenset[Surface] = frozenset({"magic", "run", "verify"})
_NOWHERE: frozenset[Surface] = frozenset()


@dataclass(frozen=True)
class Setting:
    """One row of the table."""

    name: str
    """The ``SearchConfig`` field, ``search()`` keyword and ``%search_config`` key."""
    kind: Kind
    default: Any
    help: str
    """What the setting does, for ``--help`` and the docs (lower case, no final stop)."""
    optional: bool = False
    """``None`` is a value (written ``none`` or left empty)."""
    surfaces: frozenset[Surface] = _NOWHERE
    flag: str | None = None
    """Its spelling on the ``%%search`` line and the command line (``--memory``)."""
    metavar: str | None = None
    switch: bool | None = None
    """A flag that takes no value sets this (``--until-pass``: true, ``--no-cache``: false)."""
    flag_help: str | None = None
    """What the flag does, when that is not :attr:`help` (a switch that turns something off)."""
    default_text: str | None = None
    """The default in words, when printing the value would not say it (``one per core``)."""
    choices: tuple[str, ...] = ()
    positive: bool = False
    """Must be above zero (``None`` too is allowed when :attr:`optional`)."""
    aliases: tuple[str, ...] = ()
    """More ``%search_config`` spellings, besides the name and the flag's."""
    example: str = "10"
    """A value to show in "needs a value, e.g. ..." messages."""
    env_aliases: tuple[str, ...] = ()
    """More environment variables that set it (read after :attr:`env`)."""

    @property
    def env(self) -> str:
        """Its environment variable: ``CODESEARCH_MODEL`` for ``model``."""
        return env_name(self.name)

    @property
    def label(self) -> str:
        """How messages name it: ``memory_mb (--memory)`` when the flag is spelled otherwise."""
        if self.flag is None or self.flag.lstrip("-").replace("-", "_") == self.name:
            return self.name
        return f"{self.name} ({self.flag})"

    def default_words(self) -> str | None:
        """``16``, ``2``, ``one per core``; ``None`` when there is nothing worth saying."""
        if self.default_text is not None:
            return self.default_text
        if self.default is None:
            return None
        if isinstance(self.default, bool):
            return "true" if self.default else "false"
        if isinstance(self.default, float):
            return f"{self.default:g}"
        if isinstance(self.default, tuple):
            return " ".join(f"{x:g}" for x in self.default)
        return str(self.default)

    def help_line(self) -> str:
        """The ``--help`` text of its flag."""
        text = self.flag_help or self.help
        if self.switch is not None:
            return text
        words = self.default_words()
        if words is None:
            return text
        return f"{text} (default: {words})" if self.default_text is not None else f"{text} (default {words})"

    def spellings(self) -> Iterator[tuple[str, bool]]:
        """``(key, inverted)`` for each ``%search_config`` spelling (``no_cache``: inverted)."""
        yield self.name, False
        if self.flag is not None:
            yield self.flag.lstrip("-").replace("-", "_"), self.switch is False
        for alias in self.aliases:
            yield alias, False


def env_name(name: str) -> str:
    """The environment variable of a setting: ``CODESEARCH_MODEL`` for ``model``."""
    return "CODESEARCH_" + name.upper()


_GENERATORS = ("auto", "llm", "synth", "both")

SETTINGS: tuple[Setting, ...] = (
    Setting("model", "str", None, "litellm model string, e.g. openai/gpt-4o-mini", optional=True,
            surfaces=_SEARCH, flag="--model", metavar="MODEL", default_text="offline synthesizer",
            example="openai/gpt-4o-mini"),
    Setting("api_base", "str", None, "model server base URL (OpenAI-compatible servers, Ollama, vLLM)",
            optional=True, surfaces=_SEARCH, flag="--api-base", metavar="URL",
            example="http://localhost:11434/v1"),
    Setting("api_key_env", "str", None, "name of the environment variable holding the API key",
            optional=True, surfaces=_SEARCH, flag="--api-key-env", metavar="VAR", aliases=("api_key_var",),
            example="OPENAI_API_KEY"),
    Setting("n", "int", 16, "samples to ask the model for, per round", surfaces=_SEARCH, flag="-n",
            metavar="N", positive=True, example="32"),
    Setting("temperatures", "floats", (0.2, 0.4, 0.6, 0.8, 1.0),
            "sampling temperatures, spread over the samples in turn"),
    Setting("concurrency", "int", 8, "model requests in flight", surfaces=_SEARCH, flag="--concurrency",
            metavar="K", positive=True),
    Setting("request_timeout", "float", 60.0, "seconds per model request", positive=True),
    Setting("retries", "int", 3, "retries of a request after a rate limit, server error or timeout"),
    Setting("rounds", "int", 1, "rounds; later ones repair failing candidates", surfaces=_SEARCH,
            flag="--rounds", metavar="K", positive=True, example="2"),
    Setting("until_pass", "bool", False, "stop after the first round with a passing candidate",
            surfaces=_SEARCH, flag="--until-pass", switch=True),
    Setting("maximize", "bool", True, "higher scores of the cell's @score function are better",
            surfaces=_SEARCH, flag="--minimize", switch=False, flag_help="lower scores are better"),
    Setting("optimize", "str", None,
            "runtime: the score is the time the @score function's calls to the candidate take (lower is better), "
            "measured with repetitions and a confidence interval", optional=True, surfaces=_SEARCH, flag="--optimize",
            metavar="runtime", choices=("runtime",), example="runtime"),
    Setting("reference", "str", None,
            "a function of the cell's context or of --use whose answer on every probe input a passing candidate "
            "must give (differential testing); the baseline of --optimize runtime's speed-up", optional=True,
            surfaces=_SEARCH, flag="--reference", metavar="NAME", example="slow_version"),
    Setting("best_shot", "int", 2,
            "optimising rounds: scored programs each prompt shows, worst first, with their scores (0: none)"),
    Setting("islands", "int", 4, "optimising rounds: program-database islands evolving apart", positive=True),
    Setting("share_scores", "bool", False,
            "optimising runs with a value score: a program that behaves like a scored one on every probe input "
            "takes its score instead of running the score function (exact only when the score depends on the "
            "answers to inputs like the probes; never for --optimize runtime)"),
    Setting("timeout", "float", DEFAULT_TIMEOUT_S, "seconds per candidate", surfaces=_LIMITS,
            flag="--timeout", metavar="S", positive=True),
    Setting("memory_mb", "int", DEFAULT_MEMORY_MB, "memory per candidate, MB", surfaces=_LIMITS,
            flag="--memory", metavar="MB", positive=True, example="256"),
    Setting("workers", "int", None, "verification kernels", optional=True, surfaces=_LIMITS,
            flag="--workers", metavar="K", default_text="one per core", positive=True, example="2"),
    Setting("executor", "str", "local",
            "where candidates are verified: local (this machine's kernels) or a Dask scheduler address",
            surfaces=_LIMITS, flag="--scheduler", metavar="ADDRESS", env_aliases=("CODESEARCH_SCHEDULER",),
            example="tcp://127.0.0.1:8786"),
    Setting("cache", "bool", True, "reuse cached model replies for identical requests", surfaces=_SEARCH,
            flag="--no-cache", switch=False, flag_help="do not reuse cached model replies"),
    Setting("cache_dir", "str", None, "response cache directory", optional=True,
            default_text="the user cache dir"),
    Setting("max_cost", "float", None, "stop generating after spending this much, USD", optional=True,
            surfaces=_SEARCH, flag="--max-cost", metavar="USD", positive=True, example="0.5"),
    Setting("max_tokens", "int", None, "stop generating after this many tokens (prompt + completion)",
            optional=True, surfaces=_SEARCH, flag="--max-tokens", metavar="N", positive=True,
            example="10000"),
    Setting("time_limit", "float", None, "seconds for the whole run", optional=True, surfaces=_SEARCH,
            flag="--time-limit", metavar="S", positive=True, example="60"),
    Setting("generator", "str", "auto",
            "where candidates come from: llm, synth (offline synthesizer), both, or auto (llm with a model, "
            "else synth)", surfaces=_SEARCH, flag="--generator", metavar="{" + ",".join(_GENERATORS) + "}",
            choices=_GENERATORS, example="synth"),
    Setting("cluster", "bool", True, "rank passing candidates by behavioural agreement on probe inputs"),
    Setting("confident", "bool", True,
            "stop drawing samples once the leading behaviour cannot plausibly be overtaken within the "
            "remaining samples", surfaces=_SEARCH, flag="--all-samples", switch=False,
            flag_help="draw every sample even when the leading behaviour is already clear"),
    Setting("test_cases", "int", None,
            "side requests asking the model for test cases, whose agreement with candidates ranks them "
            "(0: none); they never judge a candidate", optional=True, default_text="n / 5, 1 to 20",
            example="10"),
    Setting("overlap", "bool", True,
            "verify each candidate as it arrives (false: only after generation ends, for comparison)"),
    Setting("name", "str", "_search", "variable the notebook binds the run to", surfaces=frozenset({"magic"}),
            flag="--name", metavar="VAR", example="result"),
    Setting("sandbox", "str", "auto", "auto (bubblewrap when usable), bwrap (required) or none",
            choices=("auto", "bwrap", "none")),
    Setting("seed", "int", 0, "seed sent with each request, part of the cache key", surfaces=_SEARCH,
            flag="--seed", metavar="N", example="7"),
    Setting("history", "str", None, "the SQLite file (or directory) every run is recorded in, or off",
            optional=True, default_text="history.sqlite in the user data dir", example="off"),
    Setting("history_prompts", "bool", True,
            "record what was said to the model and its replies in the history (false: only the programs)"),
)

BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}
_SPELLINGS: dict[str, tuple[Setting, bool]] = {key: (s, inv) for s in SETTINGS for key, inv in s.spellings()}


def offered(surface: Surface) -> tuple[Setting, ...]:
    """The settings that are flags on ``surface``, in table order."""
    return tuple(s for s in SETTINGS if surface in s.surfaces)


def lookup(key: str) -> tuple[Setting, bool] | None:
    """The setting a ``%search_config`` key means (``api-base``, ``memory``, ``no-cache``), and
    whether its value is inverted (``no_cache=true`` is ``cache=false``)."""
    return _SPELLINGS.get(key.strip().replace("-", "_"))


def add_flags(parser: argparse.ArgumentParser, surface: Surface) -> None:
    """Add the flags of ``surface`` to an argparse parser.

    Every flag stores its text (or its switch value) under the setting's name and defaults to
    ``None``, so "not given" stays distinguishable from "given the default": values are converted
    and checked by ``_config``, one converter for every surface.
    """
    for s in offered(surface):
        assert s.flag is not None, s.name
        if s.switch is not None:
            parser.add_argument(s.flag, dest=s.name, action="store_const", const=s.switch, help=s.help_line())
        else:
            parser.add_argument(s.flag, dest=s.name, metavar=s.metavar, help=s.help_line())
