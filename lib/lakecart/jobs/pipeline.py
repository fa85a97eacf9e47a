"""pipeline [--source S --path P]: ingest (or, with no source, generate the synthetic demo),
then every later stage that exists (features, recommend, forecast, customers, ...), and
print a summary: tables and rows, quarantine counts, and each model's headline metric
beside its baseline.

With ``--parallel N`` (default 1) up to N stages whose inputs are ready run at the same
time: after ``features``, ``recommend``, ``forecast`` and ``customers`` only read the feature
tables and silver and write tables of their own, so on a cluster whose cores their small
jobs leave idle they can share it. Each is still its own run in ``ops.runs``; when one
fails, the others finish and the pipeline then fails with the first error. On a 2-core
machine it does not pay: the demo's three model stages took 408 s side by side vs 410 s one
after another (the cores are busy either way).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import selection as SEL
from lakecart.config import Config
from lakecart.runlog import RunContext, tracked_run
from lakecart.schemas import MODEL_METRICS, QUARANTINE, all_specs
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

# Later stages, in order; each is run when its module exists.
# The metrics the summary shows (all of them stay in ops.model_metrics).
HEADLINE_METRICS = (
    "ndcg", "precision", "wape", "coverage_p10_p90", "auc", "brier", "mae",
    "hit_rate", "pr_auc", "macro_f1", "accuracy", "share_captured",
)  # fmt: skip
HEADLINE_SPLITS = (N.SPLIT_HOLDOUT, N.SPLIT_BACKTEST, N.SPLIT_VALIDATION)
HEADLINE_K = (0, 10, 30)

STAGES = (
    "features",
    "recommend",
    "forecast",
    "customers",
    "basket",
    "fraud",
    "sentiment",
    "support",
    "marketing",
    "images",
    "report",
)
# The stages each stage reads the output of (besides silver, which ingest/generate wrote
# before any of them); a stage starts when those that exist have succeeded.
DEPENDS: dict[str, tuple[str, ...]] = {
    "features": (),
    "recommend": ("features",),
    "forecast": ("features",),
    "customers": ("features",),
    "basket": ("features",),
    "fraud": ("features",),
    "sentiment": ("features",),
    "support": ("features", "customers"),
    "marketing": ("features", "customers"),
    "images": (),
    "report": STAGES[:-1],
}


def available_stages() -> list[str]:
    """The later stages whose job module is installed."""
    return [s for s in STAGES if importlib.util.find_spec(f"lakecart.jobs.{s}") is not None]


def _stage_args(module: Any, base: argparse.Namespace) -> argparse.Namespace:
    """Default arguments of a stage's own parser, with the pipeline's common options."""
    p = argparse.ArgumentParser(add_help=False)
    module.add_arguments(p)
    ns = p.parse_args([])
    for k, v in vars(base).items():
        if not hasattr(ns, k):
            setattr(ns, k, v)
    return ns


def summary(lh: Lakehouse, run_ids: list[str]) -> str:
    """Tables and rows, quarantine by entity and reason, and model metrics of these runs."""
    lines = ["", "lakecart pipeline summary", "=" * 60, f"{'table':<32}{'rows':>14}"]
    for spec in all_specs():
        if lh.exists(spec):
            lines.append(f"{spec.full_name:<32}{lh.read(spec).count():>14,}")
    if lh.exists(QUARANTINE):
        q = (
            lh.read(QUARANTINE)
            .groupBy(N.ENTITY, N.REASON)
            .count()
            .orderBy(N.ENTITY, F.desc("count"))
            .collect()
        )
        if q:
            lines += ["", f"{'quarantine: entity / reason':<44}{'rows':>10}"]
            lines += [f"  {r[N.ENTITY] + ' / ' + r[N.REASON]:<42}{r['count']:>10,}" for r in q]
    if lh.exists(MODEL_METRICS) and run_ids:
        metrics = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID).isin(run_ids))
        headline = metrics.filter(
            F.col(N.METRIC).isin(*HEADLINE_METRICS)
            & F.col(N.SPLIT).isin(*HEADLINE_SPLITS)
            & (F.col(N.K).isNull() | F.col(N.K).isin(*HEADLINE_K))
        )
        m = headline.orderBy(N.MODEL, N.METRIC, N.K).limit(100).collect()  # bounded
        total = metrics.count()
        if m:
            lines += [
                "",
                f"headline metrics ({len(m)} of {total:,} rows in ops.model_metrics for this run)",
                f"{'model':<22}{'split':<11}{'metric':<12}{'k':>4}{'value':>11}  {'baseline':<20}{'value':>11}",
            ]
            for r in m:
                bv = "" if r[N.BASELINE_VALUE] is None else f"{r[N.BASELINE_VALUE]:.4f}"
                v = "" if r[N.VALUE] is None else f"{r[N.VALUE]:.4f}"
                lines.append(
                    f"{r[N.MODEL]:<22}{(r[N.SPLIT] or ''):<11}{r[N.METRIC]:<12}{r[N.K] or '':>4}{v:>11}  {r[N.BASELINE] or '':<20}{bv:>11}"
                )
        lines += published_lines(metrics)
    lines.append("=" * 60)
    return "\n".join(lines)


def published_lines(metrics: DataFrame) -> list[str]:
    """What each stage published and why, from the decision rows of ``lakecart.selection``.

    Args:
        metrics: ``ops.model_metrics`` rows of the runs to summarise.

    Returns:
        Summary lines (none when no stage recorded a decision).
    """
    rows = (
        metrics.filter(
            (F.col(N.METRIC) == SEL.PUBLISHED) | F.col(N.METRIC).startswith(SEL.SELECTION_PREFIX)
        )
        .select(N.MODEL, N.METRIC, N.VALUE, N.BASELINE, N.BASELINE_VALUE, N.DATASET, N.SPLIT)
        .limit(500)  # one decision per stage and target
        .collect()
    )
    by_target: dict[str, dict[str, Any]] = {}
    for r in rows:
        target = (r[N.DATASET] or "").rsplit("target=", 1)[-1]
        by_target.setdefault(target, {})["pub" if r[N.METRIC] == SEL.PUBLISHED else "sel"] = r
    out = []
    for target in sorted(by_target):
        pub, sel = by_target[target].get("pub"), by_target[target].get("sel")
        if pub is None:
            continue
        what = "model" if pub[N.VALUE] == 1.0 else "baseline"
        text = f"  {target}: {what} {pub[N.MODEL]}"
        if sel is not None:
            metric = sel[N.METRIC][len(SEL.SELECTION_PREFIX) :]
            v = "n/a" if sel[N.VALUE] is None else f"{sel[N.VALUE]:.4f}"
            b = "n/a" if sel[N.BASELINE_VALUE] is None else f"{sel[N.BASELINE_VALUE]:.4f}"
            text += (
                f" ({sel[N.SPLIT] or ''} {metric}: model {sel[N.MODEL]} {v},"
                f" baseline {sel[N.BASELINE]} {b})"
            )
        out.append(text)
    return ["", "published (model only when it beat its baseline)", *out] if out else []


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Run every stage in order, each recorded as its own run in ``ops.runs``."""
    run_ids = [ctx.run_id]
    if args.source:
        if not args.path:
            raise ValueError("--source needs --path")
        from lakecart.jobs import ingest as first

        first_args = argparse.Namespace(**{**vars(args), "source": args.source, "path": args.path})
        first_name = "ingest"
    else:
        from lakecart.jobs import generate as first

        first_args = argparse.Namespace(**{**vars(args), "scale": args.scale, "seed": args.seed})
        first_name = "generate"
    with tracked_run(
        lh, first_name, {"pipeline": ctx.run_id, **{k: v for k, v in vars(first_args).items() if v}}
    ) as sub:
        first.run(spark, config, lh, sub, first_args)
        run_ids.append(sub.run_id)
    run_ids += run_stages(spark, config, lh, ctx, args, available_stages(), max(1, args.parallel))
    text = summary(lh, run_ids)
    print(text, flush=True)
    return {"runs": run_ids}


PRELOAD = tuple(
    f"pyspark.ml.{m}"
    for m in (
        "wrapper", "util", "pipeline", "feature", "functions", "classification", "regression",
        "clustering", "recommendation", "evaluation", "fpm", "tuning", "linalg", "stat",
    )
)  # fmt: skip


def _run_stage(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    parent: str,
    name: str,
    module: Any,
    args: argparse.Namespace,
) -> str:
    with tracked_run(lh, name, {"pipeline": parent}) as sub:
        module.run(spark, config, lh, sub, _stage_args(module, args))
        return sub.run_id


def run_stages(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    args: argparse.Namespace,
    stages: list[str],
    parallel: int,
    modules: dict[str, Any] | None = None,
) -> list[str]:
    """Run ``stages``, each as soon as the stages it depends on have succeeded, at most
    ``parallel`` at once (threads of this driver sharing the session).

    Args:
        spark, config, lh, ctx, args: As for :func:`run`.
        stages: Stage names, in the order to start them when several are ready.
        parallel: Most stages at once.
        modules: Stage name -> module with ``run``/``add_arguments`` (default: the
            ``lakecart.jobs`` module of each stage).

    Returns:
        The run ids of the stages, in the order they finished.

    Raises:
        The first stage error, after every stage that could still run has finished; stages
        that depend on a failed stage are not started.
    """
    # imported here, one after another: concurrent first imports of the same modules (e.g.
    # pyspark.ml.wrapper) from several threads fail with "partially initialized module";
    # pyspark.ml also imports model classes by name when it loads a saved model
    for m in PRELOAD:
        importlib.import_module(m)
    if modules is None:
        modules = {s: importlib.import_module(f"lakecart.jobs.{s}") for s in stages}
    run_ids: list[str] = []
    done: set[str] = set()
    failed: dict[str, BaseException] = {}
    pending = list(stages)
    running: dict[Future, str] = {}
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="stage") as pool:
        while pending or running:
            blocked = [s for s in pending if any(d in failed for d in DEPENDS.get(s, ()))]
            for s in blocked:
                log.warning("[pipeline] %s not run: a stage it depends on failed", s)
                pending.remove(s)
            ready = [
                s for s in pending if all(d in done or d not in stages for d in DEPENDS.get(s, ()))
            ]
            for s in ready[: parallel - len(running)]:
                pending.remove(s)
                running[
                    pool.submit(_run_stage, spark, config, lh, ctx.run_id, s, modules[s], args)
                ] = s
            if not running:
                break
            finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for f in finished:
                name = running.pop(f)
                err = f.exception()
                if err is None:
                    done.add(name)
                    run_ids.append(f.result())
                else:
                    log.error("[pipeline] %s failed: %s", name, err)
                    failed[name] = err
    if failed:
        raise next(iter(failed.values()))
    return run_ids


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the pipeline job."""
    p.add_argument(
        "--source",
        choices=N.SOURCES,
        default=None,
        help="ingest this source (default: the synthetic demo)",
    )
    p.add_argument("--path", default=None, help="input path for --source")
    p.add_argument(
        "--scale", type=int, default=None, help="synthetic demo size (default generate.scale)"
    )
    p.add_argument(
        "--seed", type=int, default=None, help="synthetic demo seed (default generate.seed)"
    )
    p.add_argument(
        "--parallel",
        type=int,
        default=1,
        help="stages run at once when their inputs are ready (default 1: one after another)",
    )


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("pipeline", __doc__, add_arguments, run, argv)
