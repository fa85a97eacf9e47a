"""Run bookkeeping: runs left ``running`` by a dead driver are marked ``abandoned``; names
and literals that reach SQL text cannot change a statement."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys

import pytest
from pyspark.sql import Row
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import runlog
from lakecart.config import ConfigError, load_config
from lakecart.identifiers import BadIdentifier, check_identifier, is_identifier, sql_string
from lakecart.schemas import RUNS
from lakecart.tables import Lakehouse

NOW = dt.datetime(2026, 1, 2, 12, 0, 0)


def _dead_pid() -> int:
    """The pid of a process that has exited (and been reaped)."""
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _args(**driver) -> str:
    return json.dumps({"as_of": "2026-01-01", runlog.DRIVER_KEY: driver})


def test_abandoned_is_judged_by_the_driver_process():
    me = runlog.driver_identity()
    assert me["pid"] == os.getpid() and me["start"] is not None
    started = NOW - dt.timedelta(minutes=5)

    def judge(args: str, run_id: str = "r", active: frozenset = frozenset(), age_h: float = 0.1):
        return runlog.is_abandoned(
            run_id, args, NOW - dt.timedelta(hours=age_h), NOW, me, set(active)
        )

    # this very process, run still in progress -> alive; not in progress -> abandoned
    mine = _args(**me)
    assert not judge(mine, "r", frozenset({"r"}))
    assert judge(mine, "r")
    # a process of this host that is gone
    assert judge(_args(**{**me, "pid": _dead_pid(), "start": "1"}))
    # the pid exists but was started at another time: reused by another process
    assert judge(_args(**{**me, "start": str(int(me["start"]) + 1)}))
    # the machine rebooted since the run started
    assert judge(_args(**{**me, "boot": "another-boot"}), "r", frozenset({"r"}))
    # another host: cannot look at its processes, judged by age only (48 h)
    other = _args(host="elsewhere", pid=1, start="1", boot="b")
    assert not judge(other, age_h=47.0)
    assert judge(other, age_h=49.0)
    # rows written before drivers were recorded, or unreadable args: by age too
    assert not judge(json.dumps({"as_of": "x"}))
    assert judge("not json", age_h=100.0)
    assert started < NOW


def test_next_run_marks_a_killed_run_abandoned(spark, tmp_path):
    from lakecart.config import LakehouseConfig

    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path / "lake")))
    lh.create(RUNS)
    me = runlog.driver_identity()
    killed = {**me, "pid": _dead_pid(), "start": "1"}
    t0 = dt.datetime(2026, 1, 1, 8, 0, 0)
    left = [
        # a run of the same job whose driver was killed
        Row(run_id="features-dead", job="features", args=_args(**killed), status=N.RUNNING,
            started_at=t0, finished_at=None, rows_in=10, rows_out=0, error=None),
        # another job's dead run: left for that job's next run to notice
        Row(run_id="forecast-dead", job="forecast", args=_args(**killed), status=N.RUNNING,
            started_at=t0, finished_at=None, rows_in=0, rows_out=0, error=None),
        # a finished run is never touched
        Row(run_id="features-ok", job="features", args=_args(**killed), status=N.SUCCEEDED,
            started_at=t0, finished_at=t0, rows_in=5, rows_out=5, error=None),
    ]  # fmt: skip
    lh.merge(spark.createDataFrame(left, RUNS.schema), RUNS)
    with runlog.tracked_run(lh, "features", {"as_of": "2026-01-01"}) as ctx:
        during = {r[N.RUN_ID]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    rows = {r[N.RUN_ID]: r for r in lh.read(RUNS).collect()}
    assert during[ctx.run_id] == N.RUNNING and during["features-dead"] == N.ABANDONED
    assert rows[ctx.run_id][N.STATUS] == N.SUCCEEDED
    dead = rows["features-dead"]
    assert dead[N.STATUS] == N.ABANDONED and dead[N.FINISHED_AT] is not None
    assert dead[N.STARTED_AT] == t0 and dead[N.ROWS_IN] == 10
    assert f"noticed by run {ctx.run_id}" in dead[N.ERROR]
    assert rows["forecast-dead"][N.STATUS] == N.RUNNING
    assert rows["features-ok"][N.STATUS] == N.SUCCEEDED and rows["features-ok"][N.ERROR] is None
    # the run records its own driver, so a later run can judge it
    assert json.loads(rows[ctx.run_id][N.ARGS])[runlog.DRIVER_KEY]["pid"] == os.getpid()
    assert lh.read(RUNS).filter(F.col(N.STATUS) == N.RUNNING).count() == 1


HOSTILE = [
    "x'; DROP TABLE silver.orders; --",
    "a\\' OR 1=1 --",
    'it\'s \\ back\\slash "quoted" `tick`',
    "\\",
    "'",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_sql_string_is_one_literal_equal_to_its_value(spark, value):
    assert spark.sql(f"SELECT {sql_string(value)} AS v").collect() == [Row(v=value)]


def test_names_from_config_must_be_plain_identifiers():
    assert is_identifier("shop_1") and is_identifier("_x")
    for bad in ["", "1shop", "main; DROP", "a.b", "a`b", "shop-1", "ä"]:
        assert not is_identifier(bad)
        with pytest.raises(BadIdentifier, match="lakehouse.catalog"):
            check_identifier(bad, "lakehouse.catalog")
    with pytest.raises(ConfigError, match="lakehouse.catalog"):
        load_config("local", overrides=["lakehouse.catalog=main`; DROP SCHEMA x; --"])
    with pytest.raises(ConfigError, match="lakehouse.schema_prefix"):
        load_config("local", overrides=["lakehouse.schema_prefix=shop silver"])
    assert load_config("local", overrides=["lakehouse.catalog=main"]).lakehouse.catalog == "main"


def test_one_line_names_the_java_exception_not_the_py4j_header():
    """py4j's first line names only the JVM object (``o193.execute``); the line a user
    needs is the Java exception under it."""
    text = (
        "An error occurred while calling o193.execute.\n"
        ": io.delta.exceptions.ProtocolChangedException: [DELTA_PROTOCOL_CHANGED] changed\n"
        "\tat io.delta.Foo.bar(Foo.scala:1)"
    )
    assert runlog.one_line(RuntimeError(text)) == (
        "io.delta.exceptions.ProtocolChangedException: [DELTA_PROTOCOL_CHANGED] changed"
    )
    assert runlog.one_line(ValueError("plain\nsecond")) == "plain"
    assert runlog.one_line(ValueError("")) == "ValueError"
