"""Declared schemas of the text tables (SPEC section 4)."""

from __future__ import annotations

TEXT_SPECS: tuple = ()
