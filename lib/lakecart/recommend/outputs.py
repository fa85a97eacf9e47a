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

When the hybrid does not beat the popularity baselines on validation, users with history
get the winning baseline instead (:func:`popular_for_users`): the popular list of their
country or of the category they interacted with most (padded with the overall list), or
the overall list, with ``source`` ``popular`` and the reason "popular in <segment>".
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.recommend import core
from lakecart.recommend.data import TS

SEG_ALL = "all"
SEG_COUNTRY = "country"
SEG_CATEGORY = "category"


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
            (source == core.LAST) & why_title.isNotNull(),
            F.concat(F.lit("goes with your recent "), why_title),
        )
        .when(source == core.LAST, F.lit("goes with your recent items"))
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
    reason ("often bought with <title>") tells it apart; so is the last-item source
    (neighbours of the user's latest items: "goes with your recent <title>")."""
    return F.when(source.isin(core.BASKET, core.LAST), F.lit(core.ITEM_CF)).otherwise(source)


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


def item_categories(products: DataFrame | None) -> DataFrame | None:
    """``item_id, category`` (one category per item, the smallest name)."""
    if products is None:
        return None
    return (
        products.filter(F.col(N.CATEGORY).isNotNull())
        .groupBy(N.ITEM_ID)
        .agg(F.min(N.CATEGORY).alias(N.CATEGORY))
    )


def top_categories(train: DataFrame, products: DataFrame | None) -> DataFrame | None:
    """The category each user interacted with most: ``user_id, category`` (most distinct
    items, then the largest summed weight, then the smallest name)."""
    cats = item_categories(products)
    if cats is None:
        return None
    per = (
        train.select(N.USER_ID, N.ITEM_ID, N.WEIGHT)
        .join(cats, N.ITEM_ID)
        .groupBy(N.USER_ID, N.CATEGORY)
        .agg(F.count(F.lit(1)).alias("_n"), F.sum(N.WEIGHT).alias("_w"))
    )
    w = Window.partitionBy(N.USER_ID).orderBy(
        F.col("_n").desc(), F.col("_w").desc(), F.col(N.CATEGORY)
    )
    return (
        per.withColumn("_r", F.row_number().over(w))
        .filter(F.col("_r") == 1)
        .select(N.USER_ID, N.CATEGORY)
    )


def baseline_segment(baseline: str) -> str | None:
    """The ``gold.popular_items`` segment kind of a popularity baseline (None: overall)."""
    return {core.POPULAR_COUNTRY: SEG_COUNTRY, core.POPULAR_CATEGORY: SEG_CATEGORY}.get(baseline)


def popular_for_users(
    users: DataFrame,
    segments: DataFrame | None,
    kind: str | None,
    popular: DataFrame,
    seen: DataFrame | None,
    n: int,
) -> DataFrame:
    """A popularity baseline's top-``n`` for known users: the popular list of the user's
    segment, then the overall list (items not already listed), without the user's
    ``seen`` items.

    Args:
        users: ``user_id`` of the users to serve.
        segments: ``user_id, <kind>`` (the user's country or top category), or None.
        kind: ``country``, ``category`` or None (the overall list only).
        popular: ``segment, rank, item_id, score`` (:func:`popular_lists`).
        seen: ``user_id, item_id`` to leave out (None: nothing).
        n: List length.

    Returns:
        ``user_id, rank, item_id, score, source, reason``: ``source`` is ``popular``, the
        reason "popular in <segment>" (a row of the overall list: "popular right now"), and
        ``score`` is ``1 / rank`` (the lists of different segments count different users).
    """
    u = users.select(N.USER_ID).distinct()
    rows = u.crossJoin(
        F.broadcast(
            popular.filter(F.col(N.SEGMENT) == SEG_ALL).select(
                N.ITEM_ID, F.col(N.RANK).alias("_pr")
            )
        )
    ).select(
        N.USER_ID,
        N.ITEM_ID,
        F.lit(1).alias("_prio"),
        "_pr",
        F.lit(None).cast("string").alias("_label"),
    )
    if kind is not None and segments is not None:
        seg = (
            u.join(segments, N.USER_ID)
            .filter(F.col(kind).isNotNull())
            .select(
                N.USER_ID,
                F.concat(F.lit(f"{kind}:"), F.col(kind)).alias(N.SEGMENT),
                F.col(kind).alias("_label"),
            )
        )
        own = seg.join(popular.select(N.SEGMENT, N.ITEM_ID, F.col(N.RANK).alias("_pr")), N.SEGMENT)
        rows = own.select(
            N.USER_ID, N.ITEM_ID, F.lit(0).alias("_prio"), "_pr", "_label"
        ).unionByName(rows)
    if seen is not None:
        rows = rows.join(seen.select(N.USER_ID, N.ITEM_ID), [N.USER_ID, N.ITEM_ID], "left_anti")
    best = rows.groupBy(N.USER_ID, N.ITEM_ID).agg(
        F.min(F.struct("_prio", "_pr", "_label")).alias("_b")
    )
    w = Window.partitionBy(N.USER_ID).orderBy(F.col("_b._prio"), F.col("_b._pr"), F.col(N.ITEM_ID))
    ranked = best.withColumn(N.RANK, F.row_number().over(w)).filter(F.col(N.RANK) <= n)
    reason = F.when(
        F.col("_b._prio") == 0, F.concat(F.lit("popular in "), F.col("_b._label"))
    ).otherwise(F.lit("popular right now"))
    return ranked.select(
        N.USER_ID,
        N.RANK,
        N.ITEM_ID,
        (F.lit(1.0) / F.col(N.RANK)).alias(N.SCORE),
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
