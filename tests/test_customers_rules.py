"""Customer rules and helpers on hand-built data: RFM scores and segments, snapshot
features and labels on each side of the snapshot, metrics and calibration against
independent numpy implementations, and the keyed pseudonyms."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.config import ConfigError, CustomersConfig, load_config
from lakecart.customers import metrics as M
from lakecart.customers.models import fit_isotonic
from lakecart.customers.privacy import MissingKeyError, customer_key, hmac_sha256_hex
from lakecart.customers.rfm import rfm_scores, segment_of
from lakecart.customers.scores import CLV_CANDIDATES, clv_estimate
from lakecart.customers.snapshots import (
    ORDERS_PREV_90D,
    SNAPSHOT,
    SPEND_PREV,
    SnapshotPlan,
    bought_col,
    customer_orders,
    labels,
    snapshot_dates,
    snapshot_features,
    spend_col,
)
from lakecart.features.build import FeatureInputs
from lakecart.features.users import user_features

# ---------------------------------------------------------------- RFM


def test_segment_rules_on_hand_picked_scores(spark):
    cases = [  # (r, f, m) -> segment, written from the rule table
        (5, 5, 5, N.SEG_CHAMPIONS),
        (4, 4, 4, N.SEG_CHAMPIONS),
        (5, 5, 2, N.SEG_LOYAL),
        (3, 5, 5, N.SEG_LOYAL),
        (5, 3, 5, N.SEG_POTENTIAL),
        (4, 2, 1, N.SEG_POTENTIAL),
        (5, 1, 5, N.SEG_NEW),
        (3, 3, 3, N.SEG_NEED_ATTENTION),
        (3, 1, 1, N.SEG_NEED_ATTENTION),
        (1, 5, 5, N.SEG_CANNOT_LOSE),
        (2, 4, 4, N.SEG_CANNOT_LOSE),
        (2, 5, 1, N.SEG_AT_RISK),
        (1, 3, 2, N.SEG_AT_RISK),
        (2, 2, 5, N.SEG_HIBERNATING),
        (2, 1, 1, N.SEG_HIBERNATING),
        (1, 2, 4, N.SEG_LOST),
        (1, 1, 1, N.SEG_LOST),
    ]
    df = spark.createDataFrame([(r, f, m) for r, f, m, _ in cases], "r int, f int, m int")
    got = [row[0] for row in df.select(segment_of(F.col("r"), F.col("f"), F.col("m"))).collect()]
    assert got == [s for *_, s in cases]


def test_every_score_combination_has_one_segment(spark):
    combos = [(r, f, m) for r in range(1, 6) for f in range(1, 6) for m in range(1, 6)]
    df = spark.createDataFrame(combos, "r int, f int, m int")
    seg = df.select(segment_of(F.col("r"), F.col("f"), F.col("m")).alias("s"))
    assert seg.filter(F.col("s").isNull()).count() == 0


def test_rfm_quintiles_and_ties_on_hand_built_customers(spark):
    # ten customers: recency 1..10, frequency with a 4-way tie at 1, distinct monetary
    rec = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    freq = [10, 5, 4, 3, 2, 2, 1, 1, 1, 1]
    mon = [900.0, 800.0, 700.0, 600.0, 500.0, 400.0, 300.0, 200.0, 100.0, 50.0]
    rows = [(f"c{i}", rec[i], freq[i], mon[i]) for i in range(10)]
    df = spark.createDataFrame(
        rows, "customer_id string, recency_days int, frequency long, monetary double"
    )
    # by hand: percent_rank = (rank - 1) / 9, score = min(5, floor(5 x pr) + 1);
    # ties share the lowest rank (the four one-order customers all get f = 1)
    r = [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    f = [5, 5, 4, 4, 3, 3, 1, 1, 1, 1]
    m = [5, 5, 4, 4, 3, 3, 2, 2, 1, 1]
    seg = [
        N.SEG_CHAMPIONS,
        N.SEG_CHAMPIONS,
        N.SEG_CHAMPIONS,
        N.SEG_CHAMPIONS,
        N.SEG_NEED_ATTENTION,
        N.SEG_NEED_ATTENTION,
        N.SEG_HIBERNATING,
        N.SEG_HIBERNATING,
        N.SEG_LOST,
        N.SEG_LOST,
    ]
    expected = spark.createDataFrame(
        [(f"c{i}", r[i], f[i], m[i], seg[i]) for i in range(10)],
        "customer_id string, r_score int, f_score int, m_score int, rfm_segment string",
    )
    got = rfm_scores(df).select(N.CUSTOMER_ID, N.R_SCORE, N.F_SCORE, N.M_SCORE, N.RFM_SEGMENT)
    assertDataFrameEqual(got, expected)


# ---------------------------------------------------------------- snapshots and labels

S = dt.date(2024, 4, 1)  # the snapshot


def _orders(spark, rows):
    data = [
        Row(
            order_id=o,
            customer_id=c,
            order_ts=ts,
            item_id="i1",
            quantity=q,
            unit_price=10.0,
            revenue=q * 10.0,
            is_return=q < 0,
            country="FR",
            channel="web",
            status=None,
        )
        for o, c, ts, q in rows
    ]
    return spark.createDataFrame(
        data,
        "order_id string, customer_id string, order_ts timestamp, item_id string, "
        "quantity double, unit_price double, revenue double, is_return boolean, "
        "country string, channel string, status string",
    )


def test_label_after_and_features_before_the_snapshot(spark):
    midnight = dt.datetime(2024, 4, 1)
    rows = [
        ("o1", "a", dt.datetime(2024, 1, 10, 9), 2.0),  # features only (in [s-90, s))
        ("o2", "a", midnight, 3.0),  # exactly at the snapshot: label, not features
        ("o3", "a", dt.datetime(2024, 6, 29, 23), 1.0),  # day 89 after s: in the 90-day label
        ("o4", "a", dt.datetime(2024, 6, 30, 0), 5.0),  # day 90: outside the label window
        ("o5", "b", dt.datetime(2023, 11, 1), 1.0),  # features: the previous 90-day block
        ("o6", "b", dt.datetime(2024, 3, 31, 23, 59), 4.0),  # the last second before s
        ("o7", "b", dt.datetime(2024, 4, 20), -1.0),  # a return after s: spend, not a purchase
        ("o8", "c", dt.datetime(2024, 5, 1), 1.0),  # no history before s: not in the snapshot
        (None, None, dt.datetime(2024, 2, 1), 1.0),  # a guest: ignored
    ]
    orders = _orders(spark, [r for r in rows if r[0] is not None])
    co = customer_orders(orders)
    got = labels(co, [S], [30, 90]).select(
        N.CUSTOMER_ID, SNAPSHOT, bought_col(30), spend_col(30), bought_col(90), spend_col(90)
    )
    expected = spark.createDataFrame(
        [
            ("a", S, 1.0, 30.0, 1.0, 40.0),
            ("b", S, 0.0, -10.0, 0.0, -10.0),
            ("c", S, 0.0, 0.0, 1.0, 10.0),
        ],
        f"customer_id string, {SNAPSHOT} date, bought_30d double, spend_30d double, "
        "bought_90d double, spend_90d double",
    )
    assertDataFrameEqual(got, expected)

    feats = snapshot_features(FeatureInputs(orders=orders), [S], [30, 90]).select(
        N.CUSTOMER_ID, N.FREQUENCY, N.MONETARY, N.RECENCY_DAYS, SPEND_PREV, ORDERS_PREV_90D
    )
    expected = spark.createDataFrame(
        [("a", 1, 20.0, 82, 20.0, 0), ("b", 2, 50.0, 1, 40.0, 1)],
        "customer_id string, frequency long, monetary double, recency_days int, "
        f"{SPEND_PREV} double, {ORDERS_PREV_90D} long",
    )
    assertDataFrameEqual(feats, expected)
    # the columns shared with features.user_features have its definitions
    shared = [
        N.CUSTOMER_ID,
        N.RECENCY_DAYS,
        N.FREQUENCY,
        N.MONETARY,
        N.AVG_ORDER_VALUE,
        N.ITEMS_PER_ORDER,
        N.DISTINCT_ITEMS,
        N.DAYS_BETWEEN_ORDERS_MEAN,
        "orders_30d",
        "revenue_90d",
    ]
    ours = snapshot_features(FeatureInputs(orders=orders), [S], [30, 90]).select(*shared)
    library = user_features(orders, None, None, None, None, None, as_of=S, windows=[30, 90])
    assertDataFrameEqual(ours, library.filter(F.col(N.FREQUENCY) > 0).select(*shared))


def test_snapshot_dates_end_by_as_of():
    as_of = dt.date(2024, 12, 1)
    first = dt.date(2024, 1, 1)
    dates = snapshot_dates(as_of, 90, 30, 6, first, 30)
    assert dates == [as_of - dt.timedelta(days=90 + 30 * k) for k in range(6)]
    assert all(d + dt.timedelta(days=90) <= as_of for d in dates)
    short = snapshot_dates(as_of, 90, 30, 20, first, 30)
    assert min(short) >= first + dt.timedelta(days=30)
    assert snapshot_dates(as_of, 90, 30, 6, None, 30) == []
    plan = SnapshotPlan.make(as_of, 90, 30, 6, first, 30)
    assert plan.validation == as_of - dt.timedelta(days=90)
    # the validation model never sees the validation window's outcomes
    assert all(d + dt.timedelta(days=90) <= plan.validation for d in plan.validation_train)


# ---------------------------------------------------------------- metrics vs numpy


def np_auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney U with average ranks (ties count one half)."""
    ranks = pd.Series(s).rank(method="average").to_numpy()
    pos = y == 1
    n1, n0 = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)


def np_average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Sum over thresholds (distinct scores, descending) of recall step x precision."""
    total = 0.0
    for t in np.unique(s)[::-1]:
        at = s == t
        above = s >= t
        precision = y[above].sum() / above.sum()
        total += y[at].sum() / y.sum() * precision
    return total


@pytest.fixture(scope="module")
def scored(spark):
    rng = np.random.default_rng(7)
    n = 400
    y = rng.integers(0, 2, n)
    s = np.round(np.clip(0.3 * y + rng.normal(0.4, 0.25, n), 0, 1), 1)  # many ties
    g = rng.choice(["x", "y"], n)
    pdf = pd.DataFrame({"y": y.astype(float), "s": s, "g": g})
    return pdf, spark.createDataFrame(pdf)


def test_auc_ap_brier_reliability_match_numpy(scored):
    pdf, df = scored
    y, s = pdf["y"].to_numpy(), pdf["s"].to_numpy()
    assert M.auc(df, "y", "s")[()] == pytest.approx(np_auc(y, s), abs=1e-12)
    assert M.average_precision(df, "y", "s")[()] == pytest.approx(
        np_average_precision(y, s), abs=1e-12
    )
    assert M.brier(df, "y", "s")[()] == pytest.approx(np.mean((s - y) ** 2), abs=1e-12)
    for key, value in M.auc(df, "y", "s", ["g"]).items():
        part = pdf[pdf["g"] == key[0]]
        assert value == pytest.approx(np_auc(part["y"].to_numpy(), part["s"].to_numpy()), abs=1e-12)
    rel = M.reliability(df, "y", "s", 10)[()]
    bins = np.minimum(np.floor(s * 10).astype(int), 9) + 1
    expected = [
        (b, int((bins == b).sum()), s[bins == b].mean(), y[bins == b].mean())
        for b in sorted(set(bins))
    ]
    assert [r[:2] for r in rel] == [e[:2] for e in expected]
    for r, e in zip(rel, expected, strict=True):
        assert r[2] == pytest.approx(e[2]) and r[3] == pytest.approx(e[3])


def test_regression_errors_match_numpy(spark):
    t = np.array([0.0, 10.0, 250.0, -5.0, 40.0])
    p = np.array([1.0, 0.0, 100.0, 0.0, 45.0])
    df = spark.createDataFrame(pd.DataFrame({"t": t, "p": p}))
    e = M.regression_errors(df, "t", "p")
    assert e["mae"] == pytest.approx(np.mean(np.abs(p - t)))
    assert e["rmse"] == pytest.approx(np.sqrt(np.mean((p - t) ** 2)))


def test_recent_rate_clv_scales_the_last_180_days(spark):
    # 180 days of net spend scaled to the horizon, never negative, NULL (no orders) as 0;
    # expected values by hand
    df = spark.createDataFrame(
        [("a", 360.0), ("b", -40.0), ("c", None), ("d", 0.0)],
        f"{N.CUSTOMER_ID} string, revenue_180d double",
    ).withColumn(SNAPSHOT, F.lit(dt.date(2011, 9, 10)))
    got = clv_estimate("recent_rate", None, df, df, "clv", 90)
    want = spark.createDataFrame(
        [("a", dt.date(2011, 9, 10), 180.0), ("b", dt.date(2011, 9, 10), 0.0),
         ("c", dt.date(2011, 9, 10), 0.0), ("d", dt.date(2011, 9, 10), 0.0)],
        f"{N.CUSTOMER_ID} string, {SNAPSHOT} date, clv double",
    )  # fmt: skip
    assertDataFrameEqual(got, want)
    assert "recent_rate" in CLV_CANDIDATES
    with pytest.raises(ValueError, match="needs a fitted regressor"):
        clv_estimate("direct", None, df, df, "clv", 90)


def np_pav(x: np.ndarray, y: np.ndarray) -> dict[float, float]:
    """Increasing isotonic fit by pool-adjacent-violators over the distinct x values."""
    xs = np.unique(x)
    blocks = [[y[x == v].sum(), (x == v).sum(), [v]] for v in xs]
    i = 0
    while i < len(blocks) - 1:
        a, b = blocks[i], blocks[i + 1]
        if a[0] / a[1] > b[0] / b[1]:
            blocks[i] = [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
            del blocks[i + 1]
            i = max(i - 1, 0)
        else:
            i += 1
    return {v: blk[0] / blk[1] for blk in blocks for v in blk[2]}


def test_isotonic_calibration_matches_numpy_pav(spark):
    rng = np.random.default_rng(3)
    x = rng.integers(0, 20, 300).astype(float)
    y = (rng.random(300) < 0.1 + 0.04 * x).astype(float)
    df = spark.createDataFrame(pd.DataFrame({"x": x, "y": y}))
    model = fit_isotonic(df, "x", "y")
    got = {
        r["x"]: r["prediction"]
        for r in model.transform(df).select("x", "prediction").distinct().collect()
    }
    expected = np_pav(x, y)
    assert got.keys() == expected.keys()
    for v in expected:
        assert got[v] == pytest.approx(expected[v], abs=1e-12)


# ---------------------------------------------------------------- pseudonyms


def test_pseudonym_is_hmac_sha256_and_keyed(spark):
    ids = ["17850", "c-0001", "ümlaut", ""]
    df = spark.createDataFrame([(i,) for i in ids], "customer_id string")
    for key in (b"secret", b"k" * 100):  # short and longer-than-a-block keys
        got = [r[0] for r in df.select(hmac_sha256_hex(F.col("customer_id"), key)).collect()]
        assert got == [hmac.new(key, i.encode(), hashlib.sha256).hexdigest() for i in ids]
    cfg = CustomersConfig(pseudonymise=True, pseudonym_key="a")
    other = CustomersConfig(pseudonymise=True, pseudonym_key="b")
    a1 = [r[0] for r in df.select(customer_key(F.col("customer_id"), cfg)).collect()]
    a2 = [r[0] for r in df.select(customer_key(F.col("customer_id"), cfg)).collect()]
    b = [r[0] for r in df.select(customer_key(F.col("customer_id"), other)).collect()]
    assert a1 == a2 and a1 != b and not set(a1) & set(ids)
    plain = [
        r[0] for r in df.select(customer_key(F.col("customer_id"), CustomersConfig())).collect()
    ]
    assert plain == ids


def test_pseudonymise_without_key_is_an_error(monkeypatch):
    monkeypatch.delenv("LAKECART_PSEUDONYM_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="pseudonym_key"):
        customer_key(F.col("customer_id"), CustomersConfig(pseudonymise=True))


def test_config_validation():
    with pytest.raises(ConfigError, match="value_tier_quantiles"):
        load_config(overrides=["customers.value_tier_quantiles=[0.9, 0.5]"])
    with pytest.raises(ConfigError, match="clusters_k_min"):
        load_config(overrides=["customers.clusters_k_min=1"])
    with pytest.raises(ConfigError, match="selection_z"):
        load_config(overrides=["customers.selection_z=-1"])
    assert load_config().customers == CustomersConfig()


# ---------------------------------------------------------------- clusters


def test_clusters_in_threads_equal_one_after_the_other_and_a_plain_mllib_pipeline(spark):
    # three well separated groups of customers: threads change nothing, and the chosen
    # model is what a plain MLlib pipeline (assembler, scaler, k-means with the chosen k and
    # the seed) fitted on the same inputs assigns
    from pyspark.ml import Pipeline
    from pyspark.ml.clustering import KMeans
    from pyspark.ml.feature import StandardScaler, VectorAssembler

    from lakecart.customers.clusters import cluster_inputs, fit_clusters

    rng = np.random.default_rng(3)
    rows = []
    for i in range(150):
        g = i % 3
        rows.append(
            (
                f"c{i}",
                float(rng.normal([5, 60, 300][g], 2.0)),
                int(rng.poisson([1, 4, 12][g]) + 1),
                float(rng.normal([20, 200, 2000][g], 5.0)),
                float(rng.normal([20, 50, 160][g], 3.0)),
                float(rng.normal([100, 400, 700][g], 10.0)),
                int(rng.poisson([1, 5, 20][g]) + 1),
            )
        )
    df = spark.createDataFrame(
        rows,
        f"{N.CUSTOMER_ID} string, {N.RECENCY_DAYS} double, {N.FREQUENCY} int, "
        f"{N.MONETARY} double, {N.AVG_ORDER_VALUE} double, {N.TENURE_DAYS} double, "
        f"{N.DISTINCT_ITEMS} int",
    )
    one = fit_clusters(df, 2, 5, seed=7, parallelism=1)
    two = fit_clusters(df, 2, 5, seed=7, parallelism=2)
    assert one.k == two.k == 3
    assert one.silhouettes == two.silhouettes
    assert sorted(one.silhouettes) == [2, 3, 4, 5]

    inputs = cluster_inputs(df)
    x = df.select(N.CUSTOMER_ID, *[v.alias(k) for k, v in inputs.items()])
    plain = Pipeline(
        stages=[
            VectorAssembler(inputCols=list(inputs), outputCol="v"),
            StandardScaler(inputCol="v", outputCol="s", withMean=True, withStd=True),
            KMeans(featuresCol="s", predictionCol=N.CLUSTER, k=3, seed=7, maxIter=30),
        ]
    ).fit(x)
    want = plain.transform(x).select(N.CUSTOMER_ID, N.CLUSTER)
    for c in (one, two):
        got = c.model.transform(x).select(N.CUSTOMER_ID, N.CLUSTER)
        assertDataFrameEqual(got, want)
