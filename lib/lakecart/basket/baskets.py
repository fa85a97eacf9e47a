"""Baskets: the distinct merchandise items of each order, cut at a date window.

A basket is one ``order_id`` of silver.orders: its non-return lines, each item once. Items
whose catalogue category marks them as non-merchandise (postage, fees, manual
adjustments: the source adapter knows which) and configured item ids leave every basket.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

BASKET_TS = "_basket_ts"  # the order's first line time: the basket's time


def _ts(day: dt.date) -> Column:
    return F.lit(dt.datetime.combine(day, dt.time())).cast("timestamp")


def non_merchandise(products: DataFrame | None, categories: Sequence[str]) -> DataFrame | None:
    """``item_id`` of the products whose category (the whole path or its top level,
    case-insensitive) is one of ``categories``; None when nothing can be excluded."""
    cats = [c.strip().lower() for c in categories if c.strip()]
    if products is None or not cats:
        return None
    cat = F.lower(F.trim(F.col(N.CATEGORY)))
    top = F.lower(F.trim(F.split(F.col(N.CATEGORY), " > ").getItem(0)))
    return products.filter(cat.isin(cats) | top.isin(cats)).select(N.ITEM_ID).distinct()


def basket_lines(
    orders: DataFrame,
    products: DataFrame | None,
    start: dt.date | None,
    end: dt.date,
    exclude_categories: Sequence[str] = (N.NON_MERCHANDISE,),
    exclude_items: Sequence[str] = (),
) -> DataFrame:
    """One row per (basket, item): the non-return merchandise items of every order placed
    in ``[start, end)``.

    Args:
        orders: silver.orders.
        products: silver.products (None: no category exclusion).
        start: First day of the window (None: all history).
        end: The day after the window (as_of): nothing at or after it is read.
        exclude_categories: Categories (full path or top level) that are not merchandise.
        exclude_items: Item ids that are not merchandise.

    Returns:
        ``order_id, item_id, _basket_ts`` (the order's first line time), distinct.
    """
    o = orders.filter(~F.col(N.IS_RETURN) & (F.col(N.ORDER_TS) < _ts(end)))
    if start is not None:
        o = o.filter(F.col(N.ORDER_TS) >= _ts(start))
    o = o.select(N.ORDER_ID, N.ITEM_ID, N.ORDER_TS)
    if exclude_items:
        o = o.filter(~F.col(N.ITEM_ID).isin([str(i) for i in exclude_items]))
    bad = non_merchandise(products, exclude_categories)
    if bad is not None:
        o = o.join(F.broadcast(bad), N.ITEM_ID, "left_anti")
    lines = o.groupBy(N.ORDER_ID, N.ITEM_ID).agg(F.min(N.ORDER_TS).alias(BASKET_TS))
    return lines.withColumn(BASKET_TS, F.min(BASKET_TS).over(Window.partitionBy(N.ORDER_ID)))


def line_popularity(orders: DataFrame, lines: DataFrame) -> DataFrame:
    """``item_id, _pop``: non-return order lines per item over the baskets of ``lines``
    (the tie-break of every ranking: the more order lines, the earlier)."""
    o = orders.filter(~F.col(N.IS_RETURN)).select(N.ORDER_ID, N.ITEM_ID)
    keys = lines.select(N.ORDER_ID, N.ITEM_ID)
    return (
        o.join(keys, [N.ORDER_ID, N.ITEM_ID], "left_semi")
        .groupBy(N.ITEM_ID)
        .agg(F.count(F.lit(1)).alias("_pop"))
    )


def capped_lines(lines: DataFrame, max_items: int, seed: int) -> DataFrame:
    """Baskets with more than ``max_items`` items keep a seeded sample of that many.

    Pairs grow with the square of a basket's size: a few wholesale-sized orders would
    otherwise dominate the counts (and FP-growth's itemsets) and the run time.
    """
    w = Window.partitionBy(N.ORDER_ID).orderBy(
        F.xxhash64(F.lit(seed), F.col(N.ORDER_ID), F.col(N.ITEM_ID)), F.col(N.ITEM_ID)
    )
    return (
        lines.withColumn("_r", F.row_number().over(w)).filter(F.col("_r") <= max_items).drop("_r")
    )
