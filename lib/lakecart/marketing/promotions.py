"""Promotion lift per category, from the weekly rows of ``features.item_demand``.

A week is a promotion week when ``promo_active`` is true (a campaign with an offer was sent
in it). Each item's units in a promotion week are compared with the item's own level: the
mean units of its non-promotion weeks within ``window_weeks`` either side (so seasons and
trends move the baseline, not the lift). Partial weeks (``days_observed`` < 7) and weeks
without a non-promotion neighbour are left out. Per category::

    lift = sum of promotion-week units / sum of the items' baselines in those weeks
"""

from __future__ import annotations

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

UNKNOWN_CATEGORY = "unknown"


def promotion_effects(
    demand: DataFrame, products: DataFrame | None, window_weeks: int
) -> DataFrame:
    """gold.promotion_effects rows (without the common gold columns).

    Args:
        demand: ``features.item_demand`` rows of one as_of (weekly grain used).
        products: silver.products (category), or None (every item ``unknown``).
        window_weeks: Half-width of the baseline window, in weeks.

    Returns:
        One row per category with at least one counted promotion item-week.
    """
    d = demand.filter(
        (F.col(N.GRAIN) == N.WEEK)
        & (F.col(N.DAYS_OBSERVED) >= 7)
        & F.col(N.PROMO_ACTIVE).isNotNull()
    ).select(N.ITEM_ID, N.PERIOD_START, N.UNITS, N.PROMO_ACTIVE)
    span = 7 * int(window_weeks)
    w = (
        Window.partitionBy(N.ITEM_ID)
        .orderBy(F.unix_date(F.col(N.PERIOD_START)))
        .rangeBetween(-span, span)
    )
    plain = ~F.col(N.PROMO_ACTIVE)
    d = d.withColumn("_bsum", F.sum(F.when(plain, F.col(N.UNITS))).over(w)).withColumn(
        "_bn", F.count(F.when(plain, 1)).over(w)
    )
    promo = d.filter(F.col(N.PROMO_ACTIVE) & (F.col("_bn") > 0)).withColumn(
        "_base", F.col("_bsum") / F.col("_bn")
    )
    if products is not None:
        cat = products.select(N.ITEM_ID, F.col(N.CATEGORY).alias("_cat")).dropDuplicates(
            [N.ITEM_ID]
        )
        promo = promo.join(cat, N.ITEM_ID, "left")
    else:
        promo = promo.withColumn("_cat", F.lit(None).cast("string"))
    category = F.coalesce(
        F.when(F.trim(F.col("_cat")) != "", F.trim(F.col("_cat"))), F.lit(UNKNOWN_CATEGORY)
    )
    agg = promo.groupBy(category.alias(N.CATEGORY)).agg(
        F.count_distinct(N.ITEM_ID).alias(N.PE_ITEMS),
        F.count_distinct(N.PERIOD_START).alias(N.PE_PROMO_PERIODS),
        F.count(F.lit(1)).alias(N.PE_ITEM_PROMO_WEEKS),
        F.sum("_base").alias(N.PE_BASELINE_UNITS),
        F.sum(N.UNITS).alias(N.PE_PROMO_UNITS),
    )
    return agg.select(
        N.CATEGORY,
        N.PE_ITEMS,
        N.PE_PROMO_PERIODS,
        N.PE_ITEM_PROMO_WEEKS,
        N.PE_BASELINE_UNITS,
        N.PE_PROMO_UNITS,
        (F.col(N.PE_PROMO_UNITS) - F.col(N.PE_BASELINE_UNITS)).alias(N.PE_INCREMENTAL_UNITS),
        F.when(
            F.col(N.PE_BASELINE_UNITS) > 0,
            F.col(N.PE_PROMO_UNITS) / F.col(N.PE_BASELINE_UNITS),
        ).alias(N.PE_LIFT),
    )
