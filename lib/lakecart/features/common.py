"""Shared pieces of the feature transforms: the as_of cut-off, empty stand-ins for absent
entities, and the order-level view of silver order lines that every table starts from.

Point-in-time rule: a row is used only when its timestamp is strictly before midnight
(UTC) of ``as_of``. Rows whose timestamp is NULL (a rating or review without a time)
cannot be placed in time and are never used.
"""

from __future__ import annotations

import datetime as dt
from functools import reduce

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import SILVER, TableSpec

# Columns that prepare_orders() adds; their presence marks a prepared frame.
LINES = "_lines"
PRICE_SUM = "_price_sum"
PRICE_MIN = "_price_min"
PRICE_MAX = "_price_max"
SOURCE_COL = "_source"

MICROS_PER_DAY = 86_400 * 1_000_000


def as_of_ts(as_of: dt.date) -> Column:
    """Midnight UTC at the start of ``as_of`` (the session time zone is UTC)."""
    return F.lit(as_of).cast("timestamp")


def days_before(as_of: dt.date, days: int) -> Column:
    """Midnight UTC ``days`` days before ``as_of``: the start of a ``days``-day window."""
    return F.lit(as_of - dt.timedelta(days=days)).cast("timestamp")


def before(df: DataFrame, ts_col: str, as_of: dt.date) -> DataFrame:
    """Rows of ``df`` whose ``ts_col`` is strictly before ``as_of`` (NULL times excluded)."""
    return df.filter(F.col(ts_col) < as_of_ts(as_of))


def age_days(ts: Column, as_of: dt.date) -> Column:
    """Fractional days from ``ts`` to the start of ``as_of``."""
    as_of_micros = (
        int(dt.datetime(as_of.year, as_of.month, as_of.day, tzinfo=dt.UTC).timestamp()) * 1_000_000
    )
    return (F.lit(as_of_micros) - F.unix_micros(ts)) / F.lit(float(MICROS_PER_DAY))


def days_between(start: Column, end: Column) -> Column:
    """Fractional days from ``start`` to ``end``."""
    return (F.unix_micros(end) - F.unix_micros(start)) / F.lit(float(MICROS_PER_DAY))


def days_to_as_of(ts: Column, as_of: dt.date) -> Column:
    """Whole days from the date of ``ts`` to ``as_of`` (1 for yesterday)."""
    return F.datediff(F.lit(as_of), F.to_date(ts))


def ratio(num: Column, den: Column) -> Column:
    """``num / den`` as a double, NULL when ``den`` is 0 or NULL (ANSI-safe)."""
    return F.try_divide(num.cast("double"), den.cast("double"))


def spark_of(*dfs: DataFrame | None) -> SparkSession:
    """The session of the first DataFrame given, else the active one."""
    for df in dfs:
        if df is not None:
            return df.sparkSession
    return SparkSession.active()


def or_empty(spark: SparkSession, df: DataFrame | None, entity: str) -> DataFrame:
    """``df``, or an empty DataFrame with the silver schema of ``entity`` when it is absent."""
    if df is not None:
        return df
    return spark.createDataFrame([], SILVER[entity].schema)


def union_all(parts: list[DataFrame]) -> DataFrame:
    """Union by column name."""
    return reduce(lambda a, b: a.unionByName(b), parts)


def to_spec(df: DataFrame, spec: TableSpec) -> DataFrame:
    """Select ``spec``'s columns in order, cast to their declared types."""
    return df.select(*[F.col(c.name).cast(c.dtype).alias(c.name) for c in spec.columns])


def null_if_absent(present: bool, col: Column) -> Column:
    """``col``, or NULL when the entity feeding it is absent from silver."""
    return col if present else F.lit(None)


def is_prepared(orders: DataFrame) -> bool:
    """True when ``orders`` is already the output of :func:`prepare_orders`."""
    return LINES in orders.columns


def prepare_orders(orders: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    """Silver order lines before ``as_of``, one row per (order, item, is_return).

    Every feature counts distinct orders, so lines of the same item in the same order are
    collapsed once here: ``quantity`` and ``revenue`` are summed (negative for returns),
    ``order_ts`` is the earliest line's time, and the unit prices are kept as their sum,
    count, minimum and maximum so that price statistics over lines stay exact. The
    customer, country and channel are taken as attributes of the order (lines of one order
    that disagree on them stay apart). The
    result is a valid input to every transform in place of silver orders (the job passes
    it, cached, so that silver orders are scanned once); preparing it again only re-applies
    the as_of filter.

    Args:
        orders: Rows with the silver.orders columns (lineage columns optional), or None.
        as_of: Only lines strictly before this date are kept.

    Returns:
        The order-level rows, hash-partitioned by item_id, or None when ``orders`` is None.
    """
    if orders is None:
        return None
    if is_prepared(orders):
        return before(orders, N.ORDER_TS, as_of)
    lines = before(orders, N.ORDER_TS, as_of)
    # customer, country and channel are attributes of the order: grouping by them (rather
    # than aggregating strings) keeps this a hash aggregation
    keys = [N.ORDER_ID, N.ITEM_ID, N.IS_RETURN, N.CUSTOMER_ID, N.COUNTRY, N.CHANNEL]
    if SOURCE_COL in lines.columns:  # the same order id from two sources is two orders
        keys.insert(0, SOURCE_COL)
    # partitioned by item: the collapse and every per-item aggregation downstream (item
    # features, demand, user x item interactions) then need no further shuffle
    return (
        lines.repartition(N.ITEM_ID)
        .groupBy(*keys)
        .agg(
            F.min(N.ORDER_TS).alias(N.ORDER_TS),
            F.sum(N.QUANTITY).alias(N.QUANTITY),
            F.sum(N.REVENUE).alias(N.REVENUE),
            F.count(F.lit(1)).alias(LINES),
            F.sum(N.UNIT_PRICE).alias(PRICE_SUM),
            F.min(N.UNIT_PRICE).alias(PRICE_MIN),
            F.max(N.UNIT_PRICE).alias(PRICE_MAX),
        )
    )


def latest(value: Column, ts: Column) -> Column:
    """Aggregate: ``value`` of the row with the latest ``ts`` (to the second; ties: the
    highest value, compared to 1/1000). Rows where either is NULL are ignored.

    Unlike ``max(struct(ts, value))`` this keeps a fixed-width aggregation buffer, so the
    aggregation stays a hash aggregation instead of falling back to sorting.
    """
    tie = F.least(F.greatest(F.round(value * F.lit(1000.0)), F.lit(0.0)), F.lit(99_999_999.0)).cast(
        "long"
    )
    key = F.when(value.isNotNull(), F.unix_seconds(ts) * F.lit(100_000_000) + tie)
    return F.max_by(value, key)


def prepare_events(events: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    """Silver events before ``as_of`` with the columns the features use (None stays None)."""
    if events is None:
        return None
    return before(events, N.EVENT_TS, as_of).select(
        N.EVENT_TS,
        N.USER_ID,
        N.SESSION_ID,
        F.lower(F.col(N.EVENT_TYPE)).alias(N.EVENT_TYPE),
        N.ITEM_ID,
    )


def empty_orders(spark: SparkSession, as_of: dt.date) -> DataFrame:
    """An empty prepared-orders frame (for a shop without orders)."""
    prepared = prepare_orders(or_empty(spark, None, N.ORDERS), as_of)
    assert prepared is not None
    return prepared
