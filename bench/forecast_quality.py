"""Forecast quality on UCI Online Retail, measured on the PUBLISHED gold.demand_forecast.

Protocol (issue 5): item x ISO week units, as_of Monday 2011-11-14, the 4 weeks from then
(2011-11-14, -21, -28, 2011-12-05), items sold in the 13 weeks before as_of. The job runs with
default configuration only (nothing here is specific to Online Retail or tuned on these
weeks). The truth is computed here from silver orders on or after as_of (sales only, units,
returns excluded); an item-week without sales is 0.

The last week (from 2011-12-05) is only partly in the data: the file ends on Friday
2011-12-09 (the shop trades Monday-Friday and some Sundays, so only Sunday 12-11 is
missing). Weeks are scored as they are in the data: the last week's truth is what was sold
on 5-9 December.

Prints the job's backtest table (model and baselines per horizon, cutoffs before as_of), the
inventory backtest, and the published WAPE and P10-P90 coverage beside the simple rules
(last week, mean of 4, median of 8) scored on the same truth.

Usage: .venv/bin/python bench/forecast_quality.py [--source /work/lakes/online_retail]
       [--root /tmp/lakecart-forecast-quality] [--set forecast.key=value ...]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path

from common import config_for
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.cli import setup_logging
from lakecart.forecast.specs import DEMAND_FORECAST
from lakecart.jobs import forecast as job
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

AS_OF = dt.date(2011, 11, 14)
WEEKS = 4
GOAL_WAPE = 0.56
GOAL_COVERAGE = (0.70, 0.90)


def truth(orders, as_of: dt.date):
    """Units sold per item and ISO week on or after as_of (the weeks scored)."""
    end = as_of + dt.timedelta(weeks=WEEKS)
    sales = orders.filter(
        (F.col(N.ORDER_TS) >= F.lit(as_of)) & (F.col(N.ORDER_TS) < F.lit(end)) & ~F.col(N.IS_RETURN)
    )
    return sales.groupBy(
        N.ITEM_ID, F.date_trunc("week", N.ORDER_TS).cast("date").alias(N.PERIOD_START)
    ).agg(F.sum(N.QUANTITY).alias("y"))


def rules(orders, as_of: dt.date):
    """The simple rules (last week, mean of 4, median of 8 weeks) per active item."""
    start = as_of - dt.timedelta(weeks=13)
    sales = orders.filter((F.col(N.ORDER_TS) < F.lit(as_of)) & ~F.col(N.IS_RETURN))
    active = sales.filter(F.col(N.ORDER_TS) >= F.lit(start)).select(N.ITEM_ID).distinct()
    weeks = F.sequence(
        F.lit(as_of - dt.timedelta(weeks=8)),
        F.lit(as_of - dt.timedelta(weeks=1)),
        F.expr("INTERVAL 7 DAYS"),
    )
    grid = active.select(N.ITEM_ID, F.explode(weeks).alias(N.PERIOD_START))
    weekly = sales.groupBy(
        N.ITEM_ID, F.date_trunc("week", N.ORDER_TS).cast("date").alias(N.PERIOD_START)
    ).agg(F.sum(N.QUANTITY).alias("u"))
    g = grid.join(weekly, [N.ITEM_ID, N.PERIOD_START], "left").fillna(0.0, ["u"])
    last4 = F.col(N.PERIOD_START) >= F.lit(as_of - dt.timedelta(weeks=4))
    lastw = F.col(N.PERIOD_START) == F.lit(as_of - dt.timedelta(weeks=1))
    return g.groupBy(N.ITEM_ID).agg(
        F.max(F.when(lastw, F.col("u"))).alias("last_week"),
        F.avg(F.when(last4, F.col("u"))).alias("mean_4"),
        F.median("u").alias("median_8"),
    )


def score(df, pred: str, low: str | None = None, high: str | None = None):
    err = F.sum(F.abs(F.col("y") - F.col(pred))) / F.sum("y")
    cov = (
        F.avg(((F.col(low) <= F.col("y")) & (F.col("y") <= F.col(high))).cast("double"))
        if low
        else F.lit(None)
    )
    return df.agg(err.alias("wape"), cov.alias("coverage"), F.count(F.lit(1)).alias("rows")).first()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--source", default="/work/lakes/online_retail", help="lakehouse with silver Online Retail"
    )
    p.add_argument("--root", default="/tmp/lakecart-forecast-quality", help="writable copy of it")
    p.add_argument("--master", default="local[2]")
    p.add_argument("--shuffle-partitions", type=int, default=4)
    p.add_argument(
        "--set", action="append", default=[], help="extra config override (not for the protocol)"
    )
    a = p.parse_args()
    root = Path(a.root)
    if not (root / "silver" / "orders").exists():
        shutil.copytree(Path(a.source) / "silver", root / "silver")
    setup_logging()
    cfg = config_for(
        root, a, "spark.conf.spark.driver.memory=3g", f"run.as_of={AS_OF.isoformat()}", *a.set
    )
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    t0 = time.perf_counter()
    with tracked_run(
        lh, "forecast", {"as_of": AS_OF.isoformat(), "bench": "forecast_quality"}
    ) as ctx:
        result = job.run(spark, cfg, lh, ctx, argparse.Namespace(grain=None))
    seconds = time.perf_counter() - t0

    print(
        f"\nforecast job on Online Retail, as_of {AS_OF}: {seconds:.0f}s, published {result['published']}"
    )
    print("\nbacktest (cutoffs before as_of; horizon 'all' pools the horizons)")
    print(f"{'method':<16}{'h':>4}{'wape':>9}{'mae':>9}{'bias':>9}{'cover':>8}{'rows':>8}")
    key = lambda r: (r["method"], r["horizon"] or 99)  # noqa: E731
    for r in sorted(result["backtest"], key=key):
        h = "all" if r["horizon"] is None else r["horizon"]
        print(
            f"{r['method']:<16}{h:>4}{r['wape']:>9.4f}{r['mae']:>9.3f}{r['bias']:>9.4f}{r['coverage']:>8.3f}{r['rows']:>8}"
        )
    print("\ninventory backtest: achieved cycle service level vs target")
    for cls, (got, target, n) in sorted(result["inventory_backtest"].items()):
        print(f"  {cls:<4} achieved {got:.3f}  target {target:.3f}  cycles {n}")
    if result.get("inventory_uncalibrated") is not None:
        print(
            f"  normal-theory safety stock (factor 1): achieved {result['inventory_uncalibrated']:.3f}"
        )
        print(f"  calibrated safety factors: {result['safety_factors']}")

    orders = lh.read(SILVER[N.ORDERS])
    last_day = orders.agg(F.max(N.ORDER_TS)).first()[0]
    fc = lh.read(DEMAND_FORECAST)
    t = truth(orders, AS_OF)
    j = fc.join(t, [N.ITEM_ID, N.PERIOD_START], "left").fillna(0.0, ["y"]).persist()
    print(
        f"\npublished gold.demand_forecast vs truth (data end {last_day}; the last week is as observed)"
    )
    s = score(j, N.YHAT, N.YHAT_P10, N.YHAT_P90)
    items = fc.select(N.ITEM_ID).distinct().count()
    fallback = (
        fc.filter(F.col(N.MODEL_VERSION).endswith("-fallback")).select(N.ITEM_ID).distinct().count()
    )
    print(f"  items {items} (fallback {fallback}), rows {s['rows']}")
    for h in range(1, WEEKS + 1):
        sh = score(j.filter(F.col(N.HORIZON) == h), N.YHAT, N.YHAT_P10, N.YHAT_P90)
        print(f"  h={h}  wape {sh['wape']:.4f}  coverage {sh['coverage']:.3f}")
    r = rules(orders, AS_OF)
    jr = j.join(r, N.ITEM_ID, "left").fillna(0.0, ["last_week", "mean_4", "median_8"])
    print(f"  {'published':<12} wape {s['wape']:.4f}  P10-P90 coverage {s['coverage']:.3f}")
    for rule in ("last_week", "mean_4", "median_8"):
        print(f"  {rule:<12} wape {score(jr, rule)['wape']:.4f}")
    ok_w = s["wape"] <= GOAL_WAPE
    ok_c = GOAL_COVERAGE[0] <= s["coverage"] <= GOAL_COVERAGE[1]
    print(
        f"\ngoal: WAPE <= {GOAL_WAPE}: {'met' if ok_w else 'NOT met'}; coverage in {GOAL_COVERAGE}: {'met' if ok_c else 'NOT met'}"
    )
    spark.stop()


if __name__ == "__main__":
    main()
