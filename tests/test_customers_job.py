"""The customers job end to end on a small hand-generated shop: the published tables,
their metrics, no leakage from after as_of, pseudonymised ids, and a clean skip of the
models when the history is too short."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import hmac

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.customers.scores import CLV_CANDIDATES
from lakecart.customers.specs import CUSTOMER_CLUSTERS, CUSTOMER_SCORES, CUSTOMER_SEGMENTS
from lakecart.jobs.customers import build
from lakecart.runlog import tracked_run
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.selection import PUBLISHED
from lakecart.tables import Lakehouse

START = dt.date(2023, 1, 2)
AS_OF = dt.date(2024, 1, 1)
KEY = "test-key"


def shop_orders(n_customers: int = 120, seed: int = 5) -> list[tuple]:
    """Orders of customers who buy at their own rate until they stop (numpy, seeded).

    Rows run to 120 days after AS_OF, so the tests can cut them at AS_OF or not.
    """
    rng = np.random.default_rng(seed)
    end = (AS_OF - START).days + 120
    rows = []
    for c in range(n_customers):
        rate = rng.gamma(1.5, 1 / 40)  # orders per day
        first = int(rng.integers(0, end - 60))
        last = first + int(rng.exponential(250))
        day = first
        k = 0
        while day < min(last, end):
            ts = dt.datetime.combine(START, dt.time()) + dt.timedelta(
                days=day, hours=int(rng.integers(8, 20))
            )
            qty = float(rng.integers(1, 6))
            price = float(np.round(rng.uniform(2, 30), 2))
            country = "FR" if c % 3 else "DE"
            oid = f"o{c}-{k}"
            rows.append((oid, f"c{c}", ts, f"i{int(rng.integers(0, 40))}", qty, price, country))
            if rng.random() < 0.05:  # a partial return a few days later
                rows.append(
                    (f"r{c}-{k}", f"c{c}", ts + dt.timedelta(days=3), "i0", -1.0, price, country)
                )
            day += max(1, int(rng.exponential(1 / rate)))
            k += 1
    return rows


def write_orders(lh: Lakehouse, rows: list[tuple]) -> None:
    spark = lh.spark
    df = spark.createDataFrame(
        rows,
        "order_id string, customer_id string, order_ts timestamp, item_id string, "
        "quantity double, unit_price double, country string",
    )
    df = df.select(
        N.ORDER_ID,
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.ITEM_ID,
        N.QUANTITY,
        N.UNIT_PRICE,
        (F.col(N.QUANTITY) * F.col(N.UNIT_PRICE)).alias(N.REVENUE),
        (F.col(N.QUANTITY) < 0).alias(N.IS_RETURN),
        N.COUNTRY,
        F.lit("web").alias(N.CHANNEL),
        F.lit(None).cast("string").alias(N.STATUS),
        F.lit("canonical").alias("_source"),
        F.lit("orders.csv").alias("_source_file"),
        F.monotonically_increasing_id().alias("_row_number"),
        F.lit("test").alias("_run_id"),
        F.current_timestamp().alias("_ingested_at"),
    )
    lh.append(df, SILVER[N.ORDERS])


def small_config(base, root, **customers):
    cust = dataclasses.replace(
        base.customers,
        gbt_max_iter=3,
        gbt_subsampling_rate=1.0,
        max_snapshots=2,
        min_train_snapshots=1,
        snapshot_step_days=60,
        clusters_k_min=2,
        clusters_k_max=2,
        fairness_min_group=20,
        **customers,
    )
    lake = dataclasses.replace(base.lakehouse, root=str(root))
    return dataclasses.replace(base, lakehouse=lake, customers=cust)


def run_job(spark, cfg, as_of=AS_OF):
    lh = Lakehouse(spark, cfg.lakehouse)
    with tracked_run(lh, "customers", {"test": True}) as ctx:
        result = build(spark, cfg, lh, ctx, as_of)
    return lh, ctx, result


@pytest.fixture(scope="module")
def runs(spark, base_config, tmp_root):
    """Run A: orders cut at AS_OF. Run B: every order (120 days past AS_OF), pseudonymised."""
    rows = shop_orders()
    cut = [r for r in rows if r[2] < dt.datetime.combine(AS_OF, dt.time())]
    assert len(cut) < len(rows)
    cfg_a = small_config(base_config, tmp_root / "customers_a")
    cfg_b = small_config(
        base_config, tmp_root / "customers_b", pseudonymise=True, pseudonym_key=KEY
    )
    write_orders(Lakehouse(spark, cfg_a.lakehouse), cut)
    write_orders(Lakehouse(spark, cfg_b.lakehouse), rows)
    a = run_job(spark, cfg_a)
    b = run_job(spark, cfg_b)
    return a, b, cut


def test_publishes_every_customer_with_an_order_before_as_of(runs):
    (lh, ctx, result), _, cut = runs
    known = {r[1] for r in cut if r[4] > 0}
    seg = lh.read(CUSTOMER_SEGMENTS)
    scores = lh.read(CUSTOMER_SCORES)
    assert {r[0] for r in seg.select(N.CUSTOMER_ID).collect()} == known
    assert {r[0] for r in scores.select(N.CUSTOMER_ID).collect()} == known
    assert seg.filter(F.col(N.AS_OF) != F.lit(AS_OF)).count() == 0
    assert scores.filter(~F.col(N.VALUE_TIER).isin("high", "medium", "low", "none")).count() == 0
    k = lh.read(CUSTOMER_CLUSTERS).count()
    assert k == result["k"] == 2
    assert seg.select(N.CLUSTER).distinct().count() == k
    assert result["clv_model"] in CLV_CANDIDATES


def test_metrics_sit_beside_their_baselines(runs):
    (lh, ctx, result), _, _ = runs
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == ctx.run_id)
    main = m.filter(F.col(N.SPLIT) == N.SPLIT_VALIDATION)
    for model, metric, baseline in [
        (N.M_CHURN, "auc", N.B_RECENCY),
        (N.M_CHURN, "auc", N.B_RFM_SCORE),
        (N.M_CHURN, "pr_auc", N.B_RECENCY),
        (N.M_CHURN, "brier", N.B_RECENCY_CALIBRATED),
        (N.M_CHURN, "auc", N.B_RECENCY_CALIBRATED),
        (N.M_CHURN, "brier", N.B_BASE_RATE),
        (N.M_PROPENSITY, "brier", N.B_BASE_RATE),
        (N.M_PROPENSITY, "auc", N.B_RECENCY),
        (N.M_CLV, "mae", N.B_PREV_SPEND),
        (N.M_CLV, "rmse", N.B_PREV_SPEND),
    ]:
        rows = main.filter(
            (F.col(N.MODEL) == model)
            & (F.col(N.METRIC) == metric)
            & (F.col(N.BASELINE) == baseline)
        ).collect()
        assert rows, (model, metric, baseline)
        assert all(r[N.VALUE] is not None and r[N.BASELINE_VALUE] is not None for r in rows[:1])
    groups = {
        r[N.DATASET]
        for r in main.filter((F.col(N.MODEL) == N.M_CHURN) & (F.col(N.METRIC) == "auc")).collect()
    }
    assert {"main_country=FR", "main_country=DE"} <= groups
    assert main.filter(F.col(N.METRIC) == "reliability_observed").count() > 0
    # one decision per score, naming what was published; the job's result says the same
    decisions = main.filter(F.col(N.METRIC) == PUBLISHED).collect()
    targets = {r[N.DATASET].split("target=")[1].split()[0]: r[N.MODEL] for r in decisions}
    assert targets == result["published"]
    assert set(targets) == {N.TARGET_CHURN, N.TARGET_PROPENSITY, N.TARGET_CLV}
    assert targets[N.TARGET_CHURN] in (N.M_CHURN, N.B_RECENCY_CALIBRATED, N.B_BASE_RATE)
    assert targets[N.TARGET_CLV] in CLV_CANDIDATES
    assert len(result["why"]) == 3


def test_data_after_as_of_changes_nothing_and_ids_are_pseudonymised(spark, runs):
    (lh_a, _, _), (lh_b, _, _), cut = runs
    cols = [N.CUSTOMER_ID, N.CHURN_PROBABILITY, N.CLV_90D, N.PURCHASE_PROBABILITY_30D, N.VALUE_TIER]
    a = lh_a.read(CUSTOMER_SCORES).select(*cols)
    b = lh_b.read(CUSTOMER_SCORES).select(*cols)
    raw = {r[1] for r in cut}
    got_ids = {r[0] for r in b.select(N.CUSTOMER_ID).collect()}
    assert not got_ids & raw
    for table in (CUSTOMER_SEGMENTS,):
        assert not {r[0] for r in lh_b.read(table).select(N.CUSTOMER_ID).collect()} & raw
    # pseudonym = HMAC-SHA256(key, id), computed here with Python's hmac
    mapping = spark.createDataFrame(
        [(i, hmac.new(KEY.encode(), i.encode(), hashlib.sha256).hexdigest()) for i in sorted(raw)],
        "customer_id string, pseudonym string",
    )
    a_mapped = (
        a.join(mapping, N.CUSTOMER_ID)
        .drop(N.CUSTOMER_ID)
        .withColumnRenamed("pseudonym", N.CUSTOMER_ID)
        .select(*cols)
    )
    assertDataFrameEqual(a_mapped, b, rtol=1e-6, atol=1e-9)
    seg_cols = [N.CUSTOMER_ID, N.RECENCY_DAYS, N.FREQUENCY, N.MONETARY, N.RFM_SEGMENT]
    seg_a = (
        lh_a.read(CUSTOMER_SEGMENTS)
        .join(mapping, N.CUSTOMER_ID)
        .drop(N.CUSTOMER_ID)
        .withColumnRenamed("pseudonym", N.CUSTOMER_ID)
        .select(*seg_cols)
    )
    assertDataFrameEqual(seg_a, lh_b.read(CUSTOMER_SEGMENTS).select(*seg_cols), rtol=1e-9)


def test_short_history_publishes_segments_only(spark, base_config, tmp_root):
    rows = [r for r in shop_orders(60, seed=9) if r[2] < dt.datetime(2023, 4, 1)]
    cfg = small_config(base_config, tmp_root / "customers_short")
    write_orders(Lakehouse(spark, cfg.lakehouse), rows)
    lh, _, result = run_job(spark, cfg, dt.date(2023, 4, 1))
    assert "skipped_models" in result
    assert lh.read(CUSTOMER_SEGMENTS).count() > 0
    assert not lh.exists(CUSTOMER_SCORES)
