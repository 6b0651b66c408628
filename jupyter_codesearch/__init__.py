"""jupyter-codesearch: generate many programs, verify them cheaply, keep the best.

In a notebook, ``%load_ext jupyter_codesearch`` registers the ``%%search`` magic. From Python,
:func:`search` runs a whole search and :func:`verify` judges given sources; both run candidates
in sandboxed child kernels that never see the tests.
"""

from __future__ import annotations

from typing import Any

from ._config import SearchConfig, resolve_config
from ._exceptions import (
    CodeSearchError,
    ConfigError,
    InputError,
    ModelError,
    SandboxError,
    SpecError,
    SpecWarning,
)
from ._labextension import _jupyter_labextension_paths as _jupyter_labextension_paths
from ._model import Candidate, Progress
from .execute import TestResult, Verdict, verify
from .run import SearchRun, search
from .spec import Spec

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "CodeSearchError",
    "ConfigError",
    "InputError",
    "ModelError",
    "Progress",
    "SandboxError",
    "SearchConfig",
    "SearchRun",
    "Spec",
    "SpecError",
    "SpecWarning",
    "TestResult",
    "Verdict",
    "__version__",
    "load_ipython_extension",
    "resolve_config",
    "search",
    "verify",
]


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext jupyter_codesearch``: register the magics (cheap: no model, no kernel)."""
    from .ui._magic import register

    register(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    """``%unload_ext jupyter_codesearch``."""
    from .ui._magic import unregister

    unregister(ipython)
