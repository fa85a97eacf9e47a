"""Aspects of a review from a configurable lexicon (``conf/aspects.yaml``), with polarity.

Pure Python (:func:`analyse`), run on Spark through a pandas UDF (:func:`aspects_udf`).
The rules, applied per clause (text between ``. ! ? ; ,`` and before ``but``/``however``/
``although``/``though``):

1. a clause *mentions* an aspect when it contains one of the aspect's ``terms`` or one of
   its own ``positive``/``negative`` cue phrases;
2. each mention scores +1 per positive cue and -1 per negative cue in the clause: the
   aspect's own cues and the shared ``positive_words``/``negative_words``; a cue with a
   negation (:data:`lakecart.text.tokens.NEGATIONS`) among the three tokens before it
   counts for the other side (``not flattering`` is negative);
3. a review's aspect is ``positive``/``negative``/``neutral`` by the sign of its summed
   clause scores; the result is a sorted list of ``aspect:polarity`` strings.

``complaint_terms`` (phrases such as ``refund``, ``never arrived``) set the complaint cue
used by :func:`lakecart.text.sentiment.complaint`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecart import names as N
from lakecart.text.files import read_yaml
from lakecart.text.tokens import NEGATIONS, words

NEGATION_WINDOW = 3  # tokens before a cue that can negate it
_CLAUSE = re.compile(r"[.!?;,:\n]+|\b(?:but|however|although|though|yet)\b", re.IGNORECASE)

Phrase = tuple[str, ...]


def _phrases(items: Iterable[Any], where: str) -> tuple[Phrase, ...]:
    out = []
    for x in items or ():
        p = tuple(words(str(x)))
        if not p:
            raise ValueError(f"{where}: {x!r} has no word")
        out.append(p)
    return tuple(dict.fromkeys(out))


@dataclass(frozen=True)
class Aspect:
    """One aspect: the phrases that name it and its own positive / negative cues."""

    name: str
    terms: tuple[Phrase, ...]
    positive: tuple[Phrase, ...]
    negative: tuple[Phrase, ...]


@dataclass(frozen=True)
class Lexicon:
    """The aspect lexicon (see ``conf/aspects.yaml``)."""

    aspects: tuple[Aspect, ...]
    positive_words: tuple[Phrase, ...]
    negative_words: tuple[Phrase, ...]
    complaint_terms: tuple[Phrase, ...]

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "lexicon") -> Lexicon:
        """Build from the YAML structure; raises ``ValueError`` naming a bad entry."""
        raw = data.get("aspects")
        if not isinstance(raw, Mapping) or not raw:
            raise ValueError(f"{where}: 'aspects' must be a non-empty mapping")
        unknown = set(data) - {"aspects", "positive_words", "negative_words", "complaint_terms"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        aspects = []
        for name, spec in raw.items():
            if not isinstance(spec, Mapping) or not spec.get("terms"):
                raise ValueError(f"{where}: aspect {name!r} needs a 'terms' list")
            extra = set(spec) - {"terms", "positive", "negative"}
            if extra:
                raise ValueError(f"{where}: aspect {name!r} has unknown keys {sorted(extra)}")
            if ":" in str(name):
                raise ValueError(f"{where}: aspect name {name!r} must not contain ':'")
            aspects.append(
                Aspect(
                    str(name),
                    _phrases(spec["terms"], f"{where}.{name}.terms"),
                    _phrases(spec.get("positive") or (), f"{where}.{name}.positive"),
                    _phrases(spec.get("negative") or (), f"{where}.{name}.negative"),
                )
            )
        return cls(
            tuple(aspects),
            _phrases(data.get("positive_words") or (), f"{where}.positive_words"),
            _phrases(data.get("negative_words") or (), f"{where}.negative_words"),
            _phrases(data.get("complaint_terms") or (), f"{where}.complaint_terms"),
        )

    @classmethod
    def load(cls, path: str) -> Lexicon:
        """Read a lexicon file (see :func:`lakecart.text.files.read_yaml` for paths)."""
        return cls.from_mapping(read_yaml(path), path)

    @property
    def names(self) -> list[str]:
        """Aspect names in file order."""
        return [a.name for a in self.aspects]


def _find(tokens: list[str], phrases: Iterable[Phrase]) -> list[int]:
    """Start positions of every occurrence of any of ``phrases`` in ``tokens``."""
    hits = []
    for p in phrases:
        n = len(p)
        for i in range(len(tokens) - n + 1):
            if tuple(tokens[i : i + n]) == p:
                hits.append(i)
    return hits


def _signed(tokens: list[str], starts: list[int], sign: int) -> int:
    total = 0
    for i in starts:
        negated = any(t in NEGATIONS for t in tokens[max(0, i - NEGATION_WINDOW) : i])
        total += -sign if negated else sign
    return total


def clauses(text: str | None) -> list[list[str]]:
    """The tokens of each clause of ``text`` (empty clauses dropped)."""
    parts = _CLAUSE.split((text or "").replace("\u2019", "'"))
    return [t for t in (words(p) for p in parts) if t]


def analyse(text: str | None, lexicon: Lexicon) -> tuple[list[str], bool]:
    """Aspects mentioned in ``text`` with their polarity, and whether a complaint term occurs.

    Args:
        text: Review text (title and body joined; None counts as empty).
        lexicon: The aspect lexicon.

    Returns:
        (sorted ``aspect:polarity`` strings, complaint term present).
    """
    scores: dict[str, int] = {}
    complaint = False
    for tokens in clauses(text):
        if not complaint and _find(tokens, lexicon.complaint_terms):
            complaint = True
        shared = _signed(tokens, _find(tokens, lexicon.positive_words), 1) + _signed(
            tokens, _find(tokens, lexicon.negative_words), -1
        )
        for a in lexicon.aspects:
            pos, neg = _find(tokens, a.positive), _find(tokens, a.negative)
            if not (pos or neg or _find(tokens, a.terms)):
                continue
            own = _signed(tokens, pos, 1) + _signed(tokens, neg, -1)
            scores[a.name] = scores.get(a.name, 0) + own + shared
    out = [
        f"{name}:{N.POSITIVE if s > 0 else N.NEGATIVE if s < 0 else N.NEUTRAL}"
        for name, s in scores.items()
    ]
    return sorted(out), complaint


ASPECTS_TYPE = T.StructType(
    [
        T.StructField(N.ASPECTS, T.ArrayType(T.StringType(), containsNull=False)),
        T.StructField("complaint_term", T.BooleanType()),
    ]
)


def analyse_series(texts: pd.Series, lexicon: Lexicon) -> pd.DataFrame:
    """:func:`analyse` over a Series: a frame with ``aspects`` and ``complaint_term``."""
    res = [analyse(t if isinstance(t, str) else None, lexicon) for t in texts]
    return pd.DataFrame(
        {
            N.ASPECTS: [r[0] for r in res],
            "complaint_term": [bool(r[1]) for r in res],
        }
    )


def aspects_column(text: Column, lexicon: Lexicon) -> Column:
    """A struct column (``aspects`` array, ``complaint_term`` boolean) from :func:`analyse`
    (a pandas UDF; the lexicon travels in the function's closure)."""

    @F.pandas_udf(ASPECTS_TYPE)
    def _aspects(texts: pd.Series) -> pd.DataFrame:
        return analyse_series(texts, lexicon)

    return _aspects(text)
