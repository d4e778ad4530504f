"""coltec-worker: the in-container sync worker and the one spec model."""

from __future__ import annotations

__version__ = "0.1.0"
