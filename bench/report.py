"""Report benchmark: the marts' cost against one scan of silver orders, and their totals
against silver's on UCI Online Retail, checked from outside with delta-rs.

1. Synthetic shops at ``--scale`` 1, 4 and 16 (``generate_landing`` once per scale into
   ``--out``, then only orders, products and events ingested: the marts read nothing
   else). For each: time the floor, one ``groupBy(date, country, channel)`` scan of silver
   orders written to Spark's ``noop`` sink; then each mart computed into ``noop`` (the
   transform alone); then ``build_marts`` (the four marts computed and published to Delta,
   as the job does). Print seconds and ratios to the floor.
2. Online Retail (``--online-retail``, the by-day CSVs, ingested once into ``--out``):
   publish the marts with the default as_of (the day after the last order), then read
   ``silver.orders`` and the marts with ``deltalake.DeltaTable(...).to_pandas()`` and
   compare, in pandas: net revenue (sum of silver ``revenue`` before as_of, returns and
   cancellations negative) = sum of ``sales_daily.revenue`` = sum of
   ``item_sales_weekly.revenue``; orders (distinct ``source|order_id`` with a sale line,
   i.e. a non-return line) = sum of ``sales_daily.orders_attributed``; customers (distinct
   non-NULL ``customer_id`` with a sale line) = sum of ``sales_daily.new_customers`` = sum
   of the cohort sizes of ``cohort_retention`` (months_since = 0). Cancellation invoices
   (``C...``) are separate orders made only of return lines: they subtract from revenue and
   count in ``returns``, never in ``orders``; guest lines count in orders and revenue, never
   in customers. Exit status 1 when a total differs.

Usage: .venv/bin/python bench/report.py [--scale 1 --scale 4 --scale 16]
       [--online-retail ../shared/datasets/online_retail/by-day] [--out /tmp/bench_report]
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from common import config_for, timed
from deltalake import DeltaTable
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.cli import setup_logging
from lakecart.generate import generate_landing
from lakecart.jobs.ingest import ingest
from lakecart.jobs.report import build_marts
from lakecart.report import marts
from lakecart.report.specs import COHORT_RETENTION, ITEM_SALES_WEEKLY, SALES_DAILY
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

REPO = Path(__file__).resolve().parents[1]
MART_INPUTS = (N.ORDERS, N.PRODUCTS, N.EVENTS)


def floor_scan(lh: Lakehouse, as_of) -> None:
    """One scan of silver orders aggregated by (date, country, channel), to noop."""
    o = lh.read(SILVER[N.ORDERS]).filter(F.col(N.ORDER_TS) < F.lit(as_of).cast("timestamp"))
    agg = o.groupBy(F.to_date(N.ORDER_TS), N.COUNTRY, N.CHANNEL).agg(
        F.sum(N.REVENUE), F.count(F.lit(1))
    )
    agg.write.format("noop").mode("overwrite").save()


def noop(df) -> None:
    df.write.format("noop").mode("overwrite").save()


def synthetic(spark, a: argparse.Namespace, scale: int) -> dict:
    """Generate (once) and ingest the mart inputs of one scale, then time floor and marts."""
    out = Path(a.out)
    root = out / f"synthetic_{scale}"
    cfg = config_for(root, a)
    lh = Lakehouse(spark, cfg.lakehouse)
    if not lh.exists(SILVER[N.ORDERS]):
        landing = out / f"landing_{scale}"
        t, counts = timed(lambda: generate_landing(spark, str(landing), scale=scale, seed=42))
        inputs = out / f"inputs_{scale}"
        shutil.rmtree(inputs, ignore_errors=True)
        inputs.mkdir(parents=True)
        for e in MART_INPUTS:
            shutil.move(str(landing / e), str(inputs / e))
        shutil.rmtree(landing, ignore_errors=True)
        with tracked_run(lh, "ingest", {"bench": "report"}) as ctx:
            t2, _ = timed(lambda: ingest(spark, cfg, lh, ctx, N.SRC_CANONICAL, str(inputs)))
        print(f"[scale {scale}] generated in {t:.0f}s, ingested in {t2:.0f}s: {counts}", flush=True)
    as_of = resolve_as_of(lh, cfg)
    orders = lh.read(SILVER[N.ORDERS])
    products = lh.read(SILVER[N.PRODUCTS])
    events = lh.read(SILVER[N.EVENTS])
    floor_scan(lh, as_of)  # warm-up: JVM, Delta log, file cache
    t_floor, _ = timed(lambda: floor_scan(lh, as_of))
    row = {"case": f"synthetic {scale}", "lines": orders.count(), "floor": t_floor}
    for name, df in (
        ("sales_daily", marts.sales_daily(orders, products, as_of)),
        ("item_weekly", marts.item_sales_weekly(orders, products, as_of)),
        ("cohorts", marts.cohort_retention(orders, as_of)),
        ("funnel", marts.funnel_daily(events, products, orders, as_of)),
    ):
        row[name], _ = timed(lambda df=df: noop(df))
    with tracked_run(lh, "report", {"bench": True}) as ctx:
        row["publish_all"], _ = timed(lambda: build_marts(lh, ctx, as_of))
    print(
        f"[{row['case']}] lines={row['lines']:,} floor={t_floor:.1f}s "
        + " ".join(f"{k}={row[k]:.1f}s ({row[k] / t_floor:.1f}x)" for k in TIMED),
        flush=True,
    )
    return row


TIMED = ("sales_daily", "item_weekly", "cohorts", "funnel", "publish_all")


def reconcile(spark, a: argparse.Namespace) -> bool:
    """Publish the marts of Online Retail and compare their totals with silver's (delta-rs)."""
    root = Path(a.out) / "online_retail"
    cfg = config_for(root, a)
    lh = Lakehouse(spark, cfg.lakehouse)
    if not lh.exists(SILVER[N.ORDERS]):
        with tracked_run(lh, "ingest", {"bench": "report"}) as ctx:
            t, _ = timed(
                lambda: ingest(spark, cfg, lh, ctx, N.SRC_ONLINE_RETAIL, str(a.online_retail))
            )
        print(f"[online_retail] ingested in {t:.0f}s", flush=True)
    as_of = resolve_as_of(lh, cfg)
    with tracked_run(lh, "report", {"bench": True}) as ctx:
        t, res = timed(lambda: build_marts(lh, ctx, as_of))
    print(f"[online_retail] marts as of {as_of} published in {t:.1f}s: {res}", flush=True)

    # ------------------------------------------------ from outside: delta-rs + pandas
    def read(spec, columns):
        return DeltaTable(lh.path(spec)).to_pandas(columns=columns)

    o = read(
        SILVER[N.ORDERS],
        ["_source", N.ORDER_ID, N.CUSTOMER_ID, N.ORDER_TS, N.REVENUE, N.IS_RETURN],
    )
    o = o[pd.to_datetime(o[N.ORDER_TS], utc=True) < pd.Timestamp(as_of, tz="UTC")]
    sale = o[~o[N.IS_RETURN]]
    silver = {
        "revenue": float(np.sum(o[N.REVENUE].to_numpy())),
        "orders": int((sale["_source"] + "|" + sale[N.ORDER_ID]).nunique()),
        "customers": int(sale[N.CUSTOMER_ID].dropna().nunique()),
        "lines": len(o),
        "return lines": int(o[N.IS_RETURN].sum()),
        "guest lines": int(o[N.CUSTOMER_ID].isna().sum()),
    }
    sd = read(SALES_DAILY, [N.REVENUE, N.ORDERS_ATTRIBUTED, N.NEW_CUSTOMERS, N.RETURNS])
    iw = read(ITEM_SALES_WEEKLY, [N.REVENUE])
    co = read(COHORT_RETENTION, [N.MONTHS_SINCE, N.COHORT_CUSTOMERS])
    checks = [
        ("net revenue", silver["revenue"], float(sd[N.REVENUE].sum()), "sales_daily.revenue"),
        ("net revenue", silver["revenue"], float(iw[N.REVENUE].sum()), "item_sales_weekly.revenue"),
        (
            "orders",
            silver["orders"],
            int(sd[N.ORDERS_ATTRIBUTED].sum()),
            "sales_daily.orders_attributed",
        ),
        (
            "customers",
            silver["customers"],
            int(sd[N.NEW_CUSTOMERS].sum()),
            "sales_daily.new_customers",
        ),
        (
            "customers",
            silver["customers"],
            int(co.loc[co[N.MONTHS_SINCE] == 0, N.COHORT_CUSTOMERS].sum()),
            "cohort_retention.cohort_customers (month 0)",
        ),
    ]
    print(
        f"\nOnline Retail as of {as_of}: {silver['lines']:,} silver lines "
        f"({silver['return lines']:,} return/cancellation lines, {silver['guest lines']:,} guest "
        f"lines); sales_daily {len(sd):,} rows, returns (distinct cancellation orders per cell) "
        f"{int(sd[N.RETURNS].sum()):,}"
    )
    print(f"{'total':<13}{'silver':>18}{'mart':>18}  {'column':<44}ok")
    ok = True
    for name, want, got, col in checks:
        same = abs(want - got) <= 1e-6 * max(1.0, abs(want))
        ok &= same
        print(f"{name:<13}{want:>18,.2f}{got:>18,.2f}  {col:<44}{'yes' if same else 'NO'}")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, action="append", default=[])
    ap.add_argument(
        "--online-retail",
        type=Path,
        default=REPO.parent / "shared" / "datasets" / "online_retail" / "by-day",
    )
    ap.add_argument("--skip-online-retail", action="store_true")
    ap.add_argument("--out", default="/tmp/bench_report")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    a = ap.parse_args()
    setup_logging()
    Path(a.out).mkdir(parents=True, exist_ok=True)
    spark = get_spark(config_for(Path(a.out) / "unused", a))
    ok = True if a.skip_online_retail else reconcile(spark, a)
    rows = [synthetic(spark, a, s) for s in (a.scale or [1, 4, 16])]
    print(f"\n{'case':<14}{'lines':>12}{'floor s':>9}" + "".join(f"{k:>14}" for k in TIMED))
    for r in rows:
        print(
            f"{r['case']:<14}{r['lines']:>12,}{r['floor']:>9.1f}"
            + "".join(f"{r[k]:>7.1f}s {r[k] / r['floor']:>4.1f}x" for k in TIMED)
        )
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
