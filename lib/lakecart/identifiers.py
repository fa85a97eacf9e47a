"""Names and values that reach SQL text.

Everything lakecart puts into a SQL statement is either a name it declares itself (table
and column constants), a name from configuration (catalog, schema prefix), or a value
quoted as a literal (file paths, run ids). Names from configuration must be plain
identifiers (letters, digits, underscore; not starting with a digit), checked when the
configuration is loaded, so nothing in a YAML file or on the command line can change a
statement. Literals are quoted with :func:`sql_string`, which escapes what Spark's SQL
parser treats specially inside a string.
"""

from __future__ import annotations

import re

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class BadIdentifier(ValueError):
    """A name that would reach SQL text is not a plain identifier."""


def is_identifier(name: str) -> bool:
    """Whether ``name`` is a plain SQL identifier (letters, digits, underscore)."""
    return isinstance(name, str) and _IDENTIFIER.fullmatch(name) is not None


def check_identifier(name: str, what: str) -> str:
    """Return ``name`` when it is a plain identifier, else raise.

    Args:
        name: The name to check.
        what: Where it came from, for the message (``lakehouse.catalog``).

    Raises:
        BadIdentifier: naming ``what`` and the offending value.
    """
    if not is_identifier(name):
        raise BadIdentifier(
            f"{what}: {name!r} is not a plain identifier "
            "(letters, digits and underscore, not starting with a digit)"
        )
    return name


def sql_string(value: str) -> str:
    """``value`` as a Spark SQL string literal, quotes and backslashes escaped.

    Spark's parser reads ``\\`` escapes inside string literals (and joins adjacent literals,
    so doubling a quote does not escape it); escaping both makes any text a single literal
    that evaluates to ``value``.
    """
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
