"""``ingest --source S --path P``: land raw data as bronze, clean it into silver and
quarantine what is rejected, with a data-quality record per entity.

Only new or changed files (by path, size and modification time) are read, so ingesting
the same files again changes nothing and a folder with one new day adds only that day.
Everything is computed and checked before the first write, so a run that fails on bad
input leaves every table as it was.
"""

from __future__ import annotations

import argparse
import logging
import os
from dataclasses import dataclass
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import Config
from lakecart.identifiers import sql_string
from lakecart.ingest import clean
from lakecart.ingest import sources as S
from lakecart.runlog import RunContext
from lakecart.schemas import BRONZE, DATA_QUALITY, QUARANTINE, SILVER
from lakecart.tables import Lakehouse
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")


@dataclass
class EntityResult:
    """Row accounting of one entity in one run."""

    entity: str
    files: list[str]
    bronze: int
    silver: int
    quarantine: int
    duplicates: int
    reasons: dict[str, int]
    derived: bool = False

    @property
    def reject_share(self) -> float:
        return self.quarantine / self.bronze if self.bronze else 0.0


def _in_list(paths: list[str]) -> str:
    return ", ".join(sql_string(p) for p in paths)


def known_files(lh: Lakehouse, source: str, entities: list[str]) -> dict[str, tuple[int, int]]:
    """Files already in bronze for ``source``: path -> (size, mtime in ms).

    One Spark job over the bronze tables of ``entities`` (one row per ingested file).
    """
    parts = [
        lh.read(BRONZE[e])
        .filter(F.col("_source") == source)
        .select("_source_file", "_file_size", "_file_mtime")
        for e in sorted(set(entities))
        if lh.exists(BRONZE[e])
    ]
    if not parts:
        return {}
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    rows = (
        union.groupBy("_source_file")
        .agg(F.max("_file_size").alias("s"), F.max(F.unix_millis("_file_mtime")).alias("m"))
        .collect()  # one row per ingested file, not per record
    )
    return {r["_source_file"]: (int(r["s"]), int(r["m"])) for r in rows}


def _stage_spreadsheets(
    spark: SparkSession, config: Config, files: list[S.FileInfo]
) -> list[S.FileInfo]:
    """Replace local .xlsx files by CSV conversions under ``<lakehouse>/_staging/xlsx``."""
    out = []
    for f in files:
        if not f.path.lower().endswith(".xlsx"):
            out.append(f)
            continue
        if not f.path.startswith("file:"):
            raise S.IngestError(
                f"{f.path}: .xlsx is supported on local paths only; convert it to CSV"
            )
        from urllib.parse import urlparse

        from lakecart.ingest.xlsx import xlsx_to_csv

        root = (
            urlparse(config.lakehouse.root).path
            if "://" in config.lakehouse.root
            else config.lakehouse.root
        )
        name = f.path.rsplit("/", 1)[-1][: -len(".xlsx")] + ".csv"
        dst = xlsx_to_csv(urlparse(f.path).path, f"{os.path.abspath(root)}/_staging/xlsx/{name}")
        out += S.list_files(spark, f"file:{dst}")
    return out


def _lineage(df: DataFrame, source: str, ctx: RunContext) -> DataFrame:
    return (
        df.withColumn("_source", F.lit(source))
        .withColumn("_run_id", F.lit(ctx.run_id))
        .withColumn("_ingested_at", F.lit(ctx.started_at).cast("timestamp"))
    )


def _account(entity: str, files: list[str], counts: list[Any]) -> EntityResult:
    by_outcome = {clean.OUT_SILVER: 0, clean.OUT_QUARANTINE: 0, clean.OUT_DUPLICATE: 0}
    reasons: dict[str, int] = {}
    for r in counts:
        by_outcome[r["_outcome"]] += r["rows"]
        if r["_outcome"] == clean.OUT_QUARANTINE:
            reasons[r["_reason"]] = reasons.get(r["_reason"], 0) + r["rows"]
    total = sum(by_outcome.values())
    return EntityResult(
        entity,
        files,
        total,
        by_outcome[clean.OUT_SILVER],
        by_outcome[clean.OUT_QUARANTINE],
        by_outcome[clean.OUT_DUPLICATE],
        reasons,
    )


def _dq_rows(res: EntityResult, max_share: float) -> list[tuple]:
    table = f"{N.SILVER}.{res.entity}"
    if res.derived:
        return [
            (
                table,
                "derived_rows",
                True,
                0,
                f"{res.silver} rows derived from this run's accepted rows",
            )
        ]
    detail = f"bronze={res.bronze} silver={res.silver} quarantine={res.quarantine} duplicates={res.duplicates} files={len(res.files)}"
    rows = [
        (
            table,
            "row_accounting",
            res.bronze == res.silver + res.quarantine + res.duplicates,
            0,
            detail,
        ),
        (
            table,
            "reject_share",
            res.reject_share <= max_share,
            res.quarantine,
            f"{res.reject_share:.4f} of {res.bronze} rows (max {max_share})",
        ),
        (
            table,
            "duplicates_removed",
            True,
            res.duplicates,
            "exact duplicate records removed (first occurrence kept)",
        ),
    ]
    for reason, n in sorted(res.reasons.items()):
        rows.append((table, f"quarantine:{reason}", False, n, N.REASONS.get(reason, reason)))
    return rows


def ingest(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, source: str, path: str
) -> list[EntityResult]:
    """Ingest ``path`` as ``source``; see the module docstring.

    Returns:
        Row accounting per entity written (empty when nothing was new).

    Raises:
        S.IngestError: on bad input; nothing has been written then.
    """
    with ctx.stage("list files") as st:
        files = _stage_spreadsheets(spark, config, S.list_files(spark, path))
        plan = S.plan(source, files, path, config.ingest.landing_format)
        root = S.landing_root(spark, path)
        known = known_files(lh, source, [fs.entity for fs in plan.filesets])
        todo = []
        for fs in plan.filesets:
            new = [f for f in fs.files if known.get(f.uri) != (f.size, f.mtime_ms)]
            if new:
                fs.files = new
                todo.append(fs)
        st.update(files=len(files), new_or_changed=sum(len(fs.files) for fs in todo))
    if not todo:
        log.info("[ingest] nothing new under %s: every file is already ingested unchanged", path)
        _write_dq(
            lh,
            ctx,
            [(f"{N.BRONZE}.*", "new_files", True, 0, f"0 new or changed of {len(files)} files")],
        )
        return []

    rules = clean.Rules(
        tuple(config.ingest.timestamp_formats), config.ingest.rating_min, config.ingest.rating_max
    )
    cached: list[DataFrame] = []  # list.append is atomic: threads may add to it
    try:
        # ---------------- phase 1: read, classify, account; no writes. Entities are
        # independent: their (small) Spark jobs run side by side from driver threads.
        def read_classify(fs: S.FileSet) -> tuple[S.FileSet, DataFrame, DataFrame, EntityResult]:
            with ctx.stage(f"read+classify {fs.entity}") as st:
                bronze = _lineage(S.read_raw(spark, fs, config.ingest.csv_encoding), source, ctx)
                bronze = bronze.persist(StorageLevel.MEMORY_AND_DISK)
                cached.append(bronze)
                classified = clean.classify(
                    S.map_to_landing(bronze, fs), fs.entity, rules, fs.dedupe
                )
                if fs.entity == N.PRODUCTS:  # photos: relative to the landing folder
                    classified = classified.withColumn(
                        N.IMAGE, clean.resolve_path(F.col(N.IMAGE), root)
                    )
                classified = classified.persist(StorageLevel.MEMORY_AND_DISK)
                cached.append(classified)
                counts = clean.outcome_counts(classified).collect()  # files x outcomes x reasons
                truncated = clean.truncated_files(counts)
                if truncated:
                    raise S.IngestError(
                        f"{truncated[0]}: truncated file (its last record is incomplete)"
                    )
                res = _account(fs.entity, [f.uri for f in fs.files], counts)
                st.update(
                    bronze=res.bronze,
                    silver=res.silver,
                    quarantine=res.quarantine,
                    duplicates=res.duplicates,
                )
                if res.bronze == 0:
                    raise S.IngestError(f"{fs.files[0].path}: no records for {fs.entity}")
                if res.reject_share > config.ingest.max_reject_share:
                    top = max(res.reasons.items(), key=lambda kv: kv[1])
                    raise S.IngestError(
                        f"{fs.entity}: {res.quarantine} of {res.bronze} rows rejected ({res.reject_share:.1%} > "
                        f"ingest.max_reject_share {config.ingest.max_reject_share:.1%}); most common reason {top[0]} ({top[1]})"
                    )
                return fs, bronze, classified, res

        workers = config.ingest.parallelism
        staged = map_in_threads(read_classify, todo, workers, "ingest")

        derived: list[tuple[str, DataFrame, EntityResult]] = []
        for d in plan.derivations:
            parents = [c for fs, _, c, _ in staged if fs.entity == d.from_entity]
            if not parents:
                continue
            accepted = parents[0].filter(F.col("_outcome") == clean.OUT_SILVER)
            landed = d.fn(accepted)
            fields = [c for c in landed.columns if not c.startswith("_")]
            as_raw = F.create_map(*[x for c in fields for x in (F.lit(c), F.col(c).cast("string"))])
            landed = landed.withColumn(N.RAW, as_raw).withColumn(
                N.MALFORMED, F.lit(None).cast("string")
            )
            rows = clean.classify(landed, d.entity, rules)
            rows = clean.silver_rows(rows, SILVER[d.entity]).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(rows)
            n = rows.count()
            derived.append(
                (d.entity, rows, EntityResult(d.entity, [], 0, n, 0, 0, {}, derived=True))
            )

        # ---------------- phase 2: write; bronze last, as it is the ledger of ingested files.
        # Each entity's silver table is its own commit (side by side); the quarantine rows of
        # every entity are one commit, so the writers never conflict on that shared table.
        def write_silver(item: tuple[S.FileSet, DataFrame, DataFrame, EntityResult]) -> None:
            fs, _bronze, classified, res = item
            with ctx.stage(f"write {fs.entity}") as st:
                spec = SILVER[fs.entity]
                silver = clean.silver_rows(classified, spec)
                if spec.keys:
                    lh.merge(silver, spec)
                else:
                    lh.replace_where(
                        silver,
                        spec,
                        f"_source = {sql_string(source)} AND _source_file IN ({_in_list(res.files)})",
                    )
                st.update(silver=res.silver, quarantine=res.quarantine)

        def write_derived(item: tuple[str, DataFrame, EntityResult]) -> None:
            entity, rows, res = item
            with ctx.stage(f"write {entity} (derived)") as st:
                lh.merge(rows, SILVER[entity])
                st.update(rows=res.silver)

        def write_bronze(item: tuple[S.FileSet, DataFrame, DataFrame, EntityResult]) -> None:
            fs, bronze, _, res = item
            with ctx.stage(f"write bronze.{fs.entity}") as st:
                lh.replace_where(
                    bronze,
                    BRONZE[fs.entity],
                    f"_source = {sql_string(source)} AND _source_file IN ({_in_list(res.files)})",
                )
                st.update(rows=res.bronze)

        map_in_threads(write_silver, staged, workers, "ingest")
        map_in_threads(write_derived, derived, workers, "ingest")
        with ctx.stage("write quarantine") as st:
            quarantined = [
                clean.quarantine_rows(classified, fs.entity, ctx.run_id)
                for fs, _, classified, _ in staged
            ]
            union = quarantined[0]
            for q in quarantined[1:]:
                union = union.unionByName(q)
            lh.replace_where(
                union,
                QUARANTINE,
                " OR ".join(
                    f"(entity = {sql_string(fs.entity)} AND _source_file IN ({_in_list(res.files)}))"
                    for fs, _, _, res in staged
                ),
            )
            st.update(rows=sum(res.quarantine for *_, res in staged))
        map_in_threads(write_bronze, staged, workers, "ingest")
        results = [res for *_, res in staged] + [res for *_, res in derived]
        dq = [row for r in results for row in _dq_rows(r, config.ingest.max_reject_share)]
        _write_dq(lh, ctx, dq)
        ctx.rows_in += sum(r.bronze for r in results)
        ctx.rows_out += sum(r.silver + r.quarantine for r in results)
        return results
    finally:
        for df in cached:
            df.unpersist()


def _write_dq(lh: Lakehouse, ctx: RunContext, rows: list[tuple]) -> None:
    df = lh.spark.createDataFrame(
        [(ctx.run_id, *r) for r in rows],
        "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string",
    )
    lh.replace_where(df, DATA_QUALITY, f"run_id = {sql_string(ctx.run_id)}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the ingest job."""
    p.add_argument("--source", required=True, choices=N.SOURCES, help="what the files are")
    p.add_argument("--path", required=True, help="a file or folder (local path or any Hadoop URI)")


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebooks)."""
    results = ingest(spark, config, lh, ctx, args.source, args.path)
    for r in results:
        if not r.derived:
            log.info(
                "[ingest] %-12s bronze=%d silver=%d quarantine=%d duplicates=%d reasons=%s",
                r.entity,
                r.bronze,
                r.silver,
                r.quarantine,
                r.duplicates,
                r.reasons,
            )
    return {"entities": {r.entity: r.__dict__ for r in results}}


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("ingest", __doc__, add_arguments, run, argv)
