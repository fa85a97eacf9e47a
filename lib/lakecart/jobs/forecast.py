"""``forecast``: demand forecast per active item (one global GBT, baselines, rolling-origin
backtest, calibrated P10-P90) published to ``gold.demand_forecast``, and the inventory plan
it drives published to ``gold.inventory_plan``.

Input is ``features.item_demand`` at ``forecast.grain`` for as_of (the snapshot when the
``features`` job wrote one, else computed in memory from silver). The candidates are the GBT,
the combination (the mean of the GBT and the median rules, ``forecast.combine``), the
Poisson count medians of both (``forecast.count_median``), the baselines and the
intermittent-demand rules (Croston, SBA, TSB, ADIDA, zero); within each
Syntetos-Boylan demand class a model is published only when its backtest WAPE beat every
rule's, otherwise the best rule is (:func:`lakecart.selection.choose`), and the log and
``ops.model_metrics`` say so. Both tables are replaced whole on every run.
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
from lakecart.config import Config, ForecastConfig
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
BY_CLASS = "demand_by_class"  # version prefix when several methods are published
COMBINATION_NAME = "demand_combination"
POLICY = "inventory_policy"


def _model_name(method: str) -> str:
    """The ``ops.model_metrics`` model name of a forecast method."""
    names = {FM.GBT: MODEL_NAME, FM.COMBINATION: COMBINATION_NAME}
    names.update({med: f"{names[m]}_median" for m, med in FM.COUNT_MEDIANS.items()})
    return names.get(method, method)


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
        rules = FM.rule_forecasts(demand, plan, cfg)
        rows = FM.persist(FM.with_rules(FM.panel(demand, plan), rules))
        cached.append(rows)
        st["rows"] = rows.count()
    with ctx.stage("forecast: backtest") as st:
        # the backtest's plan holds a GBT per cutoff: checkpointed once, so the dozen
        # actions on its rows below are not each planned again from the fits (on the demo
        # shop 8-40 s per action before, under 1 s after)
        bt_raw = FM.backtest(rows, plan, cfg).localCheckpoint(eager=True)
        bt = FM.persist(FM.with_loo_interval(bt_raw, cfg.interval_low, cfg.interval_high))
        cached.append(bt)
        table = FM.score_table(bt).collect()  # methods x horizons: a few dozen rows
        class_rows = FM.class_table(bt).collect()  # classes x methods: a few dozen rows
        st.update(cutoffs=len(plan.cutoffs), rows=bt_raw.count())
    sel = FM.select_method(overall_wape(table))
    choice = choose_methods(table, class_rows, cfg)
    pub_bt = M.scores(FM.published_rows(bt, choice), [], FM.Y, FM.PRED, N.YHAT_P10, N.YHAT_P90)
    pub_score = pub_bt.first()  # one row
    # every method and the published mix per cutoff: cutoffs x methods, a few dozen rows
    per_cutoff = FM.cutoff_table(bt, F.col(FM.METHOD) == FM.chosen_method(choice)).collect()
    _log_cutoffs(per_cutoff, sel)
    methods = choice.methods
    name = _model_name(next(iter(methods))) if len(methods) == 1 else BY_CLASS
    version = new_model_version(name, as_of)
    _log_table(table, sel)
    _log_classes(class_rows, choice, pub_score)
    quantiles = FM.residual_quantiles(bt_raw, cfg.interval_low, cfg.interval_high)
    model = None
    with ctx.stage("forecast: final model") as st:
        if FM.needs_model(methods, cfg):
            model = FM.fit_gbt(FM.training_rows(rows, plan, plan.forecast_origin), cfg, plan.grain)
            path = model_path(lh, MODEL_NAME, version)
            model.write().overwrite().save(path)
            st["saved"] = path
        st["published"] = {c: ch.published for c, ch in choice.by_class.items()}
    generated = utcnow()
    with ctx.stage("forecast: publish demand_forecast") as st:
        fc = FM.persist(FM.forecast_rows(rows, plan, cfg, choice, quantiles, model))
        cached.append(fc)
        # <version>:<demand class>:<method>, with -fallback for short histories
        tag = F.concat_ws(":", F.lit(version), F.col(FM.DEMAND_CLASS), F.col(FM.METHOD))
        versioned = fc.withColumn(
            "_version",
            F.when(F.col(FM.FALLBACK), F.concat(tag, F.lit("-fallback"))).otherwise(tag),
        )
        out = with_gold_columns(
            versioned.drop(FM.RATE, FM.LEVEL, FM.FALLBACK, FM.METHOD, FM.DEMAND_CLASS),
            "x",
            as_of,
            generated,
        )
        out = out.withColumn(N.MODEL_VERSION, F.col("_version")).drop("_version")
        n_fc = publish(lh, out, DEMAND_FORECAST)
        counts = (
            fc.groupBy(FM.DEMAND_CLASS)
            .agg(
                F.countDistinct(N.ITEM_ID).alias(FM.ITEMS),
                F.countDistinct(F.when(F.col(FM.FALLBACK), F.col(N.ITEM_ID))).alias("fallback"),
            )
            .collect()  # one row per demand class
        )
        n_fallback = sum(r["fallback"] for r in counts)
        fc_items = {r[FM.DEMAND_CLASS]: r[FM.ITEMS] for r in counts}
        st.update(rows=n_fc, fallback_items=n_fallback, items=fc_items)
    with ctx.stage("forecast: inventory backtest") as st:
        rev, prices = revenue_and_prices(demand, as_of, cfg.abc_days)
        inv_spec = SILVER[N.INVENTORY]
        inv = I.latest_inventory(lh.read(inv_spec), as_of) if lh.exists(inv_spec) else None
        pub = FM.published_rows(bt, choice)
        items = pub.select(N.ITEM_ID).distinct()
        classes = I.abc_classes(
            items.join(rev, N.ITEM_ID, "left").fillna(0.0, [N.REVENUE]), tuple(cfg.abc_cutoffs)
        )
        terms = I.item_terms(items.join(prices, N.ITEM_ID, "left"), inv, cfg)
        raw_cycles = FM.persist(
            I.policy_backtest(
                pub, classes, terms, cfg, plan.period_days, plan.horizon, FM.CUTOFF, FM.Y, FM.RATE
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
        # expected demand: the rate behind the point forecast (a count median's model)
        plan_df = I.inventory_plan(
            fc, rev, prices, inv, cfg, plan.period_days, factors, mean=FM.RATE
        )
        n_plan = publish(lh, with_gold_columns(plan_df, version, as_of, generated), INVENTORY_PLAN)
        st["rows"] = n_plan
    inventory = InventoryBacktest(inv_rows, total, uncalibrated, factors)
    metrics = _metrics(table, sel, version, as_of, plan, inventory, n_fallback)
    metrics += _cutoff_metrics(per_cutoff, sel, version, as_of, plan)
    metrics += _class_metrics(class_rows, choice, pub_score, fc_items, version, as_of, plan)
    write_metrics(lh, ctx.run_id, metrics)
    ctx.rows_out += n_fc + n_plan
    return {
        "as_of": as_of.isoformat(),
        "published": {c: ch.published for c, ch in choice.by_class.items()},
        "published_overall": choice.overall.published,
        "published_backtest_wape": pub_score[M.WAPE],
        "items": fc_items,
        "model_version": version,
        "backtest_wape": sel.scores,
        "backtest_wape_by_class": wape_by_class(class_rows),
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
        "[forecast]   %-19s %-5s %8s %10s %8s %8s %7s",
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
            "[forecast]   %-19s %-5s %8.4f %10.4f %8.4f %8.4f %7d",
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
            "[forecast] all classes pooled: %s beat every rule, backtest WAPE %.4f < best baseline %s %.4f",
            sel.method,
            sel.scores[sel.method],
            sel.best_baseline,
            sel.scores[sel.best_baseline],
        )
    else:
        log.info(
            "[forecast] all classes pooled: no model beat the rules (%s vs %s %.4f): one rule everywhere would be %s",
            ", ".join(
                f"{m} {sel.scores[m]:.4f}" for m in FM.MODELS if sel.scores.get(m) is not None
            ),
            sel.best_baseline,
            sel.scores[sel.best_baseline],
            sel.method,
        )


def _log_cutoffs(rows: list, sel: FM.Selection) -> None:
    """One log line per cutoff: the published mix, the models and the best
    baseline (the per-cutoff figures of every method are in ``ops.model_metrics``)."""
    by = {(r[FM.CUTOFF], r[FM.METHOD]): r[M.WAPE] for r in rows}
    shown = [FM.PUBLISHED, *FM.MODELS, sel.best_baseline]
    for c in sorted({r[FM.CUTOFF] for r in rows}):
        parts = [f"{m} {by[(c, m)]:.4f}" for m in shown if by.get((c, m)) is not None]
        log.info("[forecast] backtest cutoff %s WAPE: %s", c, ", ".join(parts))


def _cutoff_metrics(
    rows: list, sel: FM.Selection, version: str, as_of: dt.date, plan: FM.Plan
) -> list[Metric]:
    """Per-cutoff backtest WAPE of every method and of the published mix (``split`` =
    ``backtest:<cutoff>``), each beside the best baseline's at the same cutoff."""
    by = {(r[FM.CUTOFF], r[FM.METHOD]): r[M.WAPE] for r in rows}
    best = sel.best_baseline
    out = []
    for r in sorted(rows, key=lambda r: (r[FM.CUTOFF], r[FM.METHOD])):
        method, cutoff = r[FM.METHOD], r[FM.CUTOFF]
        out.append(
            Metric(
                model=_model_name(method),
                model_version=version,
                metric=M.WAPE,
                value=r[M.WAPE],
                dataset=f"item_demand:{plan.grain}",
                as_of=as_of,
                split=f"{N.SPLIT_BACKTEST}:{cutoff.isoformat()}",
                baseline=None if method == best else best,
                baseline_value=None if method == best else by.get((cutoff, best)),
            )
        )
    return out


def overall_wape(table: list) -> dict[str, float | None]:
    """Backtest WAPE per method over all horizons from :func:`FM.score_table`'s rows."""
    return {r[FM.METHOD]: r[M.WAPE] for r in table if r[N.HORIZON] is None}


def choose_methods(table: list, class_rows: list, cfg: ForecastConfig) -> FM.ClassChoice:
    """The published method per demand class from the backtest's collected
    :func:`FM.score_table` and :func:`FM.class_table` rows (:func:`FM.choose_by_class`)."""
    return FM.choose_by_class(
        overall_wape(table),
        wape_by_class(class_rows),
        {r[FM.DEMAND_CLASS]: r[FM.ITEMS] for r in class_rows},
        cfg.class_min_items,
        cfg.select_by_class,
        cfg.class_min_gain,
    )


def wape_by_class(classes: list) -> dict[str, dict[str, float | None]]:
    """Backtest WAPE per demand class and method from :func:`FM.class_table`'s rows."""
    out: dict[str, dict[str, float | None]] = {}
    for r in classes:
        out.setdefault(r[FM.DEMAND_CLASS], {})[r[FM.METHOD]] = r[M.WAPE]
    return out


SHORT = {FM.GBT_MEDIAN: "gbt_med", FM.COMBINATION: "combi", FM.COMBINATION_MEDIAN: "combi_md"}


def _log_classes(classes: list, choice: FM.ClassChoice, pub: Any) -> None:
    by = wape_by_class(classes)
    info = {r[FM.DEMAND_CLASS]: (r[FM.ITEMS], r[FM.UNITS_SUM]) for r in classes}
    methods = list(FM.METHODS)
    log.info("[forecast] backtest WAPE per demand class (all horizons):")
    log.info(
        "[forecast]   %-13s %6s %8s  %s",
        "class",
        "items",
        "units",
        " ".join(f"{SHORT.get(m, m)[:8]:>8}" for m in methods),
    )
    for cls in sorted(by):
        vals = " ".join(
            f"{by[cls][m]:8.3f}" if by[cls].get(m) is not None else f"{'n/a':>8}" for m in methods
        )
        items, units = info[cls]
        log.info("[forecast]   %-13s %6d %8.0f  %s", cls, items, units or 0.0, vals)
    log.info("[forecast] one rule everywhere: %s", choice.overall.reason())
    for _, c in sorted(choice.by_class.items()):
        log.info("[forecast] %s", c.reason())
    log.info(
        "[forecast] published per class: backtest WAPE %.4f (one rule everywhere, %s: %.4f)",
        pub[M.WAPE] or float("nan"),
        choice.overall.published,
        choice.overall.model_value if choice.overall.model_won else choice.overall.baseline_value,
    )


def _class_metrics(
    classes: list,
    choice: FM.ClassChoice,
    pub: Any,
    fc_items: dict[str, int],
    version: str,
    as_of: dt.date,
    plan: FM.Plan,
) -> list[Metric]:
    """Per demand class: the decision rows, every method's backtest WAPE beside the class's
    best rule, item counts (backtest and published); and the published mix's backtest WAPE
    beside the one-rule-everywhere choice."""
    ds = f"item_demand:{plan.grain}"
    out: list[Metric] = list(choice.overall.metrics(version, ds, as_of, N.SPLIT_BACKTEST))
    best = {c: ch.baseline for c, ch in choice.by_class.items()}
    by = wape_by_class(classes)
    for cls, c in sorted(choice.by_class.items()):
        out += c.metrics(version, f"{ds} class={cls}", as_of, N.SPLIT_BACKTEST)
        b = best[cls]
        for method, v in sorted(by[cls].items()):
            out.append(
                Metric(
                    model=_model_name(method),
                    model_version=version,
                    metric=f"{M.WAPE}:class={cls}",
                    value=v,
                    dataset=ds,
                    as_of=as_of,
                    split=N.SPLIT_BACKTEST,
                    baseline=None if method == b else b,
                    baseline_value=None if method == b else by[cls].get(b),
                )
            )
        out.append(
            Metric(
                MODEL_NAME,
                version,
                f"items:class={cls}",
                float(choice.items.get(cls, 0)),
                ds,
                as_of,
                N.SPLIT_BACKTEST,
            )
        )
    for cls, n in sorted(fc_items.items()):
        out.append(
            Metric(MODEL_NAME, version, f"items:class={cls}", float(n), ds, as_of, "forecast")
        )
    top = choice.overall
    out.append(
        Metric(
            model=BY_CLASS,
            model_version=version,
            metric=f"{M.WAPE}:published",
            value=pub[M.WAPE],
            dataset=ds,
            as_of=as_of,
            split=N.SPLIT_BACKTEST,
            baseline=top.published,
            baseline_value=top.model_value if top.model_won else top.baseline_value,
        )
    )
    return out


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
        name = _model_name(method)
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
