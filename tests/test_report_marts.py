"""The analytics marts against values computed by hand on a handful of hand-made orders
and events (whole-DataFrame assertions), and their totals against silver's."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.report import marts
from lakecart.report.specs import COHORT_RETENTION, FUNNEL_DAILY, ITEM_SALES_WEEKLY, SALES_DAILY

AS_OF = dt.date(2024, 3, 1)
D = dt.date
T = dt.datetime

# order_id, customer_id, order_ts, item_id, quantity, unit_price, country, channel
ORDERS = [
    ("o7", "c4", T(2023, 11, 15, 9), "i2", 1.0, 5.0, "GB", "web"),
    ("r2", "c4", T(2023, 12, 2, 9), "i2", -1.0, 5.0, "GB", "web"),  # a return, no sale that month
    ("o1", "c1", T(2024, 1, 5, 10), "i1", 2.0, 10.0, "FR", "web"),
    ("o1", "c1", T(2024, 1, 5, 10), "i2", 1.0, 5.0, "FR", "web"),  # two categories in one order
    ("o2", "c2", T(2024, 1, 5, 12), "i2", 3.0, 5.0, "FR", "web"),
    ("o3", None, T(2024, 1, 5, 15), "i3", 1.0, 8.0, None, None),  # a guest, no country/channel
    ("r1", "c1", T(2024, 1, 20, 9), "i1", -1.0, 10.0, "FR", "web"),
    ("o4", "c1", T(2024, 2, 10, 8), "i2", 2.0, 5.0, "DE", "app"),  # a tie: 10 vs 10
    ("o4", "c1", T(2024, 2, 10, 8), "i1", 1.0, 10.0, "DE", "app"),
    ("o5", "c3", T(2024, 2, 29, 23), "i4", 1.0, 4.0, "DE", "app"),
    ("o5", "c3", T(2024, 2, 29, 23), "i4", 2.0, 4.0, "DE", "app"),  # the same item twice
    ("o6", "c2", T(2024, 3, 1, 0), "i2", 1.0, 5.0, "FR", "web"),  # at as_of: not counted
]
# item_id, title, category (i3 is not in the catalogue)
PRODUCTS = [
    ("i1", "Knife", "Home > Kitchen"),
    ("i2", "Toy car", "Toys"),
    ("i4", "Mug", None),
]


@pytest.fixture(scope="module")
def frames(spark):
    orders = spark.createDataFrame(
        [(*r[:6], r[4] * r[5], r[4] < 0, *r[6:], "canonical") for r in ORDERS],
        "order_id string, customer_id string, order_ts timestamp, item_id string, "
        "quantity double, unit_price double, revenue double, is_return boolean, country string, "
        "channel string, _source string",
    )
    products = spark.createDataFrame(PRODUCTS, "item_id string, title string, category string")
    return orders, products


def check(got, expected: list[tuple], spec) -> list[Row]:
    """``got`` has the spec's own columns and types and exactly the ``expected`` rows (any
    order; doubles to 1e-9). One Spark job: the rows are collected once."""
    own = [c for c in spec.columns if c.name not in (N.MODEL_VERSION, N.AS_OF, N.GENERATED_AT)]
    assert [(f.name, f.dataType) for f in got.schema.fields] == [(c.name, c.dtype) for c in own]
    rows = got.collect()
    names = [c.name for c in own]
    assertDataFrameEqual(rows, [Row(**dict(zip(names, r, strict=True))) for r in expected])
    return rows


def test_sales_daily_by_hand(spark, frames):
    orders, products = frames
    got = marts.sales_daily(orders, products, AS_OF)
    # date, country, category, channel, orders, orders_attributed, units, gross, returns,
    # units_returned, returned_revenue, revenue, customers, new_customers, aov
    expected = [
        (D(2023, 11, 15), "GB", "Toys", "web", 1, 1, 1.0, 5.0, 0, 0.0, 0.0, 5.0, 1, 1, 5.0),
        (D(2023, 12, 2), "GB", "Toys", "web", 0, 0, 0.0, 0.0, 1, 1.0, 5.0, -5.0, 0, 0, None),
        # o1's knife line; o1 is attributed here (20 > 5) and so is c1, a new customer
        (D(2024, 1, 5), "FR", "Home", "web", 1, 1, 2.0, 20.0, 0, 0.0, 0.0, 20.0, 1, 1, 20.0),
        # o1's toy line and o2: two orders, two customers, only o2 / c2 attributed
        (D(2024, 1, 5), "FR", "Toys", "web", 2, 1, 4.0, 20.0, 0, 0.0, 0.0, 20.0, 2, 1, 10.0),
        (
            D(2024, 1, 5),
            "unknown",
            "unknown",
            "unknown",
            1,
            1,
            1.0,
            8.0,
            0,
            0.0,
            0.0,
            8.0,
            0,
            0,
            8.0,
        ),
        (D(2024, 1, 20), "FR", "Home", "web", 0, 0, 0.0, 0.0, 1, 1.0, 10.0, -10.0, 0, 0, None),
        # o4 ties 10 vs 10: attributed to the alphabetically last category (Toys)
        (D(2024, 2, 10), "DE", "Home", "app", 1, 0, 1.0, 10.0, 0, 0.0, 0.0, 10.0, 1, 0, 10.0),
        (D(2024, 2, 10), "DE", "Toys", "app", 1, 1, 2.0, 10.0, 0, 0.0, 0.0, 10.0, 1, 0, 10.0),
        (D(2024, 2, 29), "DE", "unknown", "app", 1, 1, 3.0, 12.0, 0, 0.0, 0.0, 12.0, 1, 1, 12.0),
    ]
    rows = check(got, expected, SALES_DAILY)
    # the additive columns reconcile with silver before as_of
    tot = [sum(r[c] for r in rows) for c in (N.REVENUE, N.ORDERS_ATTRIBUTED, N.NEW_CUSTOMERS)]
    assert tot == [70.0, 6, 4]  # revenue 5-5+25+15+8-10+20+12; o7 o1-o5; c1-c4


def test_item_sales_weekly_by_hand(spark, frames):
    orders, products = frames
    got = marts.item_sales_weekly(orders, products, AS_OF)
    # item, Monday, title, category, orders, units, units_returned, gross, revenue
    expected = [
        ("i2", D(2023, 11, 13), "Toy car", "Toys", 1, 1.0, 0.0, 5.0, 5.0),
        ("i2", D(2023, 11, 27), "Toy car", "Toys", 0, 0.0, 1.0, 0.0, -5.0),
        ("i1", D(2024, 1, 1), "Knife", "Home", 1, 2.0, 0.0, 20.0, 20.0),
        ("i2", D(2024, 1, 1), "Toy car", "Toys", 2, 4.0, 0.0, 20.0, 20.0),
        ("i3", D(2024, 1, 1), None, "unknown", 1, 1.0, 0.0, 8.0, 8.0),
        ("i1", D(2024, 1, 15), "Knife", "Home", 0, 0.0, 1.0, 0.0, -10.0),
        ("i1", D(2024, 2, 5), "Knife", "Home", 1, 1.0, 0.0, 10.0, 10.0),
        ("i2", D(2024, 2, 5), "Toy car", "Toys", 1, 2.0, 0.0, 10.0, 10.0),
        ("i4", D(2024, 2, 26), "Mug", "unknown", 1, 3.0, 0.0, 12.0, 12.0),
    ]
    check(got, expected, ITEM_SALES_WEEKLY)


def test_cohort_retention_by_hand(spark, frames):
    orders, _ = frames
    got = marts.cohort_retention(orders, AS_OF)
    # cohort, months since, size, active, retention, orders, revenue, month complete
    expected = [
        # c4: bought in November, returned in December (revenue, not activity), then nothing
        (D(2023, 11, 1), 0, 1, 1, 1.0, 1, 5.0, True),
        (D(2023, 11, 1), 1, 1, 0, 0.0, 0, -5.0, True),
        (D(2023, 11, 1), 2, 1, 0, 0.0, 0, 0.0, True),
        (D(2023, 11, 1), 3, 1, 0, 0.0, 0, 0.0, True),
        # c1 and c2 in January (c1's return in January counts in its revenue), c1 back in Feb
        (D(2024, 1, 1), 0, 2, 2, 1.0, 2, 30.0, True),
        (D(2024, 1, 1), 1, 2, 1, 0.5, 1, 20.0, True),
        (D(2024, 2, 1), 0, 1, 1, 1.0, 1, 12.0, True),
    ]
    check(got, expected, COHORT_RETENTION)
    # mid-February: February is partial and o5 (29 Feb) not yet there
    mid = marts.cohort_retention(orders, D(2024, 2, 15)).filter("cohort_month >= '2024-01-01'")
    assertDataFrameEqual(
        mid.select(N.COHORT_MONTH, N.MONTHS_SINCE, N.ACTIVE_CUSTOMERS, N.MONTH_COMPLETE),
        spark.createDataFrame(
            [(D(2024, 1, 1), 0, 2, True), (D(2024, 1, 1), 1, 1, False)],
            "cohort_month date, months_since int, active_customers bigint, month_complete boolean",
        ),
    )


def test_funnel_daily_by_hand(spark, frames):
    orders, products = frames
    events = spark.createDataFrame(
        [
            # c1 (main channel: web 1 order, app 1 order -> 'app', alphabetically first)
            (T(2024, 1, 5, 9, 0), "c1", "s1", "search", None),
            (T(2024, 1, 5, 9, 1), "c1", "s1", "view", "i2"),  # entry category: Toys
            (T(2024, 1, 5, 9, 2), "c1", "s1", "view", "i1"),
            (T(2024, 1, 5, 9, 3), "c1", "s1", "cart", "i1"),
            (T(2024, 1, 5, 9, 5), "c1", "s1", "purchase", "i1"),
            # c2 (web): a session across midnight counts on its first day
            (T(2024, 1, 5, 23, 59), "c2", "s2", "view", "i1"),
            (T(2024, 1, 6, 0, 10), "c2", "s2", "cart", "i1"),
            (T(2024, 1, 6, 12, 0), "c2", "s4", " VIEW ", "i2"),  # normalised to 'view'
            (T(2024, 3, 1, 0, 0), "c2", "s3", "view", "i2"),  # at as_of: not counted
            # c9 has no orders (channel unknown) and no session ids (user x day sessions)
            (T(2024, 1, 6, 10, 0), "c9", None, "view", "i3"),  # i3 has no category
            (T(2024, 1, 6, 11, 0), "c9", None, "view", "i1"),
            (T(2024, 1, 7, 10, 0), "c9", None, "search", None),
        ],
        "event_ts timestamp, user_id string, session_id string, event_type string, item_id string",
    )
    got = marts.funnel_daily(events, products, orders, AS_OF)
    expected = [
        (D(2024, 1, 5), "app", "Toys", 1, 1, 1, 1, 1.0, 1.0, 1.0),
        (D(2024, 1, 5), "web", "Home", 1, 1, 1, 0, 1.0, 0.0, 0.0),
        (D(2024, 1, 6), "unknown", "unknown", 1, 1, 0, 0, 0.0, None, 0.0),
        (D(2024, 1, 6), "web", "Toys", 1, 1, 0, 0, 0.0, None, 0.0),
        (D(2024, 1, 7), "unknown", "unknown", 1, 0, 0, 0, None, None, 0.0),
    ]
    check(got, expected, FUNNEL_DAILY)
    # without orders or products every channel and category is unknown
    bare = marts.funnel_daily(events, None, None, AS_OF).groupBy(N.CHANNEL, N.CATEGORY)
    assertDataFrameEqual(
        bare.agg(F.sum(N.SESSIONS).alias(N.SESSIONS)),
        spark.createDataFrame(
            [("unknown", "unknown", 5)], "channel string, category string, sessions bigint"
        ),
    )
