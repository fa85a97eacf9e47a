"""Declared schemas of the basket tables (SPEC section 4)."""

from __future__ import annotations

BASKET_SPECS: tuple = ()
