"""``features.item_demand``: demand per item and period (day, ISO week), zero-filled."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
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


def _one_grain(
    o: DataFrame,
    campaigns: DataFrame | None,
    grain: str,
    as_of: dt.date,
    holidays: Sequence[dt.date],
) -> DataFrame:
    """Demand rows of one grain. ``o`` (prepared orders) is hash-partitioned by item, so
    the aggregations and the window below run without a further shuffle."""
    ts = F.col(N.ORDER_TS)
    sale = ~F.col(N.IS_RETURN)
    with_period = o.withColumn(N.PERIOD_START, period_start(ts, grain))
    # buyers: distinct customers per (item, period), counted from (item, period, customer)
    # rows; both aggregations are clustered by item, like the input, so neither shuffles
    by_customer = with_period.groupBy(N.ITEM_ID, N.PERIOD_START, N.CUSTOMER_ID).agg(
        F.coalesce(F.sum(F.when(sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS),
        F.coalesce(-F.sum(F.when(~sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS_RETURNED),
        F.count(F.when(sale, 1)).alias(N.ORDER_COUNT),
        F.coalesce(F.sum(F.when(sale, F.col(N.REVENUE))), F.lit(0.0)).alias(N.REVENUE),
    )
    facts = by_customer.groupBy(N.ITEM_ID, N.PERIOD_START).agg(
        F.sum(N.UNITS).alias(N.UNITS),
        F.sum(N.UNITS_RETURNED).alias(N.UNITS_RETURNED),
        F.sum(N.ORDER_COUNT).alias(N.ORDER_COUNT),
        F.count(F.when(F.col(N.CUSTOMER_ID).isNotNull() & (F.col(N.ORDER_COUNT) > 0), 1)).alias(
            N.BUYERS
        ),
        F.sum(N.REVENUE).alias(N.REVENUE),
    )
    # zero-fill without a join: each period with data also emits the empty periods between
    # it and the item's next period with data (or the last period before as_of)
    step_days = _DAYS_IN[grain]
    step = F.expr("INTERVAL 1 DAY") if grain == N.DAY else F.expr("INTERVAL 7 DAYS")
    nxt = F.lead(N.PERIOD_START).over(Window.partitionBy(N.ITEM_ID).orderBy(N.PERIOD_START))
    gap_start = F.date_add(F.col(N.PERIOD_START), step_days)
    gap_end = F.coalesce(F.date_sub(F.col("_next"), step_days), F.lit(last_period(as_of, grain)))
    gap = F.when(gap_start <= gap_end, F.sequence(gap_start, gap_end, step)).otherwise(
        F.array().cast("array<date>")
    )
    metrics = [N.UNITS, N.UNITS_RETURNED, N.ORDER_COUNT, N.BUYERS, N.REVENUE]
    types = {
        N.UNITS: "double",
        N.UNITS_RETURNED: "double",
        N.ORDER_COUNT: "long",
        N.BUYERS: "long",
        N.REVENUE: "double",
    }
    this = F.struct(F.col(N.PERIOD_START), *[F.col(c).cast(types[c]).alias(c) for c in metrics])
    zeros = F.transform(
        gap,
        lambda d: F.struct(
            d.alias(N.PERIOD_START), *[F.lit(0).cast(types[c]).alias(c) for c in metrics]
        ),
    )
    filled = (
        facts.withColumn("_next", nxt)
        .select(N.ITEM_ID, F.explode(F.concat(F.array(this), zeros)).alias("_p"))
        .select(N.ITEM_ID, "_p.*")
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
    parts = [_one_grain(o, campaigns, g, as_of, holidays) for g in dict.fromkeys(grains)]
    if not parts:
        return spark.createDataFrame([], spec.schema)
    return to_spec(union_all([to_spec(p, spec) for p in parts]), spec)
