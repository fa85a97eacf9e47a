"""Reading the published tables as any consumer would: only tables that exist (never
creating one), only the gold and ops layers (plus ``silver.quarantine``), and only small
aggregates brought to the driver."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import TableSpec, all_specs
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

READABLE_LAYERS = (N.GOLD, N.OPS)
READABLE_TABLES = {(N.SILVER, N.QUARANTINE)}
METRICS_CAP = 20_000  # rows of ops.model_metrics brought to the driver per report


class ConsumerReader:
    """Opens gold and ops tables that exist, by name, without creating any.

    A table of another stage that is not declared (yet) is still found at its SPEC name;
    a table that lacks a column a section needs is treated as absent (logged).

    Args:
        lh: The lakehouse.
    """

    def __init__(self, lh: Lakehouse) -> None:
        self.lh = lh
        self.spark = lh.spark
        self.specs = {(s.layer, s.name): s for s in all_specs()}
        self._cache: dict[tuple[str, str], DataFrame | None] = {}
        self._metrics: pd.DataFrame | None = None

    def spec(self, name: str, layer: str = N.GOLD) -> TableSpec:
        """The declared spec, or a name-only stand-in for an undeclared table."""
        return self.specs.get((layer, name)) or TableSpec(layer, name, "", ())

    def table(
        self, name: str, layer: str = N.GOLD, columns: Sequence[str] = ()
    ) -> DataFrame | None:
        """The table as a DataFrame, or None when it does not exist or lacks ``columns``."""
        if layer not in READABLE_LAYERS and (layer, name) not in READABLE_TABLES:
            raise ValueError(f"the report reads only gold and ops tables, not {layer}.{name}")
        key = (layer, name)
        if key not in self._cache:
            spec = self.spec(name, layer)
            df = None
            if self.lh.exists(spec):
                if self.lh.metastore:
                    df = self.spark.table(self.lh.ident(spec))
                else:
                    df = self.spark.read.format("delta").load(self.lh.path(spec))
            self._cache[key] = df
        df = self._cache[key]
        if df is None:
            return None
        missing = [c for c in columns if c not in df.columns]
        if missing:
            log.warning("[report] %s.%s lacks %s: its section is skipped", layer, name, missing)
            return None
        return df

    def metrics(self) -> pd.DataFrame:
        """``ops.model_metrics`` rows of the latest succeeded run of each job that wrote
        metrics, with the run's ``job`` (bounded by :data:`METRICS_CAP`)."""
        if self._metrics is not None:
            return self._metrics
        cols = [
            N.RUN_ID,
            N.MODEL,
            N.MODEL_VERSION,
            N.DATASET,
            N.AS_OF,
            N.SPLIT,
            N.METRIC,
            N.K,
            N.VALUE,
            N.BASELINE,
            N.BASELINE_VALUE,
        ]
        m = self.table(N.MODEL_METRICS, N.OPS, cols)
        runs = self.table(N.RUNS, N.OPS, [N.RUN_ID, N.JOB, N.STATUS, N.STARTED_AT])
        if m is None or runs is None:
            self._metrics = pd.DataFrame(columns=[*cols, N.JOB])
            return self._metrics
        done = runs.filter(F.col(N.STATUS) == N.SUCCEEDED).select(N.RUN_ID, N.JOB, N.STARTED_AT)
        with_runs = m.select(N.RUN_ID).distinct().join(done, N.RUN_ID)
        latest = with_runs.groupBy(N.JOB).agg(F.max_by(N.RUN_ID, N.STARTED_AT).alias(N.RUN_ID))
        rows = m.join(latest, N.RUN_ID).select(*cols, N.JOB).limit(METRICS_CAP)
        self._metrics = rows.toPandas()
        return self._metrics

    def job_metrics(self, job: str) -> pd.DataFrame:
        """Metrics of the latest succeeded run of ``job`` (possibly empty)."""
        m = self.metrics()
        return m[m[N.JOB] == job].reset_index(drop=True)
