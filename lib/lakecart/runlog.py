"""``ops.runs``: one row per job run (failed runs included) and per-stage log lines."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import socket
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
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()] or [text]
    first = lines[0]
    if first.startswith("An error occurred while calling") and len(lines) > 1:
        # py4j's header names only the JVM object; the Java exception is on the next line
        first = lines[1].removeprefix(": ").strip()
    return first[:limit]


def new_run_id(job: str) -> str:
    """A sortable, unique run id: ``<UTC time>-<job>-<random>``."""
    return f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%S}-{job}-{uuid.uuid4().hex[:8]}"


STEP_LISTENERS: list[Callable[[dict[str, Any]], None]] = []
"""Callables given one dict per finished step (``job``, ``step``, ``seconds``, ``jobs``,
``jobs_span`` and the step's counts): ``bench/pipeline.py`` collects its table from them.
``jobs_span`` is the ``(first, end)`` count of Spark jobs started in the application when
the step began and ended (None when unknown): steps that ran side by side in threads share
jobs, so a stage's jobs are the union of its steps' spans, not the sum of ``jobs``."""


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
            span = (j0, j1) if jobs is not None else None
            listener(
                {
                    "job": self.job,
                    "step": name,
                    "seconds": seconds,
                    "jobs": jobs,
                    "jobs_span": span,
                    **counts,
                }
            )


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


def _write(lh: Lakehouse, row: Row | list[Row]) -> None:
    rows = row if isinstance(row, list) else [row]
    df = lh.spark.createDataFrame(rows, RUNS.schema)
    df = df.select(*[F.col(c.name).cast(c.dtype) for c in RUNS.columns])
    with _RUNS_LOCK:
        lh.merge(df, RUNS)


# ---------------------------------------------------------------- abandoned runs
DRIVER_KEY = "_driver"
"""Key of ``ops.runs.args`` under which a run records the process that runs it."""

OTHER_HOST_STALE_HOURS = 48.0
"""A ``running`` row of another host (whose process cannot be looked at from here) counts
as abandoned once it is this old; rows of this host are judged by their process."""

# runs in progress in this process (a notebook's driver runs many jobs, one after another)
_ACTIVE: set[str] = set()


def _proc_start(pid: int) -> str | None:
    """The kernel's start time of process ``pid`` (clock ticks since boot), None when it
    does not exist or /proc is not available; with the boot id it tells a reused pid."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            stat = f.read()
        return stat.rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as f:
            return f.read().strip()
    except OSError:
        return None


def driver_identity() -> dict[str, Any]:
    """Who runs this driver: host, pid, the process's start time and the boot id."""
    pid = os.getpid()
    return {"host": socket.gethostname(), "pid": pid, "start": _proc_start(pid), "boot": _boot_id()}


def is_abandoned(
    run_id: str,
    args: str | None,
    started_at: dt.datetime,
    now: dt.datetime,
    me: dict[str, Any],
    active: set[str],
    stale_hours: float = OTHER_HOST_STALE_HOURS,
) -> bool:
    """Whether a ``running`` row of ``ops.runs`` belongs to a run that can no longer finish.

    A run on this host is abandoned when its process is gone (or the pid now belongs to a
    process started later, or the machine rebooted since), or when it is this very process
    but not one of its runs in progress (``active``). A run of another host, or one that
    recorded no driver, is abandoned only once it is ``stale_hours`` old.

    Args:
        run_id: The row's run id.
        args: The row's ``args`` JSON (``_driver`` holds the identity it recorded).
        started_at: The row's start time (UTC, naive).
        now: The current time (UTC, naive).
        me: :func:`driver_identity` of this process.
        active: Run ids in progress in this process.
        stale_hours: Age after which an unverifiable run counts as abandoned.
    """
    try:
        drv = json.loads(args or "{}").get(DRIVER_KEY) or {}
    except (ValueError, AttributeError):
        drv = {}
    if drv.get("host") != me["host"] or not drv.get("pid"):
        return (now - started_at).total_seconds() > stale_hours * 3600
    if drv.get("boot") and me.get("boot") and drv["boot"] != me["boot"]:
        return True  # the machine rebooted since: every process of then is gone
    pid = int(drv["pid"])
    if pid == me["pid"] and drv.get("start") == me.get("start"):
        return run_id not in active
    alive = _proc_start(pid)
    if alive is None:
        return True
    return drv.get("start") is not None and alive != drv["start"]


def mark_abandoned(lh: Lakehouse, job: str, noticed_by: str) -> list[str]:
    """Mark ``job``'s ``running`` rows whose driver is gone as ``abandoned``.

    ``finished_at`` becomes the time this was noticed, and ``error`` says by which run.

    Returns:
        The run ids marked.
    """
    if not lh.exists(RUNS):
        return []
    rows = (
        lh.read(RUNS)
        .where((F.col(N.JOB) == job) & (F.col(N.STATUS) == N.RUNNING))
        .select(N.RUN_ID, N.ARGS, N.STARTED_AT, N.ROWS_IN, N.ROWS_OUT)
        .collect()  # the runs of one job still marked running: a handful at most
    )
    now, me = _utcnow(), driver_identity()
    gone = [
        r
        for r in rows
        if r[N.RUN_ID] != noticed_by
        and is_abandoned(r[N.RUN_ID], r[N.ARGS], r[N.STARTED_AT], now, me, _ACTIVE)
    ]
    if not gone:
        return []
    _write(
        lh,
        [
            Row(
                run_id=r[N.RUN_ID],
                job=job,
                args=r[N.ARGS],
                status=N.ABANDONED,
                started_at=r[N.STARTED_AT],
                finished_at=now,
                rows_in=r[N.ROWS_IN],
                rows_out=r[N.ROWS_OUT],
                error=f"abandoned: its driver stopped while it was running "
                f"(noticed by run {noticed_by} at {now:%Y-%m-%d %H:%M:%S} UTC)",
            )
            for r in gone
        ],
    )
    for r in gone:
        log.warning("[%s] run %s was left running by a driver that is gone: marked abandoned",
                    job, r[N.RUN_ID])  # fmt: skip
    return [r[N.RUN_ID] for r in gone]


@contextlib.contextmanager
def tracked_run(lh: Lakehouse, job: str, args: dict[str, Any]) -> Iterator[RunContext]:
    """Record a run in ``ops.runs``: ``running`` at start, then ``succeeded`` or ``failed``.

    The exception of a failed run is recorded (one line) and re-raised. At start, the same
    job's rows left ``running`` by a driver that is gone (killed, lost with its machine) are
    marked ``abandoned`` (:func:`mark_abandoned`), so no run stays "running" forever. The
    run's ``args`` record its driver (``_driver``: host, pid, process start, boot id).
    """
    ctx = RunContext(new_run_id(job), job, {**args, DRIVER_KEY: driver_identity()}, _utcnow())
    _ACTIVE.add(ctx.run_id)
    try:
        _write(lh, _row(ctx, N.RUNNING, None, None))
        log.info("[%s] run %s started", job, ctx.run_id)
        mark_abandoned(lh, job, ctx.run_id)
        try:
            yield ctx
        except BaseException as e:
            try:
                _write(lh, _row(ctx, N.FAILED, _utcnow(), one_line(e)))
            except Exception as log_err:  # pragma: no cover - never hide the original error
                log.warning("could not record the failed run: %s", one_line(log_err))
            raise
        _write(lh, _row(ctx, N.SUCCEEDED, _utcnow(), None))
    finally:
        _ACTIVE.discard(ctx.run_id)
    log.info(
        "[%s] run %s succeeded in %.1fs",
        job,
        ctx.run_id,
        (_utcnow() - ctx.started_at).total_seconds(),
    )
