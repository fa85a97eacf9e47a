"""The skewed shop (``generate.profile=skew``): the demo shop plus one customer with a huge
order history and one item in most baskets.

It is the size-limit test of issue #19: every stage must finish on it without running out
of memory (adaptive skew handling, no per-key collect). Both additions are pure
``DataFrame -> DataFrame`` transforms of the default profile's landing frames, seeded and
deterministic, so the same arguments always land the same rows.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakecart import names as N

WHALE_ID = "C999999"
"""The heavy customer's id (the demo's ids run from C000001 upwards, so it never collides)."""
WHALE_ORDER_PREFIX = "W"
TS_FORMAT = "yyyy-MM-dd HH:mm:ss"


def _uniform(seed: int, tag: str, *cols: Column) -> Column:
    """A deterministic uniform [0, 1) from a seed, a tag and columns (xxhash64)."""
    h = F.xxhash64(F.lit(seed), F.lit(tag), *cols)
    return F.pmod(h, F.lit(1 << 30)).cast("double") / float(1 << 30)


def whale_orders(
    spark: SparkSession,
    catalogue: DataFrame,
    *,
    orders: int,
    start_date: str,
    days: int,
    seed: int,
    customer_id: str = WHALE_ID,
) -> DataFrame:
    """``orders`` one-line orders of one customer, spread evenly at random over the period.

    Args:
        spark: The session.
        catalogue: Landing ``products`` (``item_id``, ``price``); the whale buys across it.
        orders: How many orders.
        start_date: First day (``YYYY-MM-DD``).
        days: Length of the period in days.
        seed: Seed.
        customer_id: The customer's id.

    Returns:
        Landing-shaped ``orders`` rows (status ``completed``, channel ``web``).
    """
    ranked = catalogue.select(
        N.ITEM_ID,
        N.PRICE,
        (F.row_number().over(Window.orderBy(N.ITEM_ID)) - 1).alias("k"),  # catalogue-sized
    )
    n_items = F.lit(catalogue.count())  # the catalogue's size, not the data's
    start = dt.datetime.fromisoformat(start_date).replace(tzinfo=dt.UTC).timestamp()
    ids = spark.range(orders)
    lines = ids.select(
        F.format_string(f"{WHALE_ORDER_PREFIX}%08d", F.col("id")).alias(N.ORDER_ID),
        F.lit(customer_id).alias(N.CUSTOMER_ID),
        F.date_format(
            F.timestamp_seconds(
                F.lit(int(start))
                + F.floor(_uniform(seed, "whale-ts", F.col("id")) * days * 86_400).cast("long")
            ),
            TS_FORMAT,
        ).alias(N.ORDER_TS),
        F.floor(_uniform(seed, "whale-item", F.col("id")) * n_items).cast("long").alias("k"),
        (1 + F.floor(_uniform(seed, "whale-qty", F.col("id")) * 3)).cast("long").alias(N.QUANTITY),
    )
    return lines.join(F.broadcast(ranked), "k").select(
        N.ORDER_ID,
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.ITEM_ID,
        N.QUANTITY,
        F.col(N.PRICE).alias(N.UNIT_PRICE),
        F.lit("United Kingdom").alias(N.COUNTRY),
        F.lit("web").alias(N.CHANNEL),
        F.lit("completed").alias(N.STATUS),
    )


def with_hub_item(
    orders: DataFrame, catalogue: DataFrame, *, item_id: str, share: float, seed: int
) -> DataFrame:
    """Add ``item_id`` as one more line to a ``share`` of the completed orders.

    The line copies its order's customer, time, country, channel and status and is priced at
    the catalogue price; orders that already hold the item keep one line of it.

    Args:
        orders: Landing ``orders``.
        catalogue: Landing ``products`` (``item_id``, ``price``).
        item_id: The hub item.
        share: Fraction of orders (by order id, a seeded hash) that gain the line.
        seed: Seed.

    Returns:
        ``orders`` plus the hub lines.
    """
    price = catalogue.filter(F.col(N.ITEM_ID) == item_id).select(F.col(N.PRICE).alias(N.UNIT_PRICE))
    heads = (
        orders.filter((F.col(N.STATUS) == "completed") & F.col(N.ORDER_ID).isNotNull())
        .groupBy(N.ORDER_ID)
        .agg(
            F.min(N.CUSTOMER_ID).alias(N.CUSTOMER_ID),
            F.min(N.ORDER_TS).alias(N.ORDER_TS),
            F.min(N.COUNTRY).alias(N.COUNTRY),
            F.min(N.CHANNEL).alias(N.CHANNEL),
            F.max((F.col(N.ITEM_ID) == item_id).cast("int")).alias("has_hub"),
        )
        .filter((F.col("has_hub") == 0) & (_uniform(seed, "hub", F.col(N.ORDER_ID)) < share))
    )
    hub = heads.crossJoin(F.broadcast(price)).select(
        N.ORDER_ID,
        N.CUSTOMER_ID,
        N.ORDER_TS,
        F.lit(item_id).alias(N.ITEM_ID),
        F.lit(1).cast("long").alias(N.QUANTITY),
        N.UNIT_PRICE,
        N.COUNTRY,
        N.CHANNEL,
        F.lit("completed").alias(N.STATUS),
    )
    return orders.unionByName(hub)


def whale_customer(customers: DataFrame, start_date: str, customer_id: str = WHALE_ID) -> DataFrame:
    """``customers`` plus the heavy customer's row (signed up on the first day)."""
    spark = customers.sparkSession
    row = spark.createDataFrame(
        [(customer_id, f"{start_date} 00:00:00", "United Kingdom", 1980, "F")],
        customers.schema,
    )
    return customers.unionByName(row)


def skewed(
    frames: dict[str, DataFrame],
    *,
    whale_orders_n: int,
    hub_share: float,
    start_date: str,
    days: int,
    seed: int,
) -> dict[str, DataFrame]:
    """The default shop's landing frames with the whale customer and the hub item.

    The hub item is the catalogue's first item by id; the whale's orders are added before
    the hub lines, so the hub reaches the whale's baskets too.
    """
    out = dict(frames)
    products = frames[N.PRODUCTS]
    spark = products.sparkSession
    hub = products.agg(F.min(N.ITEM_ID)).first()[0]
    whale = whale_orders(
        spark, products, orders=whale_orders_n, start_date=start_date, days=days, seed=seed
    )
    orders = frames[N.ORDERS].unionByName(whale)
    out[N.ORDERS] = with_hub_item(orders, products, item_id=hub, share=hub_share, seed=seed)
    out[N.CUSTOMERS] = whale_customer(frames[N.CUSTOMERS], start_date)
    return out
