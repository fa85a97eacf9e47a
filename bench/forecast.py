"""Forecast benchmark: training and scoring time per dataset, and how it grows with items.

For each lakehouse given (silver already there; e.g. UCI Online Retail and synthetic shops
made with ``./spark-submit.sh generate --scale N --lakehouse DIR``), at its default as_of
and the default ``forecast`` configuration, time separately:

* input: ``features.item_demand`` at the grain (snapshot, else computed in memory);
* rows: the per-item feature rows and intermittent rules (``applyInPandas``), cached;
* backtest: one GBT fit per cutoff plus scoring the model and baselines at each cutoff;
* choose: the backtest scores per method and demand class and the published choice;
* train: the final GBT fit on every origin before as_of;
* score: the forecast for as_of (the chosen method per class) with calibrated
  intervals, materialised.

Then print each dataset's times, items and rows side by side, and the ratios to the
smallest dataset (time ratio vs item ratio: linear growth keeps them equal).

Usage: .venv/bin/python bench/forecast.py NAME=LAKEHOUSE [NAME=LAKEHOUSE ...]
       [--set forecast.key=value ...] [--master local[2]] [--shuffle-partitions 4]
Lakehouses are only read (the job's tables are not written).
"""

from __future__ import annotations

import argparse
from typing import Any

from common import config_for, timed
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.cli import setup_logging
from lakecart.forecast import model as FM
from lakecart.jobs.forecast import choose_methods, load_demand
from lakecart.session import get_spark
from lakecart.tables import Lakehouse


def bench_one(spark, root: str, a: argparse.Namespace) -> dict[str, Any]:
    cfg = config_for(root, a, *a.set)
    lh = Lakehouse(spark, cfg.lakehouse)
    fc = cfg.forecast
    as_of = resolve_as_of(lh, cfg)
    out: dict[str, Any] = {"as_of": as_of}

    def load():
        raw, _ = load_demand(lh, cfg, as_of)
        d = FM.persist(FM.demand_series(raw, fc.grain, as_of))
        return d, d.count(), d.agg(F.min(N.PERIOD_START)).first()[0]

    out["input"], (demand, n_demand, first) = timed(load)
    plan = FM.make_plan(as_of, fc, first)

    def rows():
        rules = FM.rule_forecasts(demand, plan, fc)
        r = FM.persist(FM.with_rules(FM.panel(demand, plan), rules))
        return r, r.count()

    out["rows_s"], (panel, n_rows) = timed(rows)
    out["items"] = (
        panel.filter(F.col("origin") == F.lit(plan.forecast_origin))
        .select(N.ITEM_ID)
        .distinct()
        .count()
    )
    out["rows"] = n_rows
    out["cutoffs"] = len(plan.cutoffs)

    def backtest():
        raw = FM.backtest(panel, plan, fc).localCheckpoint(eager=True)  # as the job does
        bt = FM.persist(FM.with_loo_interval(raw, fc.interval_low, fc.interval_high))
        return bt, bt.count()

    def choose():  # the score rows are methods x horizons, the class rows classes x methods
        return choose_methods(FM.score_table(bt).collect(), FM.class_table(bt).collect(), fc)

    out["backtest"], (bt, _) = timed(backtest)
    out["choose"], choice = timed(choose)
    out["published"] = sorted(choice.methods)
    out["train"], model = timed(
        lambda: FM.fit_gbt(FM.training_rows(panel, plan, plan.forecast_origin), fc, plan.grain)
    )
    q = FM.residual_quantiles(bt, fc.interval_low, fc.interval_high)

    def score():
        f = FM.forecast_rows(panel, plan, fc, choice, q, model)
        f.write.format("noop").mode("overwrite").save()

    out["score"], _ = timed(score)
    for df in (demand, panel, bt):
        df.unpersist()
    steps = ("input", "rows_s", "backtest", "choose", "train", "score")
    out["total"] = sum(out[k] for k in steps)
    return out


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("lakes", nargs="+", help="NAME=LAKEHOUSE_ROOT")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--shuffle-partitions", type=int, default=4)
    p.add_argument("--set", action="append", default=[], help="config override")
    a = p.parse_args()
    setup_logging()
    first_root = a.lakes[0].split("=", 1)[1]
    base = config_for(first_root, a, "spark.conf.spark.driver.memory=4g")
    spark = get_spark(base)
    results = {}
    for item in a.lakes:
        name, root = item.split("=", 1)
        results[name] = bench_one(spark, root, a)
        r = results[name]
        print(f"[bench] {name}: {r}", flush=True)
    cols = ["input", "rows_s", "backtest", "choose", "train", "score", "total"]
    print(
        f"\n{'dataset':<16}{'as_of':>12}{'items':>8}{'rows':>10}{'cuts':>5}"
        + "".join(f"{c:>10}" for c in cols)
    )
    for name, r in results.items():
        print(
            f"{name:<16}{r['as_of']!s:>12}{r['items']:>8}{r['rows']:>10}{r['cutoffs']:>5}"
            + "".join(f"{r[c]:>9.1f}s" for c in cols)
        )
    ref_name = min(results, key=lambda n: results[n]["items"])
    ref = results[ref_name]
    print(f"\nratios to {ref_name} (items, feature rows, train time, score time, total time)")
    for name, r in results.items():
        print(
            f"{name:<16} items x{r['items'] / ref['items']:.2f}  rows x{r['rows'] / ref['rows']:.2f}  "
            f"train x{r['train'] / ref['train']:.2f}  score x{r['score'] / ref['score']:.2f}  "
            f"total x{r['total'] / ref['total']:.2f}"
        )
    spark.stop()


if __name__ == "__main__":
    main()
