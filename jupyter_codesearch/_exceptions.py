"""The one exception tree of jupyter-codesearch.

::

    CodeSearchError            every error we raise on purpose
    ├── SpecError              the cell or spec file cannot be used as written
    ├── ConfigError            an option or setting is invalid
    ├── InputError             a file or argument given to the CLI or API is malformed
    ├── SandboxError           the verification kernels could not start, or stopped working
    └── ModelError             the configured model cannot be used

    CodeSearchWarning          (a UserWarning) something the user should know; the run goes on
    ├── SpecWarning            the spec is probably a mistake
    └── SandboxWarning         candidates run without an OS sandbox

Callers (the magic, the CLI) show a :class:`CodeSearchError`'s message instead of a traceback,
so messages say what went wrong *and* what to do next. An error raised while handling another
one keeps it as ``__cause__`` when that other one is ours to debug (an OS error, a pickling
failure); it is dropped only when it would just repeat the user's input back.
"""

from __future__ import annotations

__all__ = [
    "CodeSearchError",
    "CodeSearchWarning",
    "ConfigError",
    "InputError",
    "ModelError",
    "SandboxError",
    "SandboxWarning",
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


class ConfigError(CodeSearchError):
    """An option or configuration value is invalid."""


class InputError(CodeSearchError):
    """Input files given to the CLI or API are missing or malformed."""


class SandboxError(CodeSearchError):
    """The verification kernels could not be started or stopped working."""


class ModelError(CodeSearchError):
    """The configured model cannot be used (wrong key, unknown model, unreachable server)."""


class CodeSearchWarning(UserWarning):
    """Base class of every warning jupyter-codesearch issues (filter them all with it)."""


class SpecWarning(CodeSearchWarning):
    """Something in the spec is probably a mistake, but the search can still run."""


class SandboxWarning(CodeSearchWarning):
    """Candidates run without an OS sandbox (bubblewrap missing or unusable)."""
