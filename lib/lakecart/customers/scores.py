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
* **Chosen** (:mod:`lakecart.customers.choice`): the model is published only when its
  validation AUC beats the calibrated recency rule's and is above chance beyond noise;
  otherwise the calibrated recency rule, or, when nothing has skill, the training base rate
  (every customer the same probability). ``ops.model_metrics`` gets the AUC and Brier of
  the model beside both baselines and the decision (metric ``published``); the log says why.
* **Published**: what was chosen, refitted on every snapshot whose label window ends by
  as_of (``v`` included) and applied to the customers as of as_of.

CLV = net spend within ``clv_days``: three models and two rules are validated; the best
model by MAE is published only when it beats the best rule (:func:`lakecart.selection.choose`,
ties to the rule), else that rule; a model is refitted on every complete window:

* ``direct``: a GBT regressor of the spend (squared loss: the expected spend);
* ``zero_inflated``: P(buy) from the classifier x a GBT regressor of ``ln(1 + spend)``
  trained on buyers only, mapped back (the typical spend of a buyer);
* ``median``: a GBT regressor of ``ln(1 + spend)`` with absolute loss (the conditional
  median, which is what minimises the MAE);
* ``recent_rate``: the customer's net spend over the last 180 days scaled to ``clv_days``
  (no fitting). A smoothed run rate is a strong rule on wholesale data, where the trees,
  trained on off-season windows, can lose to it;
* ``spend_prev_window``: the net spend in the ``clv_days`` before the snapshot (the
  baseline every CLV row is reported beside).

The spend is capped at ``clv_clip_quantile`` of the positive values for the squared-loss
models; every estimate (the rules too) is floored at 0.
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
from lakecart.customers.choice import (
    BASE_RATE_AUC,
    classifier_choice,
    fit_recency_rule,
    rule_probability,
    training_rate,
)
from lakecart.customers.models import (
    CalibratedClassifier,
    Regressor,
    fit_classifier,
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
from lakecart.selection import Choice, choose
from lakecart.threads import map_in_threads

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
B_CAL = "_b_recency_cal"  # calibrated recency rule (a probability of the label)
B_BASE = "_b_base_rate"  # the training base rate (a constant probability)


@dataclass
class Scored:
    """The published scores of the customers as of as_of, and what was measured.

    Attributes:
        scores: ``customer_id``, ``churn_probability``, ``purchase_probability_30d``,
            ``clv_90d``.
        metrics: Validation rows for ``ops.model_metrics`` (the decisions included).
        choices: What was published for churn, propensity and CLV, and why.
        models: Fitted models to save, by name.
        info: Small facts for the log and the job's result (chosen CLV model, sizes...).
    """

    scores: DataFrame
    metrics: list[Metric] = field(default_factory=list)
    choices: list[Choice] = field(default_factory=list)
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
) -> tuple[list[Metric], dict[str, Any]]:
    """Validation rows of one calibrated classifier beside its baselines.

    Args:
        model: Model name in ``ops.model_metrics``.
        version: Model version.
        val: Validation rows with ``_label``, ``_prob``, the baseline columns (``_b_*``:
            the ranking scores, the calibrated recency rule and the base rate) and
            ``_group``.
        cfg: The customers configuration (reliability bins, fairness attribute).
        as_of: The validation snapshot.
        dataset: Dataset name.

    Returns:
        (rows, headline): AUC and PR-AUC (one row per baseline, the calibrated recency rule
        and the base rate included), Brier (beside the calibrated recency rule and beside
        the base rate), the validation positive rate, the reliability table (k = bin) and
        per-group AUC/Brier/means; headline = ``auc``, ``auc_recency_calibrated``,
        ``brier``, ``brier_recency_calibrated``, ``brier_base_rate``, ``n_pos``, ``n_neg``.
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
    auc_cal = M.auc(val, LABEL, B_CAL)[()]
    out.append(m("auc", auc, N.B_RECENCY_CALIBRATED, auc_cal))
    out.append(m("auc", auc, N.B_BASE_RATE, BASE_RATE_AUC))
    brier, brier_cal, brier_base = (M.brier(val, LABEL, c)[()] for c in (PROB, B_CAL, B_BASE))
    out.append(m("brier", brier, N.B_RECENCY_CALIBRATED, brier_cal))
    out.append(m("brier", brier, N.B_BASE_RATE, brier_base))
    counts = val.agg(
        F.avg(LABEL).alias("rate"), F.sum(LABEL).alias("pos"), F.count(F.lit(1)).alias("n")
    ).first()  # one row
    out.append(m("base_rate", counts["rate"]))
    n_pos = int(counts["pos"] or 0)
    headline = {
        "auc": auc,
        "auc_recency_calibrated": auc_cal,
        "brier": brier,
        "brier_recency_calibrated": brier_cal,
        "brier_base_rate": brier_base,
        "n_pos": n_pos,
        "n_neg": int(counts["n"]) - n_pos,
    }
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
    return out, headline


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
    target: str | None = None,
) -> tuple[list[Metric], CalibratedClassifier, DataFrame, Choice | None]:
    """Fit on the validation's training snapshots, score the validation snapshot, report,
    and choose what to publish for ``target``.

    Returns:
        The metric rows (the decision included), the validation classifier (of P(buy)),
        the validation rows with ``_p_buy`` and the :class:`~lakecart.selection.Choice`
        (None without a ``target``: nothing is published from this classifier).
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
    train_l = _labelled(train, h, churn)
    iso = fit_recency_rule(train_l, LABEL, increasing=churn)
    v = iso.transform(v.withColumn(N.RECENCY_DAYS, F.col(N.RECENCY_DAYS).cast("double")))
    v = v.withColumnRenamed("prediction", B_CAL).withColumn(
        B_BASE, F.lit(training_rate(train_l, LABEL))
    )
    v = v.cache()
    try:
        rows, hl = binary_report(model, version, v, cfg, plan.validation, dataset)
    finally:
        v.unpersist()
    if target is None:
        return rows, clf, scored.select(N.CUSTOMER_ID, SNAPSHOT, P_BUY), None
    choice = classifier_choice(
        target,
        model,
        hl["auc"],
        hl["auc_recency_calibrated"],
        hl["n_pos"],
        hl["n_neg"],
        cfg.selection_z,
    )
    rows += choice.metrics(version, dataset, plan.validation, N.SPLIT_VALIDATION)
    log.info(
        "[customers] %s (brier %s, %s %s, %s %s)",
        choice.reason(),
        _round(hl["brier"]),
        N.B_RECENCY_CALIBRATED,
        _round(hl["brier_recency_calibrated"]),
        N.B_BASE_RATE,
        _round(hl["brier_base_rate"]),
    )
    return rows, clf, scored.select(N.CUSTOMER_ID, SNAPSHOT, P_BUY), choice


CLV_MODELS = ("direct", "zero_inflated", "median")
CLV_RULES = (N.B_RECENT_RATE, N.B_PREV_SPEND)  # the baselines a CLV model must beat
CLV_CANDIDATES = CLV_MODELS + CLV_RULES
RATE_DAYS = 180  # window of the recent_rate candidate (features' revenue_180d)


def fit_clv(
    name: str, train: DataFrame, features: Sequence[str], h: int, cfg: CustomersConfig
) -> Regressor | None:
    """Fit the regressor of one CLV candidate (see the module docstring); None for the
    rules (``recent_rate``, ``spend_prev_window``), which have nothing to fit."""
    target = spend_col(h)
    if name in CLV_RULES:
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
    name: str, reg: Regressor | None, df: DataFrame, p_buy: DataFrame | None, out: str, h: int
) -> DataFrame:
    """``customer_id, snapshot, out``: the candidate's CLV for the rows of ``df``.

    Args:
        name: Candidate name.
        reg: Its fitted regressor (None for the rules).
        df: Rows to score (with ``customer_id``, ``snapshot`` and, for the rules,
            ``revenue_180d`` / ``spend_prev_window``).
        p_buy: ``customer_id, snapshot, _p_buy`` (needed by ``zero_inflated`` only).
        out: Output column.
        h: CLV horizon in days.
    """
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    if name == N.B_RECENT_RATE:
        rate = F.greatest(F.coalesce(F.col(REVENUE_180D), F.lit(0.0)), F.lit(0.0))
        return df.select(*keys, (rate * F.lit(h / RATE_DAYS)).alias(out))
    if name == N.B_PREV_SPEND:
        prev = F.greatest(F.coalesce(F.col(SPEND_PREV), F.lit(0.0)), F.lit(0.0))
        return df.select(*keys, prev.alias(out))
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
) -> tuple[list[Metric], Choice, dict[str, float]]:
    """Validate the CLV candidates on the latest complete window and choose what to publish:
    the model with the lowest MAE when it beats the best rule, else that rule.

    Args:
        version: Model version.
        data: All labelled snapshot rows.
        plan: The CLV horizon's snapshot plan.
        features: Feature columns.
        cfg: The customers configuration.
        p_buy_val: Validation rows' calibrated P(buy within clv_days) (``_p_buy``).
        dataset: Dataset name.

    Returns:
        Metric rows (the published candidate as ``clv_gbt``, the others as
        ``clv_<candidate>``, each beside ``spend_prev_window``, and the decision), the
        :class:`~lakecart.selection.Choice` and each candidate's validation MAE.
    """
    h = plan.horizon
    target = spend_col(h)
    train = rows_of(data, plan.validation_train)
    val = rows_of(data, [plan.validation])
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    v = val.select(*keys, target)
    for name in CLV_CANDIDATES:
        reg = fit_clv(name, train, features, h, cfg)
        v = v.join(clv_estimate(name, reg, val, p_buy_val, name, h), keys)
    v = v.cache()
    try:
        errors = {name: M.regression_errors(v, target, name) for name in CLV_CANDIDATES}
    finally:
        v.unpersist()
    base = errors[N.B_PREV_SPEND]
    choice = choose(
        N.TARGET_CLV,
        "mae",
        {k: errors[k]["mae"] for k in CLV_MODELS},
        {k: errors[k]["mae"] for k in CLV_RULES},
        higher_is_better=False,
    )
    chosen = choice.published
    rows = []
    for name, e in errors.items():
        if name == N.B_PREV_SPEND and name != chosen:
            continue  # it is the baseline_value of every row
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
    rows += choice.metrics(version, dataset, plan.validation, N.SPLIT_VALIDATION)
    return rows, choice, {k: e["mae"] for k, e in errors.items()}


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
    # (target, horizon, churn?, published column, model name)
    roles = [
        (N.TARGET_CHURN, cfg.churn_days, True, N.CHURN_PROBABILITY, N.M_CHURN),
        (N.TARGET_PROPENSITY, cfg.propensity_days, False, N.PURCHASE_PROBABILITY_30D, N.M_PROPENSITY),
    ]  # fmt: skip
    chosen: dict[str, Choice] = {}
    ch = cfg.clv_days

    def validate(h: int) -> tuple[list[Metric], dict[str, Choice], tuple | None]:
        """The classifiers of horizon ``h`` and, for the CLV horizon, the CLV candidates
        (they need its validation P(buy)); run in a driver thread beside other horizons."""
        rows_h: list[Metric] = []
        chosen_h: dict[str, Choice] = {}
        p_h = None
        # a horizon of CLV only is validated for the zero-inflated model's P(buy), unchosen
        mine = [r for r in roles if r[1] == h] or [(None, h, False, None, f"buy_{h}d")]
        with stage(f"customers: validate buy {h}d") as st:
            for target, _, churn, _, model in mine:
                rows, _, p, choice = validate_classifier(
                    model, version, data, plans[h], features, cfg, churn, dataset, big, target
                )
                rows_h += rows
                p_h = p if p_h is None else p_h
                if target is not None and choice is not None:
                    chosen_h[target] = choice
                    st[f"{target}_auc"] = _round(choice.model_value)
                    st[f"{target}_{choice.baseline}_auc"] = _round(choice.baseline_value)
                    st[f"{target}_published"] = choice.published
        if h != ch:
            return rows_h, chosen_h, None
        with stage("customers: validate clv") as st:
            clv = validate_clv(version, data, plans[ch], features, cfg, p_h, dataset)
            st.update(chosen=clv[1].published, **{k: _round(v, 2) for k, v in clv[2].items()})
        return rows_h, chosen_h, clv

    # the horizons are independent until CLV, which follows its own horizon's classifier
    clv_rows: list[Metric] = []
    for rows_h, chosen_h, clv in map_in_threads(
        validate, horizons, cfg.fit_parallelism, "customers-fit"
    ):
        out.metrics += rows_h
        chosen.update(chosen_h)
        if clv is not None:
            clv_rows, clv_choice, maes = clv
    log.info("[customers] %s", clv_choice.reason())
    out.metrics += clv_rows
    chosen[N.TARGET_CLV] = clv_choice
    out.info["clv_model"] = clv_choice.published
    out.info["clv_validation_mae"] = {k: _round(v, 2) for k, v in maes.items()}
    out.choices = [chosen[r[0]] for r in roles] + [clv_choice]
    out.info["published"] = {c.target: c.published for c in out.choices}
    out.info["why"] = [c.reason() for c in out.choices]
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    # final classifiers: only for the horizons whose model is published (or used by CLV)
    need = {h for t, h, *_ in roles if chosen[t].model_won}
    if clv_choice.published == "zero_inflated":
        need.add(ch)

    def fit_final(h: int) -> CalibratedClassifier:
        with stage(f"customers: fit buy {h}d") as st:
            st["snapshots"] = len(plans[h].final)
            return fit_classifier(
                rows_of(data, plans[h].final), features, bought_col(h), cfg, N.CUSTOMER_ID
            )

    probs: dict[int, DataFrame] = {}
    hs = sorted(need)
    fitted = map_in_threads(fit_final, hs, cfg.fit_parallelism, "customers-fit")
    for h, clf in zip(hs, fitted, strict=True):
        out.models[f"buy_{h}d"] = clf
        probs[h] = clf.predict(current, P_BUY).select(*keys, P_BUY)
    with stage("customers: fit clv + score") as st:
        reg = fit_clv(clv_choice.published, rows_of(data, plans[ch].final), features, ch, cfg)
        if reg is not None:
            out.models[f"clv_{clv_choice.published}"] = reg
        s = current.select(*keys).join(
            clv_estimate(clv_choice.published, reg, current, probs.get(ch), N.CLV_90D, ch), keys
        )
        for target, h, churn, col, _ in roles:
            c = chosen[target]
            final = rows_of(data, plans[h].final)
            est, rule = published_probability(c, probs.get(h), final, h, churn, current, col)
            if rule is not None:
                out.models[f"{target}_{c.published}"] = rule
            s = s.join(est, keys)
        out.scores = s.select(
            N.CUSTOMER_ID, N.CHURN_PROBABILITY, N.CLV_90D, N.PURCHASE_PROBABILITY_30D
        )
        st.update(out.info["published"])
    return out


def published_probability(
    choice: Choice,
    p_buy: DataFrame | None,
    train: DataFrame,
    h: int,
    churn: bool,
    current: DataFrame,
    out: str,
) -> tuple[DataFrame, Any]:
    """The published probability of one target: what ``choice`` chose, for ``current``.

    Args:
        choice: The target's choice (:func:`lakecart.customers.choice.classifier_choice`).
        p_buy: ``customer_id, snapshot, _p_buy`` of the final classifier for ``current``
            (needed when the model was chosen).
        train: Labelled training rows of every complete window (``bought_<h>d``,
            ``recency_days``): where a baseline is fitted.
        h: Label horizon in days.
        churn: True for churn (one minus P(buy)), False for a purchase.
        current: Customers to score (``customer_id``, ``snapshot``, ``recency_days``).
        out: Output column.

    Returns:
        (``customer_id, snapshot, out``, the fitted recency rule when it was chosen, else
        None). A base rate gives every customer the same probability.
    """
    keys = [N.CUSTOMER_ID, SNAPSHOT]
    if choice.model_won:
        if p_buy is None:
            raise ValueError(f"{choice.target}: the model was chosen but not scored")
        p = F.col(P_BUY)
        return p_buy.select(*keys, ((F.lit(1.0) - p) if churn else p).alias(out)), None
    return rule_probability(
        choice.published, _labelled(train, h, churn), LABEL, churn, current, out, keys
    )


def _round(x: float | None, digits: int = 4) -> float | None:
    return None if x is None else round(float(x), digits)


def value_tiers(scores: DataFrame, cfg: CustomersConfig) -> DataFrame:
    """Add ``value_tier`` from ``clv_90d``.

    ``none`` below ``value_tier_min_clv``; among the others, ``high`` at or above the
    ``value_tier_quantiles[1]`` quantile of clv_90d, ``medium`` at or above the
    ``value_tier_quantiles[0]`` quantile, else ``low`` (ties at a cut share the upper tier).
    When every one of them has the same clv_90d (a constant carries no ranking) they are
    all ``medium``.
    """
    c = F.col(N.CLV_90D)
    valued = scores.filter(c >= cfg.value_tier_min_clv)
    # quantiles 0 and 1 are the exact minimum and maximum
    q = valued.approxQuantile(N.CLV_90D, [0.0, *cfg.value_tier_quantiles, 1.0], 0.001)
    if len(q) < 4:  # nobody above the minimum
        return scores.withColumn(
            N.VALUE_TIER,
            F.when(c < cfg.value_tier_min_clv, N.TIER_NONE).otherwise(N.TIER_LOW),
        )
    lowest, med, high, highest = q
    if lowest == highest:
        return scores.withColumn(
            N.VALUE_TIER,
            F.when(c < cfg.value_tier_min_clv, N.TIER_NONE).otherwise(N.TIER_MEDIUM),
        )
    return scores.withColumn(
        N.VALUE_TIER,
        F.when(c < cfg.value_tier_min_clv, N.TIER_NONE)
        .when(c >= high, N.TIER_HIGH)
        .when(c >= med, N.TIER_MEDIUM)
        .otherwise(N.TIER_LOW),
    )
