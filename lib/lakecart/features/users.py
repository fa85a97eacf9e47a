"""``features.user_features``: one row per customer known before as_of.

Each source (orders, items bought and viewed, events, ratings, reviews, the customer
table) is aggregated per customer on its own with hash aggregations; the partial rows are
stacked and merged by one final aggregation per customer (each column comes from exactly
one source, so ``max`` merges them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import (
    SOURCE_COL,
    as_of_ts,
    before,
    days_before,
    days_between,
    days_to_as_of,
    empty_orders,
    null_if_absent,
    prepare_events,
    prepare_orders,
    ratio,
    spark_of,
    to_spec,
)
from lakecart.features.specs import user_features_spec

_FIRST_ANY = "_first_any"
_SIGNUP = "_signup"
_CUSTOMER_COUNTRY = "_customer_country"
_ORDER_COUNTRY = "_order_country"


def stack(parts: list[DataFrame], key: str) -> DataFrame:
    """Union DataFrames that share ``key`` and have otherwise different columns (NULL-filled)."""
    types: dict[str, str] = {}
    for p in parts:
        for f in p.schema.fields:
            if f.name != key:
                types.setdefault(f.name, f.dataType.simpleString())
    out = None
    for p in parts:
        have = set(p.columns)
        cols = [F.col(key)] + [
            F.col(c) if c in have else F.lit(None).cast(t).alias(c) for c, t in types.items()
        ]
        sel = p.select(*cols)
        out = sel if out is None else out.unionByName(sel)
    assert out is not None
    return out


def _order_parts(o: DataFrame, as_of: dt.date, windows: Sequence[int]) -> list[DataFrame]:
    """Per-customer order aggregates, the gaps between orders, and the main country and channel
    (most frequent over the orders; ties: the smallest)."""
    keys = [c for c in (SOURCE_COL,) if c in o.columns] + [
        N.ORDER_ID,
        N.IS_RETURN,
        N.COUNTRY,
        N.CHANNEL,
    ]
    orders = (
        o.filter(F.col(N.CUSTOMER_ID).isNotNull())
        .groupBy(N.CUSTOMER_ID, *keys)
        .agg(
            F.min(N.ORDER_TS).alias(N.ORDER_TS),
            F.sum(N.QUANTITY).alias(N.QUANTITY),
            F.sum(N.REVENUE).alias(N.REVENUE),
        )
    )
    ts, ret = F.col(N.ORDER_TS), F.col(N.IS_RETURN)
    sale = ~ret
    previous = (
        Window.partitionBy(N.CUSTOMER_ID)
        .orderBy(N.ORDER_TS, *keys)
        .rowsBetween(Window.unboundedPreceding, -1)
    )
    prev_sale = F.max(F.when(sale, ts)).over(previous)
    gap = F.when(sale, days_between(prev_sale, ts))
    aggs = [
        F.min(F.when(sale, ts)).alias(N.FIRST_ORDER_TS),
        F.max(F.when(sale, ts)).alias(N.LAST_ORDER_TS),
        F.count(F.when(sale, 1)).alias(N.FREQUENCY),
        F.sum(N.REVENUE).alias(N.MONETARY),
        F.sum(F.when(sale, F.col(N.REVENUE))).alias("_sales"),
        F.sum(F.when(sale, F.col(N.QUANTITY))).alias("_units"),
        F.coalesce(-F.sum(F.when(ret, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS_RETURNED),
        F.avg("_gap").alias(N.DAYS_BETWEEN_ORDERS_MEAN),
        F.stddev_samp("_gap").alias(N.DAYS_BETWEEN_ORDERS_STD),
        F.min(ts).alias(_FIRST_ANY),
    ]
    for w in sorted(set(windows)):
        recent = ts >= days_before(as_of, w)
        aggs.append(F.count(F.when(sale & recent, 1)).alias(N.windowed(N.ORDER_COUNT, w)))
        aggs.append(
            F.coalesce(F.sum(F.when(recent, F.col(N.REVENUE))), F.lit(0.0)).alias(
                N.windowed(N.REVENUE, w)
            )
        )
    # order-level rows are few (one per order): the modes' object aggregation is cheap here
    aggs.append(F.mode(F.when(sale, F.col(N.COUNTRY)), deterministic=True).alias(_ORDER_COUNTRY))
    aggs.append(F.mode(F.when(sale, F.col(N.CHANNEL)), deterministic=True).alias(N.MAIN_CHANNEL))
    return [orders.withColumn("_gap", gap).groupBy(N.CUSTOMER_ID).agg(*aggs)]


def _item_part(o: DataFrame, events: DataFrame | None, products: DataFrame | None) -> DataFrame:
    """Distinct items and categories bought, and how many viewed items were bought."""
    bought = o.filter(~F.col(N.IS_RETURN) & F.col(N.CUSTOMER_ID).isNotNull()).select(
        N.CUSTOMER_ID, N.ITEM_ID, F.lit(1).alias("_bought"), F.lit(0).alias("_viewed")
    )
    pairs = bought
    if events is not None:
        viewed = events.filter(
            (F.col(N.EVENT_TYPE) == N.EV_VIEW) & F.col(N.ITEM_ID).isNotNull()
        ).select(
            F.col(N.USER_ID).alias(N.CUSTOMER_ID),
            N.ITEM_ID,
            F.lit(0).alias("_bought"),
            F.lit(1).alias("_viewed"),
        )
        pairs = pairs.unionByName(viewed)
    pairs = pairs.groupBy(N.CUSTOMER_ID, N.ITEM_ID).agg(
        F.max("_bought").alias("_bought"), F.max("_viewed").alias("_viewed")
    )
    if products is not None:
        pairs = pairs.join(products.select(N.ITEM_ID, N.CATEGORY), N.ITEM_ID, "left")
    else:
        pairs = pairs.withColumn(N.CATEGORY, F.lit(None).cast("string"))
    return pairs.groupBy(N.CUSTOMER_ID).agg(
        F.sum("_bought").cast("long").alias(N.DISTINCT_ITEMS),
        F.count_distinct(F.when(F.col("_bought") == 1, F.col(N.CATEGORY))).alias(
            N.DISTINCT_CATEGORIES
        ),
        F.sum("_viewed").cast("long").alias("_viewed_items"),
        F.sum(F.col("_viewed") * F.col("_bought")).cast("long").alias("_viewed_bought"),
    )


def user_features(
    orders: DataFrame | None,
    events: DataFrame | None,
    ratings: DataFrame | None,
    reviews: DataFrame | None,
    customers: DataFrame | None,
    products: DataFrame | None,
    *,
    as_of: dt.date,
    windows: Sequence[int],
) -> DataFrame:
    """Customer features before ``as_of``.

    Args:
        orders: silver.orders rows (or prepared orders), or None. Guest lines are ignored.
        events: silver.events rows, or None (then the clickstream columns are NULL).
        ratings: silver.ratings rows, or None (a rating makes its user known).
        reviews: silver.reviews rows, or None (then the review columns are NULL).
        customers: silver.customers rows, or None: sign-up time and fallback country.
        products: silver.products rows, or None (then distinct_categories is NULL).
        as_of: Only rows with timestamps strictly before this date are used.
        windows: Look-back windows in days (``orders_<w>d``, ``revenue_<w>d``).

    Returns:
        One row per customer with an order, event, rating or review before ``as_of`` or a
        sign-up before it, in the ``features.user_features`` schema for ``windows``.
    """
    spec = user_features_spec(windows)
    spark = spark_of(orders, events, ratings, reviews, customers, products)
    o = prepare_orders(orders, as_of)
    if o is None:
        o = empty_orders(spark, as_of)
    e = prepare_events(events, as_of)

    parts = [*_order_parts(o, as_of, windows), _item_part(o, e, products)]
    if e is not None:
        ev = F.col(N.EVENT_TYPE)
        parts.append(
            e.groupBy(F.col(N.USER_ID).alias(N.CUSTOMER_ID)).agg(
                F.count(F.when(ev == N.EV_VIEW, 1)).alias(N.VIEWS),
                F.count(F.when(ev == N.EV_CART, 1)).alias(N.CARTS),
                F.count_distinct(N.SESSION_ID).alias(N.SESSIONS),
                F.min(N.EVENT_TS).alias("_first_event"),
            )
        )
    if ratings is not None:
        parts.append(
            before(ratings, N.RATING_TS, as_of)
            .groupBy(F.col(N.USER_ID).alias(N.CUSTOMER_ID))
            .agg(F.min(N.RATING_TS).alias("_first_rating"))
        )
    if reviews is not None:
        parts.append(
            before(reviews, N.REVIEW_TS, as_of)
            .filter(F.col(N.CUSTOMER_ID).isNotNull())
            .groupBy(N.CUSTOMER_ID)
            .agg(
                F.count(F.lit(1)).alias(N.REVIEW_COUNT),
                F.avg(F.col(N.RATING).cast("double")).alias(N.REVIEW_MEAN_RATING),
                F.min(N.REVIEW_TS).alias("_first_review"),
            )
        )
    if customers is not None:
        parts.append(
            customers.select(
                N.CUSTOMER_ID,
                F.when(F.col(N.SIGNUP_TS) < as_of_ts(as_of), F.col(N.SIGNUP_TS)).alias(_SIGNUP),
                F.col(N.COUNTRY).alias(_CUSTOMER_COUNTRY),
            )
        )
    stacked = stack(parts, N.CUSTOMER_ID)
    merged = stacked.groupBy(N.CUSTOMER_ID).agg(
        *[F.max(c).alias(c) for c in stacked.columns if c != N.CUSTOMER_ID]
    )

    def col(name: str, dtype: str) -> Column:  # a column some sources may not have produced
        return F.col(name) if name in merged.columns else F.lit(None).cast(dtype)

    first_activity = F.least(
        col(_FIRST_ANY, "timestamp"),
        col("_first_event", "timestamp"),
        col("_first_rating", "timestamp"),
        col("_first_review", "timestamp"),
    )
    signup = col(_SIGNUP, "timestamp")
    has_events, has_reviews = e is not None, reviews is not None
    zero = F.lit(0)
    out = merged.filter(first_activity.isNotNull() | signup.isNotNull()).select(
        N.CUSTOMER_ID,
        N.FIRST_ORDER_TS,
        N.LAST_ORDER_TS,
        days_to_as_of(F.col(N.LAST_ORDER_TS), as_of).alias(N.RECENCY_DAYS),
        F.coalesce(F.col(N.FREQUENCY), zero).alias(N.FREQUENCY),
        F.coalesce(F.col(N.MONETARY), F.lit(0.0)).alias(N.MONETARY),
        days_to_as_of(F.least(signup, first_activity), as_of).alias(N.TENURE_DAYS),
        ratio(F.col("_sales"), F.col(N.FREQUENCY)).alias(N.AVG_ORDER_VALUE),
        ratio(F.col("_units"), F.col(N.FREQUENCY)).alias(N.ITEMS_PER_ORDER),
        F.coalesce(F.col(N.UNITS_RETURNED), F.lit(0.0)).alias(N.UNITS_RETURNED),
        ratio(F.col(N.UNITS_RETURNED), F.col("_units")).alias(N.RETURN_RATE),
        F.coalesce(F.col(N.DISTINCT_ITEMS), zero).alias(N.DISTINCT_ITEMS),
        null_if_absent(products is not None, F.coalesce(F.col(N.DISTINCT_CATEGORIES), zero)).alias(
            N.DISTINCT_CATEGORIES
        ),
        N.DAYS_BETWEEN_ORDERS_MEAN,
        N.DAYS_BETWEEN_ORDERS_STD,
        *[
            F.coalesce(F.col(N.windowed(N.ORDER_COUNT, w)), zero).alias(
                N.windowed(N.ORDER_COUNT, w)
            )
            for w in windows
        ],
        *[
            F.coalesce(F.col(N.windowed(N.REVENUE, w)), F.lit(0.0)).alias(N.windowed(N.REVENUE, w))
            for w in windows
        ],
        *[
            null_if_absent(has_events, F.coalesce(col(c, "long"), zero)).alias(c)
            for c in (N.VIEWS, N.CARTS, N.SESSIONS)
        ],
        null_if_absent(has_events, ratio(F.col("_viewed_bought"), F.col("_viewed_items"))).alias(
            N.VIEW_TO_PURCHASE
        ),
        null_if_absent(has_reviews, F.coalesce(col(N.REVIEW_COUNT, "long"), zero)).alias(
            N.REVIEW_COUNT
        ),
        null_if_absent(has_reviews, col(N.REVIEW_MEAN_RATING, "double")).alias(
            N.REVIEW_MEAN_RATING
        ),
        F.coalesce(F.col(_ORDER_COUNTRY), col(_CUSTOMER_COUNTRY, "string")).alias(N.MAIN_COUNTRY),
        N.MAIN_CHANNEL,
        F.lit(as_of).alias(N.AS_OF),
    )
    return to_spec(out, spec)
