"""jupyter-codesearch: generate many programs, verify them cheaply, keep the best.

``%load_ext jupyter_codesearch`` registers the ``%%search`` magic; :func:`verify` runs
candidate sources against a spec's tests in sandboxed child kernels.
"""

from __future__ import annotations

from ._exceptions import (
    CodeSearchError,
    ConfigError,
    InputError,
    ModelError,
    SandboxError,
    SpecError,
    SpecWarning,
)
from .execute import TestResult, Verdict, verify
from .spec import Spec

__version__ = "0.1.0"

__all__ = [
    "CodeSearchError",
    "ConfigError",
    "InputError",
    "ModelError",
    "SandboxError",
    "Spec",
    "SpecError",
    "SpecWarning",
    "TestResult",
    "Verdict",
    "__version__",
    "verify",
]
