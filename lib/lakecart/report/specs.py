"""Declared schemas of the report tables (SPEC section 4)."""

from __future__ import annotations

REPORT_SPECS: tuple = ()
