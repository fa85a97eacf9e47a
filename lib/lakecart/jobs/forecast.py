"""``forecast``: demand forecast per active item (one global GBT, baselines, rolling-origin
backtest, calibrated P10-P90) published to ``gold.demand_forecast``, and the inventory plan
it drives published to ``gold.inventory_plan``.

Input is ``features.item_demand`` at ``forecast.grain`` for as_of (the snapshot when the
``features`` job wrote one, else computed in memory from silver). The GBT is published only
when its backtest WAPE beat the best baseline's; otherwise that baseline is published and the
log and ``ops.model_metrics`` say so. Both tables are replaced whole on every run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import Config
from lakecart.features.build import read_inputs
from lakecart.features.demand import item_demand
from lakecart.features.specs import ITEM_DEMAND
from lakecart.forecast import inventory as I
from lakecart.forecast import metrics as M
from lakecart.forecast import model as FM
from lakecart.forecast.specs import DEMAND_FORECAST, INVENTORY_PLAN
from lakecart.gold import (
    Metric,
    model_path,
    new_model_version,
    publish,
    utcnow,
    with_gold_columns,
    write_metrics,
)
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

MODEL_NAME = "demand_gbt"
POLICY = "inventory_policy"


def load_demand(lh: Lakehouse, config: Config, as_of: dt.date) -> tuple[DataFrame | None, str]:
    """``features.item_demand`` rows of the grain for as_of: the stored snapshot when there
    is one, else computed in memory (None when silver has no orders)."""
    grain = config.forecast.grain
    if lh.exists(ITEM_DEMAND):
        snap = lh.read(ITEM_DEMAND).filter(
            (F.col(N.AS_OF) == F.lit(as_of)) & (F.col(N.GRAIN) == grain)
        )
        if snap.limit(1).count():
            return snap, "snapshot"
    orders_spec = SILVER[N.ORDERS]
    if not lh.exists(orders_spec):
        return None, "absent"
    inputs = read_inputs(lh)
    df = item_demand(
        inputs.orders,
        inputs.campaigns,
        as_of=as_of,
        grains=[grain],
        holidays=config.features.holiday_dates(),
    )
    return df, "computed"


def revenue_and_prices(demand: DataFrame, as_of: dt.date, days: int) -> tuple[DataFrame, DataFrame]:
    """Revenue per item over ``days`` before as_of, and each item's last selling price."""
    start = as_of - dt.timedelta(days=days)
    rev = (
        demand.filter(F.col(N.PERIOD_START) >= F.lit(start))
        .groupBy(N.ITEM_ID)
        .agg(F.sum(N.REVENUE).alias(N.REVENUE))
    )
    price = (
        demand.filter(F.col(N.AVG_PRICE).isNotNull())
        .groupBy(N.ITEM_ID)
        .agg(F.max_by(N.AVG_PRICE, N.PERIOD_START).alias(N.PRICE_LAST))
    )
    return rev, price


def forecast(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Backtest, select, forecast, plan and publish for one as_of (see the module doc)."""
    cfg = config.forecast
    with ctx.stage("forecast: input") as st:
        raw, source = load_demand(lh, config, as_of)
        st["source"] = source
        if raw is None:
            log.info("[forecast] skipped: silver has no orders")
            return {"as_of": as_of.isoformat(), "skipped": "no orders"}
        demand = FM.persist(
            FM.demand_series(
                raw.filter(F.col(N.AS_OF) == F.lit(as_of)).withColumn(N.AS_OF, F.lit(as_of)),
                cfg.grain,
                as_of,
            )
        )
        first = demand.agg(F.min(N.PERIOD_START)).first()[0]  # one row
        plan = FM.make_plan(as_of, cfg, first)
        st.update(grain=cfg.grain, first_period=first, cutoffs=len(plan.cutoffs))
    cached: list[DataFrame] = [demand]
    try:
        if not plan.cutoffs:
            log.info(
                "[forecast] skipped: history from %s is too short for a backtest before %s (grain %s)",
                first,
                as_of,
                cfg.grain,
            )
            return {"as_of": as_of.isoformat(), "skipped": "history too short"}
        return _forecast(spark, config, lh, ctx, as_of, demand, plan, cached)
    finally:
        for df in cached:
            df.unpersist()


def _forecast(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    as_of: dt.date,
    demand: DataFrame,
    plan: FM.Plan,
    cached: list[DataFrame],
) -> dict[str, Any]:
    cfg = config.forecast
    with ctx.stage("forecast: feature rows") as st:
        rows = FM.persist(FM.panel(demand, plan))
        cached.append(rows)
        st["rows"] = rows.count()
    with ctx.stage("forecast: backtest") as st:
        bt_raw = FM.persist(FM.backtest(rows, plan, cfg))
        cached.append(bt_raw)
        bt = FM.persist(FM.with_loo_interval(bt_raw, cfg.interval_low, cfg.interval_high))
        cached.append(bt)
        table = FM.score_table(bt).collect()  # methods x horizons: a few dozen rows
        st.update(cutoffs=len(plan.cutoffs), rows=bt_raw.count())
    overall = {r[FM.METHOD]: r[M.WAPE] for r in table if r[N.HORIZON] is None}
    sel = FM.select_method(overall)
    version = new_model_version(MODEL_NAME if sel.model_beat_baselines else sel.method, as_of)
    _log_table(table, sel)
    quantiles = FM.residual_quantiles(bt_raw, cfg.interval_low, cfg.interval_high)
    model = None
    with ctx.stage("forecast: final model") as st:
        if sel.model_beat_baselines:
            model = FM.fit_gbt(FM.training_rows(rows, plan, plan.forecast_origin), cfg, plan.grain)
            path = model_path(lh, MODEL_NAME, version)
            model.write().overwrite().save(path)
            st["saved"] = path
        st["published"] = sel.method
    generated = utcnow()
    with ctx.stage("forecast: publish demand_forecast") as st:
        fc = FM.persist(FM.forecast_rows(rows, plan, cfg, sel.method, quantiles, model))
        cached.append(fc)
        versioned = fc.withColumn(
            "_version",
            F.when(F.col(FM.FALLBACK), F.lit(f"{version}-fallback")).otherwise(F.lit(version)),
        )
        out = with_gold_columns(versioned.drop(FM.LEVEL, FM.FALLBACK), "x", as_of, generated)
        out = out.withColumn(N.MODEL_VERSION, F.col("_version")).drop("_version")
        n_fc = publish(lh, out, DEMAND_FORECAST)
        n_fallback = fc.filter(F.col(FM.FALLBACK)).select(N.ITEM_ID).distinct().count()
        st.update(rows=n_fc, fallback_items=n_fallback, method=sel.method)
    with ctx.stage("forecast: inventory backtest") as st:
        rev, prices = revenue_and_prices(demand, as_of, cfg.abc_days)
        inv_spec = SILVER[N.INVENTORY]
        inv = I.latest_inventory(lh.read(inv_spec), as_of) if lh.exists(inv_spec) else None
        pub = bt.filter(F.col(FM.METHOD) == sel.method)
        items = pub.select(N.ITEM_ID).distinct()
        classes = I.abc_classes(
            items.join(rev, N.ITEM_ID, "left").fillna(0.0, [N.REVENUE]), tuple(cfg.abc_cutoffs)
        )
        terms = I.item_terms(items.join(prices, N.ITEM_ID, "left"), inv, cfg)
        raw_cycles = FM.persist(
            I.policy_backtest(
                pub, classes, terms, cfg, plan.period_days, plan.horizon, FM.CUTOFF, FM.Y, FM.PRED
            )
        )
        cached.append(raw_cycles)
        factors = I.safety_factors(raw_cycles, cfg)
        cycles = I.calibrated_cycles(raw_cycles, cfg, FM.CUTOFF)
        achieved = F.avg((~F.col(I.STOCKOUT)).cast("double")).alias("achieved")
        target = F.avg(N.SERVICE_LEVEL).alias("target")
        inv_rows = (
            cycles.groupBy(F.coalesce(F.col(N.ABC_CLASS), F.lit("all")).alias(N.ABC_CLASS))
            .agg(achieved, target, F.count(F.lit(1)).alias("cycles"))
            .collect()  # one row per ABC class
        )
        total = cycles.agg(achieved, target, F.count(F.lit(1)).alias("cycles")).first()
        uncalibrated = raw_cycles.agg(achieved).first()["achieved"]
        st.update(
            achieved=round(total["achieved"] or 0, 4),
            target=round(total["target"] or 0, 4),
            uncalibrated=round(uncalibrated or 0, 4),
            factors={k: round(v, 3) for k, v in factors.items()},
            cycles=total["cycles"],
        )
    with ctx.stage("forecast: publish inventory_plan") as st:
        plan_df = I.inventory_plan(fc, rev, prices, inv, cfg, plan.period_days, factors)
        n_plan = publish(lh, with_gold_columns(plan_df, version, as_of, generated), INVENTORY_PLAN)
        st["rows"] = n_plan
    inventory = InventoryBacktest(inv_rows, total, uncalibrated, factors)
    metrics = _metrics(table, sel, version, as_of, plan, inventory, n_fallback)
    write_metrics(lh, ctx.run_id, metrics)
    ctx.rows_out += n_fc + n_plan
    return {
        "as_of": as_of.isoformat(),
        "published": sel.method,
        "model_version": version,
        "backtest_wape": sel.scores,
        "rows": {DEMAND_FORECAST.full_name: n_fc, INVENTORY_PLAN.full_name: n_plan},
        "inventory_backtest": {
            "all": (total["achieved"], total["target"], total["cycles"]),
            **{r[N.ABC_CLASS]: (r["achieved"], r["target"], r["cycles"]) for r in inv_rows},
        },
        "inventory_uncalibrated": uncalibrated,
        "safety_factors": factors,
        "backtest": [r.asDict() for r in table],
    }


@dataclass
class InventoryBacktest:
    """The inventory plan's backtest: achieved vs target per ABC class and overall
    (calibrated factors, out of sample), the normal-theory policy's overall level and the
    factors the published plan uses."""

    by_class: list
    total: Any
    uncalibrated: float | None
    factors: dict[str, float]


def _log_table(table: list, sel: FM.Selection) -> None:
    log.info("[forecast] backtest (cutoffs before as_of; horizon 'all' pools every horizon):")
    log.info(
        "[forecast]   %-16s %-5s %8s %10s %8s %8s %7s",
        "method",
        "h",
        "wape",
        "mae",
        "bias",
        "cover",
        "rows",
    )
    key = lambda r: (r[FM.METHOD], r[N.HORIZON] if r[N.HORIZON] is not None else 999)  # noqa: E731
    for r in sorted(table, key=key):
        h = "all" if r[N.HORIZON] is None else str(r[N.HORIZON])
        log.info(
            "[forecast]   %-16s %-5s %8.4f %10.4f %8.4f %8.4f %7d",
            r[FM.METHOD],
            h,
            r[M.WAPE] or float("nan"),
            r[M.MAE] or 0.0,
            r[M.BIAS] or 0.0,
            r[M.COVERAGE] or 0.0,
            r[M.ROWS],
        )
    if sel.model_beat_baselines:
        log.info(
            "[forecast] publishing the GBT: backtest WAPE %.4f < best baseline %s %.4f",
            sel.scores[FM.GBT],
            sel.best_baseline,
            sel.scores[sel.best_baseline],
        )
    else:
        log.info(
            "[forecast] the GBT did NOT beat the baselines (WAPE %.4f vs %s %.4f): publishing %s",
            sel.scores.get(FM.GBT) or float("nan"),
            sel.best_baseline,
            sel.scores[sel.best_baseline],
            sel.method,
        )


def _metrics(
    table: list,
    sel: FM.Selection,
    version: str,
    as_of: dt.date,
    plan: FM.Plan,
    inventory: InventoryBacktest,
    n_fallback: int,
) -> list[Metric]:
    by = {(r[FM.METHOD], r[N.HORIZON]): r for r in table}
    best = sel.best_baseline
    out: list[Metric] = []
    ds = f"item_demand:{plan.grain}"
    for (method, h), r in sorted(by.items(), key=lambda kv: (kv[0][0], kv[0][1] or 0)):
        b = by.get((best, h))
        name = MODEL_NAME if method == FM.GBT else method
        for metric in (M.WAPE, M.MAE, M.BIAS, M.COVERAGE):
            out.append(
                Metric(
                    model=name,
                    model_version=version,
                    metric=metric,
                    value=r[metric],
                    dataset=ds,
                    as_of=as_of,
                    split=N.SPLIT_BACKTEST,
                    k=h,
                    baseline=None if method == best else best,
                    baseline_value=None if method == best or b is None else b[metric],
                )
            )
    # what was published and why (1 = the GBT, 0 = a baseline); the value beside is the
    # published method's backtest WAPE vs the best baseline's
    out.append(
        Metric(
            model=MODEL_NAME,
            model_version=version,
            metric=f"published_model:{sel.method}",
            value=float(sel.model_beat_baselines),
            dataset=ds,
            as_of=as_of,
            split=N.SPLIT_BACKTEST,
            baseline=best,
            baseline_value=sel.scores[best],
        )
    )
    out.append(
        Metric(MODEL_NAME, version, "fallback_items", float(n_fallback), ds, as_of, "forecast")
    )
    for r in [inventory.total, *inventory.by_class]:
        cls = r[N.ABC_CLASS] if N.ABC_CLASS in r.asDict() else "all"
        out.append(
            Metric(
                model=POLICY,
                model_version=version,
                metric=f"cycle_service_level:{cls}",
                value=r["achieved"],
                dataset=ds,
                as_of=as_of,
                split=N.SPLIT_BACKTEST,
                baseline="target",
                baseline_value=r["target"],
            )
        )
    # the normal-theory policy (factor 1) beside the calibrated one, and the factors
    out.append(
        Metric(
            model=POLICY,
            model_version=version,
            metric="cycle_service_level_uncalibrated:all",
            value=inventory.uncalibrated,
            dataset=ds,
            as_of=as_of,
            split=N.SPLIT_BACKTEST,
            baseline="target",
            baseline_value=inventory.total["target"],
        )
    )
    for cls, f in inventory.factors.items():
        out.append(
            Metric(
                model=POLICY,
                model_version=version,
                metric=f"safety_factor:{cls}",
                value=f,
                dataset=ds,
                as_of=as_of,
                split=N.SPLIT_BACKTEST,
                baseline="normal",
                baseline_value=1.0,
            )
        )
    return out


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the forecast job (everything else is ``forecast.*`` config)."""
    p.add_argument("--grain", choices=N.GRAINS, default=None, help="override forecast.grain")


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    import dataclasses

    grain = getattr(args, "grain", None)
    if grain and grain != config.forecast.grain:
        fc = dataclasses.replace(config.forecast, grain=grain, horizon=None)
        config = dataclasses.replace(config, forecast=fc)
    as_of = resolve_as_of(lh, config)
    result = forecast(spark, config, lh, ctx, as_of)
    log.info("[forecast] as_of=%s %s", as_of, {k: v for k, v in result.items() if k != "backtest"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("forecast", __doc__, add_arguments, run, argv)
