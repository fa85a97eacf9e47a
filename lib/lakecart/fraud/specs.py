"""Declared schemas of the fraud tables (SPEC section 4)."""

from __future__ import annotations

FRAUD_SPECS: tuple = ()
