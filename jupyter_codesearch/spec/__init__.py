"""Spec: what a ``%%search`` cell asks for (stage 1 of the pipeline)."""

from __future__ import annotations

from ._spec import Item, Spec, Stub

__all__ = ["Item", "Spec", "Stub"]
