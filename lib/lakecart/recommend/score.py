"""Top-N for all users at once: user blocks scored on the executors against the broadcast
item-side model (:func:`lakecart.recommend.core.score_block` inside ``mapInPandas``), the
already-seen items filtered inside the block. Nothing user-sized reaches the driver."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import pandas as pd
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.recommend import core
from lakecart.recommend.data import I_IDX, TS, U_IDX

OUTPUT_SCHEMA = (
    f"{core.OUT_MODEL} string, {N.USER_ID} string, {N.RANK} int, {N.ITEM_ID} string, "
    f"{N.SCORE} double, {N.SOURCE} string, {core.OUT_WHY} string"
)


def user_blocks(
    train_idx: DataFrame,
    als: ALSModel | None,
    users: DataFrame | None = None,
    binary: bool = True,
    recent: int = 0,
) -> DataFrame:
    """One row per user: ``user_id, factors, items, weights, recent`` (the input of the
    scorer).

    Args:
        train_idx: ``user_id, _u, _i, weight`` training rows.
        als: The ALS model whose user factors to attach, or None.
        users: Restrict to these ``user_id`` (e.g. the users of an evaluation truth).
        binary: History weights of 1 (item-to-item models are fitted on binary data).
        recent: Fill ``recent`` with the user's this many most recent items (by the last
            interaction time ``_ts``, latest first; ties by item index); 0: NULL.
    """
    t = train_idx if users is None else train_idx.join(users, N.USER_ID, "left_semi")
    w = F.lit(1.0) if binary else F.col(N.WEIGHT)
    aggs = [
        F.sort_array(F.collect_list(F.struct(F.col(I_IDX), w.cast("double").alias("w")))).alias(
            "_h"
        )
    ]
    if recent > 0:
        key = -F.unix_micros(F.col(TS))
        aggs.append(
            F.sort_array(F.collect_list(F.struct(key.alias("_k"), F.col(I_IDX)))).alias("_r")
        )
    hist = t.groupBy(N.USER_ID, U_IDX).agg(*aggs)
    last = (
        F.slice(F.col(f"_r.{I_IDX}"), 1, recent) if recent > 0 else F.lit(None).cast("array<int>")
    )
    out = hist.select(
        N.USER_ID,
        U_IDX,
        F.col(f"_h.{I_IDX}").alias(core.U_ITEMS),
        F.col("_h.w").alias(core.U_WEIGHTS),
        last.alias(core.U_RECENT),
    )
    if als is not None:
        uf = als.userFactors.select(
            F.col("id").alias(U_IDX), F.col("features").alias(core.U_FACTORS)
        )
        out = out.join(uf, U_IDX, "left")
    else:
        out = out.withColumn(core.U_FACTORS, F.lit(None).cast("array<float>"))
    return out.select(N.USER_ID, core.U_FACTORS, core.U_ITEMS, core.U_WEIGHTS, core.U_RECENT)


def score(
    blocks: DataFrame,
    model: core.ItemModel,
    blends: Mapping[str, Mapping[str, float]],
    n: int,
    exclude_seen: bool = True,
    explain: bool = False,
) -> DataFrame:
    """Top-``n`` per user and blend (see :func:`lakecart.recommend.core.score_block`).

    Returns:
        ``model, user_id, rank, item_id, score, source, why_item_id``.
    """
    bc = blocks.sparkSession.sparkContext.broadcast(model)
    blends = {k: dict(v) for k, v in blends.items()}

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        yield from core.score_batches(batches, bc.value, blends, n, exclude_seen, explain)

    return blocks.mapInPandas(fn, OUTPUT_SCHEMA)


def recommend_for_all_users(
    als: ALSModel, train_idx: DataFrame, items: DataFrame, n: int
) -> DataFrame:
    """MLlib's way, for comparison: ``recommendForAllUsers(n + max seen)`` exploded, seen
    items removed with an anti-join, re-ranked to ``n`` (``user_id, rank, item_id, score``)."""
    from pyspark.sql import Window

    seen_max = train_idx.groupBy(U_IDX).count().agg(F.max("count")).first()[0] or 0
    recs = als.recommendForAllUsers(n + int(seen_max)).select(
        F.col(U_IDX), F.posexplode("recommendations").alias("_p", "_rec")
    )
    recs = recs.select(
        U_IDX, F.col(f"_rec.{I_IDX}").alias(I_IDX), F.col("_rec.rating").alias(N.SCORE), "_p"
    )
    recs = recs.join(train_idx.select(U_IDX, I_IDX), [U_IDX, I_IDX], "left_anti")
    w = Window.partitionBy(U_IDX).orderBy("_p")
    users = train_idx.select(N.USER_ID, U_IDX).distinct()
    return (
        recs.withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= n)
        .join(users, U_IDX)
        .join(F.broadcast(items), I_IDX)
        .select(N.USER_ID, N.RANK, N.ITEM_ID, N.SCORE)
    )
