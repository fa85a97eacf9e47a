"""Fault matrix: every later stage killed mid-run, then run again (issue 19, item 1).

Takes a lakehouse on which ``pipeline`` has run (the reference) and, for each stage and
kill point, works on a copy of it (without the landing folder):

1. starts ``./spark-submit.sh <stage>`` with the same options the pipeline had;
2. sends SIGKILL to its process group at the kill point, found from the outside:
   ``fit``: the stage's first step line in its log (it is then reading or fitting);
   ``publish``: the first new Delta commit in any of the copy's ``gold``/``features``
   tables (found by watching the ``_delta_log`` folders), so the later commits of the stage
   have not happened;
3. checks every table: either at its version from before the run, or changed and then
   equal to the reference's table (never partial);
4. runs the stage again, uninterrupted, and checks each table it writes equals the
   reference's, and that ``ops.runs`` marks the killed run ``abandoned``.

Columns that name a run (``model_version``, ``generated_at``, ``_run_id``, ...) are left
out of the comparisons; a ``model_version`` of the form ``<version>:<rest>`` keeps ``<rest>``.
Everything is read with delta-rs, outside Spark.

Usage: .venv/bin/python bench/faults.py --lakehouse /tmp/small [--stages customers,basket]
       [--points fit,publish] [--work /tmp/bench_faults] [--set key=value ...]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pandas as pd
from deltalake import DeltaTable

from lakecart.jobs.pipeline import STAGES as PIPELINE_STAGES

REPO = Path(__file__).resolve().parents[1]
# the pipeline's stages after those whose faults tests/test_faults.py covers in CI
STAGES = [s for s in PIPELINE_STAGES if s not in ("features", "recommend", "forecast")]
RUN_COLUMNS = {
    "model_version",
    "generated_at",
    "_run_id",
    "run_id",
    "_ingested_at",
    "quarantined_at",
}
WATCHED = ("gold", "features")


def tables(root: Path) -> dict[str, Path]:
    """``layer.name`` -> folder of every Delta table under ``root``."""
    return {
        f"{p.parent.parent.name}.{p.parent.name}": p.parent
        for p in sorted(root.glob("*/*/_delta_log"))
    }


def versions(root: Path) -> dict[str, int]:
    """Current version of every table (from the highest commit file, no Spark)."""
    out = {}
    for name, path in tables(root).items():
        commits = [int(p.stem) for p in (path / "_delta_log").glob("*.json") if p.stem.isdigit()]
        out[name] = max(commits) if commits else -1
    return out


def frame(path: Path) -> pd.DataFrame:
    """A table without its run-naming columns, rows sorted, for comparison."""
    df = DeltaTable(str(path)).to_pandas()
    if "model_version" in df:  # "<version>:<rest>" keeps <rest>, a bare version nothing
        df["_tag"] = df["model_version"].astype(str).str.partition(":")[2]
    df = df.drop(columns=[c for c in df.columns if c in RUN_COLUMNS])
    cols = sorted(df.columns)
    df = df[cols]
    key = df.astype(str)
    return df.loc[key.sort_values(cols).index].reset_index(drop=True)


def same(a: Path, b: Path) -> bool:
    """Whether two tables hold the same rows (floats to 1e-9 relative)."""
    x, y = frame(a), frame(b)
    if x.shape != y.shape or list(x.columns) != list(y.columns):
        return False
    try:
        pd.testing.assert_frame_equal(x, y, check_exact=False, rtol=1e-9, check_dtype=False)
    except AssertionError:
        return False
    return True


def submit(stage: str, root: Path, sets: list[str]) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    return subprocess.Popen(
        [str(REPO / "spark-submit.sh"), stage, "--lakehouse", str(root), *sets],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        start_new_session=True,
    )


def kill_at(proc: subprocess.Popen, stage: str, root: Path, point: str) -> str:
    """Run until the kill point, SIGKILL the process group; what triggered it."""
    before = {n: v for n, v in versions(root).items() if n.split(".")[0] in WATCHED}
    trigger: list[str] = []
    done = threading.Event()

    def kill(why: str) -> None:
        if not trigger:
            trigger.append(why)
            os.killpg(proc.pid, signal.SIGKILL)
        done.set()

    def watch_commits() -> None:
        while not done.is_set() and proc.poll() is None:
            now = versions(root)
            moved = [n for n, v in before.items() if now.get(n, -1) > v]
            new = [n for n in now if n.split(".")[0] in WATCHED and n not in before]
            if moved or new:
                kill(f"first commit to {(moved + new)[0]}")
                return
            time.sleep(0.05)

    if point == "publish":
        threading.Thread(target=watch_commits, daemon=True).start()
    for line in proc.stdout:
        if point == "fit" and f"INFO [{stage}] {stage}:" in line:
            kill(f"after '{line.split('] ', 1)[1].split('  ')[0].strip()}'")
            break
        if done.is_set():
            break
    proc.wait(timeout=120)
    done.set()
    return trigger[0] if trigger else f"not killed (exit {proc.returncode})"


def statuses(root: Path) -> list[str]:
    runs = DeltaTable(str(root / "ops" / "runs")).to_pandas()
    return runs.sort_values("started_at")["status"].tolist()


def one(stage: str, point: str, ref: Path, work: Path, sets: list[str]) -> dict:
    """One cell of the matrix."""
    root = work / f"{stage}-{point}"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(ref, root, ignore=shutil.ignore_patterns("landing"))
    start = versions(root)
    t0 = time.perf_counter()
    why = kill_at(submit(stage, root, sets), stage, root, point)
    after = versions(root)
    changed = sorted(n for n, v in after.items() if v != start.get(n) and not n.startswith("ops."))
    partial = [n for n in changed if n in tables(ref) and not same(tables(root)[n], tables(ref)[n])]
    rerun = submit(stage, root, sets)
    out, _ = rerun.communicate(timeout=3600)
    final = versions(root)
    written = sorted(n for n, v in final.items() if v != start.get(n) and not n.startswith("ops."))
    differ = [n for n in written if n in tables(ref) and not same(tables(root)[n], tables(ref)[n])]
    runs = statuses(root)
    return {
        "stage": stage,
        "point": point,
        "killed": why,
        "changed_by_killed": ",".join(changed) or "-",
        "intact": not partial,
        "rerun_ok": rerun.returncode == 0,
        "rerun_equal": rerun.returncode == 0 and not differ,
        "differ": ",".join(differ) or "-",
        "abandoned": "abandoned" in runs,
        "seconds": round(time.perf_counter() - t0, 1),
        "tail": "" if rerun.returncode == 0 else out[-1500:],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lakehouse", required=True, type=Path, help="reference lakehouse")
    ap.add_argument("--stages", default=",".join(STAGES))
    ap.add_argument("--points", default="fit,publish")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench_faults"))
    ap.add_argument("--set", action="append", default=[], dest="sets", help="key=value")
    a = ap.parse_args()
    sets = [x for kv in a.sets for x in ("--set", kv)]
    a.work.mkdir(parents=True, exist_ok=True)
    rows = []
    for stage in a.stages.split(","):
        for point in a.points.split(","):
            r = one(stage, point, a.lakehouse, a.work, sets)
            rows.append(r)
            print(
                f"{r['stage']:<10} {r['point']:<8} killed {r['killed']:<45} "
                f"changed={r['changed_by_killed']} intact={r['intact']} "
                f"rerun_equal={r['rerun_equal']} differ={r['differ']} "
                f"abandoned={r['abandoned']} {r['seconds']}s",
                flush=True,
            )
            if r["tail"]:
                print(r["tail"], flush=True)
            shutil.rmtree(a.work / f"{stage}-{point}", ignore_errors=True)
    ok = all(r["intact"] and r["rerun_equal"] and r["abandoned"] for r in rows)
    print(f"\n{sum(1 for r in rows if r['intact'] and r['rerun_equal'])}/{len(rows)} cells pass")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
