"""What the customers job publishes for each score: the selection rule on constructed
validation figures, the calibrated recency rule and the base rate on a hand-made frame
(probabilities and Brier scores computed by hand), and the constant a no-skill choice
publishes."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.customers import metrics as M
from lakecart.customers.choice import classifier_choice, rule_probability
from lakecart.customers.scores import published_probability
from lakecart.customers.snapshots import SNAPSHOT, bought_col
from lakecart.selection import PUBLISHED

# ---------------------------------------------------------------- the rule on given figures


def test_model_that_loses_to_recency_publishes_the_recency_rule():
    # 2,000 churners / 2,000 stayers: Hanley-McNeil SE of 0.545 is 0.00909 (by hand:
    # q1 = 0.37457, q2 = 0.38450, var = (0.24798 + 1999 x 0.07755 + 1999 x 0.08748) / 4e6),
    # 0.545 - 1.96 x 0.00909 = 0.527 > 0.5: the rule has skill, the model (0.46) loses
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.46, 0.545, 2000, 2000)
    assert c.published == N.B_RECENCY_CALIBRATED
    assert not c.model_won
    assert (c.model_value, c.baseline_value) == (0.46, 0.545)
    assert "did not beat" in c.reason() and N.B_RECENCY_CALIBRATED in c.reason()


def test_nothing_with_skill_publishes_the_base_rate():
    # the marketplace shop: 60 buyers among 6,000 customers in 30 days. SE of 0.545 by hand:
    # var = (0.24798 + 59 x 0.07755 + 5939 x 0.08748) / (60 x 5940) = 0.001471, SE 0.0384;
    # 0.545 - 1.96 x 0.0384 = 0.470 < 0.5: no skill; the model (0.46) is below a coin
    c = classifier_choice(N.TARGET_PROPENSITY, N.M_PROPENSITY, 0.46, 0.545, 60, 5940)
    assert c.published == N.B_BASE_RATE
    assert c.baseline_value == 0.5  # the AUC of a constant
    assert "no skill" in c.reason()
    # a model a little above the coin but within its noise loses to the constant too
    c = classifier_choice(N.TARGET_PROPENSITY, N.M_PROPENSITY, 0.55, 0.52, 60, 5940)
    assert c.published == N.B_BASE_RATE
    # no validation positive: no AUC, no skill
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, None, None, 0, 500)
    assert c.published == N.B_BASE_RATE


def test_model_that_beats_recency_with_skill_is_published():
    # Online Retail's churn figures (model 0.7405, recency 0.683)
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.7405, 0.683, 1500, 1900)
    assert c.published == N.M_CHURN and c.model_won
    assert c.baseline == N.B_RECENCY_CALIBRATED
    # when the recency rule has no skill the model only has to beat the constant, with skill
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.70, 0.505, 300, 300)
    assert c.published == N.M_CHURN and c.baseline == N.B_BASE_RATE
    assert "has no skill" in c.note
    # a tie goes to the rule
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.683, 0.683, 1500, 1900)
    assert c.published == N.B_RECENCY_CALIBRATED


def test_decision_row_names_what_was_published():
    c = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.46, 0.545, 2000, 2000)
    rows = c.metrics("v1", "shop", dt.date(2024, 1, 1), N.SPLIT_VALIDATION)
    (row,) = [r for r in rows if r.metric == PUBLISHED]
    assert (row.metric, row.model, row.value) == (PUBLISHED, N.B_RECENCY_CALIBRATED, 0.0)
    assert "target=churn" in row.dataset


# ---------------------------------------------------------------- the baselines on a tiny frame

TRAIN = [  # (customer, recency_days, churned): churn rate per recency 1: 1/2, 5: 0/2, 10: 1/2, 30: 2/2
    ("t1", 1, 1.0), ("t2", 1, 0.0), ("t3", 5, 0.0), ("t4", 5, 0.0),
    ("t5", 10, 1.0), ("t6", 10, 0.0), ("t7", 30, 1.0), ("t8", 30, 1.0),
]  # fmt: skip
VALID = [  # (customer, recency_days, churned)
    ("a", 1, 0.0), ("b", 5, 1.0), ("c", 10, 0.0), ("d", 30, 1.0), ("e", 20, 1.0),
]  # fmt: skip
S = dt.date(2024, 1, 1)
KEYS = [N.CUSTOMER_ID, SNAPSHOT]


@pytest.fixture(scope="module")
def frames(spark):
    schema = f"{N.CUSTOMER_ID} string, {N.RECENCY_DAYS} int, churned double"
    train = spark.createDataFrame(TRAIN, schema).withColumn(SNAPSHOT, F.lit(S))
    valid = spark.createDataFrame(VALID, schema).withColumn(SNAPSHOT, F.lit(S))
    return train, valid


def test_calibrated_recency_rule_and_base_rate_by_hand(spark, frames):
    train, valid = frames
    # increasing isotonic fit by hand: 1 -> 0.5 and 5 -> 0 violate the order and pool to
    # 1/4; then 10 -> 0.5, 30 -> 1; 20 lies between 10 and 30: 0.5 + 10/20 x 0.5 = 0.75
    rule, model = rule_probability(N.B_RECENCY_CALIBRATED, train, "churned", True, valid, "p", KEYS)
    assert model is not None
    want = spark.createDataFrame(
        [("a", S, 0.25), ("b", S, 0.25), ("c", S, 0.5), ("d", S, 1.0), ("e", S, 0.75)],
        f"{N.CUSTOMER_ID} string, {SNAPSHOT} date, p double",
    )
    assertDataFrameEqual(rule, want)
    # Brier by hand: (0.25^2 + 0.75^2 + 0.5^2 + 0 + 0.25^2) / 5 = 0.9375 / 5
    scored = rule.join(valid, KEYS)
    assert M.brier(scored, "churned", "p")[()] == pytest.approx(0.1875)
    # base rate: 4 churners of 8 training rows; Brier 0.5^2 for every row
    base, none = rule_probability(N.B_BASE_RATE, train, "churned", True, valid, "p", KEYS)
    assert none is None
    assert [r["p"] for r in base.collect()] == [0.5] * 5
    assert M.brier(base.join(valid, KEYS), "churned", "p")[()] == pytest.approx(0.25)
    # a purchase falls with recency: the decreasing fit is one minus the churn fit
    buy = train.withColumn("bought", F.lit(1.0) - F.col("churned"))
    p_buy, _ = rule_probability(N.B_RECENCY_CALIBRATED, buy, "bought", False, valid, "p", KEYS)
    got = {r[N.CUSTOMER_ID]: r["p"] for r in p_buy.collect()}
    assert got == pytest.approx({"a": 0.75, "b": 0.75, "c": 0.5, "d": 0.0, "e": 0.25})
    with pytest.raises(ValueError, match="not a probability baseline"):
        rule_probability("churn_gbt", train, "churned", True, valid, "p", KEYS)


def test_no_skill_publishes_the_constant_base_rate(spark, frames):
    train, valid = frames
    # training rows as the job has them: bought within 90 days = 1 - churned (4 of 8)
    train = train.withColumn(bought_col(90), F.lit(1.0) - F.col("churned"))
    choice = classifier_choice(N.TARGET_CHURN, N.M_CHURN, 0.46, 0.545, 60, 5940)
    assert choice.published == N.B_BASE_RATE
    got, rule = published_probability(
        choice, None, train, 90, True, valid.drop("churned"), N.CHURN_PROBABILITY
    )
    assert rule is None
    want = spark.createDataFrame(
        [(c, S, 0.5) for c in "abcde"],
        f"{N.CUSTOMER_ID} string, {SNAPSHOT} date, {N.CHURN_PROBABILITY} double",
    )
    assertDataFrameEqual(got, want)
