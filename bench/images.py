"""Benchmark of the ``images`` job: the fashion proof protocol scored from outside, and speed.

Parts (``--parts``, default ``fashion,speed``):

* ``fashion``: ``../shared/datasets/fashion_product_images``, articleType classes with at
  least 20 photos, split 80/20 stratified by articleType (seed 42). Training products are
  landed with category (``masterCategory > subCategory > articleType``), title and photo;
  test products with the photo only. The bench ingests the canonical landing, runs
  ``images`` and reads gold.product_image_tags and gold.visually_similar with delta-rs:
  accuracy of the predicted articleType and masterCategory on the test products (targets
  0.88 / 0.99), and the share of each product's top-10 neighbours with its own articleType
  (target 0.76; truth from labels.csv). Anchors measured on the same split: HOG + colour +
  texture with logistic regression 0.874 / 0.988, cosine neighbours on HOG 0.754.
* ``speed``: the feature UDF's throughput in one Python process (photos per second per
  core), then for each ``--replicas`` (the fashion photos named 1, 4, 16 ... times over,
  as symbolic links, so each copy is a distinct file) a plain Spark binary-file read of
  the photos (count and total bytes) beside the images job's photos -> features step on a
  fresh lakehouse, and the ratio.

Metrics are computed here with numpy/pandas from the gold tables (not lakecart code).
Usage: .venv/bin/python bench/images.py [--parts fashion,speed] [--work /tmp/images_bench]
       [--replicas 1,4] [--set images.models=[lr,mlp] ...]
"""

from __future__ import annotations

import argparse
import collections
import csv
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from common import config_for, timed
from deltalake import DeltaTable
from sklearn.model_selection import train_test_split

from lakecart import names as N
from lakecart.cli import setup_logging
from lakecart.images.pixels import describe
from lakecart.jobs import images as images_job
from lakecart.jobs import ingest as ingest_job
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

FASHION = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "fashion_product_images"
AS_OF = "2024-01-02"


def labels() -> pd.DataFrame:
    """labels.csv with the classes of the protocol (articleType with >= 20 photos)."""
    df = pd.read_csv(FASHION / "labels.csv", dtype=str)
    counts = df["articleType"].value_counts()
    return df[df["articleType"].map(counts) >= 20].reset_index(drop=True)


def split(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """The protocol's stratified 80/20 split (seed 42): train and test row indices."""
    return train_test_split(
        np.arange(len(df)), test_size=0.2, stratify=df["articleType"], random_state=42
    )


def write_landing(df: pd.DataFrame, train: np.ndarray, landing: Path) -> None:
    """products.csv: training rows with category, title and photo; test rows photo only."""
    landing.mkdir(parents=True, exist_ok=True)
    is_train = np.zeros(len(df), dtype=bool)
    is_train[train] = True
    path = df["masterCategory"] + " > " + df["subCategory"] + " > " + df["articleType"]
    out = pd.DataFrame(
        {
            N.ITEM_ID: df["id"],
            N.TITLE: np.where(is_train, df["productDisplayName"].fillna(""), ""),
            N.CATEGORY: np.where(is_train, path, ""),
            N.IMAGE: [str(FASHION / f) for f in df["image_file"]],
        }
    )
    out.to_csv(landing / "products.csv", index=False, quoting=csv.QUOTE_NONNUMERIC)


def run_images(a: argparse.Namespace, root: Path, landing: Path) -> dict:
    """Ingest ``landing`` into a fresh lakehouse at ``root`` and run ``images``."""
    shutil.rmtree(root, ignore_errors=True)
    cfg = config_for(root, a, f"run.as_of={AS_OF}", *a.set)
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    out: dict = {}
    with tracked_run(lh, "ingest", {}) as ctx:
        out["ingest_s"], _ = timed(
            lambda: ingest_job.ingest(spark, cfg, lh, ctx, N.SRC_CANONICAL, str(landing))
        )
    with tracked_run(lh, "images", {}) as ctx:
        out["images_s"], out["images"] = timed(
            lambda: images_job.run(spark, cfg, lh, ctx, argparse.Namespace())
        )
    return out


def fashion(a: argparse.Namespace) -> None:
    df = labels()
    train, test = split(df)
    landing, root = Path(a.work) / "fashion_landing", Path(a.work) / "fashion_lakehouse"
    write_landing(df, train, landing)
    out = run_images(a, root, landing)
    tags = DeltaTable(str(root / "gold" / N.PRODUCT_IMAGE_TAGS)).to_pandas()
    sim = DeltaTable(str(root / "gold" / N.VISUALLY_SIMILAR)).to_pandas()
    truth = df.set_index("id")
    t = df.iloc[test][["id", "masterCategory", "articleType"]].merge(
        tags[[N.ITEM_ID, N.CATEGORY]], left_on="id", right_on=N.ITEM_ID, how="left"
    )
    parts = t[N.CATEGORY].fillna("").str.split(" > ")
    art = (parts.str[-1] == t["articleType"]).mean()
    master = (parts.str[0] == t["masterCategory"]).mean()
    sim = sim[sim[N.RANK] <= 10]
    a_item = truth["articleType"].reindex(sim[N.ITEM_ID]).to_numpy()
    a_sim = truth["articleType"].reindex(sim[N.SIMILAR_ITEM_ID]).to_numpy()
    same = pd.Series(a_item == a_sim, index=sim[N.ITEM_ID].to_numpy())
    p_all = same.groupby(level=0).mean().mean()
    test_ids = set(df.iloc[test]["id"])
    p_test = same[same.index.isin(test_ids)].groupby(level=0).mean().mean()
    missing = t[N.CATEGORY].isna().sum()
    print(f"\nfashion protocol: {len(train)} training products, {len(test)} test (photo only)")
    print(
        f"  ingest {out['ingest_s']:.1f}s, images {out['images_s']:.1f}s; untagged test products: {missing}"
    )
    print(f"  {'':<28}{'lakecart':>10}{'anchor':>10}{'target':>10}")
    print(f"  {'articleType accuracy':<28}{art:>10.4f}{0.874:>10.3f}{0.88:>10.2f}")
    print(f"  {'masterCategory accuracy':<28}{master:>10.4f}{0.988:>10.3f}{0.99:>10.2f}")
    print(f"  {'p@10 same articleType (all)':<28}{p_all:>10.4f}{0.754:>10.3f}{0.76:>10.2f}")
    print(f"  {'p@10 same articleType (test)':<28}{p_test:>10.4f}")
    print(f"  job result: {out['images'].get('levels')}")


def replicated_landing(df: pd.DataFrame, copies: int, landing: Path) -> int:
    """products.csv naming every photo ``copies`` times (symbolic links under images/)."""
    folder = landing / "images"
    shutil.rmtree(landing, ignore_errors=True)
    folder.mkdir(parents=True)
    rows = []
    for c in range(copies):
        for item, f in zip(df["id"], df["image_file"], strict=True):
            name = f"{item}_{c}.jpg"
            os.symlink(FASHION / f, folder / name)
            rows.append({N.ITEM_ID: f"{item}_{c}", N.IMAGE: f"images/{name}"})
    pd.DataFrame(rows).to_csv(landing / "products.csv", index=False)
    return len(rows)


def speed(a: argparse.Namespace) -> None:
    df = labels()
    spec = images_job.feature_spec(config_for(Path(a.work) / "unused", a, *a.set).images)
    sample = [(FASHION / f).read_bytes() for f in df["image_file"][: a.udf_photos]]
    s, _ = timed(lambda: [describe(b, spec) for b in sample])
    print(
        f"\nfeature function: {len(sample)} photos in {s:.1f}s = {len(sample) / s:.1f} photos/s per core"
    )
    print(f"\n{'photos':>8}{'binary read s':>15}{'features s':>12}{'ratio':>8}{'photos/s':>10}")
    for copies in [int(x) for x in a.replicas.split(",")]:
        speed_one(a, df, copies)


def speed_one(a: argparse.Namespace, df: pd.DataFrame, copies: int) -> None:
    """One row of the speed table: ``copies`` x the fashion photos."""
    from pyspark.sql import functions as F

    landing, root = Path(a.work) / f"rep{copies}_landing", Path(a.work) / f"rep{copies}_lakehouse"
    n = replicated_landing(df, copies, landing)
    shutil.rmtree(root, ignore_errors=True)
    cfg = config_for(root, a, f"run.as_of={AS_OF}", *a.set)
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    with tracked_run(lh, "ingest", {}) as ctx:
        ingest_job.ingest(spark, cfg, lh, ctx, N.SRC_CANONICAL, str(landing))
    d = spark.read.format("binaryFile").load(str(landing / "images"))
    read_s, _ = timed(lambda: d.agg(F.count("*"), F.sum(F.length("content"))).first())
    products = (
        lh.read(SILVER[N.PRODUCTS])
        .filter("image IS NOT NULL")
        .select(N.ITEM_ID, N.IMAGE, N.TITLE, N.CATEGORY)
    )
    with tracked_run(lh, "images", {}) as ctx:
        feat_s, (counts, _) = timed(
            lambda: images_job.update_features(spark, lh, ctx, products, cfg.images)
        )
    print(
        f"{n:>8}{read_s:>15.1f}{feat_s:>12.1f}{feat_s / read_s:>8.1f}{n / feat_s:>10.1f}  {counts}"
    )


def main() -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--parts", default="fashion,speed")
    p.add_argument("--work", default="/tmp/images_bench")
    p.add_argument("--replicas", default="1,4")
    p.add_argument("--udf-photos", type=int, default=500)
    p.add_argument("--master", default="local[2]")
    p.add_argument("--shuffle-partitions", type=int, default=4)
    p.add_argument("--set", action="append", default=[])
    a = p.parse_args()
    setup_logging()
    started = time.perf_counter()
    parts = a.parts.split(",")
    if "fashion" in parts:
        fashion(a)
    if "speed" in parts:
        speed(a)
    print(f"\nbench/images.py: {time.perf_counter() - started:.0f}s ({collections.Counter(parts)})")


if __name__ == "__main__":
    main()
