"""Where the prebuilt JupyterLab extension lives (for ``jupyter labextension develop``)."""

from __future__ import annotations


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Tell JupyterLab's tooling where the built extension is inside this package.

    ``src`` is relative to the ``jupyter_codesearch`` package directory (it is the
    build output of ``labextension/``); ``dest`` is the extension's npm name, the
    directory name under ``share/jupyter/labextensions/``.
    """
    return [{"src": "labextension", "dest": "jupyter-codesearch"}]
