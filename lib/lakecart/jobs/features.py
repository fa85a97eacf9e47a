"""``features``: build the feature tables (interactions, user_features, item_features,
item_demand) as of ``--as-of`` from silver, using only rows with timestamps strictly before
it.

Each table holds one snapshot per as_of date (partitioned by ``as_of``); a run replaces
exactly its own snapshot and leaves the others untouched. Without ``--as-of`` the date is
the day after the latest order, event or rating in silver.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from typing import Any

from pyspark.sql import SparkSession

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import Config
from lakecart.features.build import build_features, prepare_inputs, read_inputs
from lakecart.features.specs import feature_specs
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")


def snapshot_condition(as_of: dt.date) -> str:
    """The ``replaceWhere`` predicate owning one snapshot."""
    return f"{N.AS_OF} = DATE'{as_of.isoformat()}'"


def _rows_written(lh: Lakehouse, spec) -> int | None:
    """Rows written by the table's latest commit (from the Delta log, no data scan)."""
    last = lh.delta(spec).history(1).select("operationMetrics").first()
    metrics = (last["operationMetrics"] or {}) if last else {}
    n = metrics.get("numOutputRows")
    return int(n) if n is not None else None


def build(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    as_of: dt.date,
    tables: list[str] | None = None,
) -> dict[str, int | None]:
    """Build and write the feature tables of one ``as_of`` snapshot.

    Args:
        spark: The session.
        config: The run's configuration (``features`` section).
        lh: The lakehouse.
        ctx: The run (stages are logged with their rows and seconds).
        as_of: The decision date.
        tables: A subset of the feature tables; default all.

    Returns:
        Rows written per table (``layer.name``).

    Raises:
        ValueError: when silver has no orders, events or ratings.
    """
    inputs = read_inputs(lh)
    if not inputs.has_facts:
        raise ValueError("silver has no orders, events or ratings: run ingest (or generate) first")
    specs = feature_specs(config.features)
    written: dict[str, int | None] = {}
    with ctx.stage("features: prepare inputs") as st:
        prepared, cached = prepare_inputs(inputs, as_of)
        rows_in = 0
        for name, df in (("order_items", prepared.orders), ("events", prepared.events)):
            if df is not None:
                n = df.count()  # materialises the cache shared by the four tables
                st[name] = n
                rows_in += n
        st["as_of"] = as_of.isoformat()
    try:
        frames = build_features(prepared, as_of, config.features, tables)

        def write(name: str) -> None:
            spec = specs[name]
            with ctx.stage(f"features: write {spec.full_name}") as st:
                lh.replace_where(frames[name], spec, snapshot_condition(as_of))
                n = _rows_written(lh, spec)
                written[spec.full_name] = n
                st.update(rows=n, as_of=as_of.isoformat())

        # The tables are independent Spark jobs over the same cached input: submitted
        # together they keep every core busy (many of their stages are a single task).
        map_in_threads(write, list(frames), config.features.write_parallelism, "features")
    finally:
        for df in cached:
            df.unpersist()
    written = {specs[n].full_name: written[specs[n].full_name] for n in frames}
    ctx.rows_in += rows_in
    ctx.rows_out += sum(n or 0 for n in written.values())
    return written


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the features job."""
    p.add_argument(
        "--tables",
        default=None,
        help=f"comma-separated subset of {', '.join(N.FEATURE_TABLES)} (default: all)",
    )


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    tables = (
        [t.strip() for t in args.tables.split(",") if t.strip()]
        if getattr(args, "tables", None)
        else None
    )
    if not read_inputs(lh).has_facts and any(lh.exists(s) for s in SILVER.values()):
        # e.g. a payments-only or reviews-only shop: the later stages that need no feature
        # tables (fraud, sentiment, support, marketing) still run in the pipeline
        log.info("[features] skipped: silver has no orders, events or ratings")
        return {"skipped": "silver has no orders, events or ratings"}
    as_of = resolve_as_of(lh, config)
    written = build(spark, config, lh, ctx, as_of, tables)
    for table, n in written.items():
        log.info("[features] %-24s as_of=%s rows=%s", table, as_of, n)
    return {"as_of": as_of.isoformat(), "rows": written}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("features", __doc__, add_arguments, run, argv)
