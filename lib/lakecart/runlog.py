"""``ops.runs``: one row per job run (failed runs included) and per-stage log lines."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pyspark import SparkContext
from pyspark.sql import Row
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import RUNS
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")


def one_line(exc: BaseException, limit: int = 400) -> str:
    """A one-line, bounded description of an exception (Spark's errors are multi-line)."""
    text = str(exc).strip() or exc.__class__.__name__
    first = text.splitlines()[0].strip()
    if first.startswith("[") and "]" in first:  # Spark error class prefix stays: it is searchable
        pass
    return first[:limit]


def new_run_id(job: str) -> str:
    """A sortable, unique run id: ``<UTC time>-<job>-<random>``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{job}-{uuid.uuid4().hex[:8]}"


STEP_LISTENERS: list[Callable[[dict[str, Any]], None]] = []
"""Callables given one dict per finished step (``job``, ``step``, ``seconds``, ``jobs``
and the step's counts): ``bench/pipeline.py`` collects its table from them."""


def spark_jobs_started() -> int | None:
    """How many Spark jobs this driver has started so far (the highest job id + 1 that the
    status tracker still retains, in no job group or the current one); None without a
    classic SparkContext (Spark Connect). Concurrent pipeline stages share the count."""
    try:
        sc = SparkContext._active_spark_context  # process-wide (the active session is per thread)
        if sc is None:
            return None
        tracker = sc.statusTracker()
        ids = list(tracker.getJobIdsForGroup(None))
        group = sc.getLocalProperty("spark.jobGroup.id")
        if group:
            ids += list(tracker.getJobIdsForGroup(group))
        return max(ids) + 1 if ids else 0
    except Exception:  # noqa: BLE001 - Spark Connect has no sparkContext; counts are optional
        return None


@dataclass
class RunContext:
    """What a running job knows about itself; stages add their row counts here."""

    run_id: str
    job: str
    args: dict[str, Any]
    started_at: dt.datetime
    rows_in: int = 0
    rows_out: int = 0
    summary: dict[str, Any] = field(default_factory=dict)

    @contextlib.contextmanager
    def stage(self, name: str) -> Iterator[dict[str, Any]]:
        """Time a stage and log one line with whatever counts the block puts in the dict,
        and the number of Spark jobs it started (``jobs=``)."""
        t0 = time.perf_counter()
        j0 = spark_jobs_started()
        counts: dict[str, Any] = {}
        yield counts
        seconds = time.perf_counter() - t0
        j1 = spark_jobs_started()
        jobs = j1 - j0 if j0 is not None and j1 is not None else None
        shown = " ".join(f"{k}={v}" for k, v in counts.items())
        log.info(
            "[%s] %-28s %7.1fs %s%sjobs=%s", self.job, name, seconds, shown, " " if shown else "",
            "?" if jobs is None else jobs,
        )  # fmt: skip
        for listener in STEP_LISTENERS:
            listener({"job": self.job, "step": name, "seconds": seconds, "jobs": jobs, **counts})


def _utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def _row(ctx: RunContext, status: str, finished: dt.datetime | None, error: str | None) -> Row:
    return Row(
        run_id=ctx.run_id,
        job=ctx.job,
        args=json.dumps(ctx.args, default=str, sort_keys=True),
        status=status,
        started_at=ctx.started_at,
        finished_at=finished,
        rows_in=int(ctx.rows_in),
        rows_out=int(ctx.rows_out),
        error=error,
    )


# one MERGE into ops.runs at a time from this driver: concurrent pipeline stages would
# otherwise conflict (each MERGE reads the whole table)
_RUNS_LOCK = threading.Lock()


def _write(lh: Lakehouse, row: Row) -> None:
    df = lh.spark.createDataFrame([row], RUNS.schema)
    df = df.select(*[F.col(c.name).cast(c.dtype) for c in RUNS.columns])
    with _RUNS_LOCK:
        lh.merge(df, RUNS)


@contextlib.contextmanager
def tracked_run(lh: Lakehouse, job: str, args: dict[str, Any]) -> Iterator[RunContext]:
    """Record a run in ``ops.runs``: ``running`` at start, then ``succeeded`` or ``failed``.

    The exception of a failed run is recorded (one line) and re-raised.
    """
    ctx = RunContext(new_run_id(job), job, args, _utcnow())
    _write(lh, _row(ctx, N.RUNNING, None, None))
    log.info("[%s] run %s started", job, ctx.run_id)
    try:
        yield ctx
    except BaseException as e:
        try:
            _write(lh, _row(ctx, N.FAILED, _utcnow(), one_line(e)))
        except Exception as log_err:  # pragma: no cover - never hide the original error
            log.warning("could not record the failed run: %s", one_line(log_err))
        raise
    _write(lh, _row(ctx, N.SUCCEEDED, _utcnow(), None))
    log.info(
        "[%s] run %s succeeded in %.1fs",
        job,
        ctx.run_id,
        (_utcnow() - ctx.started_at).total_seconds(),
    )
