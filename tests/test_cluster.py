"""A real Spark standalone cluster on loopback: master + one worker from the installed
PySpark, `ingest` submitted through ./spark-submit.sh --master spark://127.0.0.1:PORT."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lakecart import names as N
from lakecart.config import LakehouseConfig
from lakecart.schemas import BRONZE, RUNS, SILVER
from lakecart.tables import Lakehouse
from tests.conftest import ONLINE_RETAIL_DAYS, REPO, need
from tests.helpers import run_cli
from tests.test_ingest import expected_online_retail

pytestmark = [pytest.mark.cluster, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(log: Path, text: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    t0 = time.time()
    while time.time() - t0 < timeout:
        if log.exists() and text in log.read_text(errors="replace"):
            return
        if proc.poll() is not None:
            raise RuntimeError(f"process exited early: {log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.5)
    raise TimeoutError(f"'{text}' not seen in {log}: {log.read_text(errors='replace')[-2000:]}")


@contextlib.contextmanager
def _cluster(tmp_path: Path, workers: list[int]) -> Iterator[tuple[str, list[subprocess.Popen]]]:
    """A master and one worker per entry of ``workers`` (its cores) on loopback. Each
    worker is its own process group, so killing the group also kills its executors."""
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env.update(SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    port, ui = _free_port(), _free_port()
    mlog = tmp_path / "master.log"
    cls = str(spark_home / "bin" / "spark-class")
    master = subprocess.Popen(
        [cls, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1",
         "--port", str(port), "--webui-port", str(ui)],
        stdout=mlog.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )  # fmt: skip
    procs = [master]
    try:
        _wait_for(mlog, "I have been elected leader", master)
        url = f"spark://127.0.0.1:{port}"
        started = []
        for k, cores in enumerate(workers):
            wlog = tmp_path / f"worker{k}.log"
            worker = subprocess.Popen(
                [cls, "org.apache.spark.deploy.worker.Worker", url, "--host", "127.0.0.1",
                 "--cores", str(cores), "--memory", "2g", "--webui-port", str(_free_port()),
                 "--work-dir", str(tmp_path / f"work{k}")],
                stdout=wlog.open("w"),
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )  # fmt: skip
            procs.append(worker)
            started.append(worker)
            _wait_for(wlog, "Successfully registered with master", worker)
        yield url, started
    finally:
        for p in reversed(procs):
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


@pytest.fixture()
def standalone(tmp_path):
    with _cluster(tmp_path, [2]) as (url, _):
        yield url, tmp_path


def _submit_to(url: str, job: str, *args: str) -> list[str]:
    return [
        str(REPO / "spark-submit.sh"), job, "--master", url, *args, "--",
        "--conf", "spark.driver.host=127.0.0.1", "--executor-memory", "1g",
        "--total-executor-cores", "2", "--driver-memory", "2g",
    ]  # fmt: skip


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def test_ingest_on_standalone_cluster(standalone, spark):
    url, tmp = standalone
    src = tmp / "days"
    src.mkdir()
    for day in ("2010-12-01.csv", "2010-12-02.csv"):
        shutil.copy(need(ONLINE_RETAIL_DAYS) / day, src / day)
    lake = tmp / "lake"
    cmd = _submit_to(
        url, "ingest", "--source", "online_retail", "--path", str(src), "--lakehouse", str(lake)
    )
    env = _env()
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    # spark-submit merges the Python driver's stderr into its stdout
    log = out.stdout + out.stderr
    (tmp / "submit.log").write_text(log)
    assert out.returncode == 0, log[-4000:]
    assert f"master={url}" in log  # the job really ran against the cluster

    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    total, silver_n, _, _ = expected_online_retail(sorted(src.glob("*.csv")))
    assert lh.read(BRONZE[N.ORDERS]).count() == total
    assert lh.read(SILVER[N.ORDERS]).count() == silver_n
    runs = lh.read(RUNS).collect()
    assert [(r[N.JOB], r[N.STATUS]) for r in runs] == [("ingest", N.SUCCEEDED)]
    # the executors did the work: the worker launched an executor for this application
    apps = list(tmp.glob("work*/app-*"))
    assert apps, "no application ran on the worker"


def test_features_survive_a_lost_worker(tmp_path, spark):
    """Two workers; one is killed (with its executor) while ``features`` runs: Spark
    reschedules the lost tasks and recomputes lost shuffle output on the other, and the
    feature tables equal those of a run without the fault."""
    from pyspark.testing import assertDataFrameEqual

    from lakecart.features.specs import feature_specs

    src = tmp_path / "days"
    src.mkdir()
    for day in ("2010-12-01.csv", "2010-12-02.csv", "2010-12-03.csv"):
        shutil.copy(need(ONLINE_RETAIL_DAYS) / day, src / day)
    lake, ref = tmp_path / "lake", tmp_path / "reference"
    as_of = ["--as-of", "2010-12-04"]
    code, err = run_cli("ingest", ["--source", "online_retail", "--path", str(src),
                                   "--lakehouse", str(lake)])  # fmt: skip
    assert code == 0, err
    shutil.copytree(lake, ref)
    code, err = run_cli("features", ["--lakehouse", str(ref), *as_of])  # the fault-free run
    assert code == 0, err

    with _cluster(tmp_path, [1, 1]) as (url, (_, doomed)):
        cmd = _submit_to(url, "features", "--lakehouse", str(lake), *as_of)
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=_env()
        )
        seen = []
        for line in proc.stdout:  # inputs read, feature tables not yet written: kill
            seen.append(line)
            if "features: prepare inputs" in line:
                os.killpg(doomed.pid, signal.SIGKILL)
                break
        rest, _ = proc.communicate(timeout=900)
        log = "".join(seen) + rest
        (tmp_path / "submit.log").write_text(log)
        assert doomed.poll() is not None, "the worker was not killed"
        assert proc.returncode == 0, log[-4000:]
        assert f"master={url}" in log

    lh = Lakehouse(spark, LakehouseConfig(root=str(lake)))
    want = Lakehouse(spark, LakehouseConfig(root=str(ref)))
    for spec in feature_specs().values():
        if want.exists(spec):
            got, exp = lh.read(spec).drop("_run_id"), want.read(spec).drop("_run_id")
            assertDataFrameEqual(got, exp, checkRowOrder=False)
