"""The package's logger, and ``CODESEARCH_LOG``: debug output goes here, never to ``print``.

By default the ``jupyter_codesearch`` logger passes on warnings and errors only, and adds no
handler of its own (an application's logging setup decides where they go; without one Python
prints them to stderr). ``CODESEARCH_LOG=debug`` (or ``info``, ``warning``, ``error``, or a
number) sets its level and adds one stderr handler, so a user can see what a run did without
configuring logging themselves.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

__all__ = ["ENV", "LOGGER_NAME", "get_logger", "setup"]

LOGGER_NAME = "jupyter_codesearch"
ENV = "CODESEARCH_LOG"
_FORMAT = "%(asctime)s %(name)s %(levelname)s: %(message)s"
_handler: logging.Handler | None = None


def get_logger(module: str) -> logging.Logger:
    """The logger for one of our modules (pass ``__name__``): a child of ``jupyter_codesearch``."""
    return logging.getLogger(module if module.startswith(LOGGER_NAME) else f"{LOGGER_NAME}.{module}")


def _level(text: str) -> int | None:
    text = text.strip()
    if text.isdigit():
        return int(text)
    level = logging.getLevelName(text.upper())
    return level if isinstance(level, int) else None


def setup(environ: Mapping[str, str] | None = None) -> logging.Logger:
    """Set the package logger's level from ``CODESEARCH_LOG`` (called once, at import)."""
    global _handler
    environ = os.environ if environ is None else environ
    logger = logging.getLogger(LOGGER_NAME)
    wanted = environ.get(ENV, "").strip()
    if not wanted:
        logger.setLevel(logging.WARNING)
        return logger
    level = _level(wanted)
    logger.setLevel(logging.WARNING if level is None else level)
    if _handler is None:
        _handler = logging.StreamHandler()
        _handler.setFormatter(logging.Formatter(_FORMAT))
        logger.addHandler(_handler)
        # Asked for on the command line: shown once here, not again by the application's root handler.
        logger.propagate = False
    if level is None:
        logger.warning("%s=%r is not a logging level: use debug, info, warning or error", ENV, wanted)
    return logger
