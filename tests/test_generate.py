"""The synthetic shop: landing format, determinism and the structure models should learn.

One small shop (1,000 customers, 300 items, 140 days from September to January) is
generated once per module and read back with pandas; determinism is checked on a tiny
shop written twice with the same seed and once with another seed and format.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lakecart import generate as G
from lakecart import names as N
from lakecart import synth_text as TX
from tests.helpers import digest, read

SMALL = dict(scale=1, seed=7, start_date="2023-09-04", days=140, customers=1000, items=300)
TINY = dict(scale=1, start_date="2023-03-06", days=30, customers=200, items=80)


@pytest.fixture(scope="module")
def shop(spark, tmp_path_factory):
    out = tmp_path_factory.mktemp("gen") / "landing"
    counts = G.generate_landing(spark, str(out), **SMALL)
    return out, counts, G.World(**SMALL)


SCHEMA_COLUMNS = {e: [c.split()[0] for c in ddl.split(", ")] for e, ddl in G.SCHEMAS.items()}


# every entity but the IP-range reference table, which a shop buys rather than produces
SHOP_ENTITIES = tuple(e for e in N.ENTITIES if e != N.IP_RANGES)


# ---------------------------------------------------------------- format
def test_all_entities_with_spec_columns(shop):
    from lakecart.ingest.clean import landed_columns, required_columns

    root, counts, _ = shop
    assert set(counts) == set(SHOP_ENTITIES) | {"images"}
    for entity in SHOP_ENTITIES:
        df = read(root, entity)
        assert list(df.columns) == landed_columns(entity), entity
        assert len(df) == counts[entity] > 0, entity
        for col in required_columns(entity):
            blank = (df[col] == "").mean()
            assert blank < 0.002, f"{entity}.{col} blank share {blank}"
    orders = read(root, N.ORDERS)
    assert orders[N.CUSTOMER_ID].str.match(r"^(C\d{6})?$").all()
    assert orders[N.ITEM_ID].str.match(r"^(I\d{5})?$").all()
    ok_ts = orders[N.ORDER_TS].str.match(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$")
    assert ok_ts.mean() > 0.998
    assert 3_000 < counts[N.ORDERS] < 20_000
    # one photo file per product that names one (lakecart.generate_images)
    photos = read(root, N.PRODUCTS)[N.IMAGE]
    named = set(photos[photos != ""])
    assert named == {f"images/{p.name}" for p in (root / "images").iterdir()}
    assert counts["images"] == len(named) > 0.9 * counts[N.PRODUCTS]


def test_canonical_plan_reads_every_entity(spark, shop):
    from lakecart.ingest import sources as S

    root, _, _ = shop
    plan = S.plan_canonical(S.list_files(spark, str(root)), str(root))
    assert {fs.entity for fs in plan.filesets} == set(SHOP_ENTITIES)
    assert all(fs.fmt == "csv" for fs in plan.filesets)


def test_messy_rows_are_few(shop):
    root, _, _ = shop
    orders = read(root, N.ORDERS)
    missing = (orders[N.ITEM_ID] == "").mean()
    dups = orders.duplicated().mean()
    assert 0 < missing + dups < 0.01
    returns = orders[orders[N.STATUS] == "returned"]
    assert 0.01 < len(returns) / len(orders) < 0.08
    assert returns[N.ORDER_ID].str.startswith("R").all()
    assert (returns[N.QUANTITY].astype(int) < 0).all()
    sold = set(orders.loc[orders[N.STATUS] == "completed", N.ORDER_ID])
    assert returns[N.ORDER_ID].str[1:].isin(sold).all()
    sales = orders[orders[N.STATUS] == "completed"].drop_duplicates(N.ORDER_ID)
    assert 0.01 < (sales[N.CUSTOMER_ID] == "").mean() < 0.06  # guests


# ---------------------------------------------------------------- determinism
def test_same_seed_same_files(spark, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    ca = G.generate_landing(spark, str(a), seed=1, **TINY)
    cb = G.generate_landing(spark, str(b), seed=1, **TINY)
    assert ca == cb
    assert digest(a) == digest(b)
    photos = [{p.name: p.read_bytes() for p in (r / "images").iterdir()} for r in (a, b)]
    assert photos[0] == photos[1] and len(photos[0]) == ca["images"]
    with pytest.raises(ValueError, match="fmt"):
        G.generate_landing(spark, str(tmp_path / "c"), fmt="xlsx", **TINY)


def test_other_seed_other_data():
    one = G.CustomerBlock(G.World(seed=1, **TINY), 0)
    two = G.CustomerBlock(G.World(seed=2, **TINY), 0)
    assert not one.orders().equals(two.orders())
    assert not one.customers().equals(two.customers())
    again = G.CustomerBlock(G.World(seed=1, **TINY), 0)
    assert one.events().equals(again.events()) and one.reviews().equals(again.reviews())


@pytest.mark.parametrize("fmt", ["parquet", "json"])
def test_other_formats(spark, tmp_path, fmt):
    world = G.World(seed=1, **TINY)
    frames = G.landing_frames(spark, world)
    G.write_entity(frames[N.CUSTOMERS], str(tmp_path / N.CUSTOMERS), fmt, 1, N.CUSTOMERS)
    back = getattr(spark.read, fmt)(str(tmp_path / N.CUSTOMERS))
    assert sorted(back.columns) == sorted(SCHEMA_COLUMNS[N.CUSTOMERS])
    assert back.count() == TINY["customers"]


def test_hash_uniform_is_a_pure_function():
    u1 = G.hash_uniform(3, "x", np.arange(1000), 5)
    u2 = G.hash_uniform(3, "x", np.arange(1000), 5)
    assert np.array_equal(u1, u2)
    assert not np.array_equal(u1, G.hash_uniform(4, "x", np.arange(1000), 5))
    assert 0 < u1.min() and u1.max() < 1 and abs(u1.mean() - 0.5) < 0.05


# ---------------------------------------------------------------- structure
def _sales(root: Path, world: G.World) -> pd.DataFrame:
    o = read(root, N.ORDERS)
    o = o[(o[N.STATUS] == "completed") & (o[N.ITEM_ID] != "")]
    o = o.assign(ts=pd.to_datetime(o[N.ORDER_TS], errors="coerce")).dropna(subset=["ts"])
    o = o.assign(qty=o[N.QUANTITY].astype(int), item=world.item_index(o[N.ITEM_ID].tolist()))
    day = (o["ts"] - pd.Timestamp(world.start)).dt.days
    return o.assign(day=day, week=(day + world.week_offset) // 7)


def test_weekly_and_yearly_seasonality(shop):
    root, _, world = shop
    orders = _sales(root, world).drop_duplicates(N.ORDER_ID)
    per_day = orders.groupby(orders["ts"].dt.normalize()).size()
    weekend = per_day[per_day.index.dayofweek >= 5].mean()
    weekday = per_day[per_day.index.dayofweek < 5].mean()
    assert weekend > 1.1 * weekday
    month = per_day.index.month
    assert (
        per_day[(month == 11) | (month == 12)].mean()
        > 1.2 * per_day[(month == 9) | (month == 10)].mean()
    )


def test_promotions_lift_demand(shop):
    root, _, world = shop
    sold = _sales(root, world).groupby(["item", "week"])["qty"].sum()
    item, week = np.meshgrid(np.arange(world.n_items), np.arange(world.weeks), indexing="ij")
    grid = pd.DataFrame({"item": item.ravel(), "week": week.ravel()})
    launched = grid["week"] >= np.maximum(
        0, (world.item_launch_day(grid["item"].to_numpy()) + world.week_offset) // 7
    )
    grid = grid[launched]
    grid = grid.join(sold, on=["item", "week"]).fillna({"qty": 0})
    promo = world.discount(grid["item"].to_numpy(), grid["week"].to_numpy()) > 0
    assert 0.01 < promo.mean() < 0.2
    assert grid.loc[promo, "qty"].mean() > 1.5 * grid.loc[~promo, "qty"].mean()


def test_fraud_rate_and_patterns(shop):
    root, _, world = shop
    t = read(root, N.TRANSACTIONS)
    # the last label_delay_days are unlabelled (outcome not known yet), every earlier one is
    cut = pd.Timestamp(world.start) + pd.Timedelta(days=world.days - world.label_delay_days)
    recent = pd.to_datetime(t[N.TXN_TS]) >= cut
    assert world.label_delay_days == G.LABEL_DELAY_DAYS > 0
    assert recent.any() and ((t[N.LABEL] == "") == recent).all()
    t = t[~recent]
    label = t[N.LABEL].astype(int)
    assert 0.01 < label.mean() < 0.06
    amount = t[N.AMOUNT].astype(float)
    assert amount[label == 1].mean() > 2 * amount[label == 0].mean()
    hour = pd.to_datetime(t[N.TXN_TS]).dt.hour
    assert (hour[label == 1] < 6).mean() > 3 * (hour[label == 0] < 6).mean()
    users = t.groupby(N.DEVICE_ID)[N.CUSTOMER_ID].nunique()
    shared = t[N.DEVICE_ID].map(users) > 3
    assert shared[label == 1].mean() > 5 * shared[label == 0].mean()
    paid = t[t[N.SIGNUP_TS] != ""]
    age = (pd.to_datetime(paid[N.TXN_TS]) - pd.to_datetime(paid[N.SIGNUP_TS])).dt.days
    young = age < 2
    lab = paid[N.LABEL].astype(int)
    assert young[lab == 1].mean() > 5 * young[lab == 0].mean()


def test_review_words_agree_with_stars(shop):
    root, _, _ = shop
    r = read(root, N.REVIEWS)
    stars = r[N.RATING].astype(int)
    pos = r[N.TEXT].map(lambda x: TX.count_words(x, TX.POSITIVE_WORDS))
    neg = r[N.TEXT].map(lambda x: TX.count_words(x, TX.NEGATIVE_WORDS))
    assert pos[stars == 5].mean() > 2 * pos[stars == 1].mean() + 1
    assert neg[stars == 1].mean() > 2 * neg[stars == 5].mean() + 1
    ratings = read(root, N.RATINGS)[N.RATING].astype(int)
    assert set(ratings) <= {1, 2, 3, 4, 5} and 3.0 < ratings.mean() < 4.5


def test_purchases_and_ratings_follow_taste(shop):
    root, _, world = shop
    traits = pd.concat([G.CustomerBlock(world, b).traits for b in range(world.customer_blocks)])
    lines = _sales(root, world).merge(
        traits[["customer_id", "seg", "fav"]], left_on=N.CUSTOMER_ID, right_on="customer_id"
    )
    cat = world.item_cat(lines["item"].to_numpy())
    seg = lines["seg"].to_numpy()
    in_top3 = (world.seg_top3[seg] == cat[:, None]).any(axis=1)
    # the same lines judged against another segment's favourites
    other = (world.seg_top3[(seg + 1) % len(G.SEGMENTS)] == cat[:, None]).any(axis=1)
    assert in_top3.mean() > 0.55 and in_top3.mean() > 1.6 * other.mean()
    # explicit ratings are higher inside the customer's preferred categories
    r = read(root, N.RATINGS).merge(
        traits[["customer_id", "seg", "fav"]], left_on=N.USER_ID, right_on="customer_id"
    )
    rcat = world.item_cat(world.item_index(r[N.ITEM_ID].tolist()))
    liked = (world.seg_top3[r["seg"].to_numpy()] == rcat[:, None]).any(axis=1) | (
        rcat == r["fav"].to_numpy()
    )
    stars = r[N.RATING].astype(int)
    assert stars[liked].mean() > stars[~liked].mean() + 0.5


def test_campaign_contacts_lift_purchases(shop):
    root, _, world = shop
    cp = read(root, N.CAMPAIGNS)
    assert len(cp) > 0 and set(cp[N.RESPONDED]) <= {"true", "false"}
    customers = read(root, N.CUSTOMERS)
    orders = _sales(root, world).drop_duplicates(N.ORDER_ID)
    orders = orders[orders[N.CUSTOMER_ID] != ""]
    contacted_rate, other_rate = [], []
    for _, g in cp.groupby(N.CAMPAIGN_ID):
        sent = pd.to_datetime(g[N.SENT_TS]).min().normalize()
        eligible = customers.loc[pd.to_datetime(customers[N.SIGNUP_TS]) < sent, N.CUSTOMER_ID]
        window = orders[
            (orders["ts"] >= sent) & (orders["ts"] < sent + pd.Timedelta(days=G.CAMPAIGN_WINDOW))
        ]
        n = eligible.map(window.groupby(N.CUSTOMER_ID).size()).fillna(0)
        hit = eligible.isin(set(g[N.CUSTOMER_ID]))
        contacted_rate.append(n[hit].mean())
        other_rate.append(n[~hit].mean())
    assert np.mean(contacted_rate) > 1.3 * np.mean(other_rate)
    # responses are the orders actually placed in the window
    responded = cp[cp[N.RESPONDED] == "true"]
    assert (responded[N.REVENUE].astype(float) > 0).all()
    assert (pd.to_datetime(responded[N.RESPONSE_TS]) >= pd.to_datetime(responded[N.SENT_TS])).all()


def test_recency_predicts_churn_and_stock_is_plausible(shop):
    root, _, world = shop
    orders = _sales(root, world).drop_duplicates(N.ORDER_ID)
    orders = orders[orders[N.CUSTOMER_ID] != ""]
    as_of = pd.Timestamp(world.start) + pd.Timedelta(days=90)
    last = orders[orders["ts"] < as_of].groupby(N.CUSTOMER_ID)["ts"].max()
    later = set(orders.loc[orders["ts"] >= as_of, N.CUSTOMER_ID])
    recency = (as_of - last).dt.days
    came_back = recency.index.isin(later)
    assert came_back[recency < 20].mean() > came_back[recency >= 50].mean() + 0.1
    inv = read(root, N.INVENTORY)
    on_hand = inv[N.ON_HAND].astype(float)
    assert (on_hand >= 0).all() and on_hand.mean() > 1
    assert (inv[N.LEAD_TIME_DAYS].astype(float) > 0).all()
    assert inv.groupby(N.ITEM_ID)[N.SNAPSHOT_DATE].nunique().max() == world.weeks
