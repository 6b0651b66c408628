"""The package's public surface: ``__all__`` is exactly what ``jupyter_codesearch`` exports."""

from __future__ import annotations

import types

import jupyter_codesearch
from jupyter_codesearch import _exceptions


def test_all_names_exactly_the_public_names_of_the_package() -> None:
    # As httpx guards its own: a name imported into the package is exported, or it is private.
    # Subpackages (execute, spec, ...) become attributes as a side effect of importing them.
    public = {
        name for name, value in vars(jupyter_codesearch).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert len(set(jupyter_codesearch.__all__)) == len(jupyter_codesearch.__all__)
    assert set(jupyter_codesearch.__all__) == public | {"__version__"}


def test_every_exception_and_warning_of_the_tree_is_exported() -> None:
    assert set(_exceptions.__all__) <= set(jupyter_codesearch.__all__)
    for name in _exceptions.__all__:
        assert getattr(jupyter_codesearch, name) is getattr(_exceptions, name)


def test_the_warnings_hang_from_one_base_and_the_errors_from_another() -> None:
    errors = [getattr(_exceptions, n) for n in _exceptions.__all__ if n.endswith("Error")]
    warnings_ = [getattr(_exceptions, n) for n in _exceptions.__all__ if n.endswith("Warning")]
    assert all(issubclass(e, jupyter_codesearch.CodeSearchError) for e in errors)
    assert all(issubclass(w, jupyter_codesearch.CodeSearchWarning) and issubclass(w, UserWarning)
               for w in warnings_)


def test_sandbox_warning_is_still_importable_from_where_it_was() -> None:
    from jupyter_codesearch.execute import SandboxWarning as from_execute
    from jupyter_codesearch.execute._isolation import SandboxWarning as from_isolation

    assert from_execute is from_isolation is jupyter_codesearch.SandboxWarning


def test_averify_is_the_coroutine_behind_verify() -> None:
    import inspect

    assert inspect.iscoroutinefunction(jupyter_codesearch.averify)
    assert callable(jupyter_codesearch.verify)
