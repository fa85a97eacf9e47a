"""The basket job end to end on a tiny hand-generated shop: the published tables, the
metrics beside popularity, no leakage from orders after as_of, and clean skips."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.basket.specs import BASKET_RULES, BOUGHT_TOGETHER, CART_COMPLETIONS
from lakecart.jobs.basket import build
from lakecart.runlog import tracked_run
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.tables import Lakehouse

AS_OF = dt.date(2024, 3, 1)
START = AS_OF - dt.timedelta(days=90)
GROUPS = [[f"i{g * 5 + j}" for j in range(5)] for g in range(4)]  # items bought together


def shop_orders(seed: int = 11) -> list[tuple]:
    """Orders from 90 days before AS_OF to 30 days after: each basket mostly from one group
    of items, sometimes one random item, and a postage line in every other order."""
    rng = np.random.default_rng(seed)
    rows = []
    for k in range(480):
        day = int(rng.integers(0, 120))
        ts = dt.datetime.combine(START, dt.time(10)) + dt.timedelta(days=day, minutes=k)
        group = GROUPS[int(rng.integers(0, 4))]
        size = int(rng.integers(1, 5))
        items = [str(x) for x in rng.choice(group, size=size, replace=False)]
        if rng.random() < 0.2:
            items.append(f"i{int(rng.integers(0, 20))}")
        if k % 2:
            items.append("POST")
        for it in dict.fromkeys(items):
            rows.append((f"o{k}", f"c{k % 60}", ts, it, float(rng.integers(1, 4)), 2.5))
        if rng.random() < 0.05:  # a return of the first item
            rows.append((f"r{k}", f"c{k % 60}", ts + dt.timedelta(days=2), items[0], -1.0, 2.5))
    return rows


def _lineage(df):
    return df.select(
        "*",
        F.lit("canonical").alias("_source"),
        F.lit("test.csv").alias("_source_file"),
        F.monotonically_increasing_id().alias("_row_number"),
        F.lit("test").alias("_run_id"),
        F.current_timestamp().alias("_ingested_at"),
    )


def write_shop(lh: Lakehouse, rows: list[tuple]) -> None:
    spark = lh.spark
    o = spark.createDataFrame(
        rows,
        "order_id string, customer_id string, order_ts timestamp, item_id string, "
        "quantity double, unit_price double",
    )
    o = o.select(
        N.ORDER_ID, N.CUSTOMER_ID, N.ORDER_TS, N.ITEM_ID, N.QUANTITY, N.UNIT_PRICE,
        (F.col(N.QUANTITY) * F.col(N.UNIT_PRICE)).alias(N.REVENUE),
        (F.col(N.QUANTITY) < 0).alias(N.IS_RETURN),
        F.lit("FR").alias(N.COUNTRY), F.lit("web").alias(N.CHANNEL),
        F.lit(None).cast("string").alias(N.STATUS),
    )  # fmt: skip
    lh.append(_lineage(o), SILVER[N.ORDERS])
    products = [(f"i{i}", f"Item {i}", "Home") for i in range(20)]
    products.append(("POST", "Postage", N.NON_MERCHANDISE))
    p = spark.createDataFrame(products, "item_id string, title string, category string")
    p = p.select(
        N.ITEM_ID, N.TITLE, F.lit(None).cast("string").alias(N.DESCRIPTION), N.CATEGORY,
        F.lit(None).cast("string").alias(N.BRAND), F.lit(2.5).alias(N.PRICE),
        F.lit(None).cast("string").alias(N.IMAGE),
    )  # fmt: skip
    lh.append(_lineage(p), SILVER[N.PRODUCTS])
    t = dt.datetime.combine(AS_OF, dt.time()) - dt.timedelta(days=2)
    m = dt.timedelta(minutes=1)
    events = [
        (t, "c1", "s1", "view", "i0"),
        (t + m, "c1", "s1", "cart", "i0"),  # open cart: i0, i1
        (t + 2 * m, "c1", "s1", "cart", "i1"),
        (t, "c2", "s2", "cart", "i5"),
        (t + m, "c2", "s2", "purchase", "i5"),  # bought: closed
        (t + dt.timedelta(days=3), "c3", "s3", "cart", "i10"),  # after as_of: not read
    ]
    e = spark.createDataFrame(
        events,
        "event_ts timestamp, user_id string, session_id string, event_type string, item_id string",
    )
    lh.append(_lineage(e), SILVER[N.EVENTS])


def small_config(base, root, **basket):
    b = dataclasses.replace(
        base.basket,
        days=None,
        min_support_count=4,
        shrinkages=[0.0, 10.0],
        popularity_exponents=[0.0],
        half_lives=[0.0, 30.0],
        validation_days=14,
        top_k=5,
        candidate_pool=10,
        **basket,
    )
    lake = dataclasses.replace(base.lakehouse, root=str(root))
    return dataclasses.replace(base, lakehouse=lake, basket=b)


def run_job(spark, cfg, as_of=AS_OF):
    lh = Lakehouse(spark, cfg.lakehouse)
    with tracked_run(lh, "basket", {"test": True}) as ctx:
        result = build(spark, cfg, lh, ctx, as_of)
    return lh, ctx, result


@pytest.fixture(scope="module")
def runs(spark, base_config, tmp_root):
    """Run A: orders cut at AS_OF. Run B: every order (30 days past AS_OF)."""
    rows = shop_orders()
    cut = [r for r in rows if r[2] < dt.datetime.combine(AS_OF, dt.time())]
    assert len(cut) < len(rows)
    cfg_a = small_config(base_config, tmp_root / "basket_a")
    cfg_b = small_config(base_config, tmp_root / "basket_b")
    write_shop(Lakehouse(spark, cfg_a.lakehouse), cut)
    write_shop(Lakehouse(spark, cfg_b.lakehouse), rows)
    return run_job(spark, cfg_a), run_job(spark, cfg_b), cut


def test_publishes_rules_lists_and_cart_completions(runs):
    (lh, _, result), _, cut = runs
    assert "skipped" not in result
    bt = lh.read(BOUGHT_TOGETHER)
    rules = lh.read(BASKET_RULES)
    carts = lh.read(CART_COMPLETIONS)
    assert result[BOUGHT_TOGETHER.full_name] == bt.count() > 0
    assert result[BASKET_RULES.full_name] == rules.count() > 0
    # no postage anywhere; every listed pair was bought together before as_of
    for df, cols in ((bt, [N.ITEM_ID, N.OTHER_ITEM_ID]), (carts, [N.ITEM_ID])):
        assert df.filter(F.array_contains(F.array(*cols), "POST")).count() == 0
    together = {}
    for o, _, _, it, q, _ in cut:
        if q > 0 and it != "POST":
            together.setdefault(o, set()).add(it)
    pairs = {(a, b) for items in together.values() for a in items for b in items if a != b}
    listed = {(r[0], r[1]) for r in bt.select(N.ITEM_ID, N.OTHER_ITEM_ID).collect()}
    assert listed <= pairs
    ranks = bt.groupBy(N.ITEM_ID).agg(F.max(N.RANK).alias("m"), F.count(F.lit(1)).alias("n"))
    assert ranks.filter((F.col("m") != F.col("n")) | (F.col("m") > 5)).count() == 0
    assert rules.filter(F.col(N.ANTECEDENT) != F.array_sort(N.ANTECEDENT)).count() == 0
    bad = rules.filter((F.col(N.SUPPORT) <= 0) | (F.col(N.CONFIDENCE) > 1) | (F.col(N.BASKETS) < 4))
    assert bad.count() == 0
    # the open cart of c1 (i0, i1) is completed; the bought one of c2 is not
    got = carts.select(N.USER_ID, N.SESSION_ID).distinct().collect()
    assert [(r[0], r[1]) for r in got] == [("c1", "s1")]
    c1 = carts.orderBy(N.RANK).collect()
    assert 0 < len(c1) <= 10 and not {r[N.ITEM_ID] for r in c1} & {"i0", "i1"}
    assert all(r[N.REASON] in ("often bought with Item 0", "often bought with Item 1") for r in c1)
    assert [r[N.SCORE] for r in c1] == sorted((r[N.SCORE] for r in c1), reverse=True)


def test_metrics_sit_beside_popularity(runs):
    (lh, ctx, result), _, _ = runs
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == ctx.run_id).collect()
    assert result["metrics"] == len(m) > 0
    models = {r[N.MODEL] for r in m}
    assert {N.M_BOUGHT_TOGETHER, N.M_BASKET_RULES, N.B_COOCCURRENCE, N.B_POPULARITY} <= models
    assert all(
        r[N.BASELINE] == N.B_POPULARITY
        and r[N.SPLIT] == N.SPLIT_VALIDATION
        and r[N.K] == 10
        and 0 <= r[N.VALUE] <= 1
        for r in m
    )
    hits = {r[N.MODEL]: r[N.VALUE] for r in m if r[N.METRIC] == N.HIT_RATE}
    candidates = {k: v for k, v in hits.items() if k.startswith(f"{N.M_BOUGHT_TOGETHER}:")}
    assert len(candidates) == 6  # 2 shrinkages x 2 half-lives + 2 joint
    # the published score is the best candidate, and the grouped shop beats popularity
    assert hits[N.M_BOUGHT_TOGETHER] == max(candidates.values())
    assert f"{N.M_BOUGHT_TOGETHER}:{result['shape']}" in candidates
    assert hits[N.M_BOUGHT_TOGETHER] > hits[N.B_POPULARITY]


def test_orders_after_as_of_change_nothing(runs):
    (lh_a, _, ra), (lh_b, _, rb), _ = runs
    assert ra["shape"] == rb["shape"] and ra["validation"] == rb["validation"]
    for spec in (BOUGHT_TOGETHER, BASKET_RULES, CART_COMPLETIONS):
        cols = [c for c in spec.column_names if c not in (N.MODEL_VERSION, N.GENERATED_AT)]
        assertDataFrameEqual(lh_a.read(spec).select(*cols), lh_b.read(spec).select(*cols))


def test_skips_without_orders_or_baskets(spark, base_config, tmp_root):
    cfg = small_config(base_config, tmp_root / "basket_empty")
    lh, _, result = run_job(spark, cfg)
    assert result["skipped"] == "silver has no orders"
    assert not lh.exists(BOUGHT_TOGETHER)
    few = small_config(base_config, tmp_root / "basket_few")
    write_shop(Lakehouse(spark, few.lakehouse), shop_orders()[:6])
    lh, _, result = run_job(spark, few)
    assert "baskets with 2+ merchandise items" in result["skipped"]
    assert not lh.exists(BOUGHT_TOGETHER)
