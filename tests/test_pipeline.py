"""The synthetic demo end to end: generate -> ingest -> later stages, with a summary."""

from __future__ import annotations

import argparse
import datetime as dt
import threading

import pytest
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.jobs.pipeline import run_stages
from lakecart.runlog import RunContext
from lakecart.schemas import DATA_QUALITY, MODEL_METRICS, RUNS, SILVER
from tests.helpers import run_cli, table_versions

SMALL = ["--set", "generate.days=120", "--set", "spark.shuffle_partitions=2"]
# the end-to-end test checks that every stage runs and hands its tables on, not which
# candidate wins or how well: one candidate per model search and few optimiser iterations
# (each stage's own tests cover the grids; the quality benches the default settings)
ONE_CANDIDATE = [
    "--set", "recommend.als_reg_params=[2.0]",
    "--set", "recommend.als_alphas=[10.0]",
    "--set", "recommend.als_max_iters=[5]",
    "--set", "recommend.cf_similarities=[ease]",
    "--set", "recommend.ease_factors=[10.0]",
    "--set", "forecast.backtest_cutoffs=2",
    "--set", "forecast.max_iter=5",
    "--set", "forecast.max_depth=3",
    "--set", "customers.gbt_max_iter=5",
    "--set", "fraud.gbt_max_iter=5",
    "--set", "sentiment.c_values=[4.0]",
    "--set", "sentiment.max_iter=10",
    "--set", "support.c_values=[10.0]",
    "--set", "support.max_iter=10",
    "--set", "marketing.lr_max_iter=10",
    "--set", "marketing.gbt_max_iter=5",
    "--set", "marketing.bootstrap=10",
    "--set", "images.reg_params=[0.01]",
    "--set", "images.max_iter=20",
    "--set", "images.title_max_iter=10",
]  # fmt: skip


def test_pipeline_on_small_synthetic_shop(spark, lake, capsys):
    cfg, lh = lake
    code, err = run_cli("pipeline", ["--lakehouse", cfg.lakehouse.root, *SMALL, *ONE_CANDIDATE])
    assert code == 0, err
    out = capsys.readouterr().out
    assert "lakecart pipeline summary" in out and "silver.orders" in out
    # one publishing rule: the summary names what each model stage published, and why (a
    # 120-day shop has no complete churn window, so customers may decide nothing here)
    decisions = out.split("published (model only when it beat its baseline)")[1]
    assert "\n  recommendations: " in decisions and "\n  forecast: " in decisions, decisions
    pub = lh.read(MODEL_METRICS).filter(F.col(N.METRIC) == "published").select(N.DATASET)
    targets = {
        r[N.DATASET].rsplit("target=", 1)[1]
        for r in pub.collect()  # a few rows
        if "target=" in (r[N.DATASET] or "")
    }
    assert all(f"\n  {t}: " in decisions for t in targets), (targets, decisions)

    # every entity of the shop (all but the IP-range reference table) landed and was cleaned
    shop = [e for e in N.ENTITIES if e != N.IP_RANGES]
    for entity in shop:
        assert lh.read(SILVER[entity]).count() > 0, entity
    dq = lh.read(DATA_QUALITY).filter(F.col(N.CHECK) == "row_accounting")
    assert dq.count() == len(shop)
    assert dq.filter(~F.col(N.PASSED)).count() == 0
    runs = {r[N.JOB]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    assert runs["pipeline"] == runs["generate"] == N.SUCCEEDED

    # the same demo again: generation reused, nothing new to ingest, data tables unchanged
    before = table_versions(lh)
    code, err = run_cli("generate", ["--lakehouse", cfg.lakehouse.root, *SMALL])
    assert code == 0, err
    after = table_versions(lh)
    assert {k: v for k, v in after.items() if k.startswith(("bronze.", "silver."))} == {
        k: v for k, v in before.items() if k.startswith(("bronze.", "silver."))
    }


class _Stage:
    """A stand-in stage module: records when it ran; fails when told to."""

    def __init__(self, name: str, log: list, fail: bool = False, barrier=None):
        self.name, self.log, self.fail, self.barrier = name, log, fail, barrier

    def add_arguments(self, p):
        p.add_argument("--as-of", default=None)

    def run(self, spark, config, lh, ctx, args):
        self.log.append(("start", self.name))
        if self.barrier is not None:  # returns only once all parties are running
            self.barrier.wait(timeout=120)
        self.log.append(("end", self.name))
        if self.fail:
            raise RuntimeError(f"{self.name} broke")
        return {}


def test_stages_run_concurrently_after_their_inputs_and_failures_surface(spark, lake):
    cfg, lh = lake
    events: list = []
    names = ["features", "recommend", "forecast", "customers", "report"]
    together = threading.Barrier(3)
    modules = {
        n: _Stage(n, events, n == "recommend", together if n in names[1:4] else None) for n in names
    }
    ctx = RunContext("pipeline-test", "pipeline", {}, dt.datetime(2025, 1, 1))
    args = argparse.Namespace(as_of=None)
    with pytest.raises(RuntimeError, match="recommend broke"):
        run_stages(spark, cfg, lh, ctx, args, names, 3, modules)
    # features first; the three that only need features overlap; report reads every
    # stage's tables, the failed recommend's too, so it never starts
    assert events[:2] == [("start", "features"), ("end", "features")]
    assert sorted(n for _, n in events[2:5]) == ["customers", "forecast", "recommend"]
    assert all(e == "start" for e, _ in events[2:5])  # all three started before one ended
    assert ("start", "report") not in events
    runs = {r[N.JOB]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    assert runs == {
        "features": N.SUCCEEDED,
        "recommend": N.FAILED,
        "forecast": N.SUCCEEDED,
        "customers": N.SUCCEEDED,
    }
    # one at a time: the same order, no overlap
    events.clear()
    for m in modules.values():
        m.fail, m.barrier = False, None
    run_stages(spark, cfg, lh, ctx, args, names, 1, modules)
    assert [n for e, n in events if e == "start"] == names
    assert all(events[i][1] == events[i + 1][1] for i in range(0, len(events), 2))


def test_stage_lines_count_the_spark_jobs_they_start(spark):
    """Each ``ctx.stage`` reports its seconds and the Spark jobs it started to listeners
    (what bench/pipeline.py tabulates): none for a driver-only step, at least one per
    action otherwise."""
    from lakecart import runlog

    ctx = RunContext("r1", "probe", {}, dt.datetime(2024, 1, 1))
    seen: list[dict] = []
    runlog.STEP_LISTENERS.append(seen.append)
    try:
        with ctx.stage("driver only") as st:
            st["rows"] = 0
        with ctx.stage("two actions") as st:
            st["rows"] = spark.range(10).count() + spark.range(5).count()
    finally:
        runlog.STEP_LISTENERS.remove(seen.append)
    assert [(s["job"], s["step"], s["rows"]) for s in seen] == [
        ("probe", "driver only", 0),
        ("probe", "two actions", 15),
    ]
    assert seen[0]["jobs"] == 0
    assert seen[1]["jobs"] >= 2
    (a0, b0), (a1, b1) = seen[0]["jobs_span"], seen[1]["jobs_span"]
    assert a0 == b0 <= a1 and b1 - a1 == seen[1]["jobs"]
    assert all(s["seconds"] >= 0 for s in seen)


def test_bench_counts_the_jobs_of_side_by_side_steps_once():
    # bench/pipeline.py's stage job count: two steps that ran in threads over jobs 10-30 and
    # 15-40 started 30 distinct jobs, not 45; a later step adds its own 5; a step without
    # a span (jobs unknown) adds nothing
    import importlib.util

    from tests.conftest import REPO

    spec = importlib.util.spec_from_file_location("bench_pipeline", REPO / "bench" / "pipeline.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    steps = [
        {"job": "a", "jobs_span": (10, 30)},
        {"job": "a", "jobs_span": (15, 40)},
        {"job": "a", "jobs_span": (50, 55)},
        {"job": "a", "jobs_span": None},
        {"job": "b", "jobs_span": (55, 55)},
    ]
    assert bench.stage_jobs(steps) == {"a": 35, "b": 0}
