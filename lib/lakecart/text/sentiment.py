"""Review sentiment: labels, the neutral band, the complaint rule and item monitoring.

* **Labels** (:func:`star_label`): rating >= ``positive_min_rating`` is positive (1),
  <= ``negative_max_rating`` negative (0); ratings between (3 stars) are no training class.
* **Learnable reviews** (:func:`learnable`): rated, and dated before as_of or undated
  (a review without a date cannot be placed after the decision date, so a shop that lands
  no review dates - such as Women's reviews - can still learn; reviews dated on or after
  as_of are only scored).
* **The neutral band** (:func:`choose_thresholds`): ``sentiment`` is positive at
  ``p_positive >= hi``, negative below ``lo``, neutral between. ``hi`` maximises the
  macro-F1 of positive vs negative on the validation reviews (so ``sentiment = positive``
  is the best binary call); ``lo`` (<= ``hi``), and ``hi`` among equally good binary
  thresholds, then maximise the three-class macro-F1 with the validation 3-star reviews as
  the neutral class. Without 3-star reviews there is no band (``lo = hi``). Both are searched on a grid
  of :data:`BINS` bins of p_positive, from binned counts (one small aggregation).
* **Complaint** (:func:`complaint`): negative, or not positive and it names a negative
  aspect or a complaint term.
* **Item monitoring** (:func:`item_counts`, :func:`alert_table`): per item, reviews and
  negative share in the current window (``window_days`` before as_of, plus undated reviews)
  and in the previous one; the alert is a one-sided binomial test of the current window's
  negatives against the item's earlier share shrunk towards the shop's.
* **Terms** (:func:`item_terms`): per item, the word n-grams whose model weight x IDF,
  summed over the item's reviews that contain them, is most positive / most negative.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecart import names as N

BINS = 200  # p_positive grid of the threshold search


def star_label(rating: Column, positive_min: float, negative_max: float) -> Column:
    """1.0 positive, 0.0 negative, NULL for a rating between (or no rating)."""
    return (
        F.when(rating >= F.lit(positive_min), F.lit(1.0))
        .when(rating <= F.lit(negative_max), F.lit(0.0))
        .otherwise(F.lit(None).cast("double"))
    )


def learnable(rating: Column, ts: Column, as_of: dt.date) -> Column:
    """True for a review the model may learn from: rated, dated before as_of or undated."""
    before = ts.isNull() | (ts < F.lit(as_of).cast("timestamp"))
    return rating.isNotNull() & before


def sentiment_label(p: Column, lo: float, hi: float) -> Column:
    """``positive`` at ``p >= hi``, ``negative`` at ``p < lo``, else ``neutral``."""
    return (
        F.when(p >= F.lit(hi), F.lit(N.POSITIVE))
        .when(p < F.lit(lo), F.lit(N.NEGATIVE))
        .otherwise(F.lit(N.NEUTRAL))
    )


# ------------------------------------------------------------------ thresholds
def binned_counts(df: DataFrame, p: str, cls: Column, bins: int = BINS) -> pd.DataFrame:
    """Rows per (bin of ``p``, class): a frame ``bin, cls, n`` (at most bins x classes rows).

    Bin ``b`` holds ``b / bins <= p < (b + 1) / bins`` (p = 1 in the last bin).
    """
    b = F.least(F.floor(F.col(p) * F.lit(bins)), F.lit(bins - 1)).cast("int")
    rows = df.groupBy(b.alias("bin"), cls.alias("cls")).count().collect()
    return pd.DataFrame(
        [(r["bin"], r["cls"], int(r["count"])) for r in rows], columns=["bin", "cls", "n"]
    )


def _f1(tp: np.ndarray, fp: np.ndarray, fn: np.ndarray) -> np.ndarray:
    den = 2 * tp + fp + fn
    return np.where(den > 0, 2 * tp / np.maximum(den, 1), 0.0)


def choose_thresholds(counts: pd.DataFrame, bins: int = BINS) -> tuple[float, float]:
    """``(lo, hi)`` thresholds of p_positive from validation counts (module docstring).

    Args:
        counts: ``bin, cls, n`` with ``cls`` in positive / negative / neutral.
        bins: Number of bins (threshold candidates are ``k / bins``, k = 0..bins).

    Returns:
        ``(lo, hi)`` with ``lo <= hi``; ``(0.5, 0.5)`` when the validation rows lack a
        positive or a negative review.
    """
    grid = np.zeros((3, bins))
    for cls, row in ((N.NEGATIVE, 0), (N.NEUTRAL, 1), (N.POSITIVE, 2)):
        sub = counts[counts["cls"] == cls]
        np.add.at(grid[row], sub["bin"].to_numpy(dtype=int), sub["n"].to_numpy(dtype=float))
    neg, neu, pos = grid
    if neg.sum() == 0 or pos.sum() == 0:
        return 0.5, 0.5
    # threshold k/bins: predicted positive = bins >= k
    above = lambda x: np.concatenate([np.cumsum(x[::-1])[::-1], [0.0]])  # noqa: E731
    pos_hi, neg_hi = above(pos), above(neg)  # index k: rows in bins >= k
    f_pos = _f1(pos_hi, neg_hi, pos.sum() - pos_hi)
    f_neg = _f1(neg.sum() - neg_hi, pos.sum() - pos_hi, neg_hi)
    f_bin = (f_pos + f_neg) / 2
    plateau = np.nonzero(f_bin >= f_bin.max() - 1e-12)[0]  # every binary-optimal threshold
    if neu.sum() == 0:
        k_hi = int(plateau[0])
        return k_hi / bins, k_hi / bins
    below = lambda x: np.concatenate([[0.0], np.cumsum(x)])  # noqa: E731  rows in bins < k
    best: tuple[float, int, int] | None = None
    for k_hi in plateau:
        ks = np.arange(0, k_hi + 1)
        n_lo, u_lo, p_lo = below(neg)[ks], below(neu)[ks], below(pos)[ks]
        # three classes: negative < lo <= neutral < hi <= positive
        tp_n, fp_n, fn_n = n_lo, u_lo + p_lo, neg.sum() - n_lo
        tp_u = below(neu)[k_hi] - u_lo
        fp_u = (below(neg)[k_hi] - n_lo) + (below(pos)[k_hi] - p_lo)
        fn_u = neu.sum() - tp_u
        tp_p = pos_hi[k_hi]
        fp_p = neg_hi[k_hi] + above(neu)[k_hi]
        fn_p = pos.sum() - tp_p
        macro = (_f1(tp_n, fp_n, fn_n) + _f1(tp_u, fp_u, fn_u) + _f1(tp_p, fp_p, fn_p)) / 3
        i = int(np.argmax(macro))
        if best is None or macro[i] > best[0] + 1e-12:
            best = (float(macro[i]), int(ks[i]), int(k_hi))
    assert best is not None
    return best[1] / bins, best[2] / bins


def complaint(sentiment: Column, aspects: Column, complaint_term: Column) -> Column:
    """Negative, or not positive with a negative aspect or a complaint term."""
    neg_aspect = F.exists(aspects, lambda a: a.endswith(f":{N.NEGATIVE}"))
    return (sentiment == F.lit(N.NEGATIVE)) | (
        (sentiment != F.lit(N.POSITIVE)) & (neg_aspect | complaint_term)
    )


# ------------------------------------------------------------------ item monitoring
CUR_N, CUR_NEG = "n_cur", "neg_cur"
PREV_N, PREV_NEG = "n_prev", "neg_prev"
BEFORE_N, BEFORE_NEG = "n_before", "neg_before"


def item_counts(scored: DataFrame, ts: str, as_of: dt.date, window_days: int) -> DataFrame:
    """Per item with a review before as_of (or undated): review and negative counts in the
    current window (``[as_of - window_days, as_of)`` plus undated reviews), the previous
    window (``[as_of - 2 window_days, as_of - window_days)``) and everything before the
    current window (the baseline's history).

    Args:
        scored: Reviews with ``item_id``, ``ts`` and ``sentiment``.
        ts: Review timestamp column.
        as_of: Decision date.
        window_days: Window length in days.
    """
    t = F.col(ts)
    end = F.lit(as_of).cast("timestamp")
    start = F.lit(as_of - dt.timedelta(days=window_days)).cast("timestamp")
    prev = F.lit(as_of - dt.timedelta(days=2 * window_days)).cast("timestamp")
    neg = (F.col(N.SENTIMENT) == F.lit(N.NEGATIVE)).cast("long")
    cur = t.isNull() | ((t >= start) & (t < end))
    before = t.isNotNull() & (t < start)
    in_prev = before & (t >= prev)
    rows = scored.filter(F.col(N.ITEM_ID).isNotNull() & (t.isNull() | (t < end)))

    def n(cond: Column) -> Column:
        return F.sum(F.when(cond, 1).otherwise(0)).cast("long")

    def k(cond: Column) -> Column:
        return F.sum(F.when(cond, neg).otherwise(0)).cast("long")

    return rows.groupBy(N.ITEM_ID).agg(
        n(cur).alias(CUR_N),
        k(cur).alias(CUR_NEG),
        n(in_prev).alias(PREV_N),
        k(in_prev).alias(PREV_NEG),
        n(before).alias(BEFORE_N),
        k(before).alias(BEFORE_NEG),
    )


def binomial_sf(k: int, n: int, p: float) -> float:
    """``P(X >= k)`` for ``X ~ Binomial(n, p)`` (exact, in log space; numpy only)."""
    if k <= 0:
        return 1.0
    if k > n:
        return 0.0
    if p <= 0.0:
        return 0.0
    if p >= 1.0:
        return 1.0
    j = np.arange(k, n + 1, dtype=float)
    log_fact = np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=float)))])
    jj = j.astype(int)
    logpmf = (
        log_fact[n] - log_fact[jj] - log_fact[n - jj] + j * math.log(p) + (n - j) * math.log1p(-p)
    )
    m = logpmf.max()
    return float(min(1.0, math.exp(m) * np.exp(logpmf - m).sum()))


def alert_table(
    counts: pd.DataFrame, shop_share: float, alpha: float, min_reviews: int, prior_reviews: float
) -> pd.DataFrame:
    """The alert rule on per-item counts (pure pandas; see the module docstring).

    Args:
        counts: Per item: ``n_cur, neg_cur, n_prev, neg_prev, n_before, neg_before``.
        shop_share: The shop's negative share (all reviews before as_of and undated).
        alpha: Significance level of the one-sided binomial test.
        min_reviews: No alert with fewer reviews in the current window.
        prior_reviews: Pseudo-reviews at the shop's share added to the item's history.

    Returns:
        ``counts`` with ``share_negative``, ``share_negative_prev``,
        ``baseline_share_negative``, ``alert_p_value`` and ``alert``.
    """
    out = counts.copy()
    n, k = out[CUR_N].to_numpy(dtype=float), out[CUR_NEG].to_numpy(dtype=float)
    npv, kpv = out[PREV_N].to_numpy(dtype=float), out[PREV_NEG].to_numpy(dtype=float)
    nb, kb = out[BEFORE_N].to_numpy(dtype=float), out[BEFORE_NEG].to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(n > 0, k / np.maximum(n, 1), np.nan)
        share_prev = np.where(npv > 0, kpv / np.maximum(npv, 1), np.nan)
    base = (kb + prior_reviews * shop_share) / np.maximum(nb + prior_reviews, 1e-12)
    base = np.clip(base, 1e-9, 1 - 1e-9)
    pval = np.array(
        [
            binomial_sf(int(ki), int(ni), float(b)) if ni > 0 else np.nan
            for ki, ni, b in zip(k, n, base, strict=True)
        ]
    )
    out[N.SHARE_NEGATIVE] = share
    out[N.SHARE_NEGATIVE_PREV] = share_prev
    out[N.BASELINE_SHARE_NEGATIVE] = base
    out[N.ALERT_P_VALUE] = pval
    out[N.ALERT] = (n >= min_reviews) & (share > base) & (np.nan_to_num(pval, nan=1.0) < alpha)
    return out


ALERT_SCHEMA = T.StructType(
    [
        T.StructField(N.ITEM_ID, T.StringType(), False),
        T.StructField(CUR_N, T.LongType(), False),
        T.StructField(N.SHARE_NEGATIVE, T.DoubleType()),
        T.StructField(N.SHARE_NEGATIVE_PREV, T.DoubleType()),
        T.StructField(N.BASELINE_SHARE_NEGATIVE, T.DoubleType(), False),
        T.StructField(N.ALERT_P_VALUE, T.DoubleType()),
        T.StructField(N.ALERT, T.BooleanType(), False),
    ]
)


def item_alerts(
    counts: DataFrame, shop_share: float, alpha: float, min_reviews: int, prior_reviews: float
) -> DataFrame:
    """:func:`alert_table` over the per-item counts of :func:`item_counts` (mapInPandas)."""
    cols = [f.name for f in ALERT_SCHEMA.fields]

    def run(batches):
        for b in batches:
            out = alert_table(b, shop_share, alpha, min_reviews, prior_reviews)
            out = out.astype({N.ALERT: bool})
            yield out.replace({np.nan: None})[cols]

    return counts.mapInPandas(run, ALERT_SCHEMA)


def shop_negative_share(counts: DataFrame) -> float:
    """Negative share over every counted review (current window and before)."""
    r = counts.agg(
        (F.sum(CUR_NEG) + F.sum(BEFORE_NEG)).alias("k"),
        (F.sum(CUR_N) + F.sum(BEFORE_N)).alias("n"),
    ).first()
    return float(r["k"] or 0) / float(r["n"]) if r and r["n"] else 0.0


# ------------------------------------------------------------------ terms
def term_drives(
    spark: SparkSession, vocabulary: Sequence[str], weights: Sequence[float], idf: Sequence[float]
) -> DataFrame:
    """``term, drive`` for every vocabulary term with a non-zero weight (model-sized).

    ``drive = weight x IDF``: the term's contribution to the margin of a review that
    contains it, before the per-review normalisation.
    """
    rows = [
        (t, float(w) * float(i))
        for t, w, i in zip(vocabulary, weights, idf, strict=True)
        if w != 0.0
    ]
    return spark.createDataFrame(rows, "term STRING, drive DOUBLE")


def item_terms(reviews: DataFrame, terms_col: str, drives: DataFrame, top: int) -> DataFrame:
    """Per item: ``top_positive_terms`` and ``top_negative_terms`` (see module docstring).

    Args:
        reviews: Reviews with ``item_id`` and the array of word n-grams ``terms_col``.
        terms_col: Column of each review's word n-grams.
        drives: :func:`term_drives`.
        top: Terms per list.
    """
    exploded = reviews.filter(F.col(N.ITEM_ID).isNotNull()).select(
        N.ITEM_ID, F.explode(F.array_distinct(F.col(terms_col))).alias("term")
    )
    summed = (
        exploded.join(F.broadcast(drives), "term")
        .groupBy(N.ITEM_ID, "term")
        .agg(F.sum("drive").alias("drive"))
    )
    by_pos = Window.partitionBy(N.ITEM_ID).orderBy(F.desc("drive"), F.asc("term"))
    by_neg = Window.partitionBy(N.ITEM_ID).orderBy(F.asc("drive"), F.asc("term"))
    ranked = summed.withColumn("_rp", F.row_number().over(by_pos)).withColumn(
        "_rn", F.row_number().over(by_neg)
    )

    def ordered(cond: Column, rank: str) -> Column:
        picked = F.collect_list(F.when(cond, F.struct(F.col(rank), F.col("term"))))
        return F.transform(F.array_sort(picked), lambda s: s["term"])

    return ranked.groupBy(N.ITEM_ID).agg(
        ordered((F.col("drive") > 0) & (F.col("_rp") <= top), "_rp").alias(N.TOP_POSITIVE_TERMS),
        ordered((F.col("drive") < 0) & (F.col("_rn") <= top), "_rn").alias(N.TOP_NEGATIVE_TERMS),
    )
