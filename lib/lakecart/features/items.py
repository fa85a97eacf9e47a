"""``features.item_features``: one row per item seen before as_of."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import (
    LINES,
    PRICE_MAX,
    PRICE_MIN,
    PRICE_SUM,
    before,
    days_before,
    days_to_as_of,
    empty_orders,
    latest,
    null_if_absent,
    prepare_events,
    prepare_orders,
    ratio,
    spark_of,
    to_spec,
    union_all,
)
from lakecart.features.specs import item_features_spec

_KIND = "_kind"
_TS = "_ts"
_RET = "_ret"
K_ORDER, K_EVENT, K_RATING, K_REVIEW = "o", "e", "r", "v"


def clean_text(*cols: Column) -> Column:
    """The columns joined, lower-cased, with runs of non-alphanumerics as one space; NULL when empty."""
    joined = F.lower(F.concat_ws(" ", *cols))
    cleaned = F.trim(F.regexp_replace(joined, r"[^\p{L}\p{N}]+", " "))
    return F.when(cleaned != "", cleaned)


def item_features(
    orders: DataFrame | None,
    events: DataFrame | None,
    ratings: DataFrame | None,
    reviews: DataFrame | None,
    products: DataFrame | None,
    *,
    as_of: dt.date,
    windows: Sequence[int],
    price_change_days: int = 30,
) -> DataFrame:
    """Item features before ``as_of``.

    Args:
        orders: silver.orders rows (or prepared orders), or None.
        events: silver.events rows, or None (then views and carts are NULL).
        ratings: silver.ratings rows, or None (then the rating columns are NULL).
        reviews: silver.reviews rows, or None (then the review columns are NULL).
        products: silver.products rows, or None (then the catalogue columns are NULL).
        as_of: Only rows with timestamps strictly before this date are used.
        windows: Look-back windows in days (``orders_<w>d``, ``buyers_<w>d``, ...).
        price_change_days: ``price_change`` compares the last price with the last price
            of an order at least this many days before ``as_of``.

    Returns:
        One row per item with an order line, event, rating or review before ``as_of``, in
        the ``features.item_features`` schema for ``windows``.
    """
    spec = item_features_spec(windows)
    spark = spark_of(orders, events, ratings, reviews, products)
    o = prepare_orders(orders, as_of)
    if o is None:
        o = empty_orders(spark, as_of)
    null_d = F.lit(None).cast("double")
    null_s = F.lit(None).cast("string")
    null_b = F.lit(None).cast("boolean")
    null_l = F.lit(None).cast("long")

    def part(df: DataFrame, kind: str, ts: str, **cols) -> DataFrame:
        base = {
            N.ITEM_ID: F.col(N.ITEM_ID),
            _KIND: F.lit(kind),
            _TS: F.col(ts),
            _RET: null_b,
            N.QUANTITY: null_d,
            N.REVENUE: null_d,
            LINES: null_l,
            PRICE_SUM: null_d,
            PRICE_MIN: null_d,
            PRICE_MAX: null_d,
            N.EVENT_TYPE: null_s,
            N.RATING: null_d,
        }
        base.update(cols)
        return df.select(*[c.alias(k) for k, c in base.items()])

    parts = [
        part(
            o,
            K_ORDER,
            N.ORDER_TS,
            **{
                _RET: F.col(N.IS_RETURN),
                N.QUANTITY: F.col(N.QUANTITY),
                N.REVENUE: F.col(N.REVENUE),
                LINES: F.col(LINES).cast("long"),
                PRICE_SUM: F.col(PRICE_SUM),
                PRICE_MIN: F.col(PRICE_MIN),
                PRICE_MAX: F.col(PRICE_MAX),
            },
        )
    ]
    e = prepare_events(events, as_of)
    if e is not None:
        parts.append(
            part(
                e.filter(F.col(N.ITEM_ID).isNotNull()),
                K_EVENT,
                N.EVENT_TS,
                **{N.EVENT_TYPE: F.col(N.EVENT_TYPE)},
            )
        )
    if ratings is not None:
        parts.append(
            part(
                before(ratings, N.RATING_TS, as_of),
                K_RATING,
                N.RATING_TS,
                **{N.RATING: F.col(N.RATING).cast("double")},
            )
        )
    if reviews is not None:
        r = before(reviews, N.REVIEW_TS, as_of).filter(F.col(N.ITEM_ID).isNotNull())
        parts.append(part(r, K_REVIEW, N.REVIEW_TS, **{N.RATING: F.col(N.RATING).cast("double")}))
    rows = union_all(parts)

    kind, ts = F.col(_KIND), F.col(_TS)
    sale = (kind == K_ORDER) & ~F.col(_RET)
    returned = (kind == K_ORDER) & F.col(_RET)
    cutoff = days_before(as_of, price_change_days)
    aggs = [
        F.count(F.when(sale, 1)).alias(N.ORDER_COUNT),
        F.coalesce(F.sum(F.when(sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS),
        F.coalesce(-F.sum(F.when(returned, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS_RETURNED),
        F.coalesce(F.sum(F.when(sale, F.col(N.REVENUE))), F.lit(0.0)).alias(N.REVENUE),
        ratio(F.sum(F.when(sale, F.col(PRICE_SUM))), F.sum(F.when(sale, F.col(LINES)))).alias(
            N.PRICE_MEAN
        ),
        F.min(F.when(sale, F.col(PRICE_MIN))).alias(N.PRICE_MIN),
        F.max(F.when(sale, F.col(PRICE_MAX))).alias(N.PRICE_MAX),
        latest(F.when(sale, F.col(PRICE_MAX)), ts).alias(N.PRICE_LAST),
        latest(F.when(sale & (ts < cutoff), F.col(PRICE_MAX)), ts).alias("_price_before"),
        F.min(F.when(sale, ts)).alias(N.FIRST_SALE_TS),
        F.max(F.when(sale, ts)).alias(N.LAST_SALE_TS),
        F.count(F.when((kind == K_EVENT) & (F.col(N.EVENT_TYPE) == N.EV_VIEW), 1)).alias(N.VIEWS),
        F.count(F.when((kind == K_EVENT) & (F.col(N.EVENT_TYPE) == N.EV_CART), 1)).alias(N.CARTS),
        F.count(F.when(kind == K_RATING, 1)).alias(N.RATING_COUNT),
        F.avg(F.when(kind == K_RATING, F.col(N.RATING))).alias(N.RATING_MEAN),
        F.count(F.when(kind == K_REVIEW, 1)).alias(N.REVIEW_COUNT),
        F.avg(F.when(kind == K_REVIEW, F.col(N.RATING))).alias(N.REVIEW_MEAN_RATING),
    ]
    wins = sorted(set(windows))
    for w in wins:
        recent = sale & (ts >= days_before(as_of, w))
        aggs.append(F.count(F.when(recent, 1)).alias(N.windowed(N.ORDER_COUNT, w)))
        aggs.append(
            F.coalesce(F.sum(F.when(recent, F.col(N.QUANTITY))), F.lit(0.0)).alias(
                N.windowed(N.UNITS, w)
            )
        )
        aggs.append(
            F.coalesce(F.sum(F.when(recent, F.col(N.REVENUE))), F.lit(0.0)).alias(
                N.windowed(N.REVENUE, w)
            )
        )
    per_item = rows.groupBy(N.ITEM_ID).agg(*aggs)

    # distinct buyers: the last purchase per (item, customer), then counts per window
    last_buy = (
        o.filter(~F.col(N.IS_RETURN) & F.col(N.CUSTOMER_ID).isNotNull())
        .groupBy(N.ITEM_ID, N.CUSTOMER_ID)
        .agg(F.max(N.ORDER_TS).alias("_last"))
    )
    buyers = last_buy.groupBy(N.ITEM_ID).agg(
        F.count(F.lit(1)).alias(N.BUYERS),
        *[
            F.count(F.when(F.col("_last") >= days_before(as_of, w), 1)).alias(
                N.windowed(N.BUYERS, w)
            )
            for w in wins
        ],
    )
    out = per_item.join(buyers, N.ITEM_ID, "left")
    for c in (N.BUYERS, *[N.windowed(N.BUYERS, w) for w in wins]):
        out = out.withColumn(c, F.coalesce(F.col(c), F.lit(0)))

    if products is not None:
        catalogue = products.select(
            N.ITEM_ID,
            F.col(N.TITLE).alias(N.TITLE),
            F.col(N.CATEGORY).alias(N.CATEGORY),
            F.col(N.BRAND).alias(N.BRAND),
            clean_text(F.col(N.TITLE), F.col(N.DESCRIPTION), F.col(N.CATEGORY)).alias(
                N.CONTENT_TEXT
            ),
        )
        out = out.join(catalogue, N.ITEM_ID, "left")
    else:
        out = out.select(
            "*", *[null_s.alias(c) for c in (N.TITLE, N.CATEGORY, N.BRAND, N.CONTENT_TEXT)]
        )

    out = out.select(
        "*",
        (ratio(F.col(N.PRICE_LAST), F.col("_price_before")) - F.lit(1.0)).alias(N.PRICE_CHANGE),
        ratio(F.col(N.UNITS_RETURNED), F.col(N.UNITS)).alias(N.RETURN_RATE),
        days_to_as_of(F.col(N.FIRST_SALE_TS), as_of).alias(N.DAYS_SINCE_FIRST_SALE),
        days_to_as_of(F.col(N.LAST_SALE_TS), as_of).alias(N.DAYS_SINCE_LAST_SALE),
        F.lit(as_of).alias(N.AS_OF),
    )
    for present, cols in (
        (events is not None, (N.VIEWS, N.CARTS)),
        (ratings is not None, (N.RATING_COUNT, N.RATING_MEAN)),
        (reviews is not None, (N.REVIEW_COUNT, N.REVIEW_MEAN_RATING)),
    ):
        for c in cols:
            out = out.withColumn(c, null_if_absent(present, F.col(c)))
    return to_spec(out, spec)
