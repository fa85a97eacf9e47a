"""Customers benchmark: the ``customers`` job's time on real and synthetic shops.

For each case (full UCI Online Retail as of 2011-09-10; with ``--scale N`` the synthetic
shop of that scale, built once with ``./spark-submit.sh generate`` into ``--out``):

1. time the floor: one RFM aggregation of silver orders per customer (one scan, one
   shuffle);
2. time the ``customers`` job with its default configuration (segments, clusters, the
   validated and refitted churn, propensity and CLV models, publication and metrics; the
   job logs one line per stage);
3. print both, the ratio, and the customers and training rows.

Usage: .venv/bin/python bench/customers.py [--lake /work/lakes/online_retail]
       [--out /tmp/bench_customers] [--scale 1 --scale 4] [--skip-online-retail]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import subprocess
import time
from pathlib import Path

from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.cli import setup_logging
from lakecart.config import load_config
from lakecart.jobs import customers as customers_job
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

REPO = Path(__file__).resolve().parents[1]


def rfm_floor(lh: Lakehouse, as_of: dt.date) -> int:
    """One scan of silver orders aggregated per customer (recency, frequency, monetary)."""
    o = lh.read(SILVER[N.ORDERS]).filter(
        F.col(N.CUSTOMER_ID).isNotNull() & (F.col(N.ORDER_TS) < F.lit(as_of).cast("timestamp"))
    )
    agg = o.groupBy(N.CUSTOMER_ID).agg(
        F.max(N.ORDER_TS).alias("last"),
        F.count_distinct(N.ORDER_ID).alias("f"),
        F.sum(N.REVENUE).alias("m"),
    )
    agg.write.format("noop").mode("overwrite").save()
    return agg.count()


def bench_case(label: str, root: Path, as_of: str | None, a: argparse.Namespace) -> dict:
    overrides = [
        f"spark.master={a.master}",
        f"spark.shuffle_partitions={a.shuffle_partitions}",
        f"lakehouse.root={root}",
        "spark.conf.spark.ui.showConsoleProgress=false",
    ]
    if as_of:
        overrides.append(f"run.as_of={as_of}")
    cfg = load_config("local", overrides=overrides)
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    day = resolve_as_of(lh, cfg)
    rfm_floor(lh, day)  # warm-up (JVM, Delta log, file cache)
    t0 = time.perf_counter()
    customers = rfm_floor(lh, day)
    t_floor = time.perf_counter() - t0
    t0 = time.perf_counter()
    with tracked_run(lh, "customers", {"bench": True}) as ctx:
        result = customers_job.build(spark, cfg, lh, ctx, day)
    t_job = time.perf_counter() - t0
    row = {
        "case": label,
        "as_of": day.isoformat(),
        "customers": customers,
        "floor_s": t_floor,
        "job_s": t_job,
        "clv_model": result.get("clv_model", "-"),
        "skipped": result.get("skipped_models", ""),
    }
    print(
        f"[{label}] customers={customers:,} floor={t_floor:.1f}s job={t_job:.1f}s "
        f"ratio={t_job / max(t_floor, 1e-9):.0f}x",
        flush=True,
    )
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", default="/work/lakes/online_retail", help="Online Retail lakehouse")
    ap.add_argument("--out", default="/tmp/bench_customers")
    ap.add_argument("--scale", type=int, action="append", default=[])
    ap.add_argument("--skip-online-retail", action="store_true")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    a = ap.parse_args()
    setup_logging()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    if not a.skip_online_retail:
        root = out / "online_retail"
        shutil.rmtree(root, ignore_errors=True)
        shutil.copytree(a.lake, root)
        rows.append(bench_case("online_retail", root, "2011-09-10", a))
    for scale in a.scale:
        root = out / f"synthetic_{scale}"
        if not (root / "silver" / "orders").exists():
            t0 = time.perf_counter()
            subprocess.run(
                [str(REPO / "spark-submit.sh"), "generate", "--scale", str(scale),
                 "--lakehouse", str(root), "--set", f"spark.shuffle_partitions={a.shuffle_partitions}"],
                check=True,
            )  # fmt: skip
            print(f"[synthetic_{scale}] generated in {time.perf_counter() - t0:.0f}s", flush=True)
        rows.append(bench_case(f"synthetic scale {scale}", root, None, a))
    print()
    print(
        f"{'case':<22}{'as_of':>12}{'customers':>11}{'RFM scan s':>12}{'job s':>9}{'ratio':>8}  clv"
    )
    for r in rows:
        print(
            f"{r['case']:<22}{r['as_of']:>12}{r['customers']:>11,}{r['floor_s']:>12.1f}"
            f"{r['job_s']:>9.1f}{r['job_s'] / max(r['floor_s'], 1e-9):>7.0f}x  {r['clv_model']}"
            f"{'  (models skipped: ' + r['skipped'] + ')' if r['skipped'] else ''}"
        )


if __name__ == "__main__":
    main()
