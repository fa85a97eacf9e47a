"""A real Spark standalone cluster on loopback: master + one worker from the installed
PySpark, `ingest` submitted through ./spark-submit.sh --master spark://127.0.0.1:PORT."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from lakecart import names as N
from lakecart.config import LakehouseConfig
from lakecart.schemas import BRONZE, RUNS, SILVER
from lakecart.tables import Lakehouse
from tests.conftest import ONLINE_RETAIL_DAYS, REPO, need
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


@pytest.fixture()
def standalone(tmp_path):
    import pyspark

    spark_home = Path(pyspark.__file__).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env.update(SPARK_HOME=str(spark_home), SPARK_LOCAL_IP="127.0.0.1", SPARK_NO_DAEMONIZE="1")
    port, ui, wui = _free_port(), _free_port(), _free_port()
    mlog, wlog = tmp_path / "master.log", tmp_path / "worker.log"
    cls = str(spark_home / "bin" / "spark-class")
    master = subprocess.Popen(
        [
            cls,
            "org.apache.spark.deploy.master.Master",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--webui-port",
            str(ui),
        ],
        stdout=mlog.open("w"),
        stderr=subprocess.STDOUT,
        env=env,
    )
    procs = [master]
    try:
        _wait_for(mlog, "I have been elected leader", master)
        url = f"spark://127.0.0.1:{port}"
        worker = subprocess.Popen(
            [
                cls,
                "org.apache.spark.deploy.worker.Worker",
                url,
                "--host",
                "127.0.0.1",
                "--cores",
                "2",
                "--memory",
                "2g",
                "--webui-port",
                str(wui),
                "--work-dir",
                str(tmp_path / "work"),
            ],
            stdout=wlog.open("w"),
            stderr=subprocess.STDOUT,
            env=env,
        )
        procs.append(worker)
        _wait_for(wlog, "Successfully registered with master", worker)
        yield url, tmp_path
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=30)
            except subprocess.TimeoutExpired:
                p.kill()


def test_ingest_on_standalone_cluster(standalone, spark):
    url, tmp = standalone
    src = tmp / "days"
    src.mkdir()
    for day in ("2010-12-01.csv", "2010-12-02.csv"):
        shutil.copy(need(ONLINE_RETAIL_DAYS) / day, src / day)
    lake = tmp / "lake"
    cmd = [
        str(REPO / "spark-submit.sh"),
        "ingest",
        "--master",
        url,
        "--source",
        "online_retail",
        "--path",
        str(src),
        "--lakehouse",
        str(lake),
        "--",
        "--conf",
        "spark.driver.host=127.0.0.1",
        "--executor-memory",
        "1g",
        "--total-executor-cores",
        "2",
        "--driver-memory",
        "2g",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
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
    apps = list((tmp / "work").glob("app-*"))
    assert apps, "no application ran on the worker"
