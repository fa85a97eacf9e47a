"""``fraud``: score payment transactions for fraud, with reasons and a decision.

Reads silver.transactions (and silver.ip_ranges when present). Every transaction gets
point-in-time features (it sees only transactions at or before its own time, see
``lakecart.fraud.transaction_features``); the account–device–IP graph gives the linked
accounts (ring size, a reason). Labelled transactions before ``--as-of`` train an MLlib
gradient-boosted-trees model and a class-weighted logistic regression; the better one on
the chronological validation window (the latest ``fraud.validation_share`` of them) is
calibrated there and published. The scoring set is every transaction with an empty label
and every transaction on or after as_of (SPEC section 4): gold.fraud_scores holds its
calibrated probability, an unsupervised anomaly score, the decision from the review
budget and the readable reasons. Validation metrics go to ops.model_metrics beside the
two rule baselines (paid within an hour of sign-up; a device shared by several
accounts). With too few labels (a shop that does not label payments), no model is
trained: the decision ranks by the rules, then the anomaly score, and nothing is blocked.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import PurePath
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import Config, FraudConfig
from lakecart.fraud import transaction_features as X
from lakecart.fraud.anomaly import RAW, RISK_DIRECTIONS, rank_normalised, robust_scales, z_scores
from lakecart.fraud.classifiers import GBT, LOGISTIC, Calibration, fit_calibration, fit_model
from lakecart.fraud.decisions import with_decisions, with_reasons
from lakecart.fraud.evaluation import classification_metrics
from lakecart.fraud.linked_accounts import RING_SIZE, account_links, components, ring_sizes
from lakecart.fraud.specs import FRAUD_SCORES
from lakecart.gold import (
    Metric,
    model_path,
    new_model_version,
    publish,
    with_gold_columns,
    write_metrics,
)
from lakecart.ml import fit_partitions
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

RULE_SIGNUP = "_rule_signup"
RULE_DEVICE = "_rule_device"
SCORE = "_score"
MODEL_NAMES = {GBT: N.M_FRAUD_GBT, LOGISTIC: N.M_FRAUD_LOGISTIC}
RULES = {N.B_SIGNUP_1H: RULE_SIGNUP, N.B_SHARED_DEVICE: RULE_DEVICE}


def with_rules(df: DataFrame, cfg: FraudConfig) -> DataFrame:
    """The two rule baselines as 0/1 scores: paid within ``rule_signup_seconds`` of
    sign-up; device used by at least ``rule_device_accounts`` accounts so far."""
    gap = F.col(X.SIGNUP_GAP)
    return df.withColumns(
        {
            RULE_SIGNUP: F.coalesce(gap < cfg.rule_signup_seconds, F.lit(False)).cast("double"),
            RULE_DEVICE: F.coalesce(
                F.col(X.DEVICE_ACCOUNTS) >= cfg.rule_device_accounts, F.lit(False)
            ).cast("double"),
        }
    )


def feature_table(
    tx: DataFrame, ranges: DataFrame | None, cfg: FraudConfig
) -> tuple[DataFrame, list[str]]:
    """Every transaction with its features, the one-hot categories and the rule scores,
    in a fixed partitioning (by transaction id) and materialised.

    Returns:
        The frame and the model's feature columns.
    """
    feats = X.with_country(X.transaction_features(X.prepared(tx), cfg.shop_history_days), ranges)
    feats = fit_partitions(feats, [N.TRANSACTION_ID]).localCheckpoint(eager=True)
    cats = X.top_categories(feats, X.CATEGORICAL, cfg.max_categories, cfg.min_category_rows)
    feats, onehot = X.one_hot(feats, cats)
    features = [*X.BASE_FEATURES, X.COUNTRY_KNOWN, *onehot]
    return with_rules(feats, cfg), features


def linked_rings(feats: DataFrame, cfg: FraudConfig) -> tuple[DataFrame, dict[str, Any]]:
    """``_account``, ``ring_size`` of every linked account, and a summary."""
    comps = components(account_links(feats, cfg.graph_max_key_accounts), cfg.graph_max_iterations)
    rings = ring_sizes(comps.labels).localCheckpoint(eager=True)
    info = {"rounds": comps.rounds, "converged": comps.converged}
    return rings, info


def _metric_rows(
    values: dict[str, dict[tuple[str, int | None], float | None]],
    version: str,
    dataset: str,
    as_of: dt.date,
) -> list[Metric]:
    """One row per model x metric x rule baseline (the baseline's value beside it)."""
    out = []
    for model in (*MODEL_NAMES.values(), N.M_FRAUD_ANOMALY):
        if model not in values:
            continue
        for (metric, k), value in values[model].items():
            for rule in RULES:
                out.append(
                    Metric(
                        model,
                        version,
                        metric,
                        value,
                        dataset,
                        as_of,
                        N.SPLIT_VALIDATION,
                        k,
                        rule,
                        values[rule][(metric, k)],
                    )
                )
    return out


def train_and_score(
    feats: DataFrame,
    scored: DataFrame,
    features: list[str],
    cfg: FraudConfig,
    as_of: dt.date,
    version: str,
    dataset: str,
    ctx: RunContext,
) -> tuple[DataFrame | None, list[Metric], dict[str, Any], Any]:
    """Fit, validate, choose, calibrate and (re)fit the supervised model; score ``scored``.

    Returns:
        (``scored`` with ``_score`` and ``fraud_probability``, or None when there are too
        few labels; the metrics; a summary; the published model or None).
    """
    info: dict[str, Any] = {}
    train = feats.filter(
        F.col(N.LABEL).isNotNull() & (F.col(N.TXN_TS) < F.lit(as_of).cast("timestamp"))
    )
    with ctx.stage("fraud: training rows") as st:
        row = train.agg(F.count(F.lit(1)).alias("n"), F.sum(F.col(N.LABEL)).alias("p")).first()
        n, p = int(row["n"]), int(row["p"] or 0)
        st.update(rows=n, positives=p)
    info.update(train_rows=n, train_positives=p)
    if p < cfg.min_train_positives or n - p < cfg.min_train_positives:
        info["skipped_models"] = (
            f"{p} fraud and {n - p} genuine labels before as_of "
            f"(fraud.min_train_positives = {cfg.min_train_positives})"
        )
        return None, [], info, None
    cut = train.approxQuantile(X.T_US, [1.0 - cfg.validation_share], 0.0001)[0]
    fit_rows = train.filter(F.col(X.T_US) < F.lit(cut))
    val = train.filter(F.col(X.T_US) >= F.lit(cut))
    vrow = val.agg(F.count(F.lit(1)).alias("n"), F.sum(N.LABEL).alias("p")).first()
    vn, vp = int(vrow["n"]), int(vrow["p"] or 0)
    fp = p - vp
    info.update(validation_rows=vn, validation_positives=vp)
    need = max(1, cfg.min_train_positives // 5)
    if vp < need or vn - vp < need or fp < need:
        info["skipped_models"] = (
            f"{vp} fraud labels in the validation window and {fp} before it "
            f"(need {need} each, fraud.min_train_positives / 5)"
        )
        return None, [], info, None
    models = {}
    for kind in (GBT, LOGISTIC):
        with ctx.stage(f"fraud: fit {kind}") as st:
            models[kind] = fit_model(kind, fit_rows, features, N.LABEL, cfg, N.TRANSACTION_ID)
    with ctx.stage("fraud: validate") as st:
        v = val
        for kind, m in models.items():
            v = m.score(v, f"_p_{kind}")
        v = v.select(N.LABEL, RAW, *RULES.values(), *[f"_p_{k}" for k in models]).localCheckpoint(
            eager=True
        )
        names = {f"_p_{k}": MODEL_NAMES[k] for k in models}
        names.update({RAW: N.M_FRAUD_ANOMALY, **{col: rule for rule, col in RULES.items()}})
        values = {names[c]: m for c, m in classification_metrics(v, N.LABEL, list(names)).items()}
        key = (cfg.selection_metric, None)
        chosen = max(models, key=lambda k: (values[MODEL_NAMES[k]][key] or 0.0, k == LOGISTIC))
        calibration: Calibration = fit_calibration(v, f"_p_{chosen}", N.LABEL, cfg.calibration)
        st.update(
            chosen=chosen,
            **{
                f"{MODEL_NAMES[k]}_{cfg.selection_metric}": round(
                    values[MODEL_NAMES[k]][key] or 0.0, 4
                )
                for k in models
            },
            **{f"{r}_{cfg.selection_metric}": round(values[r][key] or 0.0, 4) for r in RULES},
        )
    metrics = _metric_rows(values, version, dataset, as_of)
    for kind in models:
        metrics.append(
            Metric(
                MODEL_NAMES[kind], version, "published", float(kind == chosen), dataset, as_of,
                N.SPLIT_VALIDATION,
            )
        )  # fmt: skip
    metrics += [
        Metric(MODEL_NAMES[chosen], version, "validation_rows", float(vn), dataset, as_of, N.SPLIT_VALIDATION),
        Metric(MODEL_NAMES[chosen], version, "validation_positives", float(vp), dataset, as_of, N.SPLIT_VALIDATION),
    ]  # fmt: skip
    if calibration.method == "platt":
        metrics += [
            Metric(MODEL_NAMES[chosen], version, "platt_a", calibration.a, dataset, as_of, N.SPLIT_VALIDATION),
            Metric(MODEL_NAMES[chosen], version, "platt_b", calibration.b, dataset, as_of, N.SPLIT_VALIDATION),
        ]  # fmt: skip
    final = models[chosen]
    if cfg.refit:
        with ctx.stage(f"fraud: refit {chosen}") as st:
            final = fit_model(chosen, train, features, N.LABEL, cfg, N.TRANSACTION_ID)
            st["rows"] = n
    out = calibration.apply(final.score(scored, SCORE), SCORE, N.FRAUD_PROBABILITY)
    info.update(
        model=MODEL_NAMES[chosen],
        **{f"validation_{cfg.selection_metric}": values[MODEL_NAMES[chosen]][key]},
    )
    return out, metrics, info, final


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Compute and publish gold.fraud_scores as of ``as_of`` (and its metrics).

    Returns:
        A summary: rows scored, the published model, or the reason for a skip.
    """
    cfg = config.fraud
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    tx_spec, ip_spec = SILVER[N.TRANSACTIONS], SILVER[N.IP_RANGES]
    if not lh.exists(tx_spec):
        log.info("[fraud] skipped: silver has no transactions")
        return {**result, "skipped": "silver has no transactions"}
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    version = new_model_version("fraud", as_of)
    result["model_version"] = version
    ranges = lh.read(ip_spec) if lh.exists(ip_spec) else None
    with ctx.stage("fraud: features") as st:
        feats, features = feature_table(lh.read(tx_spec), ranges, cfg)
        n_all = feats.count()
        st.update(transactions=n_all, features=len(features), ip_ranges=ranges is not None)
    ctx.rows_in += n_all
    if n_all == 0:
        log.info("[fraud] skipped: silver.transactions is empty")
        return {**result, "skipped": "silver has no transactions"}
    with ctx.stage("fraud: linked accounts") as st:
        rings, ginfo = linked_rings(feats, cfg)
        feats = feats.join(rings, X.ACCOUNT, "left").withColumn(
            RING_SIZE, F.coalesce(F.col(RING_SIZE), F.lit(1.0))
        )
        st.update(**ginfo)
        result["graph_rounds"] = ginfo["rounds"]
    with ctx.stage("fraud: anomaly scales") as st:
        scales = robust_scales(feats, RISK_DIRECTIONS)
        feats = z_scores(feats, scales, RISK_DIRECTIONS, cfg.anomaly_clip)
        feats = fit_partitions(feats, [N.TRANSACTION_ID]).localCheckpoint(eager=True)
    scored = feats.filter(
        F.col(N.LABEL).isNull() | (F.col(N.TXN_TS) >= F.lit(as_of).cast("timestamp"))
    )
    model_out, metrics, info, model = train_and_score(
        feats, scored, features, cfg, as_of, version, dataset, ctx
    )
    result.update(info)
    if "skipped_models" in info:
        log.info("[fraud] no supervised model (rules + anomaly score): %s", info["skipped_models"])
    with ctx.stage("fraud: decisions + reasons") as st:
        if model_out is None:
            out = scored.withColumn(N.FRAUD_PROBABILITY, F.lit(None).cast("double"))
        else:
            out = model_out
        # materialised once: the decision cut-offs take several passes over the scores
        out = rank_normalised(out, RAW, N.ANOMALY_SCORE).localCheckpoint(eager=True)
        risk = (
            F.col(SCORE)
            if model_out is not None
            else F.col(RULE_SIGNUP) + F.col(RULE_DEVICE) + F.col(N.ANOMALY_SCORE)
        )
        out = with_decisions(
            out.withColumn("_rank_by", risk),
            "_rank_by",
            N.FRAUD_PROBABILITY,
            cfg.review_share,
            cfg.block_share,
            cfg.block_min_probability,
            cfg.seed,
        )
        out = with_reasons(out, cfg.rule_signup_seconds, cfg.max_reasons, cfg.anomaly_clip)
        gold = out.select(
            N.TRANSACTION_ID,
            N.CUSTOMER_ID,
            N.TXN_TS,
            N.AMOUNT,
            N.FRAUD_PROBABILITY,
            N.ANOMALY_SCORE,
            N.DECISION,
            N.FRAUD_REASONS,
        )
        n = publish(lh, with_gold_columns(gold, version, as_of), FRAUD_SCORES)
        ctx.rows_out += n
        result[FRAUD_SCORES.full_name] = n
        st["rows"] = n
    if model is not None:
        model.pipeline.write().overwrite().save(model_path(lh, MODEL_NAMES[model.kind], version))
    result["metrics"] = write_metrics(lh, ctx.run_id, metrics)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the fraud job (everything else is in the ``fraud`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    spec = SILVER[N.TRANSACTIONS]
    if not lh.exists(spec) or lh.read(spec).limit(1).count() == 0:
        log.info("[fraud] skipped: silver has no transactions")
        return {"skipped": "silver has no transactions"}
    as_of = resolve_as_of(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[fraud] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("fraud", __doc__, add_arguments, run, argv)
