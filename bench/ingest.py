"""Ingest benchmark, side by side in one Spark session.

1. Full UCI Online Retail (305 day files, 541,909 lines): lakecart `ingest` (bronze +
   silver + quarantine + data quality) vs a plain ``spark.read.csv(...)`` -> Delta copy of
   the same files. Prints both times and the ratio (goal: at most 2.0).
2. ``generate`` + ``ingest`` of the synthetic shop at several scales: seconds per million
   landed rows (goal: flat, i.e. linear cost).

Usage: .venv/bin/python bench/ingest.py [--data ../shared/datasets] [--scales 1 4 16] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from lakecart import names as N
from lakecart.cli import setup_logging
from lakecart.config import load_config
from lakecart.jobs import ingest as ingest_job
from lakecart.runlog import tracked_run
from lakecart.session import get_spark
from lakecart.tables import Lakehouse


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    )
    ap.add_argument("--scales", type=int, nargs="*", default=[1, 4, 16])
    ap.add_argument("--out", default=None, help="scratch folder (default: a temp dir, removed)")
    ap.add_argument("--master", default="local[*]")
    a = ap.parse_args()
    setup_logging()
    out = Path(a.out or tempfile.mkdtemp(prefix="lakecart-bench-"))
    cfg = load_config(
        "local",
        overrides=[
            f"spark.master={a.master}",
            f"lakehouse.root={out / 'lake'}",
            "spark.conf.spark.ui.showConsoleProgress=false",
        ],
    )
    spark = get_spark(cfg)
    src = Path(a.data) / "online_retail" / "by-day"
    print(
        f"spark {spark.version} master={spark.sparkContext.master} cores={spark.sparkContext.defaultParallelism}"
    )

    # warm-up: JVM, Delta classes and the OS file cache, for both contenders alike
    spark.read.option("header", True).csv(str(src)).count()

    def plain():
        df = spark.read.option("header", True).csv(str(src))
        df.write.format("delta").mode("overwrite").save(str(out / "plain_copy"))
        return spark.read.format("delta").load(str(out / "plain_copy")).count()

    t_plain, n_plain = timed(plain)
    lh = Lakehouse(spark, cfg.lakehouse)

    def ours():
        with tracked_run(lh, "ingest", {"bench": True}) as ctx:
            return ingest_job.ingest(spark, cfg, lh, ctx, N.SRC_ONLINE_RETAIL, str(src))

    t_ours, results = timed(ours)
    orders = next(r for r in results if r.entity == N.ORDERS)
    t_rerun, _ = timed(ours)
    print("\n== Online Retail, 305 files ==")
    print(f"plain spark.read.csv -> delta : {t_plain:8.1f} s  ({n_plain:,} rows)")
    print(
        f"lakecart ingest               : {t_ours:8.1f} s  (bronze {orders.bronze:,} = silver {orders.silver:,}"
        f" + quarantine {orders.quarantine:,} + duplicates {orders.duplicates:,})"
    )
    print(f"ratio ingest / plain          : {t_ours / t_plain:8.2f}  (goal <= 2.0)")
    print(f"re-run, nothing new           : {t_rerun:8.1f} s")

    if a.scales:
        from lakecart.jobs.generate import generate

        print("\n== generate + ingest, synthetic shop ==")
        print(
            f"{'scale':>5} {'landed rows':>12} {'generate s':>11} {'ingest s':>9} {'s / M rows':>11}"
        )
        for scale in a.scales:
            scfg = load_config(
                "local",
                overrides=[f"spark.master={a.master}", f"lakehouse.root={out / f'lake_s{scale}'}"],
            )
            slh = Lakehouse(spark, scfg.lakehouse)
            t0 = time.perf_counter()
            with tracked_run(slh, "generate", {"scale": scale}) as ctx:
                res = generate(spark, scfg, slh, ctx, scale, 42)
            total = time.perf_counter() - t0
            rows = sum(res["generated"].values())
            t_gen, t_ing = ctx.summary["generate_seconds"], ctx.summary["ingest_seconds"]
            print(
                f"{scale:>5} {rows:>12,} {t_gen:>11.1f} {t_ing:>9.1f} {total / rows * 1e6:>11.1f}"
            )
    if not a.out:
        shutil.rmtree(out, ignore_errors=True)
    spark.stop()


if __name__ == "__main__":
    main()
