"""The long-tail marketplace profile (``generate.profile=longtail``, issue 22).

The shop is generated once at scale 1 through :func:`lakecart.generate.generate_landing` and
read back with pandas from the landed CSV files; nothing below uses the generator's objects.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lakecart import generate as G
from lakecart import names as N
from lakecart.config import ConfigError, load_config
from tests.helpers import digest, read

SEED = 11


@pytest.fixture(scope="module")
def shop(spark, tmp_path_factory):
    root = tmp_path_factory.mktemp("longtail") / "landing"
    counts = G.generate_landing(
        spark, str(root), scale=1, seed=SEED, start_date="2023-01-02", profile="longtail"
    )
    orders = read(root, N.ORDERS)
    return {
        "root": root,
        "counts": counts,
        "orders": orders,
        "sold": orders[orders[N.STATUS] == "completed"],
        "products": read(root, N.PRODUCTS),
        "customers": read(root, N.CUSTOMERS),
        "events": read(root, N.EVENTS),
    }


def test_entities_and_columns(shop):
    from lakecart.ingest.clean import landed_columns, required_columns

    assert set(shop["counts"]) == {N.ORDERS, N.PRODUCTS, N.CUSTOMERS, N.EVENTS}
    for entity in shop["counts"]:
        df = shop[entity] if entity != N.ORDERS else shop["orders"]
        # the long-tail shop has no product photos: every landed column but the optional image
        expected = [c for c in landed_columns(entity) if (entity, c) != (N.PRODUCTS, N.IMAGE)]
        assert list(df.columns) == expected, entity
        assert len(df) == shop["counts"][entity]
        for col in required_columns(entity):
            assert (df[col] != "").all(), f"{entity}.{col} has blanks"
    # every ordered item is in the catalogue, every buyer a customer
    assert set(shop["orders"][N.ITEM_ID]) <= set(shop["products"][N.ITEM_ID])
    assert set(shop["orders"][N.CUSTOMER_ID]) <= set(shop["customers"][N.CUSTOMER_ID])
    assert 5_000 <= len(shop["products"]) <= 7_000


def test_one_year_of_one_off_buyers(shop):
    sold, orders = shop["sold"], shop["orders"]
    ts = pd.to_datetime(orders[N.ORDER_TS])
    assert ts.min() >= pd.Timestamp("2023-01-02")
    assert ts.max() < pd.Timestamp("2023-01-02") + pd.Timedelta(days=365)
    assert (ts.max() - ts.min()).days >= 360
    n_orders = sold[N.ORDER_ID].nunique()
    assert 8_000 <= n_orders <= 12_000
    per_customer = sold.groupby(N.CUSTOMER_ID)[N.ORDER_ID].nunique()
    assert (per_customer == 1).mean() >= 0.95
    assert (per_customer > 1).sum() > 0  # a few come back
    lines = sold.groupby(N.ORDER_ID).size()
    assert lines.max() <= 3 and 1.2 <= lines.mean() <= 1.8
    returns = orders[orders[N.STATUS] == "returned"]
    assert 0 < len(returns) < 0.05 * len(sold)
    assert (returns[N.QUANTITY].astype(int) < 0).all()


def test_long_tail_catalogue(shop):
    sold = shop["sold"]
    per_item = sold.groupby(N.ITEM_ID)[N.ORDER_ID].nunique()
    once = (per_item == 1).mean()
    assert 0.55 <= once <= 0.8, once
    assert per_item.max() >= 24  # head items sell dozens of times
    # categories differ: the busiest categories' heads sell far more than the quiet ones'
    cat = shop["products"].set_index(N.ITEM_ID)[N.CATEGORY]
    head = per_item.groupby(per_item.index.map(cat)).max()
    assert head.max() >= 2.5 * head.median() and head.min() <= 20
    # items arrive during the year: some items are first sold late
    first = pd.to_datetime(sold.groupby(N.ITEM_ID)[N.ORDER_TS].min())
    assert (first > pd.Timestamp("2023-07-01")).mean() > 0.2


def test_catalogue_words_and_prices_follow_category(shop):
    p = shop["products"]
    assert p[N.CATEGORY].str.contains(" > ").all()
    price = p[N.PRICE].astype(float)
    median = price.groupby(p[N.CATEGORY]).median()
    assert median.max() > 20 * median.min()  # prices by category
    assert price.groupby(p[N.CATEGORY]).std().min() > 0  # with spread
    # titles name things of their category: nearly every title has a word (seen 10+ times)
    # that is used in one category only, and it is the title's own category
    words = (
        p.assign(w=p[N.TITLE].str.lower().str.split())
        .explode("w")[["w", N.CATEGORY, N.ITEM_ID]]
        .drop_duplicates()
    )
    per_word = words.groupby("w")[N.CATEGORY].agg(["nunique", "size", "first"])
    own = per_word[(per_word["nunique"] == 1) & (per_word["size"] >= 10)]
    hit = words[words["w"].isin(own.index)]
    hit = hit[hit[N.CATEGORY].to_numpy() == own.loc[hit["w"], "first"].to_numpy()]
    assert hit[N.ITEM_ID].nunique() >= 0.95 * len(p)


def test_same_order_items_share_a_category(shop):
    sold = shop["sold"].reset_index(drop=True)
    cat = shop["products"].set_index(N.ITEM_ID)[N.CATEGORY]
    c = sold[N.ITEM_ID].map(cat)
    rows = sold.reset_index()[[N.ORDER_ID, "index"]]
    pairs = rows.merge(rows, on=N.ORDER_ID)
    pairs = pairs[pairs["index_x"] < pairs["index_y"]]
    cats = c.to_numpy()
    same_order = (cats[pairs["index_x"].to_numpy()] == cats[pairs["index_y"].to_numpy()]).mean()
    rng = np.random.default_rng(0)
    x = rng.integers(0, len(cats), (20_000, 2))
    random = (cats[x[:, 0]] == cats[x[:, 1]]).mean()
    assert len(pairs) > 1_000
    assert same_order > 5 * random, (same_order, random)


def test_sessions_precede_orders_and_view_the_category(shop):
    ev, sold = shop["events"], shop["sold"]
    assert set(ev[N.EVENT_TYPE]) >= {N.EV_VIEW, N.EV_CART, N.EV_PURCHASE}
    assert len(ev) > 3 * len(sold)
    t = pd.to_datetime(ev[N.EVENT_TS])
    ev = ev.assign(t=t)
    # each purchase session ends with the order: every event at or before the order time
    order_t = pd.to_datetime(sold.groupby(N.ORDER_ID)[N.ORDER_TS].first())
    sess = ev[ev[N.SESSION_ID].str.startswith("S")]
    oid = sess[N.SESSION_ID].str[1:]
    assert oid.isin(order_t.index).all()
    assert (sess["t"].to_numpy() <= order_t.loc[oid].to_numpy()).all()
    assert oid.nunique() > 0.6 * len(order_t)
    # the session's users are the buyers
    buyer = sold.groupby(N.ORDER_ID)[N.CUSTOMER_ID].first()
    assert (sess[N.USER_ID].to_numpy() == buyer.loc[oid].to_numpy()).all()
    # items viewed in one session mostly share a category
    cat = shop["products"].set_index(N.ITEM_ID)[N.CATEGORY]
    views = ev[(ev[N.EVENT_TYPE] == N.EV_VIEW) & (ev[N.ITEM_ID] != "")]
    per_cat = views.assign(c=views[N.ITEM_ID].map(cat)).groupby([N.SESSION_ID, "c"]).size()
    per_session = per_cat.groupby(level=0)
    top_share = per_session.max() / per_session.sum()
    assert top_share.mean() > 0.7


def test_same_seed_same_files(spark, shop, tmp_path):
    again = tmp_path / "again"
    G.generate_landing(
        spark, str(again), scale=1, seed=SEED, start_date="2023-01-02", profile="longtail"
    )
    assert digest(again) == digest(shop["root"])


def test_profile_config():
    assert load_config("local").generate.profile == N.GEN_PROFILE_DEFAULT
    cfg = load_config("local", overrides=["generate.profile=longtail"])
    assert cfg.generate.profile == N.GEN_PROFILE_LONGTAIL
    with pytest.raises(ConfigError, match="generate.profile"):
        load_config("local", overrides=["generate.profile=tiny"])
    with pytest.raises(ValueError, match="profile"):
        G.generate_landing(None, "/nowhere", profile="tiny")  # type: ignore[arg-type]
