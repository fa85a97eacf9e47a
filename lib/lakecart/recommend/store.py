"""Saving and loading a fitted recommender under ``lakecart.gold.model_path``.

A model version folder holds ``als/`` (the MLlib ALSModel), ``items/`` (Parquet: one row
per item with its popularity, activity, factors, item-to-item row or neighbours, content,
bought-together and last-item neighbours), ``users/`` (the user id -> ALS index map) and
``choice/`` (JSON: the chosen hyperparameters and hybrid weights). Everything goes through
Spark, so the folder may be on any file system Spark writes to.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession

from lakecart.recommend.core import ItemModel, Neighbours
from lakecart.recommend.data import I_IDX

_ITEMS_SCHEMA = (
    "_i int, item_id string, allowed boolean, popularity float, factors array<float>, "
    "cf_row array<float>, cf_idx array<int>, cf_val array<float>, ct_idx array<int>, ct_val array<float>, "
    "bt_idx array<int>, bt_val array<float>, lx_idx array<int>, lx_val array<float>, "
    "recent_decay float"
)


def _rows(a: np.ndarray | None, n: int) -> list | None:
    return [None] * n if a is None else list(a)


def save(
    spark: SparkSession, path: str, model: ItemModel, als: ALSModel, users: DataFrame, choice: dict
) -> None:
    """Write a model version folder (overwrites)."""
    n = model.n_items
    pdf = pd.DataFrame(
        {
            I_IDX: np.arange(n, dtype=np.int32),
            "item_id": model.item_ids,
            "allowed": model.allowed.astype(bool),
            "popularity": model.popularity.astype(np.float32),
            "factors": _rows(model.item_factors, n),
            "cf_row": _rows(model.cf_dense, n),
            "cf_idx": _rows(None if model.cf is None else model.cf.idx, n),
            "cf_val": _rows(None if model.cf is None else model.cf.val, n),
            "ct_idx": _rows(None if model.content is None else model.content.idx, n),
            "ct_val": _rows(None if model.content is None else model.content.val, n),
            "bt_idx": _rows(None if model.basket is None else model.basket.idx, n),
            "bt_val": _rows(None if model.basket is None else model.basket.val, n),
            "lx_idx": _rows(None if model.context is None else model.context.idx, n),
            "lx_val": _rows(None if model.context is None else model.context.val, n),
            "recent_decay": np.full(n, model.recent_decay, dtype=np.float32),
        }
    )
    key = "spark.sql.execution.arrow.pyspark.enabled"
    before = spark.conf.get(key, "false")
    spark.conf.set(key, "true")  # numpy rows -> arrays without per-element Python objects
    try:
        items = spark.createDataFrame(pdf, _ITEMS_SCHEMA)
    finally:
        spark.conf.set(key, before)
    items.write.mode("overwrite").parquet(f"{path}/items")
    als.write().overwrite().save(f"{path}/als")
    users.write.mode("overwrite").parquet(f"{path}/users")
    spark.createDataFrame([(json.dumps(choice),)], "choice string").coalesce(1).write.mode(
        "overwrite"
    ).json(f"{path}/choice")


def _stack(col: pd.Series, dtype) -> np.ndarray | None:
    if col.isna().all() if col.dtype != object else all(x is None for x in col):
        return None
    return np.stack([np.asarray(x, dtype=dtype) for x in col])


def load(spark: SparkSession, path: str) -> tuple[ItemModel, ALSModel, DataFrame, dict]:
    """Read a model version folder: (item model, ALS model, users map, choice)."""
    pdf = spark.read.parquet(f"{path}/items").toPandas().sort_values(I_IDX)  # item-sized
    cf_idx = _stack(pdf["cf_idx"], np.int32)
    ct_idx = _stack(pdf["ct_idx"], np.int32)
    # versions saved before the bought-together source have no bt_* columns
    bt_idx = _stack(pdf["bt_idx"], np.int32) if "bt_idx" in pdf else None
    lx_idx = _stack(pdf["lx_idx"], np.int32) if "lx_idx" in pdf else None  # last-item source
    decay = float(pdf["recent_decay"].iloc[0]) if "recent_decay" in pdf and len(pdf) else 0.5
    model = ItemModel(
        item_ids=pdf["item_id"].to_numpy(dtype=object),
        allowed=pdf["allowed"].to_numpy(bool),
        popularity=pdf["popularity"].to_numpy(np.float32),
        item_factors=_stack(pdf["factors"], np.float32),
        cf_dense=_stack(pdf["cf_row"], np.float32),
        cf=None if cf_idx is None else Neighbours(cf_idx, _stack(pdf["cf_val"], np.float32)),
        content=None if ct_idx is None else Neighbours(ct_idx, _stack(pdf["ct_val"], np.float32)),
        basket=None if bt_idx is None else Neighbours(bt_idx, _stack(pdf["bt_val"], np.float32)),
        context=None if lx_idx is None else Neighbours(lx_idx, _stack(pdf["lx_val"], np.float32)),
        recent_decay=decay,
    )
    als = ALSModel.load(f"{path}/als")
    users = spark.read.parquet(f"{path}/users")
    choice = json.loads(spark.read.json(f"{path}/choice").first()["choice"])
    return model, als, users, choice
