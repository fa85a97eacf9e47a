"""The VADER lexicon (``vaderSentiment``, which ships its lexicon) as a Spark column.

VADER is the sentiment jobs' lexicon baseline and the support job's tone signal: its
``compound`` score in [-1, 1] for each text, computed in a pandas UDF (one analyser per
batch). By VADER's own convention a text is positive at ``compound >= 0.05`` and negative at
``compound <= -0.05``.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import Column
from pyspark.sql import functions as F
from pyspark.sql import types as T

POSITIVE_AT = 0.05
"""VADER's documented threshold of a positive text."""


def compound_scores(texts: pd.Series) -> pd.Series:
    """VADER ``compound`` of each text (0.0 for missing text)."""
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    sia = SentimentIntensityAnalyzer()
    return pd.Series(
        [
            float(sia.polarity_scores(t)["compound"]) if isinstance(t, str) and t else 0.0
            for t in texts
        ],
        index=texts.index,
        dtype="float64",
    )


@F.pandas_udf(T.DoubleType())
def _compound(texts: pd.Series) -> pd.Series:
    return compound_scores(texts)


def compound(text: Column) -> Column:
    """The VADER compound score of ``text`` (a pandas UDF)."""
    return _compound(text)
