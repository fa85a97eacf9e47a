"""Tokens: one definition of a word for the Spark feature pipelines and the Python rules.

* :data:`TOKEN_PATTERN` is the Java regular expression MLlib's ``RegexTokenizer`` matches
  (letters and digits, with an optional apostrophe suffix: ``didn't``, ``it's``); text is
  lower-cased first. :func:`words` is the same rule in Python (for the aspect lexicon and
  the support rules), so both sides see the same tokens.
* :data:`STOP_WORDS` are function words dropped before the word n-grams. Negations
  (``not``, ``no``, ``never``, ``didn't``...), intensifiers (``very``, ``too``) and
  contrast words (``but``) are deliberately *not* stop words: they carry sentiment
  (``not flattering``, ``too small``) and survive into the bigrams.
* :func:`char_text_sql` prepares the text of the character n-grams: lower-cased, its
  whitespace collapsed and a space at both ends, so word boundaries are part of the grams
  (``" fit"``, ``"fit "``).
"""

from __future__ import annotations

import re

from pyspark.sql import Column
from pyspark.sql import functions as F

TOKEN_PATTERN = r"[\p{L}\p{N}]+(?:'\p{L}+)?"
"""Java regex of one token (``RegexTokenizer(gaps=False)``)."""

_PY_TOKEN = re.compile(r"[^\W_]+(?:'[^\W\d_]+)?")  # the same rule in Python's ``re``

STOP_WORDS: tuple[str, ...] = (
    "a", "an", "the", "and", "or", "of", "to", "in", "on", "at", "for", "from", "by", "with",
    "as", "is", "are", "was", "were", "be", "been", "being", "am", "it", "its", "it's", "this",
    "that", "these", "those", "i", "i'm", "i've", "i'd", "me", "my", "myself", "we", "our",
    "ours", "you", "your", "yours", "he", "him", "his", "she", "her", "hers", "they", "them",
    "their", "theirs", "what", "which", "who", "whom", "there", "here", "then", "than", "so",
    "s", "t", "just", "will", "would", "could", "should", "can", "do", "does", "did", "have",
    "has", "had", "having", "if", "into", "onto", "about", "over", "under", "up", "down", "out",
    "off", "again", "further", "once", "also",
)  # fmt: skip
"""Function words removed before the word n-grams (negations, intensifiers and ``but`` kept)."""

NEGATIONS: frozenset[str] = frozenset(
    {
        "not", "no", "never", "nothing", "nobody", "none", "nor", "neither", "without", "hardly",
        "barely", "isn't", "wasn't", "aren't", "weren't", "don't", "doesn't", "didn't", "won't",
        "wouldn't", "can't", "cannot", "couldn't", "shouldn't", "haven't", "hasn't", "hadn't",
    }
)  # fmt: skip
"""Words that flip the polarity of a following cue word (aspect rules)."""


def words(text: str | None) -> list[str]:
    """Lower-case tokens of ``text`` (the Python twin of :data:`TOKEN_PATTERN`).

    Typographic apostrophes are read as ``'``. None gives an empty list.
    """
    return _PY_TOKEN.findall((text or "").lower().replace("\u2019", "'"))


def document(title: Column | None, text: Column) -> Column:
    """The text a classifier reads: ``title . text`` (title omitted when NULL or absent)."""
    if title is None:
        return F.coalesce(text, F.lit(""))
    return F.concat_ws(" . ", title, text)


def char_text_sql(column: str) -> str:
    """Spark SQL expression: ``column`` lower-cased, whitespace collapsed, one space added at
    each end (the text the character n-grams are cut from)."""
    return f"concat(' ', trim(regexp_replace(lower(coalesce(`{column}`, '')), '\\\\s+', ' ')), ' ')"
