"""Recommendation quality, scored from outside on the PUBLISHED tables.

The harness runs the jobs exactly as a user would (``./spark-submit.sh``, default config,
nothing dataset-specific), then reads ``gold.recommendations`` back and scores its top-10
with :mod:`lakecart.recommend.evaluate` against data the jobs never saw:

* ``ml100k`` — MovieLens 100K, the SPEC benchmark protocol: per-user 75/25 random split
  (seed 42, :func:`stratified_split`); the TRAIN part is written as a canonical landing
  folder (``ratings/ratings.csv``, ``products/products.csv`` with the u.item genres as
  category) and run through ``ingest --source canonical``, ``features`` and ``recommend``;
  the published lists are scored against the TEST part (precision@10, recall@10, NDCG@10,
  MAP as Microsoft Recommenders defines them). Target: NDCG@10 >= 0.45 (Recommenders'
  published table on the same protocol: ALS 0.044, SAR 0.382, BPR 0.442, BiVAE 0.475).
* ``online_retail`` — UCI Online Retail, chronological: a copy of the ready-made lakehouse
  (``/work/lakes/online_retail``, silver already ingested) gets ``features`` and
  ``recommend`` with ``--as-of 2011-11-01``; the lists are scored against what returning
  customers bought for the first time from as_of to the end of the data
  (:func:`new_item_truth`). A popularity baseline computed here (most distinct buyers in
  the 90 days before as_of, each user's already-bought items removed) is scored the same
  way. Targets: NDCG@10 >= 0.10 and >= 1.6x popularity.

Both datasets also get a popularity baseline in the MovieLens case (most distinct raters in
the training split, seen items removed), beyond-accuracy figures (coverage, diversity,
novelty) of the published lists, and the job's own ``ops.model_metrics`` rows (latest
successful recommend run) printed as a table. Without the recommend job (``jobs/recommend.py``)
only the baseline is scored, and the output says so.

Usage: .venv/bin/python bench/recommend_quality.py --dataset ml100k|online_retail|both
       --workdir /tmp/recq [--data ../shared/datasets] [--or-lake /work/lakes/online_retail]
       [--reuse] [--score-only] [--baseline-only] [--k 10]
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

REPO = Path(__file__).resolve().parents[1]
# score with this checkout's library whatever the virtualenv's editable install points at
sys.path.insert(0, str(REPO / "lib"))

from lakecart import names as N  # noqa: E402
from lakecart.cli import setup_logging  # noqa: E402
from lakecart.config import load_config  # noqa: E402
from lakecart.recommend.evaluate import (  # noqa: E402
    beyond_accuracy_metrics,
    new_item_truth,
    ranking_metrics,
    stratified_split,
)
from lakecart.session import get_spark  # noqa: E402

OR_AS_OF = dt.date(2011, 11, 1)
POPULAR_DAYS = 90

# Microsoft Recommenders' published MovieLens 100K table (README "Algorithm comparison",
# same protocol: per-user 75/25 random split, top-10, seen items removed)
PUBLISHED_ML100K = {
    "ALS (Spark)": {"map": 0.004732, "ndcg": 0.044239, "precision": 0.048462, "recall": 0.017796},
    "SAR": {"map": 0.110591, "ndcg": 0.382461, "precision": 0.330753, "recall": 0.176385},
    "BPR": {"map": 0.132478, "ndcg": 0.441997, "precision": 0.388229, "recall": 0.212522},
    "BiVAE": {"map": 0.146126, "ndcg": 0.475077, "precision": 0.411771, "recall": 0.219145},
}

ML_GENRES = [
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime",
    "Documentary", "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery",
    "Romance", "Sci-Fi", "Thriller", "War", "Western",
]  # fmt: skip


# ---------------------------------------------------------------- helpers


def recommend_job_available() -> bool:
    """Whether the recommend job exists in this checkout."""
    return (REPO / "jobs" / "recommend.py").exists() and (
        REPO / "lib" / "lakecart" / "jobs" / "recommend.py"
    ).exists()


def run_job(job: str, args: list[str], logs: Path) -> float:
    """Run ``./spark-submit.sh JOB ARGS`` as a subprocess; its output goes to a log file.

    Returns:
        Wall-clock seconds.

    Raises:
        RuntimeError: on a non-zero exit (the log's last lines are printed first).
    """
    logs.mkdir(parents=True, exist_ok=True)
    log_file = logs / f"{job}.log"
    cmd = [str(REPO / "spark-submit.sh"), job, *args]
    print(f"  $ {' '.join(cmd)}  (log: {log_file})", flush=True)
    t0 = time.perf_counter()
    with open(log_file, "w") as out:
        code = subprocess.run(cmd, cwd=REPO, stdout=out, stderr=subprocess.STDOUT).returncode
    seconds = time.perf_counter() - t0
    if code != 0:
        tail = log_file.read_text(errors="replace").splitlines()[-15:]
        print("\n".join("    | " + line[-200:] for line in tail))
        raise RuntimeError(f"{job} exited with {code} after {seconds:.0f} s (see {log_file})")
    print(f"    {job}: {seconds:.1f} s", flush=True)
    return seconds


class Session:
    """The harness's own Spark session, started on demand and stopped while the jobs run
    (they are separate Spark applications: two drivers at once would share 2 cores)."""

    def __init__(self, cfg: Any) -> None:
        self.cfg = cfg
        self.spark: SparkSession | None = None

    def get(self) -> SparkSession:
        """The running session (started if needed)."""
        if self.spark is None:
            self.spark = get_spark(self.cfg)
            self.spark.sparkContext.setLogLevel("ERROR")
        return self.spark

    def stop(self) -> None:
        """Stop the session, if one is running."""
        if self.spark is not None:
            self.spark.stop()
            self.spark = None


def ml_split(spark: SparkSession, ml_dir: Path) -> tuple[DataFrame, DataFrame]:
    """The SPEC split of u.data (deterministic: the same rows on every call)."""
    data = spark.read.csv(
        str(ml_dir / "u.data"),
        sep="\t",
        schema="user_id string, item_id string, rating double, ts long",
    )
    train, test = stratified_split(data, ratio=0.75, seed=42)
    return train.cache(), test.cache()


def run_jobs(
    has_job: bool, common: list[str], logs: Path, timings: dict[str, float], skip_features: bool
) -> str | None:
    """``features`` then ``recommend`` (when the job exists); the error, if one failed."""
    if not has_job:
        return None
    for job in ("features", "recommend"):
        if job == "features" and skip_features:
            print("  --reuse: features.interactions exists, features not rerun")
            continue
        try:
            timings[job] = run_job(job, common, logs)
        except RuntimeError as e:
            print(f"    FAILED: {e}")
            return f"the {job} job failed ({e})"
    return None


def read_delta(spark: SparkSession, path: Path) -> DataFrame | None:
    """A path-based Delta table, or None when it does not exist."""
    if not (path / "_delta_log").exists():
        return None
    return spark.read.format("delta").load(str(path))


def popularity_recs(
    interactions: DataFrame,
    users: DataFrame,
    seen: DataFrame,
    k: int,
) -> DataFrame:
    """Top-``k`` most popular items per user, the user's ``seen`` items removed.

    Popularity is the number of distinct users in ``interactions`` (ties: item id). Only the
    ``k + max seen per user`` most popular items can reach a list, so the cross join with
    the users is bounded by that.

    Args:
        interactions: ``user_id``, ``item_id`` rows counted for popularity.
        users: ``user_id`` of the users to recommend to.
        seen: ``user_id``, ``item_id`` to exclude per user.
        k: List length.

    Returns:
        ``user_id``, ``item_id``, ``rank``.
    """
    pop = interactions.groupBy(N.ITEM_ID).agg(F.countDistinct(N.USER_ID).alias("_n"))
    seen = seen.select(N.USER_ID, N.ITEM_ID).distinct()
    max_seen = seen.groupBy(N.USER_ID).count().agg(F.max("count")).first()[0] or 0  # one row
    m = k + int(max_seen)
    ranked = pop.withColumn("_p", F.row_number().over(Window.orderBy(F.desc("_n"), N.ITEM_ID)))
    cand = ranked.filter(F.col("_p") <= m).select(N.ITEM_ID, "_p")
    lists = (
        users.select(N.USER_ID)
        .distinct()
        .crossJoin(F.broadcast(cand))
        .join(seen, [N.USER_ID, N.ITEM_ID], "left_anti")
    )
    w = Window.partitionBy(N.USER_ID).orderBy("_p")
    return (
        lists.withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= k)
        .select(N.USER_ID, N.ITEM_ID, N.RANK)
    )


def latest_model_metrics(spark: SparkSession, lake: Path) -> list[dict[str, Any]]:
    """``ops.model_metrics`` rows of the latest successful recommend run (a few dozen rows)."""
    runs = read_delta(spark, lake / N.OPS / N.RUNS)
    metrics = read_delta(spark, lake / N.OPS / N.MODEL_METRICS)
    if runs is None or metrics is None:
        return []
    last = (
        runs.filter((F.col(N.JOB) == "recommend") & (F.col(N.STATUS) == N.SUCCEEDED))
        .orderBy(F.desc(N.STARTED_AT))
        .select(N.RUN_ID)
        .first()
    )
    if last is None:
        return []
    rows = metrics.filter(F.col(N.RUN_ID) == last[N.RUN_ID]).orderBy(
        N.SPLIT, N.METRIC, N.K, N.MODEL
    )
    return [r.asDict() for r in rows.collect()]  # metric rows: small and fixed-size


def print_model_metrics(rows: list[dict[str, Any]]) -> None:
    """The job's own metric rows as a table."""
    if not rows:
        print("  (no ops.model_metrics rows from a successful recommend run)")
        return
    print(
        f"  {'split':<11} {'metric':<12} {'k':>3} {'model':<22} {'value':>9} "
        f"{'baseline':<14} {'base.value':>10}  dataset / as_of"
    )
    for r in rows:
        value = "" if r[N.VALUE] is None else f"{r[N.VALUE]:.4f}"
        base = "" if r[N.BASELINE_VALUE] is None else f"{r[N.BASELINE_VALUE]:.4f}"
        print(
            f"  {r[N.SPLIT] or '':<11} {r[N.METRIC]:<12} {r[N.K] if r[N.K] is not None else '':>3} "
            f"{r[N.MODEL]:<22} {value:>9} {r[N.BASELINE] or '':<14} {base:>10}  "
            f"{r[N.DATASET] or ''} / {r[N.AS_OF]}"
        )


def score(
    label: str,
    recs: DataFrame,
    truth: DataFrame,
    train: DataFrame | None,
    k: int,
) -> dict[str, float]:
    """Ranking metrics (and beyond-accuracy ones when ``train`` is given), timed."""
    t0 = time.perf_counter()
    recs = recs.select(N.USER_ID, N.ITEM_ID, N.RANK).filter(F.col(N.RANK) <= k).cache()
    try:
        out = ranking_metrics(recs, truth, k)
        if train is not None:
            out |= beyond_accuracy_metrics(recs, train, k)
    finally:
        recs.unpersist()
    out["seconds"] = time.perf_counter() - t0
    print(f"    scored {label}: {out['users']:.0f} users in {out['seconds']:.1f} s", flush=True)
    return out


def print_table(title: str, results: dict[str, dict[str, float]], k: int) -> None:
    """One clean table of the scored lists."""
    print(f"\n== {title} ==")
    cols = [
        ("users", "users", "{:>6.0f}"),
        ("precision", f"P@{k}", "{:>7.4f}"),
        ("recall", f"R@{k}", "{:>7.4f}"),
        ("ndcg", f"NDCG@{k}", "{:>8.4f}"),
        ("map", "MAP", "{:>7.4f}"),
        ("map_at_k", f"MAP@{k}", "{:>7.4f}"),
        ("hit_rate", f"HR@{k}", "{:>7.4f}"),
        ("coverage", "cover", "{:>6.3f}"),
        ("diversity", "divers", "{:>6.3f}"),
        ("novelty", "novel", "{:>6.2f}"),
    ]
    head = f"  {'lists':<38}" + " ".join(f"{h:>{len(fmt.format(0.0))}}" for _, h, fmt in cols)
    print(head)
    for name, m in results.items():
        cells = []
        for key, _, fmt in cols:
            width = len(fmt.format(0.0))
            cells.append(fmt.format(m[key]) if key in m else " " * (width - 1) + "-")
        print(f"  {name:<38}" + " ".join(cells))


# ---------------------------------------------------------------- MovieLens 100K


def write_ml_landing(spark: SparkSession, train: DataFrame, ml_dir: Path, landing: Path) -> None:
    """The training split as a canonical landing folder: ratings/ratings.csv, products/products.csv."""
    ratings = train.select(
        N.USER_ID,
        N.ITEM_ID,
        N.RATING,
        F.date_format(F.timestamp_seconds("ts"), "yyyy-MM-dd HH:mm:ss").alias(N.RATING_TS),
    )
    names = ["movie_id", "title", "release_date", "video_release_date", "imdb_url", *ML_GENRES]
    items = spark.read.csv(
        str(ml_dir / "u.item"),
        sep="|",
        encoding="ISO-8859-1",
        schema=", ".join(f"`{c}` string" for c in names),
    )
    genres = F.concat_ws("|", *[F.when(F.col(f"`{g}`") == "1", F.lit(g)) for g in ML_GENRES])
    products = items.select(
        F.col("movie_id").alias(N.ITEM_ID), F.col("title").alias(N.TITLE), genres.alias(N.CATEGORY)
    )
    for entity, df in ((N.RATINGS, ratings), (N.PRODUCTS, products)):
        tmp = landing / f"_{entity}_tmp"
        df.coalesce(1).write.mode("overwrite").option("header", "true").option("escape", '"').csv(
            str(tmp)
        )
        (landing / entity).mkdir(parents=True, exist_ok=True)
        part = next(tmp.glob("part-*.csv"))
        part.rename(landing / entity / f"{entity}.csv")
        shutil.rmtree(tmp)


def bench_ml100k(sess: Session, a: argparse.Namespace) -> None:
    """MovieLens 100K, SPEC protocol."""
    ml_dir = Path(a.data) / "movielens_100k" / "ml-100k"
    work = Path(a.workdir) / "ml100k"
    landing, lake, logs = work / "landing", work / "lake", work / "logs"
    has_job = recommend_job_available() and not a.baseline_only
    print(f"\n#### MovieLens 100K ({ml_dir})", flush=True)
    spark = sess.get()
    train, test = ml_split(spark, ml_dir)
    n_train, n_test = train.count(), test.count()
    print(f"  split 75/25 per user, seed 42: {n_train:,} train / {n_test:,} test ratings")
    timings: dict[str, float] = {}
    job_error: str | None = None
    if not a.score_only:
        common = ["--lakehouse", str(lake)]
        prev = read_delta(spark, lake / N.SILVER / N.RATINGS) if a.reuse else None
        reuse_silver = prev is not None and prev.count() == n_train
        if reuse_silver:
            print(f"  --reuse: silver.ratings of {lake} already holds the training split")
        else:
            shutil.rmtree(work, ignore_errors=True)
            t0 = time.perf_counter()
            write_ml_landing(spark, train, ml_dir, landing)
            timings["landing"] = time.perf_counter() - t0
        sess.stop()  # the jobs get the cores (and the memory) to themselves
        if not reuse_silver:
            timings["ingest"] = run_job(
                "ingest", ["--source", "canonical", "--path", str(landing), *common], logs
            )
        reuse_features = a.reuse and (lake / N.FEATURES / N.INTERACTIONS / "_delta_log").exists()
        job_error = run_jobs(has_job, common, logs, timings, reuse_features)
        spark = sess.get()
        train, test = ml_split(spark, ml_dir)  # the same split again
    results: dict[str, dict[str, float]] = {}
    silver = read_delta(spark, lake / N.SILVER / N.RATINGS)
    if silver is None:
        print("  silver.ratings missing: ingest did not run (use it without --score-only)")
        return
    n_silver = silver.count()
    print(f"  silver.ratings: {n_silver:,} rows (train split: {n_train:,})")
    train_pairs = train.select(N.USER_ID, N.ITEM_ID)
    has_gold = has_job and job_error is None
    gold = read_delta(spark, lake / N.GOLD / N.RECOMMENDATIONS) if has_gold else None
    if gold is not None:
        results["lakecart gold.recommendations"] = score(
            "gold.recommendations", gold, test, train_pairs, a.k
        )
    pop = popularity_recs(train_pairs, train_pairs, train_pairs, a.k)
    results["popularity (harness, train split)"] = score("popularity", pop, test, train_pairs, a.k)
    for name, m in PUBLISHED_ML100K.items():
        results[f"Recommenders {name} (published)"] = m
    print("\n  ops.model_metrics of the latest recommend run (the job's own evaluation):")
    print_model_metrics(latest_model_metrics(spark, lake))
    print_table(
        f"MovieLens 100K, SPEC protocol (per-user 75/25 random split, seed 42; top-{a.k}, "
        "training items removed)",
        results,
        a.k,
    )
    if timings:
        print("  seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    if gold is None:
        why = job_error or "recommend job missing (or --baseline-only), no gold.recommendations"
        print(f"  NOTE: {why}: only the popularity baseline was scored.")
    else:
        ndcg = results["lakecart gold.recommendations"]["ndcg"]
        verdict = "PASS" if ndcg >= 0.45 else "FAIL"
        print(f"  target NDCG@{a.k} >= 0.45: {ndcg:.4f} -> {verdict}")
    train.unpersist()
    test.unpersist()


# ---------------------------------------------------------------- Online Retail


def bench_online_retail(sess: Session, a: argparse.Namespace) -> None:
    """Online Retail, chronological at 2011-11-01."""
    work = Path(a.workdir) / "online_retail"
    lake, logs = work / "lake", work / "logs"
    has_job = recommend_job_available() and not a.baseline_only
    print(f"\n#### Online Retail (lakehouse copied from {a.or_lake}), as_of {OR_AS_OF}", flush=True)
    timings: dict[str, float] = {}
    job_error: str | None = None
    if not a.score_only:
        if a.reuse and (lake / N.SILVER / N.ORDERS / "_delta_log").exists():
            print(f"  --reuse: keeping the lakehouse copy {lake}")
        else:
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            shutil.copytree(a.or_lake, lake)
        sess.stop()  # the jobs get the cores (and the memory) to themselves
        common = ["--lakehouse", str(lake), "--as-of", OR_AS_OF.isoformat()]
        reuse_features = a.reuse and (lake / N.FEATURES / N.INTERACTIONS / "_delta_log").exists()
        job_error = run_jobs(has_job, common, logs, timings, reuse_features)
    spark = sess.get()
    orders = read_delta(spark, lake / N.SILVER / N.ORDERS)
    if orders is None:
        print(f"  silver.orders missing under {lake}")
        return
    truth = new_item_truth(orders, OR_AS_OF).cache()
    start = F.lit(OR_AS_OF).cast("timestamp")
    bought = (
        orders.filter(
            F.col(N.CUSTOMER_ID).isNotNull() & ~F.col(N.IS_RETURN) & (F.col(N.ORDER_TS) < start)
        )
        .select(F.col(N.CUSTOMER_ID).alias(N.USER_ID), N.ITEM_ID, N.ORDER_TS)
        .cache()
    )
    past = bought.select(N.USER_ID, N.ITEM_ID).distinct()
    recent = bought.filter(
        F.col(N.ORDER_TS) >= F.lit(OR_AS_OF - dt.timedelta(days=POPULAR_DAYS)).cast("timestamp")
    )
    n_truth = truth.count()
    n_users = truth.select(N.USER_ID).distinct().count()
    print(f"  truth: {n_truth:,} new (user, item) purchases of {n_users:,} returning customers")
    results: dict[str, dict[str, float]] = {}
    has_gold = has_job and job_error is None
    gold = read_delta(spark, lake / N.GOLD / N.RECOMMENDATIONS) if has_gold else None
    if gold is not None:
        results["lakecart gold.recommendations"] = score(
            "gold.recommendations", gold, truth, past, a.k
        )
    pop = popularity_recs(recent, past.select(N.USER_ID), past, a.k)
    results[f"popularity {POPULAR_DAYS}d (harness)"] = score("popularity", pop, truth, past, a.k)
    print("\n  ops.model_metrics of the latest recommend run (the job's own evaluation):")
    print_model_metrics(latest_model_metrics(spark, lake))
    print_table(
        f"Online Retail, chronological: lists as of {OR_AS_OF} vs first-time purchases of "
        "returning customers to the end of the data",
        results,
        a.k,
    )
    if timings:
        print("  seconds: " + ", ".join(f"{k} {v:.0f}" for k, v in timings.items()))
    if gold is None:
        why = job_error or "recommend job missing (or --baseline-only), no gold.recommendations"
        print(f"  NOTE: {why}: only the popularity baseline was scored.")
    else:
        ndcg = results["lakecart gold.recommendations"]["ndcg"]
        base = results[f"popularity {POPULAR_DAYS}d (harness)"]["ndcg"]
        ratio = ndcg / base if base else float("inf")
        verdict = "PASS" if ndcg >= 0.10 and ratio >= 1.6 else "FAIL"
        print(
            f"  NDCG@{a.k} {ndcg:.4f} vs popularity {base:.4f}: ratio {ratio:.2f} "
            f"(targets >= 0.10 and >= 1.6x) -> {verdict}"
        )
    truth.unpersist()
    bought.unpersist()


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--dataset", choices=["ml100k", "online_retail", "both"], default="both")
    ap.add_argument(
        "--workdir", required=True, help="scratch folder (its dataset sub-folders are replaced)"
    )
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "datasets"))
    ap.add_argument("--or-lake", default="/work/lakes/online_retail")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument(
        "--score-only", action="store_true", help="run no job: score what the workdir's lakes hold"
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="keep an earlier run's lakehouse (MovieLens: when it holds the same training "
        "split; Online Retail: the copy) and its feature tables; rerun recommend",
    )
    ap.add_argument(
        "--baseline-only",
        action="store_true",
        help="run no features/recommend job and score only the harness's popularity baseline",
    )
    ap.add_argument("--master", default="local[2]")
    a = ap.parse_args()
    setup_logging()
    Path(a.workdir).mkdir(parents=True, exist_ok=True)
    overlay = Path(a.workdir) / "_harness_spark.yaml"  # keys with dots need a YAML overlay
    overlay.write_text(
        "spark:\n  conf:\n"
        '    spark.ui.enabled: "false"\n'
        '    spark.ui.showConsoleProgress: "false"\n'
        "    spark.driver.memory: 3g\n"
    )
    cfg = load_config(
        "local",
        conf_files=[str(overlay)],
        overrides=[
            f"spark.master={a.master}",
            "spark.shuffle_partitions=4",
            f"lakehouse.root={Path(a.workdir) / '_harness'}",
        ],
    )
    sess = Session(cfg)
    started = dt.datetime.now(dt.UTC)
    print(f"recommend_quality: started {started:%Y-%m-%d %H:%M} UTC, k={a.k}, workdir {a.workdir}")
    if not recommend_job_available():
        print(
            "NOTE: the recommend job (jobs/recommend.py) is missing in this checkout: the "
            "harness scores its own popularity baseline only."
        )
    t0 = time.perf_counter()
    try:
        if a.dataset in ("ml100k", "both"):
            bench_ml100k(sess, a)
        if a.dataset in ("online_retail", "both"):
            bench_online_retail(sess, a)
    finally:
        sess.stop()
    own, kids = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    cpu = own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime
    print(
        f"\ntotal {time.perf_counter() - t0:.0f} s wall, {cpu:.0f} s CPU "
        "(this process and its finished children: the jobs and, once stopped, the harness JVM)"
    )


if __name__ == "__main__":
    sys.exit(main())
