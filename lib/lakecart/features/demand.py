"""``features.item_demand``: demand per item and period (day, ISO week), zero-filled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import (
    before,
    empty_orders,
    prepare_orders,
    ratio,
    spark_of,
    to_spec,
    union_all,
)
from lakecart.features.specs import item_demand_spec

_DAYS_IN = {N.DAY: 1, N.WEEK: 7}


def period_start(ts: Column, grain: str) -> Column:
    """The day of ``ts`` (UTC), or the Monday starting its ISO week."""
    if grain == N.DAY:
        return F.to_date(ts)
    if grain == N.WEEK:
        return F.date_trunc("week", ts).cast("date")
    raise ValueError(f"unknown grain {grain!r} (expected {N.DAY} or {N.WEEK})")


def last_period(as_of: dt.date, grain: str) -> dt.date:
    """Start of the period holding the day before ``as_of`` (the last period with data)."""
    last_day = as_of - dt.timedelta(days=1)
    return last_day if grain == N.DAY else last_day - dt.timedelta(days=last_day.weekday())


def calendar_columns(
    ps: Column, grain: str, as_of: dt.date, holidays: Sequence[dt.date]
) -> list[Column]:
    """Calendar attributes of the period starting at ``ps``."""
    n = _DAYS_IN[grain]
    hol = (
        F.array(*[F.lit(h) for h in sorted(set(holidays))])
        if holidays
        else F.array().cast("array<date>")
    )
    in_period = F.size(F.filter(hol, lambda h: (h >= ps) & (h < F.date_add(ps, n))))
    iso_dow = ((F.dayofweek(ps) + F.lit(5)) % F.lit(7)) + F.lit(1)
    return [
        F.least(F.lit(n), F.datediff(F.lit(as_of), ps)).alias(N.DAYS_OBSERVED),
        (iso_dow if grain == N.DAY else F.lit(None)).alias(N.DAY_OF_WEEK),
        F.weekofyear(ps).alias(N.WEEK_OF_YEAR),
        F.month(ps).alias(N.MONTH),
        F.year(ps).alias(N.YEAR),
        (in_period > 0).alias(N.IS_HOLIDAY),
        in_period.alias(N.HOLIDAY_DAYS),
    ]


_METRICS = (N.UNITS, N.UNITS_RETURNED, N.ORDER_COUNT, N.BUYERS, N.REVENUE)


def _one_grain(
    o: DataFrame,
    campaigns: DataFrame | None,
    grain: str,
    as_of: dt.date,
    holidays: Sequence[dt.date],
) -> DataFrame:
    """Demand rows of one grain. ``o`` must be hash-partitioned by item: both aggregations
    below then run without a further shuffle."""
    ts = F.col(N.ORDER_TS)
    sale = ~F.col(N.IS_RETURN)
    facts = (
        o.withColumn(N.PERIOD_START, period_start(ts, grain))
        .groupBy(N.ITEM_ID, N.PERIOD_START)
        .agg(
            F.coalesce(F.sum(F.when(sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS),
            F.coalesce(-F.sum(F.when(~sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(
                N.UNITS_RETURNED
            ),
            F.count(F.when(sale, 1)).alias(N.ORDER_COUNT),
            F.size(F.collect_set(F.when(sale, F.col(N.CUSTOMER_ID)))).cast("long").alias(N.BUYERS),
            F.coalesce(F.sum(F.when(sale, F.col(N.REVENUE))), F.lit(0.0)).alias(N.REVENUE),
        )
    )
    # zero-fill: each item's periods from its first to the last before as_of, looked up in
    # a per-item map of the periods that have data (no join)
    step = F.expr("INTERVAL 1 DAY") if grain == N.DAY else F.expr("INTERVAL 7 DAYS")
    per_item = facts.groupBy(N.ITEM_ID).agg(
        F.min(N.PERIOD_START).alias("_first"),
        F.map_from_entries(F.collect_list(F.struct(N.PERIOD_START, F.struct(*_METRICS)))).alias(
            "_by_period"
        ),
    )
    periods = F.sequence(F.col("_first"), F.lit(last_period(as_of, grain)), step)
    exploded = per_item.select(N.ITEM_ID, "_by_period", F.explode(periods).alias(N.PERIOD_START))
    value = F.try_element_at(F.col("_by_period"), F.col(N.PERIOD_START))
    zeros = {N.UNITS: 0.0, N.UNITS_RETURNED: 0.0, N.ORDER_COUNT: 0, N.BUYERS: 0, N.REVENUE: 0.0}
    filled = exploded.select(
        N.ITEM_ID,
        N.PERIOD_START,
        *[F.coalesce(value.getField(c), F.lit(z)).alias(c) for c, z in zeros.items()],
    )
    ps = F.col(N.PERIOD_START)
    filled = filled.select(
        "*",
        F.lit(grain).alias(N.GRAIN),
        ratio(F.col(N.REVENUE), F.col(N.UNITS)).alias(N.AVG_PRICE),
        *calendar_columns(ps, grain, as_of, holidays),
        F.lit(as_of).alias(N.AS_OF),
    )
    if campaigns is None:
        return filled.select(
            "*",
            F.lit(None).alias(N.CAMPAIGN_CONTACTS),
            F.lit(None).alias(N.CAMPAIGNS_ACTIVE),
            F.lit(None).alias(N.PROMO_ACTIVE),
        )
    offer = F.col(N.OFFER).isNotNull() & (F.trim(F.col(N.OFFER)) != "")
    per_period = (
        before(campaigns, N.SENT_TS, as_of)
        .withColumn(N.PERIOD_START, period_start(F.col(N.SENT_TS), grain))
        .groupBy(N.PERIOD_START)
        .agg(
            F.count(F.lit(1)).alias(N.CAMPAIGN_CONTACTS),
            F.size(F.collect_set(N.CAMPAIGN_ID)).cast("long").alias(N.CAMPAIGNS_ACTIVE),
            F.max(offer).alias(N.PROMO_ACTIVE),
        )
    )
    joined = filled.join(F.broadcast(per_period), N.PERIOD_START, "left")
    return joined.select(
        *[c for c in filled.columns],
        F.coalesce(F.col(N.CAMPAIGN_CONTACTS), F.lit(0)).alias(N.CAMPAIGN_CONTACTS),
        F.coalesce(F.col(N.CAMPAIGNS_ACTIVE), F.lit(0)).alias(N.CAMPAIGNS_ACTIVE),
        F.coalesce(F.col(N.PROMO_ACTIVE), F.lit(False)).alias(N.PROMO_ACTIVE),
    )


def item_demand(
    orders: DataFrame | None,
    campaigns: DataFrame | None,
    *,
    as_of: dt.date,
    grains: Sequence[str] = (N.DAY, N.WEEK),
    holidays: Sequence[dt.date] = (),
) -> DataFrame:
    """Units, orders, buyers, revenue and average price per item and period before ``as_of``.

    Each item's series runs without gaps (zeros where nothing happened) from the period of
    its first order line to the period holding the day before ``as_of``; the last week is
    usually partial (``days_observed`` < 7). Units sold exclude returns and cancellations;
    returned units are a separate column.

    Args:
        orders: silver.orders rows (or prepared orders), or None (then no rows).
        campaigns: silver.campaigns rows, or None (then the campaign columns are NULL).
        as_of: Only rows with timestamps strictly before this date are used.
        grains: ``day`` and/or ``week`` (ISO weeks starting Monday; period_start = Monday).
        holidays: Dates flagged in ``is_holiday`` / counted in ``holiday_days``.

    Returns:
        Rows in the ``features.item_demand`` schema, every grain in one DataFrame.
    """
    spec = item_demand_spec()
    spark = spark_of(orders, campaigns)
    o = prepare_orders(orders, as_of)
    if o is None:
        o = empty_orders(spark, as_of)
    o = o.select(N.ITEM_ID, N.CUSTOMER_ID, N.ORDER_TS, N.IS_RETURN, N.QUANTITY, N.REVENUE)
    o = o.repartition(N.ITEM_ID)  # one shuffle shared by every grain's aggregations
    parts = [_one_grain(o, campaigns, g, as_of, holidays) for g in dict.fromkeys(grains)]
    if not parts:
        return spark.createDataFrame([], spec.schema)
    return to_spec(union_all([to_spec(p, spec) for p in parts]), spec)
