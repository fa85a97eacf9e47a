"""Recommendation benchmark: ALS fit time and top-N for all users, side by side.

For each dataset (MovieLens 100K ratings; full UCI Online Retail; with ``--scale N`` the
synthetic shop), one Spark session, the interactions as of the default as_of:

1. MLlib implicit ALS fit (fixed hyperparameters, the same for every contender);
2. our top-N for all users (user blocks scored on the executors against broadcast item
   factors, the seen-item filter inside the block) vs ``recommendForAllUsers`` followed by
   the seen-item anti-join, on the same model; both written to the ``noop`` sink; the lists
   are checked to be the same items;
3. the ``implicit`` library (a dev dependency in setup.cfg; skipped when absent) on the same matrix
   and hyperparameters: fit and ``recommend`` for all users with the seen filter.

Usage: .venv/bin/python bench/recommend.py [--data ../shared/datasets] [--out bench/out/recommend]
       [--scale 16] [--datasets movielens,online_retail,synthetic] [--n 20]
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np
from common import config_for, timed
from pyspark import StorageLevel
from pyspark.sql import DataFrame

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.cli import setup_logging
from lakecart.config import Config
from lakecart.recommend import core, data, models
from lakecart.recommend.models import AlsParams
from lakecart.recommend.score import recommend_for_all_users, score, user_blocks
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

PARAMS = AlsParams(rank=64, reg=0.05, alpha=10.0, max_iter=10, confidence="weight")


def ensure_loaded(label: str, cfg: Config, lh: Lakehouse, argv: list[str]) -> None:
    """Ingest (or generate) the dataset into the bench lakehouse once."""
    entity = SILVER[N.RATINGS] if label == "movielens" else SILVER[N.ORDERS]
    if lh.exists(entity) and lh.read(entity).limit(1).count():
        return
    from lakecart.jobs import generate, ingest
    from lakecart.runlog import tracked_run

    job = generate if label == "synthetic" else ingest
    p = argparse.ArgumentParser()
    job.add_arguments(p)
    args = p.parse_args(argv)
    t, _ = timed(lambda: _run(job, cfg, lh, args, tracked_run))
    print(f"[{label}] loaded into {cfg.lakehouse.root} in {t:.1f} s", flush=True)


def _run(job, cfg, lh, args, tracked_run):
    with tracked_run(lh, job.__name__.rsplit(".", 1)[-1], {"bench": True}) as ctx:
        job.run(lh.spark, cfg, lh, ctx, args)


def noop(df: DataFrame) -> None:
    df.write.format("noop").mode("overwrite").save()


def implicit_side(
    train_idx: DataFrame, n_users: int, n_items: int, n: int
) -> dict[str, float] | None:
    """Fit and recommend with the ``implicit`` library on the same matrix (None if absent)."""
    try:
        import implicit  # noqa: F401
        from implicit.als import AlternatingLeastSquares
        from scipy.sparse import csr_matrix
    except ImportError:
        return None
    pdf = train_idx.select(data.U_IDX, data.I_IDX, N.WEIGHT).toPandas()  # bench only
    mat = csr_matrix(
        (
            pdf[N.WEIGHT].to_numpy(np.float32),
            (pdf[data.U_IDX].to_numpy(), pdf[data.I_IDX].to_numpy()),
        ),
        shape=(n_users, n_items),
    )
    model = AlternatingLeastSquares(
        factors=PARAMS.rank,
        regularization=PARAMS.reg,
        alpha=PARAMS.alpha,
        iterations=PARAMS.max_iter,
        random_state=42,
        calculate_training_loss=False,
    )
    t_fit, _ = timed(lambda: model.fit(mat, show_progress=False))
    users = np.arange(n_users)
    t_rec, _ = timed(
        lambda: model.recommend(users, mat[users], N=n, filter_already_liked_items=True)
    )
    return {"fit": t_fit, "recommend": t_rec}


def bench_case(spark, label: str, cfg: Config, argv: list[str], n: int) -> None:
    lh = Lakehouse(spark, cfg.lakehouse)
    ensure_loaded(label, cfg, lh, argv)
    as_of = resolve_as_of(lh, cfg)
    inputs = data.load_inputs(lh, cfg, as_of)
    inter = inputs.interactions.persist(StorageLevel.MEMORY_AND_DISK)
    ids = data.item_ids(inter)
    items = data.item_index(spark, ids)
    users = data.user_index(spark, inter)
    train_idx = data.indexed(inter, items, users).persist(StorageLevel.MEMORY_AND_DISK)
    n_rows = train_idx.count()
    n_users = users.count()
    t_fit, als = timed(lambda: models.fit_als(train_idx, PARAMS, 42, 5))
    model = core.ItemModel(
        np.array(ids, dtype=object),
        np.ones(len(ids), bool),
        np.zeros(len(ids), np.float32),
        item_factors=models.item_factors(als, len(ids)),
    )
    ours = score(user_blocks(train_idx, als), model, {"als": {"als": 1.0}}, n).drop(core.OUT_MODEL)
    mllib = recommend_for_all_users(als, train_idx, items, n)
    noop(ours)  # warm-up (Python workers, broadcast)
    t_ours, _ = timed(lambda: noop(ours))
    t_mllib, _ = timed(lambda: noop(mllib))
    a = ours.select(N.USER_ID, N.ITEM_ID)
    b = mllib.select(N.USER_ID, N.ITEM_ID)
    diff = a.exceptAll(b).count()
    imp = implicit_side(train_idx, n_users, len(ids), n)

    print(
        f"\n== {label}: {n_users:,} users x {len(ids):,} items, {n_rows:,} interactions, as_of {as_of} =="
    )
    print(f"ALS fit (MLlib, {PARAMS.label()})           : {t_fit:8.1f} s")
    print(f"top-{n} all users, ours (blocks + seen filter)  : {t_ours:8.1f} s")
    print(f"top-{n} all users, recommendForAllUsers + anti-join : {t_mllib:8.1f} s")
    print(
        f"ratio recommendForAllUsers / ours               : {t_mllib / t_ours:8.1f}x  (goal >= 5)"
    )
    print(f"items in our lists not in MLlib's (ties aside)  : {diff:,} of {a.count():,}")
    if imp is None:
        print(
            "implicit library: not installed (it is in setup.cfg [dev]; run ./run-tests.sh once) - skipped"
        )
    else:
        print(
            f"implicit fit (same matrix, same hyperparameters): {imp['fit']:8.1f} s  (MLlib / implicit {t_fit / imp['fit']:.1f}x)"
        )
        print(
            f"implicit recommend all users, seen filtered     : {imp['recommend']:8.1f} s  (ours / implicit {t_ours / imp['recommend']:.1f}x)"
        )
    train_idx.unpersist()
    inter.unpersist()


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--data", default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets")
    )
    p.add_argument("--out", default=str(Path(__file__).resolve().parent / "out" / "recommend"))
    p.add_argument("--scale", type=int, default=16)
    p.add_argument("--datasets", default="movielens,online_retail,synthetic")
    p.add_argument("--n", type=int, default=20)
    p.add_argument("--shuffle-partitions", type=int, default=4)
    p.add_argument("--master", default="local[*]")
    a = p.parse_args()
    setup_logging()
    out = Path(a.out)
    cases = {
        "movielens": ["--source", "movielens", "--path", f"{a.data}/movielens_100k/ml-100k"],
        "online_retail": ["--source", "online_retail", "--path", f"{a.data}/online_retail/by-day"],
        "synthetic": ["--scale", str(a.scale)],
    }
    spark = None
    for label in [x.strip() for x in a.datasets.split(",") if x.strip()]:
        root = out / (f"synthetic_{a.scale}" if label == "synthetic" else label)
        cfg = config_for(root, a)
        spark = spark or get_spark(cfg)
        bench_case(spark, label, cfg, cases[label], a.n)
    if spark is not None:
        spark.stop()


if __name__ == "__main__":
    main()
