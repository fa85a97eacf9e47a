"""Declared schemas of the marketing tables (SPEC section 4)."""

from __future__ import annotations

MARKETING_SPECS: tuple = ()
