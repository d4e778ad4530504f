"""coltec: the host library of coltec-codespaces (no CLI code here)."""

from __future__ import annotations
