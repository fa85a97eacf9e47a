"""The one publishing rule (lakecart.selection) and the run summary's account of it."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from lakecart import names as N
from lakecart.gold import Metric
from lakecart.schemas import MODEL_METRICS
from lakecart.selection import PUBLISHED, auc_has_skill, auc_standard_error, choose


def test_model_published_only_when_it_beats_the_best_baseline():
    # higher is better: best model 0.30 (als) beats best baseline 0.25 (popular_country)
    c = choose(
        "recs", "ndcg", {"als": 0.30, "hybrid": 0.28}, {"popular": 0.20, "popular_country": 0.25}
    )
    assert (c.published, c.model, c.baseline, c.model_won) == (
        "als",
        "als",
        "popular_country",
        True,
    )
    assert "published model als" in c.reason() and "0.3000 vs 0.2500" in c.reason()
    # the model loses: the best baseline is published
    c = choose(
        "recs", "ndcg", {"als": 0.0, "hybrid": 0.01}, {"popular": 0.05, "popular_country": 0.04}
    )
    assert (c.published, c.model, c.model_won) == ("popular", "hybrid", False)
    assert "published baseline popular, model hybrid did not beat it" in c.reason()
    # a tie goes to the baseline; so does a NaN model; lower-is-better metrics
    assert choose("t", "auc", {"gbt": 0.6}, {"recency": 0.6}).published == "recency"
    assert choose("t", "auc", {"gbt": math.nan}, {"recency": 0.55}).published == "recency"
    w = choose("f", "wape", {"gbt": 0.90}, {"zero": 1.0, "tsb": 0.95}, higher_is_better=False)
    assert (w.published, w.baseline) == ("gbt", "tsb")
    w = choose("f", "wape", {"gbt": 3.9}, {"zero": 1.0, "tsb": 4.1}, higher_is_better=False)
    assert w.published == "zero"
    # a required margin, and a model without skill
    assert choose("t", "auc", {"gbt": 0.61}, {"r": 0.60}, min_gain=0.02).published == "r"
    nos = choose("t", "auc", {"gbt": 0.58}, {"r": 0.50}, skill=False)
    assert nos.published == "r" and "no skill" in nos.reason()
    # a caller that keeps a model for its own reason (a note) is not said to have "beaten"
    # the better baseline: the reason gives the note, whichever side is published
    import dataclasses

    w = choose("f", "wape", {"combination": 0.97}, {"median": 0.95}, higher_is_better=False)
    kept = dataclasses.replace(w, published="combination", note="within 5 % of the overall choice")
    assert kept.reason().startswith("f: published model combination, within 5 % of the overall")
    assert "it beat" not in kept.reason() and "0.9700 vs 0.9500" in kept.reason()
    # without any model the baseline is published; no baseline is an error
    assert choose("t", "auc", {}, {"base_rate": math.nan}).published == "base_rate"
    with pytest.raises(ValueError, match="baseline"):
        choose("t", "auc", {"gbt": 0.9}, {})


def test_auc_noise_by_hanley_mcneil():
    # Hanley & McNeil (1982): AUC 0.8, 50 positives, 50 negatives
    # q1 = 0.8 / 1.2 = 0.666667, q2 = 2 * 0.64 / 1.8 = 0.711111
    # var = (0.16 + 49 * (0.666667 - 0.64) + 49 * (0.711111 - 0.64)) / 2500
    #     = (0.16 + 1.306667 + 3.484444) / 2500 = 0.00198044 -> se 0.044502
    assert auc_standard_error(0.8, 50, 50) == pytest.approx(0.044502, abs=1e-6)
    assert auc_has_skill(0.8, 50, 50)
    # AUC 0.55 on 20 + 200: se ~ 0.068, 0.55 - 1.96 * se < 0.5 -> within noise
    assert not auc_has_skill(0.55, 20, 200)
    assert auc_has_skill(0.55, 5000, 50000)
    assert not auc_has_skill(None, 10, 10) and not auc_has_skill(0.9, 0, 10)


def test_run_summary_says_what_was_published_and_why(spark):
    from lakecart.jobs.pipeline import published_lines

    d = dt.date(2026, 1, 1)
    rows = [
        *choose("churn", "auc", {"churn_gbt": 0.46}, {"recency_rule": 0.545}).metrics("v1", "lake", d, "validation"),
        *choose("recommendations", "ndcg", {"hybrid": 0.12}, {"popular": 0.05}).metrics("v2", "lake", d, "validation"),
        Metric("churn_gbt", "v1", "auc", 0.46, "lake", d, "validation"),
    ]  # fmt: skip
    df = spark.createDataFrame(
        [("run", m.model, m.model_version, m.dataset, m.as_of, m.split, m.metric, m.k,
          None if m.value is None else float(m.value), m.baseline,
          None if m.baseline_value is None else float(m.baseline_value)) for m in rows],
        MODEL_METRICS.schema,
    )  # fmt: skip
    pub = {r[N.MODEL]: r[N.VALUE] for r in df.filter(df[N.METRIC] == PUBLISHED).collect()}
    assert pub == {"recency_rule": 0.0, "hybrid": 1.0}
    assert published_lines(df) == [
        "",
        "published (model only when it beat its baseline)",
        "  churn: baseline recency_rule (validation auc: model churn_gbt 0.4600, baseline recency_rule 0.5450)",
        "  recommendations: model hybrid (validation ndcg: model hybrid 0.1200, baseline popular 0.0500)",
    ]
    assert published_lines(df.filter(df[N.METRIC] == "auc")) == []
