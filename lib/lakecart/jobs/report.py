"""``report``: the analytics marts, then one self-contained HTML report of the lakehouse.

1. Marts (gold, from silver strictly before as_of; skipped with a log line when their
   entities are absent): ``gold.sales_daily`` (date x country x category x channel),
   ``gold.item_sales_weekly`` (item x ISO week), ``gold.cohort_retention`` (first-order
   month x months since) and, from events, ``gold.funnel_daily`` (date x channel x entry
   category). Each is republished whole in one atomic commit, so a re-run for the same
   as_of replaces it.
2. The report: reads only gold and ops tables (and ``silver.quarantine``) as any consumer
   would, brings small aggregates to the driver, and writes one HTML file with Plotly's
   JavaScript embedded (it opens offline) to ``<lakehouse>/_reports/<as_of>/index.html`` and
   ``<lakehouse>/_reports/latest/index.html``; sections whose tables are absent are listed
   as not shown. The path is printed at the end.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession

from lakecart import names as N
from lakecart.asof import NoDataError, resolve_as_of
from lakecart.config import Config
from lakecart.gold import new_model_version, publish, utcnow, with_gold_columns
from lakecart.report import marts
from lakecart.report.page import Page, exists, render, report_uris, reports_root, write_text
from lakecart.report.reader import ConsumerReader
from lakecart.report.sections import SECTIONS, Context, Section
from lakecart.report.specs import COHORT_RETENTION, FUNNEL_DAILY, ITEM_SALES_WEEKLY, SALES_DAILY
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER, TableSpec
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

# marts whose rows are range-ordered by this column before writing (file statistics then
# let a date filter skip files)
ORDER_BY = {
    N.SALES_DAILY: N.ORDER_DATE,
    N.ITEM_SALES_WEEKLY: N.PERIOD_START,
    N.COHORT_RETENTION: N.COHORT_MONTH,
    N.FUNNEL_DAILY: N.SESSION_DATE,
}


def _silver(lh: Lakehouse, entity: str) -> DataFrame | None:
    spec = SILVER[entity]
    return lh.read(spec) if lh.exists(spec) else None


def _publish(
    lh: Lakehouse, ctx: RunContext, df: DataFrame, spec: TableSpec, version: str, as_of: dt.date
) -> int:
    with ctx.stage(f"report: {spec.name}") as st:
        # cached: the key check, the range bounds and the write then share one computation
        rows = with_gold_columns(df, version, as_of).persist(StorageLevel.MEMORY_AND_DISK)
        try:
            col = ORDER_BY[spec.name]
            n = publish(lh, rows.repartitionByRange(col).sortWithinPartitions(col), spec)
        finally:
            rows.unpersist()
        st["rows"] = n
    ctx.rows_out += n
    return n


def build_marts(lh: Lakehouse, ctx: RunContext, as_of: dt.date) -> dict[str, Any]:
    """Publish every mart whose silver inputs exist; returns rows per table or skip reasons."""
    orders = _silver(lh, N.ORDERS)
    products = _silver(lh, N.PRODUCTS)
    events = _silver(lh, N.EVENTS)
    version = new_model_version("marts", as_of)
    out: dict[str, Any] = {}
    if orders is not None:
        for spec, df in (
            (SALES_DAILY, marts.sales_daily(orders, products, as_of)),
            (ITEM_SALES_WEEKLY, marts.item_sales_weekly(orders, products, as_of)),
            (COHORT_RETENTION, marts.cohort_retention(orders, as_of)),
        ):
            out[spec.full_name] = _publish(lh, ctx, df, spec, version, as_of)
    else:
        log.info("[report] sales, item and cohort marts skipped: silver has no orders")
        out["skipped_sales_marts"] = "silver has no orders"
    if events is not None:
        df = marts.funnel_daily(events, products, orders, as_of)
        out[FUNNEL_DAILY.full_name] = _publish(lh, ctx, df, FUNNEL_DAILY, version, as_of)
    else:
        log.info("[report] funnel mart skipped: silver has no events")
        out["skipped_funnel"] = "silver has no events"
    return out


def build_sections(
    lh: Lakehouse, config: Config, ctx: RunContext, as_of: dt.date
) -> tuple[list[Section], dict[str, str]]:
    """Every section of the report; a section that fails is listed as not shown (its error
    is logged and returned) rather than failing the report."""
    reader = ConsumerReader(lh)
    sctx = Context(reader, config.report, as_of)
    sections: list[Section] = []
    errors: dict[str, str] = {}
    for build in SECTIONS:
        name = build.__name__.removesuffix("_section")
        with ctx.stage(f"report: section {name}") as st:
            try:
                s = build(sctx)
            except Exception as e:  # noqa: BLE001 - one broken section must not hide the rest
                log.warning("[report] section %s failed: %s", name, str(e).splitlines()[0][:300])
                errors[name] = str(e).splitlines()[0][:300]
                s = Section(name, name.title(), "", skipped=f"failed: {errors[name]}")
            st.update(charts=len(s.charts), shown=s.skipped is None)
        sections.append(s)
    return sections, errors


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Publish the marts (unless ``report.marts`` is false) and write the report.

    Returns:
        A summary: mart rows, charts, sections shown and skipped, the report's URI.
    """
    cfg = config.report
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    if cfg.marts:
        result.update(build_marts(lh, ctx, as_of))
    sections, errors = build_sections(lh, config, ctx, as_of)
    charts = sum(len(s.charts) for s in sections)
    shown = [s.key for s in sections if s.skipped is None and s.items]
    root = str(lh.config.root)
    generated = utcnow()
    page = Page(
        title=f"lakecart report — as of {as_of.isoformat()}",
        subtitle=f"lakehouse {root} · generated {generated:%Y-%m-%d %H:%M} UTC · "
        f"{charts} charts in {len(shown)} sections",
        sections=sections,
        footer=f"Read from the gold and ops tables of {root} (run {ctx.run_id}). Every figure "
        "is an aggregate of published tables; nothing in this file is fetched from the network.",
    )
    with ctx.stage("report: write html") as st:
        document = render(page)
        dated, latest = report_uris(reports_root(root, cfg.reports_dir), as_of)
        write_text(spark, dated, document)
        write_text(spark, latest, document)
        st.update(charts=charts, bytes=len(document.encode()))
    result.update(
        charts=charts,
        sections=shown,
        not_shown=[s.key for s in sections if s.key not in shown],
        report=dated,
        latest=latest,
    )
    if errors:
        result["section_errors"] = errors
    return result


def latest_report(lh: Lakehouse, config: Config) -> str | None:
    """The latest report, ``<reports>/latest/index.html``, or None when none was written
    (for the pipeline's closing line)."""
    uri = f"{reports_root(str(lh.config.root), config.report.reports_dir)}/latest/index.html"
    return uri if exists(lh.spark, uri) else None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the report job (everything else is in the ``report`` config)."""
    p.add_argument(
        "--no-marts",
        action="store_true",
        help="render the report from the published tables without rebuilding the marts",
    )


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    if getattr(args, "no_marts", False):
        import dataclasses

        config = dataclasses.replace(config, report=dataclasses.replace(config.report, marts=False))
    try:
        as_of = resolve_as_of(lh, config)
    except NoDataError as e:
        log.info("[report] skipped: %s", e)
        return {"skipped": str(e)}
    result = build(spark, config, lh, ctx, as_of)
    log.info("[report] %s", {k: v for k, v in result.items() if k not in ("report", "latest")})
    print(f"report: {result['report']}", flush=True)
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("report", __doc__, add_arguments, run, argv)
