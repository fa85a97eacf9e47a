"""Feature transforms on a small hand-built shop: every table against hand-computed values,
rows exactly at as_of excluded, absent optional entities."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.features import interactions, item_demand, item_features, user_features
from lakecart.features.specs import (
    interactions_spec,
    item_demand_spec,
    item_features_spec,
    user_features_spec,
)
from lakecart.schemas import SILVER

T = dt.datetime
D = dt.date
AS_OF = D(2024, 1, 15)  # a Monday
WINDOWS = (7, 30)
WEIGHTS = {"order": 4.0, "view": 1.0, "cart": 2.0, "rating": 1.0, "review": 1.0, "purchase": 4.0}
HOLIDAYS = [D(2023, 12, 25), D(2024, 1, 1)]

# order_id, customer_id, order_ts, item_id, quantity, unit_price, is_return, country, channel
ORDER_LINES = [
    ("o1", "c1", T(2024, 1, 1, 10), "i1", 2.0, 5.0, False, "UK", "web"),
    ("o1", "c1", T(2024, 1, 1, 10), "i2", 1.0, 20.0, False, "UK", "web"),
    ("o2", "c1", T(2024, 1, 11, 10), "i1", 1.0, 6.0, False, "UK", "app"),
    (
        "o2",
        "c1",
        T(2024, 1, 11, 10),
        "i1",
        1.0,
        4.0,
        False,
        "UK",
        "app",
    ),  # same item twice in one order
    ("R1", "c1", T(2024, 1, 12, 12), "i1", -1.0, 6.0, True, "UK", "app"),
    ("o3", None, T(2024, 1, 14, 23, 59, 59), "i2", 3.0, 18.0, False, "FR", "web"),  # guest
    ("o4", "c2", T(2023, 12, 20, 8), "i2", 1.0, 25.0, False, "FR", "web"),
    ("o7", "c2", T(2024, 1, 3, 8), "i2", 1.0, 25.0, False, "FR", "web"),
    ("o8", "c2", T(2024, 1, 9, 8), "i1", 1.0, 5.0, False, "FR", "app"),
]
# rows at or after as_of: never used
LATE_ORDER_LINES = [
    ("o5", "c2", T(2024, 1, 15, 0, 0, 0), "i1", 5.0, 5.0, False, "FR", "web"),  # exactly at as_of
    ("o6", "c2", T(2024, 1, 20, 9), "i3", 1.0, 9.0, False, "FR", "web"),
]
# event_ts, user_id, session_id, event_type, item_id
EVENTS = [
    (T(2024, 1, 10, 8, 0), "c1", "s1", "view", "i1"),
    (T(2024, 1, 10, 8, 5), "c1", "s1", "view", "i2"),
    (T(2024, 1, 10, 8, 6), "c1", "s1", "cart", "i1"),
    (T(2024, 1, 13, 10, 0), "c3", "s2", "view", "i3"),
    (T(2024, 1, 13, 10, 1), "c3", "s2", "search", None),
]
LATE_EVENTS = [(T(2024, 1, 15, 0, 0, 0), "c1", "s3", "view", "i2")]  # exactly at as_of
# user_id, item_id, rating, rating_ts
RATINGS = [("c2", "i2", 4.0, T(2024, 1, 5, 12)), ("c1", "i1", 5.0, None)]  # no time: never used
# review_id, item_id, customer_id, rating, title, text, review_ts
REVIEWS = [
    ("rv1", "i2", "c2", 2.0, "Meh", "too small", T(2024, 1, 7)),
    ("rv2", "i1", "c1", 4.0, "Nice", "good mug", T(2024, 1, 16)),  # after as_of
]
# item_id, title, description, category, brand, price
PRODUCTS = [
    ("i1", "Red Mug", "A big, red mug!", "Kitchen/Mugs", "Acme", 5.0, None),
    ("i2", "Blue Lamp", None, "Home", None, 20.0, None),
    ("i3", "Chair", "Solid oak.", "Furniture", "Oak&Co", 90.0, None),
    ("i9", "Never Sold", None, "Misc", None, 1.0, None),  # catalogue only: not a feature row
]
# customer_id, signup_ts, country, birth_year, gender, attributes
CUSTOMERS = [
    ("c1", T(2023, 6, 1), "UK", 1980, "f", {"loyalty": "gold"}),
    ("c2", None, "FR", None, None, None),
    ("c3", T(2024, 1, 2), "DE", None, None, None),
    ("c4", T(2024, 1, 10), "ES", None, None, None),  # signed up, no activity yet
    ("c5", T(2024, 2, 1), "US", None, None, None),  # signs up after as_of: unknown at as_of
]
# campaign_id, customer_id, sent_ts, channel, offer
CAMPAIGNS = [
    ("k1", "c1", T(2024, 1, 8, 9, 0), "email", "10%"),
    ("k1", "c2", T(2024, 1, 8, 9, 30), "email", "10%"),
    ("k2", "c1", T(2024, 1, 11, 12), "sms", None),
]
LATE_CAMPAIGNS = [("k3", "c2", T(2024, 1, 15, 0, 0, 0), "email", "5%")]
LINEAGE = ("test", "hand-built", 1, "run", T(2024, 2, 1))


def make_shop(spark):
    """Silver-shaped DataFrames of the hand-built shop, late rows included."""

    def df(entity, rows):
        return spark.createDataFrame([(*r, *LINEAGE) for r in rows], SILVER[entity].schema)

    def order(o):
        oid, cust, ts, item, qty, price, ret, country, channel = o
        status = "returned" if ret else "completed"
        return (oid, cust, ts, item, qty, price, qty * price, ret, country, channel, status)

    return {
        N.ORDERS: df(N.ORDERS, [order(o) for o in ORDER_LINES + LATE_ORDER_LINES]),
        N.EVENTS: df(N.EVENTS, EVENTS + LATE_EVENTS),
        N.RATINGS: df(N.RATINGS, RATINGS),
        N.REVIEWS: df(N.REVIEWS, REVIEWS),
        N.PRODUCTS: df(N.PRODUCTS, PRODUCTS),
        N.CUSTOMERS: df(N.CUSTOMERS, CUSTOMERS),
        N.CAMPAIGNS: df(
            N.CAMPAIGNS, [(*c, 0.1, None, None, None) for c in CAMPAIGNS + LATE_CAMPAIGNS]
        ),
    }


@pytest.fixture(scope="module")
def shop(spark):
    return make_shop(spark)


@pytest.fixture(scope="module")
def built(shop):
    """The four tables as of AS_OF (lazy DataFrames)."""
    return build_all(shop)


def expected(spark, spec, rows):
    return spark.createDataFrame([(*r, AS_OF) for r in rows], spec.schema)


def build_all(shop, as_of=AS_OF, **over):
    s = {**shop, **over}
    o, e, r, v = s[N.ORDERS], s[N.EVENTS], s[N.RATINGS], s[N.REVIEWS]
    return {
        N.INTERACTIONS: interactions(
            o, e, r, v, as_of=as_of, event_weights=WEIGHTS, log_scaling=False
        ),
        N.USER_FEATURES: user_features(
            o, e, r, v, s[N.CUSTOMERS], s[N.PRODUCTS], as_of=as_of, windows=WINDOWS
        ),
        N.ITEM_FEATURES: item_features(
            o, e, r, v, s[N.PRODUCTS], as_of=as_of, windows=WINDOWS, price_change_days=7
        ),
        N.ITEM_DEMAND: item_demand(
            o, s[N.CAMPAIGNS], as_of=as_of, grains=[N.DAY, N.WEEK], holidays=HOLIDAYS
        ),
    }


def test_interactions(spark, built):
    got = built[N.INTERACTIONS]
    # user, item, purchases, returns, units, net_revenue, views, carts, rating, first, last, weight
    want = [
        # o1 + o2 bought, R1 returned (4 + 4 - 4), a view (1) and a cart (2); the rating has no time
        ("c1", "i1", 2, 1, 3.0, 14.0, 1, 1, None, T(2024, 1, 1, 10), T(2024, 1, 12, 12), 7.0),
        ("c1", "i2", 1, 0, 1.0, 20.0, 1, 0, None, T(2024, 1, 1, 10), T(2024, 1, 10, 8, 5), 5.0),
        # o8 bought; o5 is exactly at as_of
        ("c2", "i1", 1, 0, 1.0, 5.0, 0, 0, None, T(2024, 1, 9, 8), T(2024, 1, 9, 8), 4.0),
        # o4 + o7 (8), rating 4 (x1), review (1); the explicit rating wins over the review's stars
        ("c2", "i2", 2, 0, 2.0, 50.0, 0, 0, 4.0, T(2023, 12, 20, 8), T(2024, 1, 7), 13.0),
        ("c3", "i3", 0, 0, 0.0, 0.0, 1, 0, None, T(2024, 1, 13, 10), T(2024, 1, 13, 10), 1.0),
    ]
    assertDataFrameEqual(got, expected(spark, interactions_spec(), want))


def test_interaction_weight_decay_and_log(spark, shop):
    got = interactions(
        shop[N.ORDERS], shop[N.EVENTS], shop[N.RATINGS], shop[N.REVIEWS],
        as_of=AS_OF, event_weights=WEIGHTS, log_scaling=True, half_life_days=10.0,
    )  # fmt: skip
    end = T(2024, 1, 15)

    def w(*parts):  # (weight, time) pairs
        return math.log1p(
            max(0.0, sum(x * 0.5 ** ((end - t).total_seconds() / 86400 / 10) for x, t in parts))
        )

    want = {
        ("c1", "i1"): w((4, T(2024, 1, 1, 10)), (4, T(2024, 1, 11, 10)), (-4, T(2024, 1, 12, 12)),
                        (1, T(2024, 1, 10, 8)), (2, T(2024, 1, 10, 8, 6))),
        ("c1", "i2"): w((4, T(2024, 1, 1, 10)), (1, T(2024, 1, 10, 8, 5))),
        ("c2", "i1"): w((4, T(2024, 1, 9, 8))),
        ("c2", "i2"): w((4, T(2023, 12, 20, 8)), (4, T(2024, 1, 3, 8)), (4.0, T(2024, 1, 5, 12)), (1, T(2024, 1, 7))),
        ("c3", "i3"): w((1, T(2024, 1, 13, 10))),
    }  # fmt: skip
    rows = spark.createDataFrame(
        [(u, i, x) for (u, i), x in want.items()], "user_id string, item_id string, weight double"
    )
    assertDataFrameEqual(got.select(N.USER_ID, N.ITEM_ID, N.WEIGHT), rows)


def test_user_features(spark, built):
    got = built[N.USER_FEATURES]
    std_c2 = math.sqrt(((14 - 10) ** 2 + (6 - 10) ** 2) / 1)  # gaps of 14 and 6 days
    # customer, first, last, recency, frequency, monetary, tenure, aov, items/order,
    # units_returned, return_rate, distinct items, categories, gap mean, gap std,
    # orders_7d, revenue_7d, orders_30d, revenue_30d, views, carts, sessions,
    # view_to_purchase, review_count, review_mean, main_country, main_channel
    want = [
        # o1 (30), o2 (10), return R1 (-6); 2023-06-01 sign-up; channels web/app tie -> app (the smallest)
        ("c1", T(2024, 1, 1, 10), T(2024, 1, 11, 10), 4, 2, 34.0, 228, 20.0, 2.5, 1.0, 0.2, 2, 2,
         10.0, None, 1, 4.0, 2, 34.0, 2, 1, 1, 1.0, 0, None, "UK", "app"),
        # o4, o7, o8 (o5 is at as_of); no sign-up time: tenure from the first order
        ("c2", T(2023, 12, 20, 8), T(2024, 1, 9, 8), 6, 3, 55.0, 26, 55.0 / 3, 1.0, 0.0, 0.0, 2, 2,
         10.0, std_c2, 1, 5.0, 3, 55.0, 0, 0, 0, None, 1, 2.0, "FR", "web"),
        # events only; country from the customer table
        ("c3", None, None, None, 0, 0.0, 13, None, None, 0.0, None, 0, 0,
         None, None, 0, 0.0, 0, 0.0, 1, 0, 1, 0.0, 0, None, "DE", None),
        # signed up before as_of, no activity yet (c5 signs up after as_of: absent)
        ("c4", None, None, None, 0, 0.0, 5, None, None, 0.0, None, 0, 0,
         None, None, 0, 0.0, 0, 0.0, 0, 0, 0, None, 0, None, "ES", None),
    ]  # fmt: skip
    assertDataFrameEqual(got, expected(spark, user_features_spec(WINDOWS), want))


def test_item_features(spark, built):
    got = built[N.ITEM_FEATURES]
    # item, orders, buyers, units, units_returned, revenue,
    # orders/buyers/units/revenue 7d, same 30d, price mean/min/max/last/change, return_rate,
    # first/last sale, days since first/last sale, views, carts, rating count/mean,
    # review count/mean, title, category, brand, content_text
    want = [
        # o1 (2 x 5), o2 (6 + 4), o8 (5), returned 1 (R1); last price 6 (o2's highest) vs 5 (o1)
        ("i1", 3, 2, 5.0, 1.0, 25.0, 2, 2, 3.0, 15.0, 3, 2, 5.0, 25.0,
         5.0, 4.0, 6.0, 6.0, 0.2, 0.2, T(2024, 1, 1, 10), T(2024, 1, 11, 10), 14, 4,
         1, 1, 0, None, 0, None, "Red Mug", "Kitchen/Mugs", "Acme", "red mug a big red mug kitchen mugs"),
        # o1, o3 (guest), o4, o7; last price 18 (o3) vs 25 (o7, 2024-01-03)
        ("i2", 4, 2, 6.0, 0.0, 124.0, 1, 0, 3.0, 54.0, 4, 2, 6.0, 124.0,
         22.0, 18.0, 25.0, 18.0, 18 / 25 - 1, 0.0, T(2023, 12, 20, 8), T(2024, 1, 14, 23, 59, 59), 26, 1,
         1, 0, 1, 4.0, 1, 2.0, "Blue Lamp", "Home", None, "blue lamp home"),
        # viewed only (its order o6 is after as_of)
        ("i3", 0, 0, 0.0, 0.0, 0.0, 0, 0, 0.0, 0.0, 0, 0, 0.0, 0.0,
         None, None, None, None, None, None, None, None, None, None,
         1, 0, 0, None, 0, None, "Chair", "Furniture", "Oak&Co", "chair solid oak furniture"),
    ]  # fmt: skip
    assertDataFrameEqual(got, expected(spark, item_features_spec(WINDOWS), want))


def _demand_rows(grain, first, last, facts, campaigns):
    """Expected demand rows: zeros except ``facts``; calendar attributes from Python's."""
    step = dt.timedelta(days=1 if grain == N.DAY else 7)
    rows, d = [], first
    while d <= last:
        units, ret, orders, buyers, revenue = facts.get(d, (0.0, 0.0, 0, 0, 0.0))
        n = 1 if grain == N.DAY else 7
        hol = sum(1 for h in HOLIDAYS if d <= h < d + dt.timedelta(days=n))
        contacts, active, promo = campaigns.get(d, (0, 0, False))
        rows.append((
            None, grain, d, units, ret, orders, buyers, revenue, revenue / units if units else None,
            min(n, (AS_OF - d).days), d.isoweekday() if grain == N.DAY else None, d.isocalendar()[1],
            d.month, d.year, hol > 0, hol, contacts, active, promo,
        ))  # fmt: skip
        d += step
    return rows


def test_item_demand(spark, built):
    got = built[N.ITEM_DEMAND]
    day_campaigns = {D(2024, 1, 8): (2, 1, True), D(2024, 1, 11): (1, 1, False)}
    week_campaigns = {D(2024, 1, 8): (3, 2, True)}
    series = {
        # item: {grain: (first period, {period: (units, returned, orders, buyers, revenue)})}
        "i1": {
            N.DAY: (D(2024, 1, 1), {
                D(2024, 1, 1): (2.0, 0.0, 1, 1, 10.0),
                D(2024, 1, 9): (1.0, 0.0, 1, 1, 5.0),
                D(2024, 1, 11): (2.0, 0.0, 1, 1, 10.0),
                D(2024, 1, 12): (0.0, 1.0, 0, 0, 0.0),
            }),
            N.WEEK: (D(2024, 1, 1), {
                D(2024, 1, 1): (2.0, 0.0, 1, 1, 10.0),
                D(2024, 1, 8): (3.0, 1.0, 2, 2, 15.0),
            }),
        },
        "i2": {
            N.DAY: (D(2023, 12, 20), {
                D(2023, 12, 20): (1.0, 0.0, 1, 1, 25.0),
                D(2024, 1, 1): (1.0, 0.0, 1, 1, 20.0),
                D(2024, 1, 3): (1.0, 0.0, 1, 1, 25.0),
                D(2024, 1, 14): (3.0, 0.0, 1, 0, 54.0),  # a guest: no buyer
            }),
            N.WEEK: (D(2023, 12, 18), {
                D(2023, 12, 18): (1.0, 0.0, 1, 1, 25.0),
                D(2024, 1, 1): (2.0, 0.0, 2, 2, 45.0),
                D(2024, 1, 8): (3.0, 0.0, 1, 0, 54.0),
            }),
        },
    }  # fmt: skip
    want = []
    for item, grains in series.items():
        for grain, (first, facts) in grains.items():
            last = D(2024, 1, 14) if grain == N.DAY else D(2024, 1, 8)
            camp = day_campaigns if grain == N.DAY else week_campaigns
            want += [(item, *r[1:]) for r in _demand_rows(grain, first, last, facts, camp)]
    assert len(want) == 14 + 2 + 26 + 4
    assertDataFrameEqual(got, expected(spark, item_demand_spec(), want))


def test_partial_last_week(spark, shop):
    """as_of on a Friday: the last ISO week has 4 observed days and stops before as_of."""
    as_of = D(2024, 1, 12)
    got = item_demand(shop[N.ORDERS], None, as_of=as_of, grains=[N.WEEK]).filter(
        F.col(N.ITEM_ID) == "i1"
    )
    want = spark.createDataFrame(
        [
            ("i1", "week", D(2024, 1, 1), 2.0, 0.0, 1, 1, 10.0, 7),
            ("i1", "week", D(2024, 1, 8), 3.0, 0.0, 2, 2, 15.0, 4),  # R1 (2024-01-12 12:00) not yet
        ],
        "item_id string, grain string, period_start date, units double, units_returned double, "
        "orders bigint, buyers bigint, revenue double, days_observed int",
    )
    assertDataFrameEqual(got.select(*want.columns), want)
    assert got.filter(F.col(N.CAMPAIGN_CONTACTS).isNotNull()).count() == 0


def test_rows_exactly_at_as_of_are_excluded(spark, shop):
    """An order, an event and a campaign contact at exactly 00:00:00 of as_of are left out
    (the hand-computed tables above include them in their input); one day later they count."""
    o, e = shop[N.ORDERS], shop[N.EVENTS]
    at = {
        N.ORDERS: o.filter(F.col(N.ORDER_TS) == T(2024, 1, 15)),
        N.EVENTS: e.filter(F.col(N.EVENT_TS) == T(2024, 1, 15)),
    }
    assert at[N.ORDERS].count() == 1 and at[N.EVENTS].count() == 1

    def pairs(as_of):
        df = interactions(o, e, None, None, as_of=as_of, event_weights=WEIGHTS, log_scaling=False)
        return {(r[N.USER_ID], r[N.ITEM_ID]): (r[N.PURCHASES], r[N.VIEWS]) for r in df.collect()}

    now, later = pairs(AS_OF), pairs(AS_OF + dt.timedelta(days=1))
    assert now[("c2", "i1")] == (1, 0) and later[("c2", "i1")] == (2, 0)  # o5
    assert now[("c1", "i2")] == (1, 1) and later[("c1", "i2")] == (1, 2)  # the view at as_of

    day = item_demand(o, shop[N.CAMPAIGNS], as_of=AS_OF + dt.timedelta(days=1), grains=[N.DAY])
    row = day.filter((F.col(N.ITEM_ID) == "i1") & (F.col(N.PERIOD_START) == AS_OF)).first()
    assert (row[N.UNITS], row[N.ORDER_COUNT], row[N.CAMPAIGN_CONTACTS]) == (5.0, 1, 1)


def test_absent_optional_entities(spark, shop):
    """Orders only: every table builds; columns fed by absent entities are NULL."""
    orders = shop[N.ORDERS]
    got = {
        N.INTERACTIONS: interactions(
            orders, None, None, None, as_of=AS_OF, event_weights=WEIGHTS, log_scaling=False
        ),
        N.USER_FEATURES: user_features(
            orders, None, None, None, None, None, as_of=AS_OF, windows=WINDOWS
        ),
        N.ITEM_FEATURES: item_features(
            orders, None, None, None, None, as_of=AS_OF, windows=WINDOWS
        ),
        N.ITEM_DEMAND: item_demand(orders, None, as_of=AS_OF, grains=[N.WEEK]),
    }
    rows = {name: df.collect() for name, df in got.items()}

    def nulls(table, cols):
        return all(r[c] is None for r in rows[table] for c in cols)

    assert sorted((r[N.USER_ID], r[N.ITEM_ID]) for r in rows[N.INTERACTIONS]) == [
        ("c1", "i1"), ("c1", "i2"), ("c2", "i1"), ("c2", "i2")
    ]  # fmt: skip
    assert nulls(N.INTERACTIONS, [N.VIEWS, N.CARTS, N.RATING])
    # without a customer table the tenure runs from the first order
    assert {r[N.CUSTOMER_ID]: r[N.TENURE_DAYS] for r in rows[N.USER_FEATURES]} == {
        "c1": 14,
        "c2": 26,
    }
    assert nulls(
        N.USER_FEATURES,
        [N.VIEWS, N.CARTS, N.SESSIONS, N.VIEW_TO_PURCHASE, N.REVIEW_COUNT, N.DISTINCT_CATEGORIES],
    )
    assert sorted(r[N.ITEM_ID] for r in rows[N.ITEM_FEATURES]) == ["i1", "i2"]
    assert nulls(
        N.ITEM_FEATURES, [N.VIEWS, N.RATING_COUNT, N.REVIEW_COUNT, N.TITLE, N.CONTENT_TEXT]
    )
    assert len(rows[N.ITEM_DEMAND]) == 2 + 4 and nulls(
        N.ITEM_DEMAND, [N.CAMPAIGN_CONTACTS, N.PROMO_ACTIVE]
    )

    # ratings only (a MovieLens-like shop): no orders at all
    r = shop[N.RATINGS]
    assert [
        (u[N.CUSTOMER_ID], u[N.FREQUENCY], u[N.TENURE_DAYS])
        for u in user_features(
            None, None, r, None, None, None, as_of=AS_OF, windows=WINDOWS
        ).collect()
    ] == [("c2", 0, 10)]
    assert [
        (i[N.ITEM_ID], i[N.ORDER_COUNT], i[N.RATING_COUNT], i[N.RATING_MEAN])
        for i in item_features(None, None, r, None, None, as_of=AS_OF, windows=WINDOWS).collect()
    ] == [("i2", 0, 1, 4.0)]
    assert item_demand(None, None, as_of=AS_OF).collect() == []

    # present but empty entities count as 0, not NULL
    empty_events = shop[N.EVENTS].limit(0)
    u = user_features(orders, empty_events, None, None, None, None, as_of=AS_OF, windows=WINDOWS)
    assert {(r[N.VIEWS], r[N.SESSIONS]) for r in u.collect()} == {(0, 0)}
