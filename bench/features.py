"""Features benchmark, side by side in one Spark session.

For each dataset (full UCI Online Retail; with ``--scale N`` also the synthetic shop):

1. ingest it into a bench lakehouse (once; reused on later runs of this script);
2. time a single ``groupBy`` scan of silver orders (the floor: one read, one shuffle) and
   the ``features`` job (all four feature tables as of the default as_of, written to
   Delta, run bookkeeping included); print both and the ratio (goal: at most 3x);
3. show that one more snapshot does not rebuild the others: the feature tables are
   dropped, a first snapshot (as_of 7 days earlier; it also warms the JVM up, as one scan
   does for the baseline) is built, then the timed one; the first snapshot's row counts
   and data files are unchanged and the new commit of every table only added files
   (Delta history: predicate, files removed = 0).

Usage: .venv/bin/python bench/features.py [--data ../shared/datasets] [--out bench/out/features]
       [--scale 16] [--shuffle-partitions 4] [--master local[*]]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
from collections.abc import Callable
from pathlib import Path

from common import config_for, timed
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.cli import setup_logging
from lakecart.config import Config
from lakecart.features.specs import feature_specs
from lakecart.jobs import features as features_job
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

ORDERS = SILVER[N.ORDERS]


def groupby_scan(lh: Lakehouse) -> int:
    """The baseline: one scan of silver orders aggregated per item."""
    agg = (
        lh.read(ORDERS)
        .groupBy(N.ITEM_ID)
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.sum(N.QUANTITY).alias("q"),
            F.sum(N.REVENUE).alias("r"),
            F.max(N.ORDER_TS).alias("t"),
        )
    )
    agg.write.format("noop").mode("overwrite").save()
    return lh.read(ORDERS).count()


def snapshot_state(
    lh: Lakehouse, cfg: Config, as_of: dt.date
) -> dict[str, tuple[int, frozenset[str]]]:
    """Rows and data files of one snapshot, per table."""
    out = {}
    for spec in feature_specs(cfg.features).values():
        snap = lh.read(spec).filter(F.col(N.AS_OF) == F.lit(as_of))
        files = frozenset(
            r[0] for r in snap.select(F.col("_metadata.file_path")).distinct().collect()
        )  # a few files
        out[spec.full_name] = (snap.count(), files)
    return out


def run_features(
    spark: SparkSession, cfg: Config, lh: Lakehouse, as_of: dt.date
) -> dict[str, int | None]:
    with tracked_run(lh, "features", {"bench": True, "as_of": as_of.isoformat()}) as ctx:
        return features_job.build(spark, cfg, lh, ctx, as_of)


def bench_case(
    spark: SparkSession, label: str, cfg: Config, load: Callable[[Lakehouse], None]
) -> None:
    lh = Lakehouse(spark, cfg.lakehouse)
    if not lh.exists(ORDERS) or lh.read(ORDERS).limit(1).count() == 0:
        t_load, _ = timed(lambda: load(lh))
        print(f"[{label}] loaded into {cfg.lakehouse.root} in {t_load:.1f} s", flush=True)
    as_of = resolve_as_of(lh, cfg)
    as_of_first = as_of - dt.timedelta(days=7)
    specs = list(feature_specs(cfg.features).values())
    for spec in specs:  # start from no snapshot at all
        shutil.rmtree(lh.path(spec), ignore_errors=True)
    # warm-up for both contenders (JVM, Delta log, OS file cache): one scan for the
    # baseline; for the features, the first snapshot (a week earlier)
    groupby_scan(lh)
    t_first, _ = timed(lambda: run_features(spark, cfg, lh, as_of_first))
    first_before = snapshot_state(lh, cfg, as_of_first)
    versions = {s.full_name: lh.version(s) for s in specs}
    t_scan, n_orders = timed(lambda: groupby_scan(lh))
    t_job, rows = timed(lambda: run_features(spark, cfg, lh, as_of))
    first_after = snapshot_state(lh, cfg, as_of_first)

    print(f"\n== {label}: {n_orders:,} silver order lines, as_of {as_of} ==")
    print(f"single groupBy scan of silver orders    : {t_scan:8.1f} s")
    print(f"features job (4 tables, as_of {as_of}) : {t_job:8.1f} s")
    print(f"ratio features / groupBy scan           : {t_job / t_scan:8.2f}  (goal <= 3.0)")
    for table, n in rows.items():
        print(f"    {table:<28} {n:>12,} rows")
    print(f"first snapshot, as_of {as_of_first} (warm-up): {t_first:8.1f} s")
    print(f"\nbuilding as_of {as_of} left the as_of {as_of_first} snapshot alone:")
    print(
        f"{'table':<28} {'rows before':>12} {'after':>12} {'files same':>11}  commit of the new snapshot"
    )
    for spec in specs:
        name = spec.full_name
        (n0, f0), (n1, f1) = first_before[name], first_after[name]
        last = lh.delta(spec).history(1).first()
        m = last["operationMetrics"] or {}
        p = last["operationParameters"] or {}
        commit = (
            f"v{versions[name]}->v{last['version']} {last['operation']} "
            f"predicate={p.get('predicate')} files removed={m.get('numRemovedFiles', '0')} "
            f"added={m.get('numFiles', m.get('numAddedFiles'))}"
        )
        print(f"{name:<28} {n0:>12,} {n1:>12,} {str(f0 == f1):>11}  {commit}")
    snaps = (
        lh.read(feature_specs(cfg.features)[N.ITEM_DEMAND])
        .groupBy(N.AS_OF)
        .count()
        .orderBy(N.AS_OF)
        .collect()
    )
    print("features.item_demand snapshots: " + ", ".join(f"{r[0]}: {r[1]:,} rows" for r in snaps))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    )
    ap.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "features"))
    ap.add_argument(
        "--scale", type=int, default=None, help="also bench the synthetic shop at this scale"
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--skip-online-retail", action="store_true")
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    ap.add_argument("--master", default="local[*]")
    a = ap.parse_args()
    setup_logging()
    out = Path(a.out)
    cfg = config_for(out / "online_retail", a)
    spark = get_spark(cfg)
    print(
        f"spark {spark.version} master={spark.sparkContext.master} cores={spark.sparkContext.defaultParallelism} shuffle partitions={a.shuffle_partitions}"
    )

    if not a.skip_online_retail:
        src = Path(a.data) / "online_retail" / "by-day"

        def load_or(lh: Lakehouse) -> None:
            from lakecart.jobs import ingest as ingest_job

            with tracked_run(lh, "ingest", {"bench": True}) as ctx:
                ingest_job.ingest(spark, cfg, lh, ctx, N.SRC_ONLINE_RETAIL, str(src))

        bench_case(spark, "Online Retail", cfg, load_or)

    if a.scale:
        try:
            from lakecart.generate import generate_landing  # noqa: F401
            from lakecart.jobs.generate import generate
        except ImportError as e:
            print(f"\n== synthetic shop: skipped ({e}) ==")
        else:
            scfg = config_for(out / f"synthetic_s{a.scale}", a)

            def load_synthetic(lh: Lakehouse) -> None:
                with tracked_run(lh, "generate", {"bench": True, "scale": a.scale}) as ctx:
                    generate(spark, scfg, lh, ctx, a.scale, a.seed)

            bench_case(spark, f"synthetic shop, scale {a.scale}", scfg, load_synthetic)
    spark.stop()


if __name__ == "__main__":
    main()
