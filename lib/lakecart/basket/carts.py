"""Cart recovery: completions for the open carts of recent sessions.

A session's cart is open when its last cart event is not followed by a purchase event in
the session; its items are the carted items the session did not purchase. Events without
a session id or an item id are not sessions' carts and are ignored.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

CART_TS = "_cart_ts"


def _ts(day: dt.date):
    return F.lit(dt.datetime.combine(day, dt.time())).cast("timestamp")


def open_carts(events: DataFrame, as_of: dt.date, days: int) -> DataFrame:
    """``user_id, session_id, item_id``: items of the open carts whose last cart event is
    in the ``days`` days before ``as_of`` (nothing at or after as_of is read)."""
    e = events.filter(
        (F.col(N.EVENT_TS) < _ts(as_of))
        & F.col(N.SESSION_ID).isNotNull()
        & F.col(N.ITEM_ID).isNotNull()
        & F.lower(F.col(N.EVENT_TYPE)).isin(N.EV_CART, N.EV_PURCHASE)
    ).select(N.USER_ID, N.SESSION_ID, N.ITEM_ID, F.lower(N.EVENT_TYPE).alias("_type"), N.EVENT_TS)
    is_cart = F.col("_type") == N.EV_CART
    sess = [N.USER_ID, N.SESSION_ID]
    sessions = (
        e.groupBy(*sess)
        .agg(
            F.max(F.when(is_cart, F.col(N.EVENT_TS))).alias(CART_TS),
            F.max(F.when(~is_cart, F.col(N.EVENT_TS))).alias("_buy_ts"),
        )
        .filter(
            F.col(CART_TS).isNotNull()
            & (F.col(CART_TS) >= _ts(as_of - dt.timedelta(days=days)))
            & (F.col("_buy_ts").isNull() | (F.col("_buy_ts") < F.col(CART_TS)))
        )
        .select(*sess)
    )
    carted = e.filter(is_cart).select(*sess, N.ITEM_ID).distinct()
    bought = e.filter(~is_cart).select(*sess, N.ITEM_ID).distinct()
    return carted.join(sessions, sess, "left_semi").join(bought, [*sess, N.ITEM_ID], "left_anti")


def cart_completions(
    carts: DataFrame, lists: DataFrame, titles: DataFrame | None, n: int
) -> DataFrame:
    """The ``n`` best completions of every open cart.

    Args:
        carts: ``user_id, session_id, item_id`` (:func:`open_carts`).
        lists: Bought-together lists ``item_id, other_item_id, score, baskets``.
        titles: ``item_id, title`` (None: the item id names the reason).
        n: Completions per cart.

    Returns:
        ``user_id, session_id, rank, item_id, score, reason``: candidates outside the cart
        ranked by the max score over the cart's items (then co-occurring baskets, then id);
        the reason names the cart item giving the score.
    """
    sess = [N.USER_ID, N.SESSION_ID]
    cand = (
        carts.join(lists.select(N.ITEM_ID, N.OTHER_ITEM_ID, N.SCORE, N.BASKETS), N.ITEM_ID)
        .groupBy(*sess, N.OTHER_ITEM_ID)
        .agg(F.max(F.struct(N.SCORE, N.BASKETS, N.ITEM_ID)).alias("_best"))
        .select(
            *sess,
            N.OTHER_ITEM_ID,
            F.col("_best").getField(N.SCORE).alias(N.SCORE),
            F.col("_best").getField(N.BASKETS).alias(N.BASKETS),
            F.col("_best").getField(N.ITEM_ID).alias("_why"),
        )
    )
    cand = cand.join(
        carts.select(*sess, F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID)),
        [*sess, N.OTHER_ITEM_ID],
        "left_anti",
    )
    w = Window.partitionBy(*sess).orderBy(
        F.col(N.SCORE).desc(), F.col(N.BASKETS).desc(), F.col(N.OTHER_ITEM_ID)
    )
    top = cand.withColumn(N.RANK, F.row_number().over(w)).filter(F.col(N.RANK) <= n)
    why = F.col("_why")
    if titles is not None:
        t = titles.select(F.col(N.ITEM_ID).alias("_why"), F.col(N.TITLE).alias("_title"))
        top = top.join(t, "_why", "left")
        why = F.coalesce(F.col("_title"), F.col("_why"))
    return top.select(
        *sess,
        F.col(N.RANK).cast("int").alias(N.RANK),
        F.col(N.OTHER_ITEM_ID).alias(N.ITEM_ID),
        N.SCORE,
        F.concat(F.lit("often bought with "), why).alias(N.REASON),
    )


def item_titles(products: DataFrame | None) -> DataFrame | None:
    """``item_id, title``: one non-empty title per item (None without products)."""
    if products is None:
        return None
    return (
        products.filter(F.col(N.TITLE).isNotNull() & (F.trim(F.col(N.TITLE)) != ""))
        .groupBy(N.ITEM_ID)
        .agg(F.min(N.TITLE).alias(N.TITLE))
    )
