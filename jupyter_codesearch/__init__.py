"""jupyter-codesearch: generate many programs, verify them cheaply, keep the best.

In a notebook, ``%load_ext jupyter_codesearch`` registers the ``%%search`` magic. From Python,
:func:`search` runs a whole search and :func:`verify` judges given sources; both run candidates
in sandboxed child kernels that never see the tests. ``CODESEARCH_LOG=debug`` shows what they do.
"""

# No `from __future__ import annotations`: it would bind `annotations` here, a name we do not
# export (tests/test_exports.py holds __all__ to exactly the public names of this module).
import typing as _typing

from . import _log
from ._config import SearchConfig, resolve_config
from ._exceptions import (
    CodeSearchError,
    CodeSearchWarning,
    ConfigError,
    InputError,
    ModelError,
    SandboxError,
    SandboxWarning,
    SpecError,
    SpecWarning,
)
from ._labextension import _jupyter_labextension_paths as _jupyter_labextension_paths
from ._model import Candidate, Progress, TestResult, Verdict
from .execute import averify, verify
from .run import SearchRun, search
from .spec import Spec, score

__version__ = "0.1.0"

__all__ = [
    "Candidate",
    "CodeSearchError",
    "CodeSearchWarning",
    "ConfigError",
    "InputError",
    "ModelError",
    "Progress",
    "SandboxError",
    "SandboxWarning",
    "SearchConfig",
    "SearchRun",
    "Spec",
    "SpecError",
    "SpecWarning",
    "TestResult",
    "Verdict",
    "__version__",
    "averify",
    "load_ipython_extension",
    "resolve_config",
    "score",
    "search",
    "unload_ipython_extension",
    "verify",
]

_log.setup()


def load_ipython_extension(ipython: _typing.Any) -> None:
    """``%load_ext jupyter_codesearch``: register the magics (cheap: no model, no kernel)."""
    from .ui._magic import register

    register(ipython)


def unload_ipython_extension(ipython: _typing.Any) -> None:
    """``%unload_ext jupyter_codesearch``."""
    from .ui._magic import unregister

    unregister(ipython)
