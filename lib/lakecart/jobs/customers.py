"""``customers``: RFM segments and behavioural clusters, then churn, CLV and purchase
propensity scores of every customer with an order before ``--as-of``.

Publishes gold.customer_segments, gold.customer_clusters (a profile per k-means cluster)
and gold.customer_scores, and writes the validation metrics beside their baselines to
ops.model_metrics. Each score publishes its model only when it beats its baselines on the
validation window, otherwise the best baseline (``lakecart.customers.choice``,
``lakecart.selection``); the log, ``ops.model_metrics`` (metric ``published``) and the
job's result say which and why. Only orders strictly before as_of are read: the supervised
models learn from past snapshots whose label windows end on or before as_of (see
``lakecart.customers.snapshots``). When the history is too short for them, only the
segments are published (logged).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import PurePath
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import Config, CustomersConfig
from lakecart.customers.clusters import assign, cluster_profile, fit_clusters
from lakecart.customers.models import CalibratedClassifier, Regressor
from lakecart.customers.privacy import customer_key
from lakecart.customers.rfm import rfm_scores
from lakecart.customers.scores import score_customers, value_tiers
from lakecart.customers.snapshots import (
    SNAPSHOT,
    SnapshotPlan,
    customer_orders,
    feature_columns,
    labels,
    snapshot_features,
    with_labels,
)
from lakecart.customers.specs import CUSTOMER_CLUSTERS, CUSTOMER_SCORES, CUSTOMER_SEGMENTS
from lakecart.features.build import prepare_inputs, read_inputs
from lakecart.gold import (
    Metric,
    model_path,
    new_model_version,
    publish,
    with_gold_columns,
    write_metrics,
)
from lakecart.runlog import RunContext
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")


def plans_for(
    cfg: CustomersConfig, as_of: dt.date, first_order: dt.date | None
) -> dict[int, SnapshotPlan]:
    """The snapshot plan of every label horizon (churn, propensity, CLV)."""
    return {
        h: SnapshotPlan.make(
            as_of, h, cfg.snapshot_step_days, cfg.max_snapshots, first_order, cfg.min_history_days
        )
        for h in sorted({cfg.churn_days, cfg.propensity_days, cfg.clv_days})
    }


def supervised_gap(plans: dict[int, SnapshotPlan], cfg: CustomersConfig) -> str | None:
    """Why the supervised models cannot be trained (None when they can)."""
    for h, p in plans.items():
        if p.validation is None:
            return f"no complete {h}-day label window with {cfg.min_history_days} days of history"
        if len(p.validation_train) < cfg.min_train_snapshots:
            return (
                f"{len(p.validation_train)} training snapshot(s) before the {h}-day validation "
                f"window (customers.min_train_snapshots = {cfg.min_train_snapshots})"
            )
    return None


def segments(current: DataFrame, cfg: CustomersConfig) -> tuple[DataFrame, DataFrame | None, Any]:
    """RFM scores, segments and clusters of the customers as of as_of.

    Returns:
        (customers with rfm columns and ``cluster``, the cluster profile or None, the
        clustering or None).
    """
    scored = rfm_scores(current)
    clustering = fit_clusters(
        scored, cfg.clusters_k_min, cfg.clusters_k_max, cfg.seed, cfg.fit_parallelism
    )
    if clustering is None:
        return scored.withColumn(N.CLUSTER, F.lit(0)), None, None
    assigned = assign(clustering.model, scored)
    profile = cluster_profile(assigned).withColumn(
        N.SILHOUETTE, F.lit(clustering.silhouettes[clustering.k])
    )
    return assigned, profile, clustering


def _save(model: Any, path: str) -> None:
    if isinstance(model, CalibratedClassifier):
        model.trees.write().overwrite().save(f"{path}/trees")
        model.linear.write().overwrite().save(f"{path}/linear")
        model.isotonic.write().overwrite().save(f"{path}/isotonic")
    elif isinstance(model, Regressor):
        model.model.write().overwrite().save(path)
    else:
        model.write().overwrite().save(path)


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Compute and publish the customer tables as of ``as_of``.

    Returns:
        A summary: rows per table, chosen k, CLV model, or the reason for a skip.
    """
    cfg = config.customers
    inputs = read_inputs(lh)
    if inputs.orders is None:
        log.info("[customers] skipped: silver has no orders")
        return {"as_of": as_of.isoformat(), "skipped": "silver has no orders"}
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    version = new_model_version("customers", as_of)
    result: dict[str, Any] = {"as_of": as_of.isoformat(), "model_version": version}
    with ctx.stage("customers: prepare inputs") as st:
        prepared, cached = prepare_inputs(inputs, as_of)
        co = customer_orders(prepared.orders).persist(StorageLevel.MEMORY_AND_DISK)
        cached.append(co)
        first = co.filter(~F.col(N.IS_RETURN)).agg(F.to_date(F.min(N.ORDER_TS))).first()[0]
        plans = plans_for(cfg, as_of, first)
        gap = supervised_gap(plans, cfg)
        train_dates = set().union(*(p.dates for p in plans.values())) if gap is None else set()
        st.update(first_order=first, snapshots=len(train_dates))
    try:
        with ctx.stage("customers: snapshot features") as st:
            # checkpointed: the models iterate over these rows many times, and the plan of
            # one user_features per snapshot is too long to replay for each iteration
            feats = snapshot_features(
                prepared, sorted(train_dates | {as_of}), config.features.windows, cfg.clv_days
            ).localCheckpoint(eager=True)
            current = feats.filter(F.col(SNAPSHOT) == F.lit(as_of))
            n_current = current.count()
            st.update(customers=n_current, rows=feats.count())
        ctx.rows_in += n_current
        if n_current == 0:
            log.info("[customers] skipped: no customer has an order before %s", as_of)
            result["skipped"] = "no customer with an order before as_of"
            return result
        metrics: list[Metric] = []
        with ctx.stage("customers: segments + clusters") as st:
            seg, profile, clustering = segments(current, cfg)
            out = seg.select(
                customer_key(F.col(N.CUSTOMER_ID), cfg).alias(N.CUSTOMER_ID),
                *[c.name for c in CUSTOMER_SEGMENTS.columns[1:9]],
            )
            n = publish(lh, with_gold_columns(out, version, as_of), CUSTOMER_SEGMENTS)
            result[CUSTOMER_SEGMENTS.full_name] = n
            ctx.rows_out += n
            if clustering is not None and profile is not None:
                n = publish(lh, with_gold_columns(profile, version, as_of), CUSTOMER_CLUSTERS)
                result[CUSTOMER_CLUSTERS.full_name] = n
                result["k"] = clustering.k
                ctx.rows_out += n
                _save(clustering.model, model_path(lh, N.M_KMEANS, version))
                for k, s in clustering.silhouettes.items():
                    metrics.append(
                        Metric(
                            N.M_KMEANS, version, N.SILHOUETTE, s, dataset, as_of, N.SPLIT_TRAIN, k
                        )
                    )
                st.update(k=clustering.k, silhouette=round(clustering.silhouettes[clustering.k], 3))
            st["customers"] = n_current
        if gap is not None:
            log.info("[customers] supervised models skipped (segments only): %s", gap)
            result["skipped_models"] = gap
            write_metrics(lh, ctx.run_id, metrics)
            return result
        with ctx.stage("customers: labels") as st:
            horizons = list(plans)
            data = with_labels(
                feats.filter(F.col(SNAPSHOT) != F.lit(as_of)),
                labels(co, sorted(train_dates), horizons),
                horizons,
            ).localCheckpoint(eager=True)
            st["rows"] = data.count()
        features = feature_columns(data)
        scored = score_customers(
            data, current, plans, features, cfg, version, dataset, on_stage=ctx.stage
        )
        metrics += scored.metrics
        with ctx.stage("customers: publish scores") as st:
            scores = value_tiers(scored.scores, cfg).select(
                customer_key(F.col(N.CUSTOMER_ID), cfg).alias(N.CUSTOMER_ID),
                N.CHURN_PROBABILITY,
                N.CLV_90D,
                N.PURCHASE_PROBABILITY_30D,
                N.VALUE_TIER,
            )
            n = publish(lh, with_gold_columns(scores, version, as_of), CUSTOMER_SCORES)
            result[CUSTOMER_SCORES.full_name] = n
            ctx.rows_out += n
            for name, model in scored.models.items():
                _save(model, model_path(lh, f"customers_{name}", version))
            st["rows"] = n
        result.update(scored.info)
        write_metrics(lh, ctx.run_id, metrics)
        result["metrics"] = len(metrics)
        return result
    finally:
        for df in cached:
            df.unpersist()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the customers job (everything else is in the ``customers`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    as_of = resolve_as_of(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[customers] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("customers", __doc__, add_arguments, run, argv)
