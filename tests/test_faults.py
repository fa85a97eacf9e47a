"""Faults in the middle of real work, with real processes (``./spark-submit.sh``, no mocks).

* An ``ingest`` driver killed (SIGKILL to its whole process group) right after it committed
  silver and before it wrote bronze, its ledger of ingested files: every table is at its
  previous version or complete, never partial; the next run marks the killed run
  ``abandoned``, reads the files again and leaves the tables equal to an uninterrupted run's.
* Two ``ingest`` runs of the same new files at once on one lakehouse: both succeed with no
  duplicate rows, or one stops with the one line ``another run is writing <table>``.
* Two ``recommend`` runs for the same as_of at once: the same rule; each gold table then
  holds one run's rows once, equal to what a lone run leaves on the same shop.
* A later stage with two gold tables (``forecast``) killed during the backtest's model fits
  and then between its two publishes: each table is at its previous state or complete; the
  next run marks the killed ones abandoned and leaves the tables equal to an uninterrupted run's.

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


def _kill_after(proc: subprocess.Popen, line_part: str) -> None:
    """SIGKILL the job's process group as soon as its output shows ``line_part``."""
    seen = []
    try:
        for line in proc.stdout:
            seen.append(line)
            if line_part in line:
                os.killpg(proc.pid, signal.SIGKILL)
                break
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == -signal.SIGKILL, "".join(seen[-40:])


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
    # the kill point: silver.orders committed, bronze not yet
    _kill_after(_ingest(days, lake), "[ingest] write orders")

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


def _recommend(lake: Path, as_of: str, small: list[str]) -> subprocess.Popen:
    return _submit("recommend", "--lakehouse", str(lake), "--as-of", as_of, *small)


def test_two_recommend_runs_for_the_same_as_of_at_once(spark, tmp_root, recommend_shop):
    """Two ``recommend`` runs for one as_of on one lakehouse at the same time (two drivers):
    both succeed with each gold table holding one run's rows once, or one stops with the
    one line "another run is writing <table>". The tables then equal those a lone run left
    on the same shop (test_recommend_job's, in conftest), apart from the model version and
    time that name the run."""
    from lakecart.recommend.specs import POPULAR_ITEMS, RECOMMENDATIONS, SIMILAR_ITEMS
    from tests.test_recommend_job import AS_OF, SMALL, write_shop

    lake = tmp_root / "fault_recommend_twice"
    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    write_shop(spark, lh)
    runs = [_recommend(lake, AS_OF.isoformat(), SMALL) for _ in range(2)]
    deadline = time.monotonic() + 900
    outs = [p.communicate(timeout=max(1.0, deadline - time.monotonic()))[0] for p in runs]
    codes = [p.returncode for p in runs]
    print("recommend exit codes", codes)  # for the record (-rA): which outcome happened
    for code, out in zip(codes, outs, strict=True):
        if code != 0:
            errors = [ln for ln in out.splitlines() if ln.startswith("lakecart recommend: error:")]
            assert len(errors) == 1 and "another run is writing" in errors[0], out[-4000:]
    assert 0 in codes, outs

    lone, run_cols = recommend_shop[0], [N.MODEL_VERSION, N.GENERATED_AT]
    for spec in (RECOMMENDATIONS, SIMILAR_ITEMS, POPULAR_ITEMS):
        df = lh.read(spec)
        assert df.count() > 0, spec.full_name
        assert df.groupBy(*spec.keys).count().filter(F.col("count") > 1).count() == 0
        assert df.select(N.MODEL_VERSION).distinct().count() == 1, spec.full_name  # one run's
        assertDataFrameEqual(df.drop(*run_cols), lone.read(spec).drop(*run_cols))
    statuses = sorted(r[N.STATUS] for r in lh.read(RUNS).collect())
    assert statuses == sorted(N.SUCCEEDED if c == 0 else N.FAILED for c in codes)


def _published(lh: Lakehouse, spec) -> DataFrame:
    """A gold table without what names the run (its model version id and publish time),
    keeping the method the version tag carries (``<version>:<class>:<method>``)."""
    df = lh.read(spec)
    tag = F.col(N.MODEL_VERSION)
    method = F.when(tag.contains(":"), F.regexp_replace(tag, r"^[^:]*:", "")).otherwise("")
    return df.withColumn(N.MODEL_VERSION, method).drop(N.GENERATED_AT)


def test_killed_forecast_leaves_whole_tables_and_the_rerun_equals_a_lone_run(
    spark, tmp_root, forecast_lakes
):
    """A later stage with two gold tables, killed twice on one lakehouse: first during the
    backtest's model fits (nothing is published), then between its two publishes
    (demand_forecast is complete, inventory_plan still at its previous, empty state). The
    next run marks both killed runs abandoned and leaves both tables equal to an
    uninterrupted run's."""
    from lakecart.forecast.specs import DEMAND_FORECAST, INVENTORY_PLAN
    from tests.test_forecast_job import AS_OF, END, FAST, make_lake

    forecast_reference = forecast_lakes[0]  # the same shop, forecast by one uninterrupted run
    lh = make_lake(spark, str(tmp_root / "fault_forecast_killed"), END)
    args = ["--lakehouse", lh.config.root, "--as-of", AS_OF.isoformat(), *FAST]

    def rows(spec) -> int:
        return lh.read(spec).count() if lh.exists(spec) else 0

    _kill_after(_submit("forecast", *args), "[forecast] forecast: feature rows")
    assert rows(DEMAND_FORECAST) == rows(INVENTORY_PLAN) == 0
    _kill_after(_submit("forecast", *args), "[forecast] forecast: publish demand_forecast")
    assertDataFrameEqual(  # whole, never partial: the uninterrupted run's table
        _published(lh, DEMAND_FORECAST), _published(forecast_reference, DEMAND_FORECAST)
    )
    assert rows(INVENTORY_PLAN) == 0
    killed = {r[N.RUN_ID]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    assert sorted(killed.values()) == [N.ABANDONED, N.RUNNING]  # the second noticed the first

    code, err = run_cli("forecast", args)
    assert code == 0, err
    for spec in (DEMAND_FORECAST, INVENTORY_PLAN):
        assertDataFrameEqual(_published(lh, spec), _published(forecast_reference, spec))
    runs = {r[N.RUN_ID]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    assert [runs.pop(k) for k in killed] == [N.ABANDONED, N.ABANDONED]
    assert list(runs.values()) == [N.SUCCEEDED]
