"""The skewed shop's two additions, on small frames, checked against hand-derived counts."""

from __future__ import annotations

from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.generate_skew import WHALE_ID, whale_customer, whale_orders, with_hub_item

ORDERS = (
    "order_id string, customer_id string, order_ts string, item_id string, quantity bigint, "
    "unit_price double, country string, channel string, status string"
)


def _catalogue(spark):
    return spark.createDataFrame(
        [("I00001", 2.5), ("I00002", 4.0), ("I00003", 10.0)], "item_id string, price double"
    )


def test_whale_orders_are_one_line_each_inside_the_period_at_catalogue_prices(spark):
    got = whale_orders(
        spark, _catalogue(spark), orders=3000, start_date="2023-01-02", days=10, seed=7
    )
    assert got.schema.simpleString() == spark.createDataFrame([], ORDERS).schema.simpleString()
    stats = got.agg(
        F.count("*").alias("n"),
        F.countDistinct(N.ORDER_ID).alias("orders"),
        F.min(N.ORDER_TS).alias("first"),
        F.max(N.ORDER_TS).alias("last"),
        F.countDistinct(N.ITEM_ID).alias("items"),
        F.countDistinct(N.CUSTOMER_ID).alias("customers"),
    ).first()
    assert (stats["n"], stats["orders"], stats["items"], stats["customers"]) == (3000, 3000, 3, 1)
    assert "2023-01-02 00:00:00" <= stats["first"] and stats["last"] < "2023-01-12 00:00:00"
    prices = {r[0]: r[1] for r in got.select(N.ITEM_ID, N.UNIT_PRICE).distinct().collect()}
    assert prices == {"I00001": 2.5, "I00002": 4.0, "I00003": 10.0}
    # the same arguments give the same rows
    again = whale_orders(
        spark, _catalogue(spark), orders=3000, start_date="2023-01-02", days=10, seed=7
    )
    assert got.exceptAll(again).count() == 0


def test_hub_item_joins_about_its_share_of_orders_once_each(spark):
    rows = [(f"O{i:04d}", f"C{i % 7}", "2023-01-05 10:00:00", "I00002", 1, 4.0, "UK", "web", "completed")
            for i in range(2000)]  # fmt: skip
    rows += [
        ("O0000", "C0", "2023-01-05 10:00:00", "I00001", 2, 2.5, "UK", "web", "completed"),
        ("RO0001", "C1", "2023-01-09 10:00:00", "I00002", -1, 4.0, "UK", "web", "returned"),
    ]
    orders = spark.createDataFrame(rows, ORDERS)
    got = with_hub_item(orders, _catalogue(spark), item_id="I00001", share=0.8, seed=3)
    hub = got.filter(F.col(N.ITEM_ID) == "I00001")
    per_order = hub.groupBy(N.ORDER_ID).count()
    assert per_order.filter(F.col("count") > 1).count() == 0  # O0000 already had it: no second
    assert hub.filter(F.col(N.ORDER_ID).startswith("R")).count() == 0  # returns never gain it
    share = per_order.count() / 2000
    assert 0.77 < share < 0.83, share  # 1,600 expected; binomial sd 18 orders (0.009)
    added = hub.filter(F.col(N.ORDER_ID) != "O0000")
    assert added.filter(F.col(N.UNIT_PRICE) != 2.5).count() == 0
    assert got.count() == orders.count() + added.count()


def test_whale_customer_is_added_once(spark):
    customers = spark.createDataFrame(
        [("C000001", "2023-01-02 00:00:00", "UK", 1990, "M")],
        "customer_id string, signup_ts string, country string, birth_year bigint, gender string",
    )
    got = whale_customer(customers, "2023-01-02")
    assert sorted(r[0] for r in got.select(N.CUSTOMER_ID).collect()) == ["C000001", WHALE_ID]
