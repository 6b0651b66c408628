"""The one exception tree of jupyter-codesearch.

Every error we raise on purpose is a :class:`CodeSearchError`, so callers (the magic, the CLI)
can show its message instead of a traceback. Messages say what went wrong *and* what to do next.
"""

from __future__ import annotations

__all__ = [
    "CodeSearchError",
    "ConfigError",
    "InputError",
    "ModelError",
    "SandboxError",
    "SpecError",
    "SpecWarning",
]


class CodeSearchError(Exception):
    """Base class of every error jupyter-codesearch raises deliberately."""


class SpecError(CodeSearchError):
    """The ``%%search`` cell (or spec file) cannot be used as written.

    ``line`` is the 1-based line in the cell body the problem is on, or ``None`` when the
    problem is the cell as a whole (for example, no tests at all).
    """

    def __init__(self, message: str, line: int | None = None) -> None:
        self.message = message
        self.line = line
        super().__init__(f"line {line}: {message}" if line is not None else message)


class SpecWarning(UserWarning):
    """Something in the spec is probably a mistake, but the search can still run."""


class ConfigError(CodeSearchError):
    """An option or configuration value is invalid."""


class InputError(CodeSearchError):
    """Input files given to the CLI or API are missing or malformed."""


class SandboxError(CodeSearchError):
    """The verification kernels could not be started or stopped working."""


class ModelError(CodeSearchError):
    """The configured model cannot be used (wrong key, unknown model, unreachable server)."""
