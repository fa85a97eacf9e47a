"""``features.interactions``: one row per (user, item) that interacted before as_of."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import (
    age_days,
    before,
    latest,
    null_if_absent,
    prepare_events,
    prepare_orders,
    spark_of,
    to_spec,
    union_all,
)
from lakecart.features.specs import interactions_spec

# interaction kinds that are not event types (prefixed so an event type cannot collide)
K_ORDER = "_order"
K_RATING = "_rating"
K_REVIEW = "_review"

_KIND = "_kind"
_TS = "_ts"
_RET = "_ret"


def _contribution(event_weights: Mapping[str, float]) -> Column:
    """Weight of one interaction row before time decay."""
    w = {k: float(v) for k, v in event_weights.items()}
    kind = F.col(_KIND)
    expr = (
        F.when(
            kind == K_ORDER,
            F.when(F.col(_RET), -w.get(N.W_ORDER, 0.0)).otherwise(w.get(N.W_ORDER, 0.0)),
        )
        .when(kind == K_RATING, F.lit(w.get(N.W_RATING, 0.0)) * F.col(N.RATING))
        .when(kind == K_REVIEW, F.lit(w.get(N.W_REVIEW, 0.0)))
    )
    for event_type, weight in sorted(w.items()):
        if event_type not in (N.W_ORDER, N.W_RATING, N.W_REVIEW):
            expr = expr.when(kind == event_type, F.lit(weight))
    return expr.otherwise(F.lit(0.0))


def interactions(
    orders: DataFrame | None,
    events: DataFrame | None,
    ratings: DataFrame | None,
    reviews: DataFrame | None,
    *,
    as_of: dt.date,
    event_weights: Mapping[str, float],
    log_scaling: bool = True,
    half_life_days: float | None = None,
) -> DataFrame:
    """User x item interactions before ``as_of``.

    Args:
        orders: silver.orders rows (or :func:`~lakecart.features.common.prepare_orders`
            output), or None. Guest lines (NULL customer_id) are ignored.
        events: silver.events rows, or None when the shop has no clickstream.
        ratings: silver.ratings rows, or None.
        reviews: silver.reviews rows, or None.
        as_of: Only rows with timestamps strictly before this date are used.
        event_weights: Weight per event type, plus ``order`` (a return counts negatively),
            ``rating`` (multiplied by the rating) and ``review``; missing kinds weigh 0.
        log_scaling: ``weight = ln(1 + x)`` instead of ``x``.
        half_life_days: Each interaction's weight is multiplied by
            ``0.5 ** (age in days / half_life_days)``; None or 0 disables decay.

    Returns:
        One row per (user_id, item_id) in the ``features.interactions`` schema.
    """
    spec = interactions_spec()
    spark = spark_of(orders, events, ratings, reviews)
    null_d = F.lit(None).cast("double")
    parts: list[DataFrame] = []
    o = prepare_orders(orders, as_of)
    if o is not None:
        parts.append(
            o.filter(F.col(N.CUSTOMER_ID).isNotNull()).select(
                F.col(N.CUSTOMER_ID).alias(N.USER_ID),
                N.ITEM_ID,
                F.col(N.ORDER_TS).alias(_TS),
                F.lit(K_ORDER).alias(_KIND),
                F.col(N.IS_RETURN).alias(_RET),
                F.col(N.QUANTITY).alias(N.UNITS),
                F.col(N.REVENUE),
                null_d.alias(N.RATING),
            )
        )
    e = prepare_events(events, as_of)
    if e is not None:
        parts.append(
            e.filter(F.col(N.ITEM_ID).isNotNull()).select(
                N.USER_ID,
                N.ITEM_ID,
                F.col(N.EVENT_TS).alias(_TS),
                F.col(N.EVENT_TYPE).alias(_KIND),
                F.lit(False).alias(_RET),
                null_d.alias(N.UNITS),
                null_d.alias(N.REVENUE),
                null_d.alias(N.RATING),
            )
        )
    if ratings is not None:
        parts.append(
            before(ratings, N.RATING_TS, as_of).select(
                N.USER_ID,
                N.ITEM_ID,
                F.col(N.RATING_TS).alias(_TS),
                F.lit(K_RATING).alias(_KIND),
                F.lit(False).alias(_RET),
                null_d.alias(N.UNITS),
                null_d.alias(N.REVENUE),
                F.col(N.RATING).cast("double").alias(N.RATING),
            )
        )
    if reviews is not None:
        parts.append(
            before(reviews, N.REVIEW_TS, as_of)
            .filter(F.col(N.CUSTOMER_ID).isNotNull() & F.col(N.ITEM_ID).isNotNull())
            .select(
                F.col(N.CUSTOMER_ID).alias(N.USER_ID),
                N.ITEM_ID,
                F.col(N.REVIEW_TS).alias(_TS),
                F.lit(K_REVIEW).alias(_KIND),
                F.lit(False).alias(_RET),
                null_d.alias(N.UNITS),
                null_d.alias(N.REVENUE),
                F.col(N.RATING).cast("double").alias(N.RATING),
            )
        )
    if not parts:
        return spark.createDataFrame([], spec.schema)

    rows = union_all(parts)
    decay = F.lit(1.0)
    if half_life_days:
        decay = F.pow(F.lit(0.5), age_days(F.col(_TS), as_of) / F.lit(float(half_life_days)))
    rows = rows.withColumn("_w", _contribution(event_weights) * decay)

    kind = F.col(_KIND)
    is_order = kind == K_ORDER
    agg = rows.groupBy(N.USER_ID, N.ITEM_ID).agg(
        F.count(F.when(is_order & ~F.col(_RET), 1)).alias(N.PURCHASES),
        F.count(F.when(is_order & F.col(_RET), 1)).alias(N.RETURNS),
        F.coalesce(F.sum(N.UNITS), F.lit(0.0)).alias(N.UNITS),
        F.coalesce(F.sum(N.REVENUE), F.lit(0.0)).alias(N.NET_REVENUE),
        F.count(F.when(kind == N.EV_VIEW, 1)).alias(N.VIEWS),
        F.count(F.when(kind == N.EV_CART, 1)).alias(N.CARTS),
        latest(F.when(kind == K_RATING, F.col(N.RATING)), F.col(_TS)).alias("_r"),
        latest(F.when(kind == K_REVIEW, F.col(N.RATING)), F.col(_TS)).alias("_rv"),
        F.min(_TS).alias(N.FIRST_INTERACTION_TS),
        F.max(_TS).alias(N.LAST_INTERACTION_TS),
        F.greatest(F.coalesce(F.sum("_w"), F.lit(0.0)), F.lit(0.0)).alias("_raw"),
    )
    weight = F.log1p(F.col("_raw")) if log_scaling else F.col("_raw")
    out = agg.select(
        "*",
        F.coalesce(F.col("_r"), F.col("_rv")).alias(N.RATING),
        weight.alias(N.WEIGHT),
        F.lit(as_of).alias(N.AS_OF),
    )
    has_events = events is not None
    out = out.withColumn(N.VIEWS, null_if_absent(has_events, F.col(N.VIEWS))).withColumn(
        N.CARTS, null_if_absent(has_events, F.col(N.CARTS))
    )
    return to_spec(out, spec)
