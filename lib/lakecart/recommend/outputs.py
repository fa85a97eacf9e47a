"""The published recommendation tables, built from the fitted models (DataFrame -> DataFrame).

* ``gold.popular_items``: the most popular active items in the recent window, overall
  (``all``), per country (``country:<name>``) and per category (``category:<name>``).
* ``gold.recommendations``: the hybrid's top-N for every user with history (the source
  column names the blend component that contributed most to the row's score, and the
  reason names the history item behind it: "often bought with <title>" for the
  bought-together source, published as ``item_cf``), and the popular list of their
  country for known users without history.
* ``gold.similar_items``: top-K per item by ALS factor cosine, co-occurrence cosine and
  TF-IDF content cosine.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.recommend import core
from lakecart.recommend.data import TS

SEG_ALL = "all"


def popular_lists(
    train: DataFrame,
    allowed: DataFrame,
    countries: DataFrame | None,
    products: DataFrame | None,
    cut: dt.date,
    popular_days: int,
    n: int,
) -> DataFrame:
    """Top-``n`` active items per segment by distinct users in the window before ``cut``
    (ties: all-time users, then item id).

    Args:
        train: ``user_id, item_id, _ts`` interactions before ``cut``.
        allowed: ``item_id`` of the items that may be recommended.
        countries: ``user_id, country`` or None.
        products: silver.products (for categories) or None.
        cut: The decision date.
        popular_days: Window length.
        n: Items per segment.

    Returns:
        ``segment, rank, item_id, score``.
    """
    since = F.lit(cut - dt.timedelta(days=popular_days)).cast("timestamp")
    t = train.select(N.USER_ID, N.ITEM_ID, TS).join(allowed, N.ITEM_ID, "left_semi")
    recent = F.countDistinct(F.when(F.col(TS) >= since, F.col(N.USER_ID)))
    parts = [t.withColumn(N.SEGMENT, F.lit(SEG_ALL))]
    if countries is not None:
        parts.append(
            t.join(countries, N.USER_ID).select(
                N.USER_ID,
                N.ITEM_ID,
                TS,
                F.concat(F.lit("country:"), F.col(N.COUNTRY)).alias(N.SEGMENT),
            )
        )
    if products is not None:
        cats = (
            products.filter(F.col(N.CATEGORY).isNotNull())
            .groupBy(N.ITEM_ID)
            .agg(F.min(N.CATEGORY).alias(N.CATEGORY))
        )
        parts.append(
            t.join(cats, N.ITEM_ID).select(
                N.USER_ID,
                N.ITEM_ID,
                TS,
                F.concat(F.lit("category:"), F.col(N.CATEGORY)).alias(N.SEGMENT),
            )
        )
    rows = parts[0]
    for p in parts[1:]:
        rows = rows.unionByName(p)
    agg = rows.groupBy(N.SEGMENT, N.ITEM_ID).agg(
        recent.alias("_recent"), F.countDistinct(N.USER_ID).alias("_all")
    )
    w = Window.partitionBy(N.SEGMENT).orderBy(
        F.col("_recent").desc(), F.col("_all").desc(), F.col(N.ITEM_ID)
    )
    return (
        agg.withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= n)
        .select(N.SEGMENT, N.RANK, N.ITEM_ID, F.col("_recent").cast("double").alias(N.SCORE))
    )


def titles(products: DataFrame | None) -> DataFrame | None:
    """``item_id, _title`` (one title per item)."""
    if products is None:
        return None
    return (
        products.filter(F.col(N.TITLE).isNotNull())
        .groupBy(N.ITEM_ID)
        .agg(F.min(N.TITLE).alias("_title"))
    )


def reason_text(source: Column, why_title: Column, purchases: bool) -> Column:
    """Human-readable reason of a personalised row."""
    together = "bought together with " if purchases else "liked by the same people as "
    return (
        F.when(
            (source == core.ITEM_CF) & why_title.isNotNull(), F.concat(F.lit(together), why_title)
        )
        .when(
            source == core.ITEM_CF,
            F.lit(
                "often bought with items in your history"
                if purchases
                else "often liked with items in your history"
            ),
        )
        .when(
            (source == core.BASKET) & why_title.isNotNull(),
            F.concat(F.lit("often bought with "), why_title),
        )
        .when(source == core.BASKET, F.lit("often bought with items in your history"))
        .when(
            (source == core.ALS) & why_title.isNotNull(),
            F.concat(F.lit("matches your taste for "), why_title),
        )
        .when(source == core.ALS, F.lit("matches your taste profile"))
        .when(
            (source == core.CONTENT) & why_title.isNotNull(),
            F.concat(F.lit("similar to "), why_title),
        )
        .when(source == core.CONTENT, F.lit("similar to items in your history"))
        .otherwise(F.lit("popular right now"))
    )


def personalised(scored: DataFrame, products: DataFrame | None, purchases: bool) -> DataFrame:
    """Scored rows (``score`` output) -> ``user_id, rank, item_id, score, source, reason``."""
    t = titles(products)
    df = scored
    if t is not None:
        df = df.join(
            F.broadcast(t.withColumnRenamed(N.ITEM_ID, core.OUT_WHY)), core.OUT_WHY, "left"
        )
        why = F.coalesce(F.col("_title"), F.col(core.OUT_WHY))
    else:
        why = F.col(core.OUT_WHY)
    return df.select(
        N.USER_ID,
        N.RANK,
        N.ITEM_ID,
        N.SCORE,
        published_source(F.col(N.SOURCE)).alias(N.SOURCE),
        reason_text(F.col(N.SOURCE), why, purchases).alias(N.REASON),
    )


def published_source(source: Column) -> Column:
    """The ``source`` value SPEC section 4 allows: bought-together (same-order
    co-occurrence) is published as ``item_cf``, the item-to-item family it belongs to; its
    reason ("often bought with <title>") tells it apart."""
    return F.when(source == core.BASKET, F.lit(core.ITEM_CF)).otherwise(source)


def cold_start(
    users: DataFrame, countries: DataFrame | None, popular: DataFrame, n: int
) -> DataFrame:
    """Users without history: the popular list of their country (else the overall one).

    Args:
        users: ``user_id`` of the cold users.
        countries: ``user_id, country`` or None.
        popular: ``segment, rank, item_id, score`` (:func:`popular_lists`).
        n: List length.
    """
    segments = popular.select(N.SEGMENT).distinct().withColumn("_has", F.lit(True))
    u = users
    if countries is not None:
        u = u.join(countries, N.USER_ID, "left")
    else:
        u = u.withColumn(N.COUNTRY, F.lit(None).cast("string"))
    u = (
        u.withColumn("_seg", F.concat(F.lit("country:"), F.col(N.COUNTRY)))
        .join(segments.withColumnRenamed(N.SEGMENT, "_seg"), "_seg", "left")
        .withColumn(N.SEGMENT, F.when(F.col("_has"), F.col("_seg")).otherwise(F.lit(SEG_ALL)))
    )
    reason = F.when(F.col(N.SEGMENT) == SEG_ALL, F.lit("popular right now")).otherwise(
        F.concat(F.lit("popular in "), F.col(N.COUNTRY))
    )
    return u.join(popular.filter(F.col(N.RANK) <= n), N.SEGMENT).select(
        N.USER_ID,
        N.RANK,
        N.ITEM_ID,
        N.SCORE,
        F.lit(core.POPULAR).alias(N.SOURCE),
        reason.alias(N.REASON),
    )


def rerank_allowed(similar: DataFrame, allowed: DataFrame, k: int) -> DataFrame:
    """Keep similar items that may be recommended, renumber ranks, cut at ``k``."""
    w = Window.partitionBy(N.ITEM_ID).orderBy(F.col(N.RANK))
    return (
        similar.join(
            allowed.withColumnRenamed(N.ITEM_ID, N.SIMILAR_ITEM_ID), N.SIMILAR_ITEM_ID, "left_semi"
        )
        .withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= k)
        .select(N.ITEM_ID, N.RANK, N.SIMILAR_ITEM_ID, N.SCORE)
    )
