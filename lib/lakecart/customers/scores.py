"""Churn, purchase propensity and CLV: validation on the latest complete window, then the
published scores from models refitted on every complete window.

For each label horizon ``h`` (``churn_days``, ``propensity_days``, ``clv_days``) one
calibrated GBT classifier estimates P(a purchase within h days) (see
:mod:`lakecart.customers.models`); the churn probability is one minus it for ``h =
churn_days``.

* **Validation** (what ``ops.model_metrics`` reports): the model is trained as it would
  have been at the latest complete window's snapshot ``v = as_of - h`` (on the snapshots
  whose label windows end by ``v``) and scored on ``v`` against what happened in ``[v,
  as_of)``, beside the baselines computed on the same rows: recency, frequency and the RFM
  quintile score (``r + f + m``) for the AUCs, and recency mapped to a probability by
  isotonic regression on the same training snapshots for the Brier score.
* **Published**: refitted on every snapshot whose label window ends by as_of (``v``
  included) and applied to the customers as of as_of.

CLV = net spend within ``clv_days``: four candidates are validated and the one with the
lowest MAE is refitted (when it is a model) and published:

* ``direct``: a GBT regressor of the spend (squared loss: the expected spend);
* ``zero_inflated``: P(buy) from the classifier x a GBT regressor of ``ln(1 + spend)``
  trained on buyers only, mapped back (the typical spend of a buyer);
* ``median``: a GBT regressor of ``ln(1 + spend)`` with absolute loss (the conditional
  median, which is what minimises the MAE);
* ``recent_rate``: the customer's net spend over the last 180 days scaled to ``clv_days``
  (no fitting). A smoothed run rate is a strong rule on wholesale data, where the trees,
  trained on off-season windows, can lose to it; it is published only when it wins.

The spend is capped at ``clv_clip_quantile`` of the positive values for the squared-loss
models; estimates are floored at 0. The baseline is the net spend in the ``clv_days``
before the snapshot.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import CustomersConfig
from lakecart.customers import metrics as M
from lakecart.customers.models import (
    CalibratedClassifier,
    Regressor,
    fit_classifier,
    fit_isotonic,
    fit_regressor,
    spend_cap,
)
from lakecart.customers.rfm import rfm_scores
from lakecart.customers.snapshots import (
    REVENUE_180D,
    SNAPSHOT,
    SPEND_PREV,
    SnapshotPlan,
    bought_col,
    spend_col,
)
from lakecart.gold import Metric

log = logging.getLogger("lakecart")

P_BUY = "_p_buy"
LABEL = "_label"
PROB = "_prob"
GROUP = "_group"
OTHER = "other"
# baseline score columns of the validation frame (higher = more likely the label)
B_COLS = {
    N.B_RECENCY: "_b_recency",
    N.B_FREQUENCY: "_b_frequency",
    N.B_RFM_SCORE: "_b_rfm",
}
B_CAL = "_b_recency_cal"


@dataclass
class Scored:
    """The published scores of the customers as of as_of, and what was measured.

    Attributes:
        scores: ``customer_id``, ``churn_probability``, ``purchase_probability_30d``,
            ``clv_90d``.
        metrics: Validation rows for ``ops.model_metrics``.
        models: Fitted models to save, by name.
        info: Small facts for the log and the job's result (chosen CLV model, sizes...).
    """

    scores: DataFrame
    metrics: list[Metric] = field(default_factory=list)
    models: dict[str, Any] = field(default_factory=dict)
    info: dict[str, Any] = field(default_factory=dict)


def rows_of(data: DataFrame, dates: Sequence[dt.date]) -> DataFrame:
    """The rows of the given snapshots."""
    return data.filter(F.col(SNAPSHOT).isin(list(dates)))


def group_column(attr: str, big: Sequence[str]) -> F.Column:
    """The fairness group: the attribute's value when it is a big group, else ``other``."""
    c = F.coalesce(F.col(attr).cast("string"), F.lit(OTHER))
    return F.when(c.isin(list(big)), c).otherwise(F.lit(OTHER))


def big_groups(df: DataFrame, attr: str, min_size: int) -> list[str]:
    """Values of ``attr`` with at least ``min_size`` rows (one row per value is collected)."""
    rows = (
        df.groupBy(F.col(attr).cast("string").alias("_g"))
        .count()
        .filter((F.col("count") >= min_size) & F.col("_g").isNotNull())
        .collect()
    )
    return sorted(r["_g"] for r in rows)


def with_baselines(df: DataFrame, churn: bool) -> DataFrame:
    """Add the baseline scores (sign chosen so that higher = more likely the label)."""
    sign = 1.0 if churn else -1.0
    scored = rfm_scores(df.select(*df.columns), [SNAPSHOT])
    return scored.withColumns(
        {
            B_COLS[N.B_RECENCY]: F.col(N.RECENCY_DAYS).cast("double") * sign,
            B_COLS[N.B_FREQUENCY]: F.col(N.FREQUENCY).cast("double") * -sign,
            B_COLS[N.B_RFM_SCORE]: (F.col(N.R_SCORE) + F.col(N.F_SCORE) + F.col(N.M_SCORE)).cast(
                "double"
            )
            * -sign,
        }
    ).drop(N.R_SCORE, N.F_SCORE, N.M_SCORE, N.RFM_SEGMENT)


def binary_report(
    model: str,
    version: str,
    val: DataFrame,
    cfg: CustomersConfig,
    as_of: dt.date,
    dataset: str,
) -> list[Metric]:
    """Validation rows of one calibrated classifier beside its baselines.

    Args:
        model: Model name in ``ops.model_metrics``.
        version: Model version.
        val: Validation rows with ``_label``, ``_prob``, the baseline columns and ``_group``.
        cfg: The customers configuration (reliability bins, fairness attribute).
        as_of: The validation snapshot.
        dataset: Dataset name.

    Returns:
        AUC and PR-AUC (one row per baseline), Brier (beside the calibrated recency
        baseline), the reliability table (k = bin) and per-group AUC/Brier/means.
    """

    def m(metric: str, value, baseline=None, bvalue=None, k=None, ds=dataset) -> Metric:
        return Metric(
            model, version, metric, value, ds, as_of, N.SPLIT_VALIDATION, k, baseline, bvalue
        )

    out: list[Metric] = []
    auc = M.auc(val, LABEL, PROB)[()]
    ap = M.average_precision(val, LABEL, PROB)[()]
    for b, col in B_COLS.items():
        out.append(m("auc", auc, b, M.auc(val, LABEL, col)[()]))
        out.append(m("pr_auc", ap, b, M.average_precision(val, LABEL, col)[()]))
    out.append(
        m(
            "brier",
            M.brier(val, LABEL, PROB)[()],
            N.B_RECENCY_CALIBRATED,
            M.brier(val, LABEL, B_CAL)[()],
        )
    )
    base_rate = val.agg(F.avg(LABEL)).first()[0]
    out.append(m("base_rate", base_rate))
    rel = M.reliability(val, LABEL, PROB, cfg.reliability_bins)[()]
    rel_b = {b: r for b, *r in M.reliability(val, LABEL, B_CAL, cfg.reliability_bins)[()]}
    for b, count, pred, obs in rel:
        rb = rel_b.get(b)
        out.append(m("reliability_count", count, N.B_RECENCY_CALIBRATED, rb and rb[0], k=b))
        out.append(m("reliability_predicted", pred, N.B_RECENCY_CALIBRATED, rb and rb[1], k=b))
        out.append(m("reliability_observed", obs, N.B_RECENCY_CALIBRATED, rb and rb[2], k=b))
    # fairness: the same measures per group of the configured attribute
    by = [GROUP]
    g_auc, g_bauc = M.auc(val, LABEL, PROB, by), M.auc(val, LABEL, B_COLS[N.B_RECENCY], by)
    g_brier, g_bbrier = M.brier(val, LABEL, PROB, by), M.brier(val, LABEL, B_CAL, by)
    g_means = {
        (r[GROUP],): r
        for r in val.groupBy(GROUP)
        .agg(F.count(F.lit(1)).alias("n"), F.avg(PROB).alias("p"), F.avg(LABEL).alias("y"))
        .collect()  # one row per group
    }
    for key in sorted(g_means, key=lambda t: str(t[0])):
        ds = f"{cfg.fairness_attribute}={key[0]}"
        r = g_means[key]
        out.append(m("auc", g_auc.get(key), N.B_RECENCY, g_bauc.get(key), ds=ds))
        out.append(m("brier", g_brier.get(key), N.B_RECENCY_CALIBRATED, g_bbrier.get(key), ds=ds))
        out.append(m("mean_predicted", r["p"], "observed_rate", r["y"], ds=ds))
        out.append(m("customers", r["n"], ds=ds))
    return out


def _labelled(df: DataFrame, h: int, churn: bool) -> DataFrame:
    b = F.col(bought_col(h))
    return df.withColumn(LABEL, (F.lit(1.0) - b) if churn else b)


def validate_classifier(
    model: str,
    version: str,
    data: DataFrame,
    plan: SnapshotPlan,
    features: Sequence[str],
    cfg: CustomersConfig,
    churn: bool,
    dataset: str,
    big: Sequence[str],
) -> tuple[list[Metric], CalibratedClassifier, DataFrame]:
    """Fit on the validation's training snapshots, score the validation snapshot, report.

    Returns:
        The metric rows, the validation classifier (of P(buy)) and the validation rows
        with ``_p_buy``.
    """
    h = plan.horizon
    train = rows_of(data, plan.validation_train)
    clf = fit_classifier(train, features, bought_col(h), cfg, N.CUSTOMER_ID)
    val = rows_of(data, [plan.validation])
    scored = clf.predict(val.select(*val.columns), P_BUY)
    keep = [N.CUSTOMER_ID, SNAPSHOT, N.RECENCY_DAYS, N.FREQUENCY, N.MONETARY, P_BUY]
    keep += [bought_col(h), spend_col(h), SPEND_PREV]
    keep = list(dict.fromkeys(keep))
    attr = cfg.fairness_attribute
    raw = val.select(N.CUSTOMER_ID, SNAPSHOT, F.col(attr).cast("string").alias(GROUP))
    v = scored.select(*keep).join(raw, [N.CUSTOMER_ID, SNAPSHOT])
    v = v.withColumn(GROUP, group_column(GROUP, big))
    v = _labelled(with_baselines(v, churn), h, churn)
    v = v.withColumn(PROB, (F.lit(1.0) - F.col(P_BUY)) if churn else F.col(P_BUY))
    iso = fit_isotonic(_labelled(train, h, churn), N.RECENCY_DAYS, LABEL, increasing=churn)
    v = iso.transform(v.withColumn(N.RECENCY_DAYS, F.col(N.RECENCY_DAYS).cast("double")))
    v = v.withColumnRenamed("prediction", B_CAL).cache()
    try:
        rows = binary_report(model, version, v, cfg, plan.validation, dataset)
    finally:
        v.unpersist()
    return rows, clf, scored.select(N.CUSTOMER_ID, SNAPSHOT, P_BUY)


CLV_CANDIDATES = ("direct", "zero_inflated", "median", "recent_rate")
RATE_DAYS = 180  # window of the recent_rate candidate (features' revenue_180d)


def fit_clv(
    name: str, train: DataFrame, features: Sequence[str], h: int, cfg: CustomersConfig
) -> Regressor | None:
    """Fit the regressor of one CLV candidate (see the module docstring); None for the
    ``recent_rate`` rule, which has nothing to fit."""
    target = spend_col(h)
    if name == "recent_rate":
        return None
    if name == "direct":
        return fit_regressor(
            train, features, target, cfg, cap=spend_cap(train, target, cfg.clv_clip_quantile)
        )
    if name == "zero_inflated":
        buyers = train.filter(F.col(bought_col(h)) > 0)
        cap = spend_cap(buyers, target, cfg.clv_clip_quantile)
        return fit_regressor(buyers, features, target, cfg, cap=cap, log_target=True)
    if name == "median":
        return fit_regressor(train, features, target, cfg, loss="absolute", log_target=True)
    raise ValueError(f"unknown CLV candidate {name!r}")


def clv_estimate(
    name: str, reg: Regressor | None, df: DataFrame, p_buy: DataFrame, out: str, h: int
) -> DataFrame:
    """``customer_id, snapshot, out``: the candidate's CLV for the rows of ``df``.

    Args:
        name: Candidate name.
        reg: Its fitted regressor (None for ``recent_rate``).
        df: Rows to score (with ``customer_id`` and ``snapshot``).
        p_buy: ``customer_id, snapshot, _p_buy`` (used by ``zero_inflated``).
        out: Output column.
        h: CLV horizon in days.
    """
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    if name == "recent_rate":
        rate = F.greatest(F.coalesce(F.col(REVENUE_180D), F.lit(0.0)), F.lit(0.0))
        return df.select(*keys, (rate * F.lit(h / RATE_DAYS)).alias(out))
    if reg is None:
        raise ValueError(f"CLV candidate {name!r} needs a fitted regressor")
    est = reg.predict(df, "_est").select(*keys, "_est")
    if name == "zero_inflated":
        est = est.join(p_buy.select(*keys, P_BUY), keys).withColumn(
            "_est", F.col(P_BUY) * F.col("_est")
        )
    return est.select(*keys, F.col("_est").alias(out))


def validate_clv(
    version: str,
    data: DataFrame,
    plan: SnapshotPlan,
    features: Sequence[str],
    cfg: CustomersConfig,
    p_buy_val: DataFrame,
    dataset: str,
) -> tuple[list[Metric], str, dict[str, float]]:
    """Validate the CLV candidates on the latest complete window and pick the lowest MAE.

    Args:
        version: Model version.
        data: All labelled snapshot rows.
        plan: The CLV horizon's snapshot plan.
        features: Feature columns.
        cfg: The customers configuration.
        p_buy_val: Validation rows' calibrated P(buy within clv_days) (``_p_buy``).
        dataset: Dataset name.

    Returns:
        Metric rows, the chosen candidate's name, and each candidate's validation MAE.
    """
    h = plan.horizon
    target = spend_col(h)
    train = rows_of(data, plan.validation_train)
    val = rows_of(data, [plan.validation])
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    v = val.select(*keys, target, SPEND_PREV)
    for name in CLV_CANDIDATES:
        reg = fit_clv(name, train, features, h, cfg)
        v = v.join(clv_estimate(name, reg, val, p_buy_val, name, h), keys)
    v = v.cache()
    try:
        base = M.regression_errors(v, target, SPEND_PREV)
        errors = {name: M.regression_errors(v, target, name) for name in CLV_CANDIDATES}
    finally:
        v.unpersist()
    chosen = min(errors, key=lambda k: errors[k]["mae"])
    rows = []
    for name, e in errors.items():
        model = N.M_CLV if name == chosen else f"{N.M_CLV}_{name}"
        for metric in ("mae", "rmse"):
            rows.append(
                Metric(
                    model,
                    version,
                    metric,
                    e[metric],
                    dataset,
                    plan.validation,
                    N.SPLIT_VALIDATION,
                    h,
                    N.B_PREV_SPEND,
                    base[metric],
                )
            )
    return rows, chosen, {k: e["mae"] for k, e in errors.items()} | {"baseline": base["mae"]}


def score_customers(
    data: DataFrame,
    current: DataFrame,
    plans: dict[int, SnapshotPlan],
    features: Sequence[str],
    cfg: CustomersConfig,
    version: str,
    dataset: str,
    on_stage: Callable[[str], Any] | None = None,
) -> Scored:
    """Validate, refit and score churn, propensity and CLV.

    Args:
        data: Labelled snapshot rows (every date of ``plans``), ideally cached.
        current: Features of the customers as of as_of (same columns, no labels).
        plans: Snapshot plan per horizon (churn, propensity and CLV days).
        features: Feature columns.
        cfg: The customers configuration.
        version: Model version of this run.
        dataset: Dataset name for ``ops.model_metrics``.
        on_stage: Optional context-manager factory (``ctx.stage``) to log each step.

    Returns:
        The published scores and the validation metrics.
    """
    import contextlib

    stage = on_stage or (lambda name: contextlib.nullcontext({}))
    attr = cfg.fairness_attribute
    out = Scored(scores=current.select(N.CUSTOMER_ID))
    if attr not in current.columns:
        raise ValueError(f"customers.fairness_attribute: no column {attr!r} in the features")
    big = big_groups(current, attr, cfg.fairness_min_group)
    horizons = sorted({cfg.churn_days, cfg.propensity_days, cfg.clv_days})
    val_p: dict[int, DataFrame] = {}
    final_clf: dict[int, CalibratedClassifier] = {}
    for h in horizons:
        plan = plans[h]
        roles = []
        if h == cfg.churn_days:
            roles.append((N.M_CHURN, True))
        if h == cfg.propensity_days:
            roles.append((N.M_PROPENSITY, False))
        name = roles[0][0] if roles else f"buy_{h}d"
        with stage(f"customers: validate buy {h}d") as st:
            rows, _, val_p[h] = validate_classifier(
                name,
                version,
                data,
                plan,
                features,
                cfg,
                roles[0][1] if roles else False,
                dataset,
                big,
            )
            for extra_name, churn in roles[1:]:
                rows += validate_classifier(
                    extra_name, version, data, plan, features, cfg, churn, dataset, big
                )[0]
            out.metrics += rows
            for r in rows:
                if r.metric == "auc" and r.baseline == N.B_RECENCY and r.dataset == dataset:
                    st[f"auc_{r.model}"] = round(r.value, 4)
                    st["recency_auc"] = round(r.baseline_value, 4)
        with stage(f"customers: fit buy {h}d") as st:
            final_clf[h] = fit_classifier(
                rows_of(data, plan.final), features, bought_col(h), cfg, N.CUSTOMER_ID
            )
            st["snapshots"] = len(plan.final)
            out.models[f"buy_{h}d"] = final_clf[h]
    ch = cfg.clv_days
    with stage("customers: validate clv") as st:
        rows, chosen, maes = validate_clv(
            version, data, plans[ch], features, cfg, val_p[ch], dataset
        )
        out.metrics += rows
        out.info["clv_model"] = chosen
        out.info["clv_validation_mae"] = maes
        st.update(chosen=chosen, **{k: round(v, 2) for k, v in maes.items()})
    with stage("customers: fit clv + score") as st:
        reg = fit_clv(chosen, rows_of(data, plans[ch].final), features, ch, cfg)
        if reg is not None:
            out.models[f"clv_{chosen}"] = reg
        keys = [N.CUSTOMER_ID, SNAPSHOT]
        probs = {h: final_clf[h].predict(current, P_BUY).select(*keys, P_BUY) for h in horizons}
        s = current.select(*keys)
        for h, p in probs.items():
            s = s.join(p.withColumnRenamed(P_BUY, f"_p{h}"), keys)
        s = s.join(clv_estimate(chosen, reg, current, probs[ch], "_clv", ch), keys)
        out.scores = s.select(
            N.CUSTOMER_ID,
            (F.lit(1.0) - F.col(f"_p{cfg.churn_days}")).alias(N.CHURN_PROBABILITY),
            F.col("_clv").alias(N.CLV_90D),
            F.col(f"_p{cfg.propensity_days}").alias(N.PURCHASE_PROBABILITY_30D),
        )
        st["clv_model"] = chosen
    return out


def value_tiers(scores: DataFrame, cfg: CustomersConfig) -> DataFrame:
    """Add ``value_tier`` from ``clv_90d``.

    ``none`` below ``value_tier_min_clv``; among the others, ``high`` at or above the
    ``value_tier_quantiles[1]`` quantile of clv_90d, ``medium`` at or above the
    ``value_tier_quantiles[0]`` quantile, else ``low``.
    """
    c = F.col(N.CLV_90D)
    valued = scores.filter(c >= cfg.value_tier_min_clv)
    q = valued.approxQuantile(N.CLV_90D, list(cfg.value_tier_quantiles), 0.001)
    if len(q) < 2:  # nobody above the minimum
        return scores.withColumn(
            N.VALUE_TIER,
            F.when(c < cfg.value_tier_min_clv, N.TIER_NONE).otherwise(N.TIER_LOW),
        )
    med, high = q
    return scores.withColumn(
        N.VALUE_TIER,
        F.when(c < cfg.value_tier_min_clv, N.TIER_NONE)
        .when(c >= high, N.TIER_HIGH)
        .when(c >= med, N.TIER_MEDIUM)
        .otherwise(N.TIER_LOW),
    )
