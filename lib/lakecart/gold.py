"""What every published (gold) table and every model shares.

* :func:`gold_spec` declares a gold table: its own columns plus ``model_version``,
  ``as_of`` and ``generated_at`` (SPEC section 4).
* :func:`publish` writes one: schema-checked, key-checked, one atomic Delta commit that
  replaces the table's content, so a re-run for the same as_of replaces and never
  duplicates. Earlier publications stay readable through Delta time travel
  (``versionAsOf``), and every publication's metrics stay in ``ops.model_metrics``.
* :class:`Metric` and :func:`write_metrics` append evaluation rows to ``ops.model_metrics``
  with the baseline's value beside each.
* :func:`new_model_version` and :func:`model_path` name and place fitted models.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import MODEL_METRICS, TS, Col, D, S, TableSpec
from lakecart.tables import Lakehouse, conform

log = logging.getLogger("lakecart")

GOLD_COMMON: tuple[Col, ...] = (
    Col(N.MODEL_VERSION, S, "version id of the model (or rule) that produced the row", False),
    Col(N.AS_OF, D, "decision date: the model learned only from data strictly before it", False),
    Col(N.GENERATED_AT, TS, "when the row was published (UTC)", False),
)


class DuplicateKeys(ValueError):
    """A gold DataFrame has more than one row for a declared key."""


def gold_spec(
    name: str,
    comment: str,
    columns: Sequence[Col],
    keys: Sequence[str],
    checks: dict[str, str] | None = None,
) -> TableSpec:
    """Declare a gold table: ``columns`` followed by the common gold columns.

    Args:
        name: Table name in the gold layer.
        comment: What the table holds (the Delta table comment).
        columns: The table's own columns, in order.
        keys: Columns identifying a row; :func:`publish` checks they are unique.
        checks: Named SQL CHECK constraints.

    Returns:
        The :class:`TableSpec`.
    """
    return TableSpec(
        N.GOLD, name, comment, (*columns, *GOLD_COMMON), keys=tuple(keys), checks=checks or {}
    )


def utcnow() -> dt.datetime:
    """Now in UTC as a naive timestamp (Spark's session time zone is UTC)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def with_gold_columns(
    df: DataFrame, model_version: str, as_of: dt.date, generated_at: dt.datetime | None = None
) -> DataFrame:
    """Add ``model_version``, ``as_of`` and ``generated_at`` (typed as declared)."""
    return df.withColumns(
        {
            N.MODEL_VERSION: F.lit(model_version).cast("string"),
            N.AS_OF: F.lit(as_of).cast("date"),
            N.GENERATED_AT: F.lit(generated_at or utcnow()).cast("timestamp"),
        }
    )


def duplicate_keys(df: DataFrame, keys: Sequence[str]) -> int:
    """Number of key values that occur more than once (one aggregation)."""
    return df.groupBy(*[F.col(f"`{k}`") for k in keys]).count().filter(F.col("count") > 1).count()


def publish(lh: Lakehouse, df: DataFrame, spec: TableSpec, check_keys: bool = True) -> int:
    """Replace the content of a gold table with ``df`` in one atomic commit.

    The frame is checked against the declared schema (:func:`lakecart.tables.conform`) and,
    when ``check_keys``, for duplicate keys before anything is written; on failure the table
    is left as it was.

    Args:
        lh: The lakehouse.
        df: The rows to publish, with the common gold columns.
        spec: A gold table declared with :func:`gold_spec`.
        check_keys: Fail on duplicate keys (costs one aggregation).

    Returns:
        Rows written (from the Delta commit metrics; no extra scan).

    Raises:
        lakecart.tables.SchemaMismatch: the frame does not match the declared schema.
        DuplicateKeys: a key occurs more than once.
    """
    df = conform(df, spec)
    if check_keys and spec.keys:
        dups = duplicate_keys(df, spec.keys)
        if dups:
            raise DuplicateKeys(f"{spec.full_name}: {dups} duplicate keys ({', '.join(spec.keys)})")
    lh.replace_where(df, spec, "true")
    last = lh.delta(spec).history(1).select("operationMetrics").first()
    n = ((last["operationMetrics"] or {}) if last else {}).get("numOutputRows")
    return int(n) if n is not None else 0


@dataclass(frozen=True)
class Metric:
    """One row of ``ops.model_metrics`` (the run id is added when written).

    Attributes:
        model: Model name (``als``, ``hybrid``, ``gbt_forecast``, ``churn_gbt``...).
        model_version: Version id of the evaluated model.
        metric: Metric name (``ndcg``, ``wape``, ``auc``...).
        value: The model's value.
        dataset: Dataset or source evaluated.
        as_of: Decision date of the evaluation.
        split: ``validation``, ``holdout``, ``backtest``...
        k: Cut-off or horizon, when the metric has one.
        baseline: Name of the baseline compared against.
        baseline_value: The baseline's value of the same metric on the same split.
    """

    model: str
    model_version: str
    metric: str
    value: float | None
    dataset: str | None = None
    as_of: dt.date | None = None
    split: str | None = None
    k: int | None = None
    baseline: str | None = None
    baseline_value: float | None = None


def _num(x: float | None) -> float | None:
    if x is None:
        return None
    x = float(x)
    return None if x != x else x  # NaN -> NULL


def write_metrics(lh: Lakehouse, run_id: str, metrics: Iterable[Metric]) -> int:
    """Append metric rows for one run to ``ops.model_metrics``.

    Metric lists are small (models x metrics x cut-offs), so they are built on the driver.

    Returns:
        Rows appended.
    """
    rows = [
        (
            run_id,
            m.model,
            m.model_version,
            m.dataset,
            m.as_of,
            m.split,
            m.metric,
            None if m.k is None else int(m.k),
            _num(m.value),
            m.baseline,
            _num(m.baseline_value),
        )
        for m in metrics
    ]
    if not rows:
        return 0
    df = lh.spark.createDataFrame(rows, MODEL_METRICS.schema)
    lh.append(df, MODEL_METRICS)
    return len(rows)


def new_model_version(model: str, as_of: dt.date) -> str:
    """A unique, sortable version id: ``<model>-<as_of>-<UTC time>-<random>``."""
    return f"{model}-{as_of:%Y%m%d}-{utcnow():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:6]}"


def models_root(lh: Lakehouse) -> str:
    """Folder holding fitted models: ``lakehouse.models_root`` or ``<root>/_models``."""
    return (lh.config.models_root or f"{lh.config.root.rstrip('/')}/_models").rstrip("/")


def model_path(lh: Lakehouse, model: str, version: str) -> str:
    """Where a fitted model of one version is saved (``<models_root>/<model>/<version>``)."""
    return f"{models_root(lh)}/{model}/{version}"
