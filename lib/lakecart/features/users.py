"""``features.user_features``: one row per customer known before as_of.

Everything is one aggregation per customer over a union of order-level rows, bought
items, events, ratings, reviews and the customer table (plus one aggregation collapsing
order lines to orders): no joins, no windows, so the table costs two shuffles.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import (
    MICROS_PER_DAY,
    SOURCE_COL,
    as_of_ts,
    before,
    days_before,
    days_to_as_of,
    empty_orders,
    null_if_absent,
    prepare_events,
    prepare_orders,
    ratio,
    spark_of,
    to_spec,
    union_all,
)
from lakecart.features.specs import user_features_spec

_KIND = "_kind"
_TS = "_ts"
_RET = "_ret"
# row kinds of the union: an order (sales and returns apart), an item bought, an event,
# a rating, a review, the customer record
K_ORDER, K_BOUGHT, K_EVENT, K_RATING, K_REVIEW, K_CUSTOMER = "o", "b", "e", "r", "v", "c"


def gap_stats(sorted_micros: Column) -> tuple[Column, Column]:
    """Mean and sample standard deviation of the days between consecutive times.

    Args:
        sorted_micros: An ascending array of epoch microseconds.

    Returns:
        (mean, std): NULL with fewer than 2 (mean) or 3 (std) times.
    """
    t = sorted_micros
    n = F.size(t)
    gaps = F.transform(
        F.slice(t, 2, F.greatest(n - 1, F.lit(0))),
        lambda x, i: (x - F.get(t, i)) / F.lit(float(MICROS_PER_DAY)),
    )
    k = F.size(gaps)
    total = F.aggregate(gaps, F.lit(0.0), lambda acc, x: acc + x)
    mean = F.when(k >= 1, total / k)
    squares = F.aggregate(gaps, F.lit(0.0), lambda acc, x: acc + (x - mean) * (x - mean))
    std = F.when(k >= 2, F.sqrt(squares / (k - 1)))
    return mean, std


def _order_level(o: DataFrame) -> DataFrame:
    """One row per customer order (sales and returns apart)."""
    keys = [c for c in (SOURCE_COL,) if c in o.columns] + [N.ORDER_ID, N.IS_RETURN]
    return (
        o.filter(F.col(N.CUSTOMER_ID).isNotNull())
        .groupBy(N.CUSTOMER_ID, *keys)
        .agg(
            F.min(N.ORDER_TS).alias(N.ORDER_TS),
            F.sum(N.QUANTITY).alias(N.QUANTITY),
            F.sum(N.REVENUE).alias(N.REVENUE),
            F.max(N.COUNTRY).alias(N.COUNTRY),
            F.max(N.CHANNEL).alias(N.CHANNEL),
        )
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

    nulls = {
        _TS: "timestamp",
        _RET: "boolean",
        N.QUANTITY: "double",
        N.REVENUE: "double",
        N.COUNTRY: "string",
        N.CHANNEL: "string",
        N.EVENT_TYPE: "string",
        N.SESSION_ID: "string",
        N.ITEM_ID: "string",
        N.CATEGORY: "string",
        N.RATING: "double",
    }

    def part(df: DataFrame, kind: str, **cols: Column) -> DataFrame:
        out = [F.col(N.CUSTOMER_ID).alias(N.CUSTOMER_ID), F.lit(kind).alias(_KIND)]
        out += [(cols[c] if c in cols else F.lit(None).cast(t)).alias(c) for c, t in nulls.items()]
        return df.select(*out)

    ol = _order_level(o)
    bought = o.filter(~F.col(N.IS_RETURN) & F.col(N.CUSTOMER_ID).isNotNull())
    if products is not None:
        bought = bought.join(products.select(N.ITEM_ID, N.CATEGORY), N.ITEM_ID, "left")
    else:
        bought = bought.withColumn(N.CATEGORY, F.lit(None).cast("string"))
    parts = [
        part(
            ol,
            K_ORDER,
            **{
                _TS: F.col(N.ORDER_TS),
                _RET: F.col(N.IS_RETURN),
                N.QUANTITY: F.col(N.QUANTITY),
                N.REVENUE: F.col(N.REVENUE),
                N.COUNTRY: F.col(N.COUNTRY),
                N.CHANNEL: F.col(N.CHANNEL),
            },
        ),
        part(bought, K_BOUGHT, **{N.ITEM_ID: F.col(N.ITEM_ID), N.CATEGORY: F.col(N.CATEGORY)}),
    ]
    e = prepare_events(events, as_of)
    if e is not None:
        cols = (N.EVENT_TYPE, N.SESSION_ID, N.ITEM_ID)
        parts.append(
            part(
                e.withColumnRenamed(N.USER_ID, N.CUSTOMER_ID),
                K_EVENT,
                **{_TS: F.col(N.EVENT_TS)},
                **{c: F.col(c) for c in cols},
            )
        )
    if ratings is not None:
        r = before(ratings, N.RATING_TS, as_of).withColumnRenamed(N.USER_ID, N.CUSTOMER_ID)
        parts.append(part(r, K_RATING, **{_TS: F.col(N.RATING_TS)}))
    if reviews is not None:
        v = before(reviews, N.REVIEW_TS, as_of).filter(F.col(N.CUSTOMER_ID).isNotNull())
        parts.append(
            part(v, K_REVIEW, **{_TS: F.col(N.REVIEW_TS), N.RATING: F.col(N.RATING).cast("double")})
        )
    if customers is not None:
        signed_up = F.when(F.col(N.SIGNUP_TS) < as_of_ts(as_of), F.col(N.SIGNUP_TS))
        parts.append(part(customers, K_CUSTOMER, **{_TS: signed_up, N.COUNTRY: F.col(N.COUNTRY)}))
    rows = union_all(parts)

    kind, ts, ret = F.col(_KIND), F.col(_TS), F.col(_RET)
    is_order = kind == K_ORDER
    sale = is_order & ~ret
    is_event = kind == K_EVENT
    aggs = [
        F.min(F.when(sale, ts)).alias(N.FIRST_ORDER_TS),
        F.max(F.when(sale, ts)).alias(N.LAST_ORDER_TS),
        F.count(F.when(sale, 1)).alias(N.FREQUENCY),
        F.coalesce(F.sum(F.when(is_order, F.col(N.REVENUE))), F.lit(0.0)).alias(N.MONETARY),
        F.sum(F.when(sale, F.col(N.REVENUE))).alias("_sales"),
        F.sum(F.when(sale, F.col(N.QUANTITY))).alias("_units"),
        F.coalesce(-F.sum(F.when(is_order & ret, F.col(N.QUANTITY))), F.lit(0.0)).alias(
            N.UNITS_RETURNED
        ),
        F.array_sort(F.collect_list(F.when(sale, F.unix_micros(ts)))).alias("_sale_times"),
        F.mode(F.when(sale, F.col(N.COUNTRY)), deterministic=True).alias("_order_country"),
        F.mode(F.when(sale, F.col(N.CHANNEL)), deterministic=True).alias(N.MAIN_CHANNEL),
        F.collect_set(F.when(kind == K_BOUGHT, F.col(N.ITEM_ID))).alias("_bought"),
        F.collect_set(F.when(kind == K_BOUGHT, F.col(N.CATEGORY))).alias("_categories"),
        F.collect_set(
            F.when(is_event & (F.col(N.EVENT_TYPE) == N.EV_VIEW), F.col(N.ITEM_ID))
        ).alias("_viewed"),
        F.count(F.when(is_event & (F.col(N.EVENT_TYPE) == N.EV_VIEW), 1)).alias(N.VIEWS),
        F.count(F.when(is_event & (F.col(N.EVENT_TYPE) == N.EV_CART), 1)).alias(N.CARTS),
        F.size(F.collect_set(F.when(is_event, F.col(N.SESSION_ID)))).alias(N.SESSIONS),
        F.count(F.when(kind == K_REVIEW, 1)).alias(N.REVIEW_COUNT),
        F.avg(F.when(kind == K_REVIEW, F.col(N.RATING))).alias(N.REVIEW_MEAN_RATING),
        F.min(F.when(kind == K_CUSTOMER, ts)).alias("_signup"),
        F.min(F.when(~kind.isin(K_CUSTOMER, K_BOUGHT), ts)).alias("_first_activity"),
        F.max(F.when(kind == K_CUSTOMER, F.col(N.COUNTRY))).alias("_customer_country"),
    ]
    for w in sorted(set(windows)):
        recent = ts >= days_before(as_of, w)
        aggs.append(F.count(F.when(sale & recent, 1)).alias(N.windowed(N.ORDER_COUNT, w)))
        aggs.append(
            F.coalesce(F.sum(F.when(is_order & recent, F.col(N.REVENUE))), F.lit(0.0)).alias(
                N.windowed(N.REVENUE, w)
            )
        )
    base = (
        rows.groupBy(N.CUSTOMER_ID)
        .agg(*aggs)
        .filter(F.col("_first_activity").isNotNull() | F.col("_signup").isNotNull())
    )

    has_events, has_reviews, has_products = (
        events is not None,
        reviews is not None,
        products is not None,
    )
    gap_mean, gap_std = gap_stats(F.col("_sale_times"))
    viewed_bought = F.size(F.array_intersect(F.col("_bought"), F.col("_viewed")))
    out = base.select(
        "*",
        days_to_as_of(F.col(N.LAST_ORDER_TS), as_of).alias(N.RECENCY_DAYS),
        days_to_as_of(F.least(F.col("_signup"), F.col("_first_activity")), as_of).alias(
            N.TENURE_DAYS
        ),
        ratio(F.col("_sales"), F.col(N.FREQUENCY)).alias(N.AVG_ORDER_VALUE),
        ratio(F.col("_units"), F.col(N.FREQUENCY)).alias(N.ITEMS_PER_ORDER),
        ratio(F.col(N.UNITS_RETURNED), F.col("_units")).alias(N.RETURN_RATE),
        F.size(F.col("_bought")).alias(N.DISTINCT_ITEMS),
        null_if_absent(has_products, F.size(F.col("_categories"))).alias(N.DISTINCT_CATEGORIES),
        gap_mean.alias(N.DAYS_BETWEEN_ORDERS_MEAN),
        gap_std.alias(N.DAYS_BETWEEN_ORDERS_STD),
        null_if_absent(has_events, ratio(viewed_bought, F.size(F.col("_viewed")))).alias(
            N.VIEW_TO_PURCHASE
        ),
        F.coalesce(F.col("_order_country"), F.col("_customer_country")).alias(N.MAIN_COUNTRY),
        F.lit(as_of).alias(N.AS_OF),
    )
    for c in (N.VIEWS, N.CARTS, N.SESSIONS):
        out = out.withColumn(c, null_if_absent(has_events, F.col(c)))
    for c in (N.REVIEW_COUNT, N.REVIEW_MEAN_RATING):
        out = out.withColumn(c, null_if_absent(has_reviews, F.col(c)))
    return to_spec(out, spec)
