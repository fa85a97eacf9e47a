"""Faults in the middle of real work, with real processes (``./spark-submit.sh``, no mocks).

* An ``ingest`` driver killed (SIGKILL to its whole process group) right after it committed
  silver and before it wrote bronze, its ledger of ingested files: every table is at its
  previous version or complete, never partial; the next run marks the killed run
  ``abandoned``, reads the files again and leaves the tables equal to an uninterrupted run's.
* Two ``ingest`` runs of the same new files at once on one lakehouse: both succeed with no
  duplicate rows, or one stops with the one line ``another run is writing <table>``.

The kill point is found by reading the job's own log lines, not by sleeping.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.config import LakehouseConfig
from lakecart.schemas import BRONZE, QUARANTINE, RUNS, SILVER
from lakecart.tables import Lakehouse
from tests.conftest import ONLINE_RETAIL_DAYS, REPO, need
from tests.helpers import run_cli
from tests.test_ingest import expected_online_retail

pytestmark = pytest.mark.slow

DAYS = ["2010-12-01.csv", "2010-12-02.csv"]
# the tables an Online Retail ingest writes, without its run-specific lineage columns
DATA_TABLES = [SILVER[N.ORDERS], SILVER[N.PRODUCTS], SILVER[N.CUSTOMERS], BRONZE[N.ORDERS]]
RUN_COLUMNS = {"_run_id", "_ingested_at"}


def _submit(*args: str) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    return subprocess.Popen(
        [str(REPO / "spark-submit.sh"), *args, "--set", "spark.shuffle_partitions=2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # spark-submit merges the driver's stderr into stdout
        text=True,
        env=env,
        start_new_session=True,  # its own process group: the kill reaches JVM and workers
    )


def _ingest(src: Path, lake: Path) -> subprocess.Popen:
    return _submit(
        "ingest", "--source", "online_retail", "--path", str(src), "--lakehouse", str(lake)
    )


def _data(lh: Lakehouse, spec) -> DataFrame:
    return lh.read(spec).drop(*RUN_COLUMNS)


@pytest.fixture(scope="module")
def days(tmp_root):
    src = tmp_root / "fault_days"
    src.mkdir(exist_ok=True)
    for day in DAYS:
        shutil.copy(need(ONLINE_RETAIL_DAYS) / day, src / day)
    return src


@pytest.fixture(scope="module")
def reference(spark, days, tmp_root):
    """The same files ingested by one uninterrupted run."""
    lake = tmp_root / "fault_reference"
    code, err = run_cli("ingest", ["--source", "online_retail", "--path", str(days),
                                   "--lakehouse", str(lake)])  # fmt: skip
    assert code == 0, err
    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    total, silver_n, _, _ = expected_online_retail(sorted(days.glob("*.csv")))
    assert lh.read(BRONZE[N.ORDERS]).count() == total
    assert lh.read(SILVER[N.ORDERS]).count() == silver_n
    return lh


def _assert_same_tables(lh: Lakehouse, reference: Lakehouse) -> None:
    for spec in DATA_TABLES:
        assertDataFrameEqual(_data(lh, spec), _data(reference, spec))
    q = [N.ENTITY, N.REASON, "_source_file", "_row_number"]
    assertDataFrameEqual(lh.read(QUARANTINE).select(q), reference.read(QUARANTINE).select(q))


def test_killed_ingest_leaves_whole_tables_and_the_rerun_completes(
    spark, days, reference, tmp_root
):
    lake = tmp_root / "fault_killed"
    proc = _ingest(days, lake)
    seen = []
    try:
        for line in proc.stdout:  # the kill point: silver.orders committed, bronze not yet
            seen.append(line)
            if "[ingest] write orders" in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-40:])

    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    # each table is empty (its previous state) or equal to the uninterrupted run's
    for spec in [*DATA_TABLES, QUARANTINE]:
        n = lh.read(spec).count() if lh.exists(spec) else 0
        assert n in (0, reference.read(spec).count()), spec.full_name
    assert lh.read(SILVER[N.ORDERS]).count() == reference.read(SILVER[N.ORDERS]).count()
    [killed] = lh.read(RUNS).collect()
    assert killed[N.STATUS] == N.RUNNING  # nobody has noticed yet

    # the next run: bronze (the ledger) never recorded the files, so they are read again
    # and silver is rewritten in place (keyed MERGE / replaceWhere), not appended twice
    rerun = _ingest(days, lake)
    out, _ = rerun.communicate(timeout=600)
    assert rerun.returncode == 0, out[-4000:]
    _assert_same_tables(lh, reference)
    runs = {r[N.RUN_ID]: r for r in lh.read(RUNS).collect()}
    assert runs[killed[N.RUN_ID]][N.STATUS] == N.ABANDONED
    assert runs[killed[N.RUN_ID]][N.FINISHED_AT] is not None
    assert sorted(r[N.STATUS] for r in runs.values()) == [N.ABANDONED, N.SUCCEEDED]


def test_two_ingests_of_the_same_files_at_once(spark, days, reference, tmp_root):
    lake = tmp_root / "fault_twice"
    first, second = _ingest(days, lake), _ingest(days, lake)
    deadline = time.monotonic() + 900
    outs = [
        p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0] for p in (first, second)
    ]
    codes = [first.returncode, second.returncode]
    for code, out in zip(codes, outs, strict=True):
        if code != 0:  # the only acceptable failure: one line naming the contested table
            errors = [ln for ln in out.splitlines() if ln.startswith("lakecart ingest: error:")]
            assert len(errors) == 1 and "another run is writing" in errors[0], out[-4000:]
    assert 0 in codes, outs
    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    _assert_same_tables(lh, reference)  # no duplicate rows, whichever run committed last
    assert (
        lh.read(SILVER[N.ORDERS])
        .groupBy(N.ORDER_ID, N.ITEM_ID, "_source_file", "_row_number")
        .count()
        .filter(F.col("count") > 1)
        .count()
        == 0
    )
