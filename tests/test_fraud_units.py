"""Fraud building blocks on hand-made frames: point-in-time window features (a payment
never sees a later one; same-second payments see each other), IP parsing and the range
join, label-propagation components, metrics against scikit-learn, the decision budget
and the reasons."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.fraud import transaction_features as X
from lakecart.fraud.anomaly import RISK_DIRECTIONS, rank_normalised, z_name
from lakecart.fraud.decisions import duration_text, with_decisions, with_reasons
from lakecart.fraud.evaluation import classification_metrics
from lakecart.fraud.linked_accounts import components, ring_sizes

T0 = dt.datetime(2024, 3, 1, 12, 0, 0)
TX_SCHEMA = (
    "transaction_id string, customer_id string, txn_ts timestamp, amount double, "
    "signup_ts timestamp, device_id string, ip_address string, source string, browser string, "
    "label int"
)


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def hand_rows() -> list[tuple]:
    """Eight payments. d1 is shared by c1, c2 and c3; t3 and t4 are in the same second."""
    return [
        # id, customer, time, amount, signup, device, ip, source, browser, label
        ("t1", "c1", at(0), 10.0, at(-12), "d1", "1.0.0.1", "Ads", "Chrome", 0),
        ("t2", "c1", at(600), 30.0, at(-12), "d1", "1.0.0.1", "Ads", "Chrome", 0),
        ("t3", "c2", at(1800), 50.0, at(-7200), "d1", "16777217", "SEO", "IE", 1),
        ("t4", "c3", at(1800), 70.0, None, "d1", "2.0.0.9", "SEO", "IE", None),
        ("t5", "c1", at(3 * 3600), 100.0, at(-12), "d2", "1.0.0.1", "Ads", "Chrome", 0),
        ("t6", None, at(3 * 3600 + 5), 5.0, None, "d2", None, "Direct", None, None),
        ("t7", "c2", at(2 * 86400), 40.0, at(-7200), "d1", "garbage", "SEO", "IE", 0),
        ("t8", "c4", at(9 * 86400), 20.0, at(9 * 86400 - 30), " ", "1.0.0.1", "Ads", "Chrome", 1),
    ]


@pytest.fixture(scope="module")
def feats(spark):
    df = spark.createDataFrame(hand_rows(), TX_SCHEMA)
    return X.transaction_features(X.prepared(df), shop_history_days=30).localCheckpoint()


def test_window_features_by_hand(spark, feats):
    cols = [
        N.TRANSACTION_ID,
        X.velocity("customer", "1h"),
        X.velocity("device", "1h"),
        X.velocity("device", "24h"),
        X.velocity("ip", "24h"),
        X.DEVICE_ACCOUNTS,
        X.DEVICE_ACCOUNTS_24H,
        X.IP_ACCOUNTS,
        X.DEVICE_PREV_GAP,
        X.CUSTOMER_PRIOR_TXNS,
        X.AMOUNT_VS_CUSTOMER,
        X.SIGNUP_GAP,
    ]
    # by hand. d1: t1 (c1) 0 s, t2 (c1) 600 s, t3 (c2) and t4 (c3) 1800 s, t7 (c2) 2 days.
    # ip 1.0.0.1 = 16777217 (t3 writes it as a number): t1, t2, t3, t5, t8.
    expected = [
        ("t1", 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, None, 0.0, None, 12.0),
        ("t2", 2.0, 2.0, 2.0, 2.0, 1.0, 1.0, 1.0, 600.0, 1.0, 3.0, 612.0),
        # t3 and t4 share a second: each sees the other (ties are "at" the payment's time)
        ("t3", 1.0, 4.0, 4.0, 3.0, 3.0, 3.0, 2.0, 0.0, 0.0, None, 9000.0),
        ("t4", 1.0, 4.0, 4.0, 1.0, 3.0, 3.0, 1.0, 0.0, 0.0, None, None),
        ("t5", 1.0, 1.0, 1.0, 4.0, 1.0, 1.0, 2.0, None, 2.0, 5.0, 10812.0),
        ("t6", 1.0, 2.0, 2.0, None, 2.0, 2.0, None, 5.0, 0.0, None, None),
        # 2 days later: the 24 h window has only t7; accounts so far stay 3
        # (its previous d1 payments are t3 / t4: 2 x 86400 - 1800 = 171000 s earlier)
        ("t7", 1.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 171_000.0, 1.0, 0.8, 180000.0),
        ("t8", 1.0, None, None, 1.0, None, None, 3.0, None, 0.0, None, 30.0),
    ]
    want = spark.createDataFrame(
        expected, ", ".join(f"`{c}` {'string' if i == 0 else 'double'}" for i, c in enumerate(cols))
    )
    assertDataFrameEqual(feats.select(*cols), want, checkRowOrder=False)


def test_a_payment_never_sees_a_later_one(spark, feats):
    """Features of the payments before a cut-off are the same with or without the later
    payments in the input."""
    cut = at(3 * 3600)
    rows = [r for r in hand_rows() if r[2] < cut]
    alone = X.transaction_features(
        X.prepared(spark.createDataFrame(rows, TX_SCHEMA)), shop_history_days=30
    )
    cols = [N.TRANSACTION_ID, *X.BASE_FEATURES]
    assert {r[0] for r in rows} == {"t1", "t2", "t3", "t4"}
    assertDataFrameEqual(
        feats.filter(F.col(N.TXN_TS) < cut).select(*cols), alone.select(*cols), checkRowOrder=False
    )


def test_ip_number_parsing(spark):
    raw = ["1.2.3.4", " 732758368.8 ", "4294967295", "4294967296", "1.2.3.256", "abc", "", None]
    df = spark.createDataFrame([(r,) for r in raw], "ip string")
    got = [r[0] for r in df.select(X.ip_number(F.col("ip"))).collect()]
    assert got == [16909060, 732758368, 4294967295, None, None, None, None, None]


def test_country_range_join_by_hand(spark):
    ranges = spark.createDataFrame(
        [
            (0, 255, "A"),
            (256, 511, "B"),
            (100_000, 200_000, "C"),  # spans buckets 1, 2 and 3 (2^16 addresses each)
            (150_000, 150_010, "D"),  # inside C: the narrower range wins
            (300_000, 299_000, "bad"),  # upper < lower: ignored
        ],
        "lower long, upper long, country string",
    )
    ips = spark.createDataFrame(
        [(5,), (300,), (150_005,), (131_072,), (199_999,), (250_000,), (299_500,), (None,), (5,)],
        "_ip long",
    )
    out = X.ip_countries(ips, ranges)
    plan = out._jdf.queryExecution().executedPlan().toString()  # noqa: SLF001
    assert "CartesianProduct" not in plan and "NestedLoopJoin" not in plan
    want = spark.createDataFrame(
        [(5, "A"), (300, "B"), (150_005, "D"), (131_072, "C"), (199_999, "C")],
        "_ip long, country string",
    )
    assertDataFrameEqual(out, want, checkRowOrder=False)


def test_components_by_hand(spark):
    links = spark.createDataFrame(
        [
            ("a1", "d:1"),
            ("a2", "d:1"),
            ("a2", "i:1"),
            ("a3", "i:1"),
            ("a3", "d:3"),
            ("a4", "d:3"),  # chain a1 - a2 - a3 - a4
            ("b1", "d:2"),
            ("b2", "d:2"),
        ],
        "_account string, _key string",
    )
    comps = components(links, max_iterations=10)
    assert comps.converged and comps.rounds <= 4
    want = spark.createDataFrame(
        [("a1", 4.0), ("a2", 4.0), ("a3", 4.0), ("a4", 4.0), ("b1", 2.0), ("b2", 2.0)],
        "_account string, ring_size double",
    )
    assertDataFrameEqual(ring_sizes(comps.labels), want, checkRowOrder=False)
    labels = {r[0]: r[1] for r in comps.labels.collect()}
    assert labels["a4"] == "a1" and labels["b2"] == "b1"
    short = components(links, max_iterations=1)
    assert not short.converged and short.rounds == 1


def test_metrics_match_sklearn(spark):
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(3)
    y = (rng.random(400) < 0.1).astype(int)
    s = np.round(rng.random(400) + 0.5 * y, 1)  # rounded: many ties
    rule = (s > 1.0).astype(float)
    df = spark.createDataFrame(
        [(int(a), float(b), float(c)) for a, b, c in zip(y, s, rule, strict=True)],
        "y int, s double, rule double",
    )
    got = classification_metrics(df, "y", ["s", "rule"], budgets=(5,))
    assert got["s"][("auc", None)] == pytest.approx(roc_auc_score(y, s))
    assert got["s"][("pr_auc", None)] == pytest.approx(average_precision_score(y, s))
    assert got["rule"][("pr_auc", None)] == pytest.approx(average_precision_score(y, rule))
    # precision at 5 % of 400 = 20 rows, by hand: the best tie groups of s, the last one
    # taken in proportion
    order = sorted(set(s), reverse=True)
    taken, tp = 0.0, 0.0
    for v in order:
        grp = s == v
        n, pos = grp.sum(), y[grp].sum()
        take = min(n, 20 - taken)
        tp += pos * take / n
        taken += take
        if taken >= 20:
            break
    assert got["s"][("precision", 5)] == pytest.approx(tp / 20)
    assert got["s"][("recall", 5)] == pytest.approx(tp / y.sum())


def test_duration_text(spark):
    df = spark.createDataFrame([(12.7,), (300.0,), (7300.0,), (200_000.0,)], "s double")
    got = [r[0] for r in df.select(duration_text(F.col("s"))).collect()]
    assert got == ["12 s", "5 min", "2 h", "2 days"]


def test_decision_budget(spark):
    n = 200
    rows = [(f"x{i:03d}", float(i), min(1.0, i / 150.0)) for i in range(n)]
    df = spark.createDataFrame(rows, "transaction_id string, risk double, p double")
    out = with_decisions(df, "risk", "p", 0.05, 0.01, 0.5, seed=1)
    got = {r[0]: r[1] for r in out.select(N.TRANSACTION_ID, N.DECISION).collect()}
    # the top 1 % (2 rows) are blocked, the next 5 % (10 rows) reviewed
    assert [k for k, v in sorted(got.items()) if v == "block"] == ["x198", "x199"]
    assert [k for k, v in sorted(got.items()) if v == "review"] == [
        f"x{i}" for i in range(188, 198)
    ]
    # probabilities below block_min_probability: nothing blocked, the review budget holds
    low = df.withColumn("p", F.lit(0.2))
    out = with_decisions(low, "risk", "p", 0.05, 0.01, 0.5, 1)
    got = {r[0]: r[1] for r in out.select(N.TRANSACTION_ID, N.DECISION).collect()}
    assert "block" not in got.values()
    assert sorted(k for k, v in got.items() if v == "review") == [f"x{i}" for i in range(190, 200)]
    # all risks tied: the hash breaks ties, the budget still holds
    tied = df.withColumn("risk", F.lit(0.0)).withColumn("p", F.lit(None).cast("double"))
    dec = [r[N.DECISION] for r in with_decisions(tied, "risk", "p", 0.05, 0.01, 0.5, 1).collect()]
    assert dec.count("review") == 10 and dec.count("block") == 0


def test_reasons_strongest_first(spark):
    cols = {
        X.SIGNUP_GAP: [12.0, 5000.0, None],
        X.DEVICE_ACCOUNTS_24H: [7.0, 1.0, None],
        X.DEVICE_ACCOUNTS: [7.0, 1.0, None],
        X.IP_ACCOUNTS_24H: [1.0, 1.0, None],
        X.IP_ACCOUNTS: [1.0, 3.0, None],
        X.velocity("customer", "1h"): [1.0, 4.0, 1.0],
        X.velocity("customer", "24h"): [1.0, 4.0, 1.0],
        X.velocity("device", "1h"): [5.0, 1.0, None],
        X.velocity("device", "24h"): [1.0, 1.0, None],
        X.velocity("ip", "1h"): [1.0, 1.0, None],
        X.velocity("ip", "24h"): [1.0, 1.0, None],
        X.AMOUNT_VS_CUSTOMER: [None, 4.0, None],
        X.AMOUNT_Z_SHOP: [0.0, 0.0, 0.0],
        "ring_size": [4.0, 1.0, 1.0],
    }
    z = {c: [0.0, 0.0, 0.0] for c in RISK_DIRECTIONS}
    z.update(
        {
            X.LOG_SIGNUP_GAP: [9.0, 6.0, 0.0],
            X.DEVICE_ACCOUNTS_24H: [5.0, 0.0, 0.0],
            X.DEVICE_ACCOUNTS: [5.0, 0.0, 0.0],
            X.IP_ACCOUNTS: [0.0, 2.0, 0.0],
            X.velocity("customer", "1h"): [0.0, 3.0, 0.0],
            X.velocity("device", "1h"): [3.0, 0.0, 0.0],
            X.AMOUNT_VS_CUSTOMER: [0.0, 1.5, 0.0],
        }
    )
    names = list(cols) + [z_name(c) for c in z]
    data = [tuple([f"r{i}"] + [cols[c][i] for c in cols] + [z[c][i] for c in z]) for i in range(3)]
    schema = "transaction_id string, " + ", ".join(f"`{c}` double" for c in names)
    out = with_reasons(spark.createDataFrame(data, schema), 3600, max_reasons=3)
    got = {r[0]: r[1] for r in out.select(N.TRANSACTION_ID, N.FRAUD_REASONS).collect()}
    assert got["r0"] == [
        "paid 12 s after signup",  # under the rule's hour: strength 12.5
        "device used by 7 accounts in 24 h",  # 2 + 5
        # "5 payments from this device in 1 h" (1 + 3) is the device's second reason: left out
        "linked to 3 other accounts by shared devices or IP addresses",  # 2 x log2(4) = 4
    ]
    assert got["r1"] == [
        "paid 1 h after signup",  # z 6
        "4 payments from this customer in 1 h",  # 1 + 3
        "IP address used by 3 accounts so far",  # 1 + 2
    ]
    assert got["r2"] == []


def test_rank_normalised(spark):
    df = spark.createDataFrame([(float(v),) for v in [0, 0, 0, 0, 1, 2, 3, 4]], "x double")
    got = sorted(r[0] for r in rank_normalised(df, "x", "r", probes=8).select("r").collect())
    # ties share a value; the top probe's share (3 and 4 here) maps to 1
    assert got[0] == got[3] < got[4] < got[5] < got[6] == got[7] == 1.0
    assert all(0.0 <= v <= 1.0 for v in got)
