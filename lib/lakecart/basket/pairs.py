"""Bought-together scores from pair co-occurrences counted in Spark.

For baskets weighted by ``w = 0.5 ^ (age in days / half-life)`` (1 without decay):

* ``n(a)``: the summed weight of the baskets holding ``a``; ``N``: of all baskets;
* ``co(a, b)``: of the baskets holding both; ``p(b) = n(b) / N``;
* ``score(a, b) = (co(a, b) + beta p(b)) / (n(a) + beta) / p(b) ^ gamma``.

With ``beta = gamma = 0`` the score is the conditional probability P(b | a); ``beta``
shrinks it toward b's basket share, which tames items seen in few baskets (one basket
would give its other items P = 1); ``gamma`` trades popularity for lift (``gamma = 1``,
``beta = 0``: lift). The joint score ``co(a, b) / N`` (weighted co-occurrence) is a
candidate too. Every score is one formula for every item, so the max over a basket's
items ranks the basket's completions. Which shape is published is chosen by hide-one
validation (:mod:`lakecart.basket.completion`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.basket.baskets import BASKET_TS

METHOD = "_method"
CO = "_co"  # unweighted co-occurring baskets


@dataclass(frozen=True)
class Shape:
    """One bought-together score: shrinkage ``beta``, popularity exponent ``gamma`` and the
    basket weight's half-life in days (0 = no decay); ``joint`` scores by the (weighted)
    share of baskets holding both items instead (co-occurrence)."""

    shrinkage: float
    popularity_exponent: float
    half_life: float
    joint: bool = False

    @property
    def label(self) -> str:
        """``beta=10,gamma=0,half_life=120`` or ``joint,half_life=120``: the shape in model
        names."""
        if self.joint:
            return f"joint,half_life={self.half_life:g}"
        return (
            f"beta={self.shrinkage:g},gamma={self.popularity_exponent:g},"
            f"half_life={self.half_life:g}"
        )


def shape_grid(
    shrinkages: Sequence[float], exponents: Sequence[float], half_lives: Sequence[float]
) -> list[Shape]:
    """Every combination, in the order of the lists (half-life outermost), then the joint
    (co-occurrence) score of every half-life."""
    grid = [
        Shape(float(b), float(g), float(h))
        for h in half_lives
        for g in exponents
        for b in shrinkages
    ]
    return grid + [Shape(0.0, 0.0, float(h), joint=True) for h in half_lives]


def default_shape(
    shrinkages: Sequence[float], exponents: Sequence[float], half_lives: Sequence[float]
) -> Shape:
    """The shape published when nothing can be validated: the median shrinkage (the upper
    one of an even list), the smallest exponent and the smallest half-life."""
    b = sorted(shrinkages)
    return Shape(b[len(b) // 2], min(exponents), min(half_lives))


def _wcol(i: int) -> str:
    return f"_w{i}"


def _decays(half_lives: Sequence[float]) -> list[float]:
    """The distinct positive half-lives (0 = no decay is the weight ``_w0``)."""
    return list(dict.fromkeys(float(h) for h in half_lives if h > 0))


def with_weights(lines: DataFrame, end: dt.date, half_lives: Sequence[float]) -> DataFrame:
    """Add ``_w0..``: the basket's weight without decay (1) and under each positive
    half-life."""
    age = F.datediff(F.lit(end), F.to_date(F.col(BASKET_TS))).cast("double")
    cols = {_wcol(0): F.lit(1.0)}
    for i, h in enumerate(_decays(half_lives), start=1):
        cols[_wcol(i)] = F.pow(F.lit(0.5), age / F.lit(h))
    return lines.withColumns(cols)


def _weight_index(half_lives: Sequence[float], h: float) -> int:
    return 0 if h <= 0 else 1 + _decays(half_lives).index(float(h))


def item_weights(weighted: DataFrame, n_weights: int) -> tuple[DataFrame, DataFrame]:
    """``(items, totals)``: ``item_id, _n0..`` (summed basket weights per item) and the
    one-row ``_t0..`` (summed weights of all baskets)."""
    ws = [_wcol(i) for i in range(n_weights)]
    items = weighted.groupBy(N.ITEM_ID).agg(*[F.sum(w).alias(f"_n{i}") for i, w in enumerate(ws)])
    baskets = weighted.groupBy(N.ORDER_ID).agg(*[F.first(w).alias(w) for w in ws])
    totals = baskets.agg(*[F.sum(w).alias(f"_t{i}") for i, w in enumerate(ws)])
    return items, totals


def pair_weights(weighted: DataFrame, n_weights: int) -> DataFrame:
    """``item_id, other_item_id, _c0..``: summed weights of the baskets holding both
    (ordered pairs, ``a != b``; ``_c0`` counts the baskets). One self-join on the basket."""
    ws = [_wcol(i) for i in range(n_weights)]
    a = weighted.select(N.ORDER_ID, N.ITEM_ID, *ws)
    b = weighted.select(N.ORDER_ID, F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID))
    return (
        a.join(b, N.ORDER_ID)
        .filter(F.col(N.ITEM_ID) != F.col(N.OTHER_ITEM_ID))
        .groupBy(N.ITEM_ID, N.OTHER_ITEM_ID)
        .agg(*[F.sum(w).alias(f"_c{i}") for i, w in enumerate(ws)])
    )


def candidate_pool(pairs: DataFrame, pool: int | None) -> DataFrame:
    """Per item, its ``pool`` most co-occurring others (by basket count, then id)."""
    if pool is None:
        return pairs
    w = Window.partitionBy(N.ITEM_ID).orderBy(F.col("_c0").desc(), F.col(N.OTHER_ITEM_ID))
    return pairs.withColumn("_r", F.row_number().over(w)).filter(F.col("_r") <= pool).drop("_r")


def with_counts(pairs: DataFrame, items: DataFrame, totals: DataFrame, n_weights: int) -> DataFrame:
    """Pairs with ``_na*`` (item), ``_nb*`` (other) and ``_t*`` (all baskets) beside ``_c*``."""
    na = items.select(N.ITEM_ID, *[F.col(f"_n{i}").alias(f"_na{i}") for i in range(n_weights)])
    nb = items.select(
        F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID),
        *[F.col(f"_n{i}").alias(f"_nb{i}") for i in range(n_weights)],
    )
    return pairs.join(na, N.ITEM_ID).join(nb, N.OTHER_ITEM_ID).crossJoin(F.broadcast(totals))


def shape_score(shape: Shape, half_lives: Sequence[float]) -> Column:
    """The score of ``shape`` over a frame from :func:`with_counts`."""
    i = _weight_index(half_lives, shape.half_life)
    c, na, nb, t = (F.col(f"{p}{i}") for p in ("_c", "_na", "_nb", "_t"))
    if shape.joint:
        return c / t
    pb = nb / t
    beta = F.lit(shape.shrinkage)
    s = (c + beta * pb) / (na + beta)
    if shape.popularity_exponent:
        s = s / F.pow(pb, F.lit(shape.popularity_exponent))
    return s


def lift(counted: DataFrame) -> Column:
    """Unweighted lift ``co(a, b) N / (n(a) n(b))`` over a frame from :func:`with_counts`."""
    return F.col("_c0") * F.col("_t0") / (F.col("_na0") * F.col("_nb0"))


def scored_lists(counted: DataFrame, methods: dict[str, Column], k: int) -> DataFrame:
    """Every method's top-``k`` others per item.

    Args:
        counted: Pairs from :func:`with_counts`.
        methods: Method name -> score column (positive).
        k: Others kept per item and method.

    Returns:
        ``_method, item_id, rank, other_item_id, score, _co, lift``; ranks by score, then
        co-occurring baskets, then id.
    """
    stacked = counted.select(
        N.ITEM_ID,
        N.OTHER_ITEM_ID,
        F.col("_c0").cast("long").alias(CO),
        lift(counted).alias(N.LIFT),
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(name).alias(METHOD), score.cast("double").alias(N.SCORE))
                    for name, score in methods.items()
                ]
            )
        ).alias("_m"),
    ).select(N.ITEM_ID, N.OTHER_ITEM_ID, CO, N.LIFT, "_m.*")
    w = Window.partitionBy(METHOD, N.ITEM_ID).orderBy(
        F.col(N.SCORE).desc(), F.col(CO).desc(), F.col(N.OTHER_ITEM_ID)
    )
    return (
        stacked.withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= k)
        .select(METHOD, N.ITEM_ID, N.RANK, N.OTHER_ITEM_ID, N.SCORE, CO, N.LIFT)
    )


def wide_lists(counted: DataFrame, methods: dict[str, Column], k: int) -> DataFrame:
    """Every method's top-``k`` others per item, side by side: one row per pair that is in
    at least one method's list, one column per method (its score, NULL outside its list).

    Args:
        counted: Pairs from :func:`with_counts`.
        methods: Column name -> score column (positive).
        k: Others kept per item and method.

    Returns:
        ``item_id, other_item_id, *methods``.
    """
    item = Window.partitionBy(N.ITEM_ID)
    scored = counted.select(
        N.ITEM_ID,
        N.OTHER_ITEM_ID,
        "_c0",
        *[score.cast("double").alias(name) for name, score in methods.items()],
    )
    ranks = {
        f"_r_{i}": F.row_number().over(
            item.orderBy(F.col(name).desc(), F.col("_c0").desc(), F.col(N.OTHER_ITEM_ID))
        )
        for i, name in enumerate(methods)
    }
    ranked = scored.withColumns(ranks)
    keep = F.least(*[F.col(r) for r in ranks]) if len(ranks) > 1 else F.col(next(iter(ranks)))
    return ranked.filter(keep <= k).select(
        N.ITEM_ID,
        N.OTHER_ITEM_ID,
        *[F.when(F.col(f"_r_{i}") <= k, F.col(name)).alias(name) for i, name in enumerate(methods)],
    )


def counted_pairs(
    lines: DataFrame, end: dt.date, half_lives: Sequence[float], pool: int | None
) -> DataFrame:
    """Pairs of the (capped) basket lines with their weighted counts (:func:`with_counts`),
    each item's ``pool`` most co-occurring others at most."""
    n = 1 + len(_decays(half_lives))
    weighted = with_weights(lines, end, half_lives)
    items, totals = item_weights(weighted, n)
    pairs = candidate_pool(pair_weights(weighted, n), pool)
    return with_counts(pairs, items, totals, n)


def bought_together(
    counted: DataFrame, shape: Shape, half_lives: Sequence[float], k: int
) -> DataFrame:
    """The published lists: ``item_id, rank, other_item_id, score, baskets, lift``."""
    lists = scored_lists(counted, {shape.label: shape_score(shape, half_lives)}, k)
    return lists.select(
        N.ITEM_ID,
        F.col(N.RANK).cast("int").alias(N.RANK),
        N.OTHER_ITEM_ID,
        N.SCORE,
        F.col(CO).alias(N.BASKETS),
        N.LIFT,
    )
