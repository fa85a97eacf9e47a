"""The marketing stage: uplift metrics, contacts, the decision rule, promotion lift and a
small end-to-end run on silver tables written directly.

The end-to-end shop: 1,600 customers with two landed attributes (``age_band`` young/old
and a numeric ``spend``) randomly split by one campaign into offer A, offer B and a control
group. Offer A lifts the response of young customers by 0.35 and of old ones by none;
offer B lifts everyone by 0.10; the base response rate is 0.10 (0.30 for big spenders).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.marketing import uplift_metrics as UM
from lakecart.schemas import MODEL_METRICS, SILVER

NOW = dt.datetime(2024, 1, 1)


def _py(v):
    """A pandas/numpy cell as the plain Python value Spark accepts (NaN/NaT -> None)."""
    if isinstance(v, dict) or v is None:
        return v
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if isinstance(v, float | np.floating) and np.isnan(v):
        return None
    if v is pd.NaT:
        return None
    return v.item() if isinstance(v, np.generic) else v


def silver_df(spark, entity: str, pdf: pd.DataFrame):
    """A silver frame of ``entity`` from the business columns (lineage filled in)."""
    spec = SILVER[entity]
    pdf = pdf.copy()
    pdf["_source"] = "test"
    pdf["_source_file"] = f"{entity}.csv"
    pdf["_row_number"] = np.arange(1, len(pdf) + 1)
    pdf["_run_id"] = "test"
    pdf["_ingested_at"] = NOW
    for c in spec.column_names:
        if c not in pdf.columns:
            pdf[c] = None
    rows = [tuple(_py(v) for v in r) for r in pdf[spec.column_names].itertuples(index=False)]
    return spark.createDataFrame(rows, spec.schema)


# ---------------------------------------------------------------- metrics (pure)
# ten rows, best score first: (treated, responded)
ROWS = [(1, 1), (0, 0), (1, 1), (0, 1), (1, 0), (0, 0), (1, 0), (0, 1), (1, 1), (0, 0)]


def groups_of(rows):
    score = np.arange(len(rows), 0, -1, dtype=float)
    return UM.rows_to_groups(score, [t == 1 for t, _ in rows], [y for _, y in rows])


def test_uplift_metrics_by_hand():
    g = groups_of(ROWS)
    # top 30 % = rows 1-3: treated 2 of 2 responded, control 0 of 1 -> uplift 1.0
    assert UM.uplift_at(g, 0.3) == pytest.approx(1.0)
    # incremental: top 3 -> 1.0 x 3 = 3; everyone -> (3/5 - 2/5) x 10 = 2; share 1.5
    assert UM.share_captured(g, 0.3) == pytest.approx(1.5)
    assert UM.uplift_at(g, 1.0) == pytest.approx(0.2)
    assert UM.share_captured(g, 1.0) == pytest.approx(1.0)
    # Qini by hand: normalised incremental curve at k = 1..10 rows (0 while a group is empty)
    curve = [0, 1.0, 1.5, 1.0, 5 / 12, 1.0, 7 / 12, 0.0, 0.45, 1.0]
    f = np.arange(0, 11) / 10
    y = np.concatenate([[0.0], curve]) - f
    assert UM.qini_coefficient(g) == pytest.approx(float(np.sum((y[1:] + y[:-1]) / 2 * 0.1)))
    # a 15 % cut falls inside row 2 (a control non-responder): half of it is taken
    # treated 1/1, control 0/0.5 -> uplift 1.0; incremental 1.0 x 1.5 = 1.5 -> share 0.75
    assert UM.share_captured(g, 0.15) == pytest.approx(0.75)


def test_ties_are_split_evenly_and_no_effect_is_nan():
    # all rows tied: the top 30 % hold 30 % of each group -> the overall rates
    g = UM.rows_to_groups(np.zeros(10), [t == 1 for t, _ in ROWS], [y for _, y in ROWS])
    assert len(g) == 1
    assert UM.uplift_at(g, 0.3) == pytest.approx(0.2)
    assert UM.share_captured(g, 0.3) == pytest.approx(0.3)
    assert UM.qini_coefficient(g) == pytest.approx(0.0)
    flat = UM.rows_to_groups(np.arange(4.0), [True, False, True, False], [1, 1, 0, 0])
    assert np.isnan(UM.share_captured(flat, 0.3)) and np.isnan(UM.qini_coefficient(flat))


def test_selection_keeps_the_simple_model_within_its_noise():
    from lakecart.jobs.marketing import Unit, choose

    unit = Unit("a", ["a", "b"], ["a", "b", "c"], "_x")
    unit.candidates = {"two_model_logistic": ("two_model", "logistic"), "s_gbt": ("s", "gbt")}
    scores = {
        # offer a: the challenger (0.42) is inside the simple model's interval (hi 0.45);
        # offer b: it is above it (0.50 > 0.40); offer c has no validation rows
        "two_model_logistic": {
            "a": {"share_captured": 0.34, "share_captured_hi": 0.45, "qini": 0.01},
            "b": {"share_captured": 0.30, "share_captured_hi": 0.40, "qini": 0.0},
        },
        "s_gbt": {
            "a": {"share_captured": 0.42, "qini": 0.02},
            "b": {"share_captured": 0.50, "qini": 0.03},
        },
    }
    # c: best mean validation share, (0.34 + 0.30) / 2 = 0.32 against (0.42 + 0.50) / 2
    assert choose(unit, scores) == {"a": "two_model_logistic", "b": "s_gbt", "c": "s_gbt"}
    # without an interval the simple model's point value is the bar
    del scores["two_model_logistic"]["a"]["share_captured_hi"]
    assert choose(unit, scores)["a"] == "s_gbt"


def test_binned_outcomes_match_rows_and_bootstrap_is_seeded(spark):
    rng = np.random.default_rng(3)
    n = 400
    t = rng.random(n) < 0.5
    s = rng.random(n)
    y = (rng.random(n) < 0.1 + 0.3 * s * t).astype(float)
    pdf = pd.DataFrame(
        {
            "offer": "A",
            "campaign_id": "c",
            "customer_id": [f"u{i}" for i in range(n)],
            "s": s,
            "t": t.astype(float),
            "y": y,
        }
    )
    df = spark.createDataFrame(pdf)
    kw = dict(
        key="offer",
        score="s",
        treated="t",
        outcomes=["y"],
        row_keys=["customer_id"],
        bins=n,
        replicates=20,
        seed=1,
    )
    bins = UM.binned_outcomes(df, **kw)
    point = UM.metrics_with_intervals(bins, 0.3, "y", 0.9)["A"]
    exact = UM.uplift_metrics(UM.rows_to_groups(s, t, y), 0.3)
    # with one bin per distinct score the binned metrics are the row-level ones
    assert point["share_captured"] == pytest.approx(exact["share_captured"], abs=0.02)
    assert point["share_captured_lo"] < point["share_captured"] < point["share_captured_hi"]
    again = UM.binned_outcomes(df, **kw)
    pd.testing.assert_frame_equal(bins, again)


# ---------------------------------------------------------------- contacts and decisions
def test_control_rows_are_never_treated(spark):
    from lakecart.marketing.contacts import campaign_contacts, offer_rows

    ts = dt.datetime(2024, 3, 1, 9)
    camp = pd.DataFrame(
        {
            N.CAMPAIGN_ID: ["c1"] * 6 + ["c2"] * 3 + ["c3"] * 2,
            N.CUSTOMER_ID: ["a", "b", "c", "d", "e", "f", "a", "g", "h", "i", "j"],
            N.SENT_TS: [ts] * 11,
            N.OFFER: ["A", "B", "control", "", None, "A", "B", " Control ", "B", "A", "A"],
            N.RESPONDED: [True, False, True, False, True, False, True, True, False, True, True],
            N.RESPONSE_TS: [
                ts,
                None,
                ts,
                None,
                ts + dt.timedelta(days=40),
                None,
                ts,
                ts,
                None,
                ts,
                ts,
            ],
            N.REVENUE: [10.0, None, 5.0, None, 7.0, None, 3.0, 2.0, None, 1.0, 1.0],
        }
    )
    rows = offer_rows(campaign_contacts(silver_df(spark, N.CAMPAIGNS, camp), dt.date(2024, 4, 1)))
    got = rows.select(N.OFFER, N.CAMPAIGN_ID, N.CUSTOMER_ID, "_t", "_y", "_p")
    # c3 has no control group: not randomised. c1's control (c, d, e) is repeated for A and B
    exp = [
        ("A", "c1", "a", 1.0, 1.0, 0.4), ("A", "c1", "f", 1.0, 0.0, 0.4),
        ("A", "c1", "c", 0.0, 1.0, 0.4), ("A", "c1", "d", 0.0, 0.0, 0.4), ("A", "c1", "e", 0.0, 1.0, 0.4),
        ("B", "c1", "b", 1.0, 0.0, 0.25), ("B", "c1", "c", 0.0, 1.0, 0.25),
        ("B", "c1", "d", 0.0, 0.0, 0.25), ("B", "c1", "e", 0.0, 1.0, 0.25),
        ("B", "c2", "a", 1.0, 1.0, 2 / 3), ("B", "c2", "h", 1.0, 0.0, 2 / 3), ("B", "c2", "g", 0.0, 1.0, 2 / 3),
    ]  # fmt: skip
    assertDataFrameEqual(got, spark.createDataFrame(exp, got.schema))
    controls = {"c", "d", "e", "g"}
    assert rows.filter(F.col("_t") == 1.0).filter(F.col(N.CUSTOMER_ID).isin(controls)).count() == 0


def test_profit_rule_and_budget_cut(spark):
    from lakecart.marketing.targeting import decide

    # customer, offer, uplift, p_response, value per response, cost
    rows = [
        ("u1", "A", 0.10, 0.5, 100.0, 1.0),  # profit 0.3 x 10 - 1 = 2.0
        ("u1", "B", 0.20, 0.5, 100.0, 1.0),  # 5.0  <- u1's best
        ("u2", "A", 0.05, 0.2, 100.0, 1.0),  # 0.5  <- u2's best
        ("u2", "B", 0.01, 0.2, 100.0, 1.0),  # -0.7
        ("u3", "A", 0.02, 0.1, 100.0, 1.0),  # -0.4 <- best, but not profitable
        ("u3", "B", -0.1, 0.1, 100.0, 1.0),  # -4.0
        ("u4", "A", 0.08, 0.3, 100.0, 1.0),  # 1.4  <- u4's best
        ("u4", "B", 0.00, 0.3, 100.0, 1.0),  # -1.0
    ]
    df = spark.createDataFrame(
        rows,
        "customer_id string, offer string, uplift double, p_response double, _value double, cost double",
    )

    def sends(budget):
        out = decide(df, 0.3, budget).filter("send").select("customer_id", "offer")
        return sorted(tuple(r) for r in out.collect())

    assert sends(None) == [("u1", "B"), ("u2", "A"), ("u4", "A")]
    assert sends(2) == [("u1", "B"), ("u4", "A")]  # the two most profitable
    assert sends(0) == []
    full = decide(df, 0.3, None)
    got = full.select("customer_id", "offer", "expected_profit", "rank")
    exp = [
        ("u1", "A", 2.0, 1), ("u1", "B", 5.0, 1), ("u2", "A", 0.5, 3), ("u2", "B", -0.7, 2),
        ("u3", "A", -0.4, 4), ("u3", "B", -4.0, 4), ("u4", "A", 1.4, 2), ("u4", "B", -1.0, 3),
    ]  # fmt: skip
    assertDataFrameEqual(got, spark.createDataFrame(exp, got.schema), rtol=1e-9)


def test_promotion_lift_against_own_level(spark):
    from lakecart.marketing.promotions import promotion_effects

    monday = dt.date(2024, 1, 1)
    weeks = [monday + dt.timedelta(weeks=i) for i in range(6)]
    promo = [False, False, True, False, False, True]
    units = {"i1": [10, 10, 30, 10, 10, 20], "i2": [2, 4, 6, 2, 2, 2], "i3": [5, 5, 5, 5, 5, 5]}
    rows = [
        (i, N.WEEK, w, float(u[k]), 7, promo[k])
        for i, u in units.items()
        for k, w in enumerate(weeks)
    ]
    demand = spark.createDataFrame(
        rows,
        "item_id string, grain string, period_start date, units double, days_observed int, promo_active boolean",
    )
    products = spark.createDataFrame(
        [("i1", "Toys"), ("i2", "Toys"), ("i3", "")], "item_id string, category string"
    )
    got = promotion_effects(demand, products, window_weeks=2)
    # i1: week 3 base mean(10, 10, 10, 10) = 10 -> 30; week 6 base mean(10, 10) = 10 -> 20
    # i2: week 3 base mean(2, 4, 2, 2) = 2.5 -> 6; week 6 base 2 -> 2
    exp = [
        ("Toys", 2, 2, 4, 10 + 10 + 2.5 + 2, 30 + 20 + 6 + 2.0, 58 - 24.5, 58 / 24.5),
        ("unknown", 1, 2, 2, 10.0, 10.0, 0.0, 1.0),
    ]
    assertDataFrameEqual(got, spark.createDataFrame(exp, got.schema), rtol=1e-9)


# ---------------------------------------------------------------- end to end
def campaign_shop(n: int = 1600, seed: int = 5):
    rng = np.random.default_rng(seed)
    ids = [f"k{i:05d}" for i in range(n)]
    young = rng.random(n) < 0.5
    spend = np.round(rng.gamma(2.0, 50.0, n), 2)
    arm = rng.choice(["A", "B", "control"], n, p=[0.4, 0.3, 0.3])
    base = np.where(spend > 150, 0.30, 0.10)
    lift = np.where(arm == "A", np.where(young, 0.35, 0.0), np.where(arm == "B", 0.10, 0.0))
    resp = rng.random(n) < base + lift
    customers = pd.DataFrame(
        {
            N.CUSTOMER_ID: ids,
            N.ATTRIBUTES: [
                {"age_band": "young" if y else "old", "spend": f"{s}"}
                for y, s in zip(young, spend, strict=True)
            ],
        }
    )
    sent = dt.datetime(2024, 3, 1, 9)
    campaigns = pd.DataFrame(
        {
            N.CAMPAIGN_ID: "spring",
            N.CUSTOMER_ID: ids,
            N.SENT_TS: sent,
            N.CHANNEL: "email",
            N.OFFER: np.where(arm == "control", "control", arm),
            N.COST: np.where(arm == "A", 0.5, np.where(arm == "B", 0.1, np.nan)),
            N.RESPONDED: resp,
            N.RESPONSE_TS: [sent + dt.timedelta(days=2) if r else None for r in resp],
            N.REVENUE: np.where(resp, 40.0, 0.0),
        }
    )
    truth = {"A": np.where(young, 0.35, 0.0), "B": np.full(n, 0.10)}
    return customers, campaigns, truth


@pytest.fixture(scope="module")
def shop(spark, base_config, tmp_path_factory):
    import dataclasses

    from lakecart.jobs import marketing
    from lakecart.runlog import tracked_run
    from lakecart.tables import Lakehouse

    root = tmp_path_factory.mktemp("mkt") / "lake"
    cfg = dataclasses.replace(
        base_config,
        lakehouse=dataclasses.replace(base_config.lakehouse, root=str(root)),
        marketing=dataclasses.replace(
            base_config.marketing,
            min_offer_contacts=300,  # A gets its own models, B shares the pooled one
            max_dedicated_offers=1,
            learners=["logistic"],
            meta_learners=["two_model", "transformed_outcome"],
            bootstrap=10,
            bins=20,
            lr_max_iter=20,
        ),
    )
    lh = Lakehouse(spark, cfg.lakehouse)
    customers, campaigns, truth = campaign_shop()
    lh.append(silver_df(spark, N.CUSTOMERS, customers), SILVER[N.CUSTOMERS])
    lh.append(silver_df(spark, N.CAMPAIGNS, campaigns), SILVER[N.CAMPAIGNS])
    with tracked_run(lh, "marketing", {}) as ctx:
        result = marketing.run(spark, cfg, lh, ctx, None)
    return cfg, lh, result, ctx.run_id, customers, truth


def test_job_publishes_targets_and_metrics(shop):
    from lakecart.marketing.specs import CAMPAIGN_TARGETS, PROMOTION_EFFECTS

    cfg, lh, result, run_id, customers, truth = shop
    assert result["as_of"] == "2024-03-02"  # the day after the latest send
    assert "skipped_promotions" in result and not lh.exists(PROMOTION_EFFECTS)
    t = lh.read(CAMPAIGN_TARGETS).toPandas()
    assert len(t) == 2 * len(customers)  # every customer x offer A, B
    assert set(t[N.OFFER]) == {"A", "B"}
    # costs: the offers' mean campaign cost
    assert t.groupby(N.OFFER)[N.COST].first().to_dict() == pytest.approx({"A": 0.5, "B": 0.1})
    # uplift of A is high for the young and low for the old (the truth is 0.35 / 0)
    a = t[t[N.OFFER] == "A"].merge(customers, on=N.CUSTOMER_ID)
    young = a[N.ATTRIBUTES].map(lambda m: m["age_band"] == "young")
    assert a.loc[young, N.UPLIFT].mean() > a.loc[~young, N.UPLIFT].mean() + 0.15
    # one send at most per customer, only with a positive profit, and ranks are 1..n
    assert t.groupby(N.CUSTOMER_ID)[N.SEND].sum().max() == 1
    assert (t.loc[t[N.SEND], N.EXPECTED_PROFIT] > 0).all()
    assert sorted(t.loc[t[N.OFFER] == "B", N.RANK]) == list(range(1, len(customers) + 1))
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == run_id).toPandas()
    chosen = m[(m[N.MODEL] == N.M_UPLIFT) & (m[N.DATASET].str.endswith("offer=A"))]
    share = chosen[(chosen[N.METRIC] == N.MT_SHARE_CAPTURED) & (chosen[N.BASELINE] == N.B_RANDOM)]
    assert share[N.BASELINE_VALUE].iloc[0] == pytest.approx(0.3)
    for metric in (N.MT_SHARE_CAPTURED, N.MT_UPLIFT_AT, N.MT_QINI):
        assert {f"{metric}_lo", f"{metric}_hi"} <= set(chosen[N.METRIC])
    beside_response = chosen[chosen[N.BASELINE] == N.B_RESPONSE_MODEL]
    assert set(beside_response[N.METRIC]) >= {N.MT_SHARE_CAPTURED, N.MT_UPLIFT_AT, N.MT_QINI}
    # every candidate is reported for both offers, and exactly one is chosen per offer
    cands = m[m[N.METRIC] == N.MT_CHOSEN]
    assert set(cands[N.MODEL]) == {
        "two_model_logistic",
        "transformed_outcome_logistic",
        "two_model_logistic_pooled",
        "transformed_outcome_logistic_pooled",
    }
    assert cands.groupby(N.DATASET)[N.VALUE].sum().tolist() == [1.0, 1.0]


def test_job_skips_without_campaigns(spark, lake):
    from lakecart.jobs import marketing
    from lakecart.runlog import tracked_run

    cfg, lh = lake
    lh.append(
        silver_df(spark, N.CUSTOMERS, pd.DataFrame({N.CUSTOMER_ID: ["a"]})), SILVER[N.CUSTOMERS]
    )
    with tracked_run(lh, "marketing", {}) as ctx:
        result = marketing.run(spark, cfg, lh, ctx, None)
    assert "skipped" in result
