"""RFM quintile scores and the named RFM segments.

Scores (1..5, 5 = best) are computed over all customers of one snapshot with
``percent_rank`` (one sort of the customer table; customers per shop fit a window):

* ``r_score`` orders customers by ``recency_days`` descending (the most recent get 5);
* ``f_score`` by ``frequency`` ascending; ``m_score`` by ``monetary`` ascending;
* ``score = min(5, floor(percent_rank x 5) + 1)``.

Ties: every customer in a tie gets the score of the tie's lowest position (``percent_rank``
gives equal values equal ranks), so equal behaviour always gets an equal score and the
quintiles are only approximately equal in size when values repeat (e.g. every one-order
customer gets ``f_score`` 1, however many there are).

Named segments: the first rule that matches wins (r, f, m are the scores).

=====================  ===============================  ===============================================
segment                rule                             meaning
=====================  ===============================  ===============================================
Champions              r >= 4 and f >= 4 and m >= 4     bought recently, often and spend the most
Loyal                  r >= 3 and f >= 4                buy often and are still active
Potential loyalists    r >= 4 and 2 <= f <= 3           recent customers with a few orders
New                    r >= 4 and f = 1                 recent first-time buyers
Need attention         r = 3 and f <= 3                 average recency, not yet regular
Cannot lose            r <= 2 and f >= 4 and m >= 4     were among the best, have gone quiet
At risk                r <= 2 and f >= 3                bought often, have not come back for a while
Hibernating            r = 2 and f <= 2                 few orders, long ago
Lost                   r = 1 and f <= 2                 few orders, longest ago
=====================  ===============================  ===============================================

The rules cover every (r, f, m) combination, so every customer gets exactly one segment.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

#: The segment rules in order, as (segment, rule text); :func:`segment_of` implements them.
SEGMENT_RULES: tuple[tuple[str, str], ...] = (
    (N.SEG_CHAMPIONS, "r >= 4 and f >= 4 and m >= 4"),
    (N.SEG_LOYAL, "r >= 3 and f >= 4"),
    (N.SEG_POTENTIAL, "r >= 4 and 2 <= f <= 3"),
    (N.SEG_NEW, "r >= 4 and f = 1"),
    (N.SEG_NEED_ATTENTION, "r = 3 and f <= 3"),
    (N.SEG_CANNOT_LOSE, "r <= 2 and f >= 4 and m >= 4"),
    (N.SEG_AT_RISK, "r <= 2 and f >= 3"),
    (N.SEG_HIBERNATING, "r = 2 and f <= 2"),
    (N.SEG_LOST, "r = 1 and f <= 2"),
)
SEGMENTS: tuple[str, ...] = tuple(s for s, _ in SEGMENT_RULES)


def quintile(order: Column, partition: list[str] | None = None) -> Column:
    """Score 1..5 from ``percent_rank`` over ``order`` (ties share the lowest score)."""
    w = Window.partitionBy(*(partition or [])).orderBy(order)
    return F.least(F.lit(5), F.floor(F.percent_rank().over(w) * F.lit(5)).cast("int") + 1).cast(
        "int"
    )


def segment_of(r: Column, f: Column, m: Column) -> Column:
    """The named RFM segment of scores ``r``, ``f``, ``m`` (see the module's table)."""
    return (
        F.when((r >= 4) & (f >= 4) & (m >= 4), N.SEG_CHAMPIONS)
        .when((r >= 3) & (f >= 4), N.SEG_LOYAL)
        .when((r >= 4) & (f >= 2) & (f <= 3), N.SEG_POTENTIAL)
        .when((r >= 4) & (f == 1), N.SEG_NEW)
        .when((r == 3) & (f <= 3), N.SEG_NEED_ATTENTION)
        .when((r <= 2) & (f >= 4) & (m >= 4), N.SEG_CANNOT_LOSE)
        .when((r <= 2) & (f >= 3), N.SEG_AT_RISK)
        .when((r == 2) & (f <= 2), N.SEG_HIBERNATING)
        .when((r == 1) & (f <= 2), N.SEG_LOST)
    )


def rfm_scores(df: DataFrame, partition: list[str] | None = None) -> DataFrame:
    """Add ``r_score``, ``f_score``, ``m_score`` and ``rfm_segment``.

    Args:
        df: One row per customer (per ``partition`` value) with ``recency_days``,
            ``frequency`` and ``monetary`` (non-NULL).
        partition: Columns scoring groups separately (e.g. ``snapshot``); default one group.

    Returns:
        ``df`` with the four columns added.
    """
    out = df.withColumns(
        {
            N.R_SCORE: quintile(F.col(N.RECENCY_DAYS).desc(), partition),
            N.F_SCORE: quintile(F.col(N.FREQUENCY).asc(), partition),
            N.M_SCORE: quintile(F.col(N.MONETARY).asc(), partition),
        }
    )
    return out.withColumn(
        N.RFM_SEGMENT, segment_of(F.col(N.R_SCORE), F.col(N.F_SCORE), F.col(N.M_SCORE))
    )
