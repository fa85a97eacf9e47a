"""Pseudonymised customer ids for gold tables shared outside the data team.

``pseudonym(id) = hex(HMAC-SHA256(key, id))`` (RFC 2104), computed by Spark's ``sha2`` on
binary columns, so the ids never leave the executors: ``H((K ^ opad) || H((K ^ ipad) ||
id))`` with the key padded (or first hashed) to SHA-256's 64-byte block. The same key
always gives the same pseudonym (tables stay joinable with each other), and without the
key an id cannot be confirmed by hashing guesses.
"""

from __future__ import annotations

import hashlib
import os

from pyspark.sql import Column
from pyspark.sql import functions as F

from lakecart.config import CustomersConfig

BLOCK = 64  # SHA-256 block size in bytes


class MissingKeyError(ValueError):
    """Pseudonymisation is on but no key is configured."""


def _pads(key: bytes) -> tuple[bytes, bytes]:
    if len(key) > BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(BLOCK, b"\0")
    return bytes(b ^ 0x36 for b in key), bytes(b ^ 0x5C for b in key)


def hmac_sha256_hex(col: Column, key: bytes) -> Column:
    """HMAC-SHA256 of the UTF-8 string ``col`` under ``key``, as 64 lowercase hex digits."""
    ipad, opad = _pads(key)
    inner = F.unhex(F.sha2(F.concat(F.lit(ipad), col.cast("string").cast("binary")), 256))
    return F.sha2(F.concat(F.lit(opad), inner), 256)


def pseudonym_key(cfg: CustomersConfig) -> bytes:
    """The configured key (``pseudonym_key``, else the ``pseudonym_key_env`` variable).

    Raises:
        MissingKeyError: when neither is set.
    """
    key = cfg.pseudonym_key or os.environ.get(cfg.pseudonym_key_env)
    if not key:
        raise MissingKeyError(
            "customers.pseudonymise is true but no key is set: set customers.pseudonym_key "
            f"or the {cfg.pseudonym_key_env} environment variable"
        )
    return key.encode("utf-8")


def customer_key(col: Column, cfg: CustomersConfig) -> Column:
    """``col`` itself, or its pseudonym when ``customers.pseudonymise`` is on."""
    if not cfg.pseudonymise:
        return col
    return hmac_sha256_hex(col, pseudonym_key(cfg))
