"""Pipeline benchmark: where the demo's (and Online Retail's) minutes go.

Runs ``pipeline`` on a FRESH lakehouse, in this process, exactly as
``./spark-submit.sh pipeline`` would (default configuration plus ``--set`` overrides),
and prints:

* per stage (one ``ops.runs`` row each): seconds, share of the total, rows in / out and the
  Spark jobs its steps started;
* per step (every ``ctx.stage`` line of every job): seconds, Spark jobs started, share of
  the total and the step's own counts; steps over ``--flag-seconds`` (10 s) on tables under
  100,000 rows are marked ``<<`` (issue 18's bar).

Parts (``--parts``, default ``demo``):

* ``demo``: ``pipeline`` on the embedded synthetic default (what the README's first command
  runs);
* ``online_retail``: ``pipeline --source online_retail --path ../shared/datasets/
  online_retail/by-day``.

Spark jobs are counted from the driver's status tracker (highest job id before and after a
step), so the count includes the jobs of Delta's own commits and of ``count()`` calls.

Usage: .venv/bin/python bench/pipeline.py [--parts demo,online_retail]
       [--work /tmp/bench_pipeline] [--master local[2]] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
ONLINE_RETAIL = REPO.parent / "shared" / "datasets" / "online_retail" / "by-day"


def run_part(name: str, argv: list[str], root: Path) -> dict[str, Any]:
    """One pipeline run on a fresh ``root``: its steps and its ops.runs rows."""
    from deltalake import DeltaTable

    from lakecart import runlog
    from lakecart.cli import job_main
    from lakecart.jobs import pipeline

    shutil.rmtree(root, ignore_errors=True)
    steps: list[dict[str, Any]] = []
    runlog.STEP_LISTENERS.append(steps.append)
    t0 = time.perf_counter()
    try:
        job_main("pipeline", pipeline.__doc__, pipeline.add_arguments, pipeline.run, argv)
    finally:
        runlog.STEP_LISTENERS.remove(steps.append)
    total = time.perf_counter() - t0
    runs = DeltaTable(str(root / "ops" / "runs")).to_pandas()
    runs = runs.sort_values("started_at")
    runs["seconds"] = (runs["finished_at"] - runs["started_at"]).dt.total_seconds()
    return {"name": name, "total": total, "steps": steps, "runs": runs}


NOT_COUNTS = ("job", "step", "seconds", "jobs", "jobs_span")


def stage_jobs(steps: list[dict[str, Any]]) -> dict[str, int]:
    """Spark jobs per stage: the union of its steps' job spans (steps run side by side in
    threads share jobs, so summing each step's ``jobs`` would count those twice)."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for s in steps:
        if s.get("jobs_span") is not None:
            spans.setdefault(s["job"], []).append(tuple(s["jobs_span"]))
    out = {}
    for stage, ss in spans.items():
        total, end = 0, None
        for a, b in sorted(ss):
            a = a if end is None else max(a, end)
            if b > a:
                total += b - a
            end = b if end is None else max(end, b)
        out[stage] = total
    return out


def rows_of(step: dict[str, Any]) -> int | None:
    """The largest row count a step reports (its table size, for the 10-s rule)."""
    nums = [
        v for k, v in step.items() if k not in NOT_COUNTS and isinstance(v, int)
    ]  # counts such as rows=, transactions=, baskets=
    return max(nums) if nums else None


def report(part: dict[str, Any], flag: float) -> None:
    """Print the stage and step tables of one part."""
    total = part["total"]
    steps = part["steps"]
    print(f"\n=== {part['name']}: pipeline {total:.1f} s on a fresh lakehouse ===")
    jobs_by_stage = stage_jobs(steps)
    print(f"{'stage':<12}{'seconds':>9}{'share':>8}{'rows in':>12}{'rows out':>12}{'jobs':>7}")
    for r in part["runs"].itertuples():
        if r.job == "pipeline":
            continue
        print(
            f"{r.job:<12}{r.seconds:>9.1f}{r.seconds / total:>8.1%}{r.rows_in:>12,}"
            f"{r.rows_out:>12,}{jobs_by_stage.get(r.job, 0):>7}"
        )
    print(f"{'total':<12}{total:>9.1f}{1:>8.0%}")
    print(f"\n{'stage':<12}{'step':<32}{'seconds':>9}{'jobs':>6}{'share':>8}  counts")
    slow = 0
    for s in steps:
        rows = rows_of(s)
        mark = ""
        if s["seconds"] > flag and (rows is None or rows < 100_000):
            mark, slow = " <<", slow + 1
        counts = " ".join(f"{k}={v}" for k, v in s.items() if k not in NOT_COUNTS)
        jobs = "?" if s["jobs"] is None else s["jobs"]
        print(
            f"{s['job']:<12}{s['step'][:31]:<32}{s['seconds']:>9.1f}{jobs:>6}"
            f"{s['seconds'] / total:>8.1%}  {counts[:70]}{mark}"
        )
    print(f"\nsteps over {flag:.0f} s on tables under 100,000 rows: {slow}")


def main() -> None:
    """Parse the options, run the parts, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parts", default="demo", help="demo,online_retail")
    ap.add_argument("--work", default="/tmp/bench_pipeline")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--flag-seconds", type=float, default=10.0, dest="flag_seconds")
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    a = ap.parse_args()
    work = Path(a.work)
    common = ["--set", f"spark.master={a.master}"]
    for kv in a.set:
        common += ["--set", kv]
    parts = []
    for name in a.parts.split(","):
        root = work / name
        argv = ["--lakehouse", str(root), *common]
        if name == "online_retail":
            if not ONLINE_RETAIL.exists():
                sys.exit(f"dataset not available: {ONLINE_RETAIL}")
            argv += ["--source", "online_retail", "--path", str(ONLINE_RETAIL)]
        elif name != "demo":
            sys.exit(f"unknown part {name!r} (demo, online_retail)")
        parts.append(run_part(name, argv, root))
    for part in parts:
        report(part, a.flag_seconds)


if __name__ == "__main__":
    main()
