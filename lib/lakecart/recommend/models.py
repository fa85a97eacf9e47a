"""Fitting the recommenders in Spark: implicit ALS (MLlib), item-to-item co-occurrence
(SAR-like cosine / jaccard / lift, and EASE on small catalogues), TF-IDF content similarity
and popularity. Each returns item-side coefficients (item-sized numpy arrays) for
:class:`lakecart.recommend.core.ItemModel`; user-side data stays distributed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from pyspark.ml.feature import RegexTokenizer, StopWordsRemover
from pyspark.ml.recommendation import ALS, ALSModel
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.basket.baskets import basket_lines, capped_lines
from lakecart.basket.pairs import bought_together, counted_pairs, default_shape
from lakecart.config import BasketConfig
from lakecart.ml import task_slots
from lakecart.recommend.core import Neighbours, ease
from lakecart.recommend.data import I_IDX, TS, U_IDX

COSINE = "cosine"
JACCARD = "jaccard"
LIFT = "lift"
EASE = "ease"
SIMILARITIES = (COSINE, JACCARD, LIFT, EASE)


@dataclass(frozen=True)
class AlsParams:
    """Hyperparameters of one implicit ALS fit."""

    rank: int = 64
    reg: float = 0.05
    alpha: float = 10.0
    max_iter: int = 10
    confidence: str = "weight"  # weight (features.interactions.weight) or binary

    def label(self) -> str:
        """Short text for logs."""
        return f"rank={self.rank} reg={self.reg:g} alpha={self.alpha:g} iter={self.max_iter} conf={self.confidence}"


def fit_als(train_idx: DataFrame, p: AlsParams, seed: int, checkpoint_interval: int) -> ALSModel:
    """Implicit-feedback ALS on ``_u, _i, weight`` (confidence ``1 + alpha * c``)."""
    spark = train_idx.sparkSession
    conf = F.lit(1.0) if p.confidence == "binary" else F.col(N.WEIGHT)
    data = train_idx.select(U_IDX, I_IDX, conf.cast("float").alias("_c"))
    blocks = max(2, task_slots(spark))
    als = ALS(
        rank=p.rank,
        maxIter=p.max_iter,
        regParam=p.reg,
        alpha=p.alpha,
        implicitPrefs=True,
        userCol=U_IDX,
        itemCol=I_IDX,
        ratingCol="_c",
        seed=seed,
        checkpointInterval=checkpoint_interval,
        coldStartStrategy="drop",
        numUserBlocks=blocks,
        numItemBlocks=blocks,
    )
    return als.fit(data)


def item_factors(model: ALSModel, n_items: int) -> np.ndarray:
    """``(n_items, rank)`` float32 item factors (zeros for items the model never saw)."""
    pdf = model.itemFactors.toPandas()  # item-sized: the broadcast side of scoring
    out = np.zeros((n_items, model.rank), dtype=np.float32)
    if len(pdf):
        out[pdf["id"].to_numpy()] = np.stack(pdf["features"].to_numpy()).astype(np.float32)
    return out


def cooccurrence(train_idx: DataFrame, max_user_items: int) -> tuple[DataFrame, DataFrame]:
    """Item co-occurrence counts over users (binary), each user's ``max_user_items`` most
    recent items at most (bounds the pairs of very heavy users).

    Returns:
        ``(pairs, counts)``: ``_i, _j, _c`` for ``_i != _j`` (both orders) and ``_i, _n``.
    """
    t = capped_history(train_idx, max_user_items)
    counts = t.groupBy(I_IDX).agg(F.count(F.lit(1)).alias("_n"))
    a = t.select(U_IDX, F.col(I_IDX).alias("_a"))
    b = t.select(U_IDX, F.col(I_IDX).alias("_b"))
    pairs = (
        a.join(b, U_IDX)
        .filter(F.col("_a") != F.col("_b"))
        .groupBy("_a", "_b")
        .agg(F.count(F.lit(1)).alias("_c"))
        .select(F.col("_a").alias(I_IDX), F.col("_b").alias("_j"), "_c")
    )
    return pairs, counts


def similarity_column(kind: str) -> F.Column:
    """Similarity from ``_c`` (co-occurrences), ``_ni``, ``_nj`` (item counts)."""
    c, ni, nj = F.col("_c"), F.col("_ni"), F.col("_nj")
    if kind == JACCARD:
        return c / (ni + nj - c)
    if kind == LIFT:
        return c / (ni * nj)
    return c / F.sqrt(ni * nj)


def similarity_dense(gram: np.ndarray, kind: str) -> np.ndarray:
    """Cosine / jaccard / lift from a dense gram matrix (diagonal = item counts)."""
    d = np.diag(gram).astype(np.float64)
    g = gram.astype(np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kind == JACCARD:
            s = g / (d[:, None] + d[None, :] - g)
        elif kind == LIFT:
            s = g / np.outer(d, d)
        else:
            s = g / np.sqrt(np.outer(d, d))
    s = np.nan_to_num(s, nan=0.0, posinf=0.0, neginf=0.0)
    np.fill_diagonal(s, 0.0)
    return s.astype(np.float32)


def capped_history(train_idx: DataFrame, max_user_items: int) -> DataFrame:
    """Each user's ``max_user_items`` most recent items: ``_u, _i``."""
    w = Window.partitionBy(U_IDX).orderBy(F.col(TS).desc(), F.col(I_IDX))
    return (
        train_idx.select(U_IDX, I_IDX, TS)
        .withColumn("_r", F.row_number().over(w))
        .filter(F.col("_r") <= max_user_items)
        .select(U_IDX, I_IDX)
    )


def partial_gram(items_per_user: list[np.ndarray], n_items: int) -> np.ndarray:
    """``X^T X`` of binary user histories (lists of item indices), as float32."""
    g = np.zeros(n_items * n_items, dtype=np.float32)
    for start in range(0, len(items_per_user), 256):
        chunk = [np.asarray(x, np.int64) for x in items_per_user[start : start + 256] if len(x)]
        if not chunk:
            continue
        keys = np.concatenate([(x[:, None] * n_items + x[None, :]).ravel() for x in chunk])
        uniq, cnt = np.unique(keys, return_counts=True)
        g[uniq] += cnt.astype(np.float32)
    return g.reshape(n_items, n_items)


def gram_matrix(train_idx: DataFrame, max_user_items: int, n_items: int) -> np.ndarray:
    """The dense ``n x n`` co-occurrence matrix (diagonal: item counts) for small
    catalogues: every partition sums its users' ``x_u^T x_u`` on the executors and only
    one ``n x n`` matrix per partition reaches the driver (callers bound ``n_items``)."""
    hist = (
        capped_history(train_idx, max_user_items)
        .groupBy(U_IDX)
        .agg(F.collect_list(I_IDX).alias("_h"))
    )

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        lists: list[np.ndarray] = []
        for b in batches:
            lists.extend(np.asarray(x, np.int64) for x in b["_h"])
        g = partial_gram(lists, n_items)
        yield pd.DataFrame({"_g": [g.tobytes()]})

    parts = hist.mapInPandas(fn, "_g binary").collect()  # one n x n matrix per partition
    g = np.zeros((n_items, n_items), dtype=np.float32)
    for row in parts:
        g += np.frombuffer(row["_g"], dtype=np.float32).reshape(n_items, n_items)
    return g


def neighbours_spark(
    pairs: DataFrame, counts: DataFrame, kind: str, k: int, n_items: int
) -> Neighbours:
    """Top-``k`` neighbours per item by a co-occurrence similarity, ranked in Spark; only
    the ``n_items x k`` result reaches the driver."""
    ci = counts.select(F.col(I_IDX), F.col("_n").alias("_ni"))
    cj = counts.select(F.col(I_IDX).alias("_j"), F.col("_n").alias("_nj"))
    sims = pairs.join(ci, I_IDX).join(cj, "_j").withColumn("_s", similarity_column(kind))
    w = Window.partitionBy(I_IDX).orderBy(F.col("_s").desc(), F.col("_j"))
    top = (
        sims.withColumn("_r", F.row_number().over(w))
        .filter(F.col("_r") <= k)
        .select(I_IDX, "_j", "_s")
        .toPandas()
    )
    return Neighbours.from_pairs(
        top[I_IDX].to_numpy(np.int64),
        top["_j"].to_numpy(np.int64),
        top["_s"].to_numpy(np.float64),
        n_items,
        k,
    )


def basket_neighbours(
    orders: DataFrame,
    products: DataFrame | None,
    items: DataFrame,
    cut: dt.date,
    bc: BasketConfig,
    k: int,
    n_items: int,
) -> Neighbours | None:
    """Bought-together neighbours from the baskets (orders) before ``cut``: the basket job's
    score (:mod:`lakecart.basket.pairs`, P(b | a) shrunk toward b's basket share, in its
    default shape) over the same baskets (``basket.days`` before ``cut``, non-merchandise
    and oversized baskets handled as the basket job does), top ``k`` per item, indexed by
    the recommender's ``items`` (``item_id, _i``). Only the ``n_items x k`` result reaches
    the driver; None when no two catalogue items share a basket."""
    start = cut - dt.timedelta(days=bc.days) if bc.days else None
    lines = basket_lines(orders, products, start, cut, bc.exclude_categories, bc.exclude_items)
    lines = capped_lines(lines, bc.max_basket_items, bc.seed)
    shape = default_shape(bc.shrinkages, bc.popularity_exponents, bc.half_lives)
    half_lives = [shape.half_life]
    lists = bought_together(
        counted_pairs(lines, cut, half_lives, bc.candidate_pool), shape, half_lives, k
    )
    src = items.select(N.ITEM_ID, I_IDX)
    dst = items.select(F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID), F.col(I_IDX).alias("_j"))
    top = (
        lists.join(src, N.ITEM_ID)
        .join(dst, N.OTHER_ITEM_ID)
        .select(I_IDX, "_j", N.SCORE)
        .toPandas()
    )
    if not len(top):
        return None
    return Neighbours.from_pairs(
        top[I_IDX].to_numpy(np.int64),
        top["_j"].to_numpy(np.int64),
        top[N.SCORE].to_numpy(np.float64),
        n_items,
        k,
    )


def context_items(
    orders: DataFrame | None, events: DataFrame | None, cut: dt.date, max_items: int
) -> DataFrame | None:
    """The "contexts" before ``cut``: orders (purchase lines, guests included) and
    sessions (events with an item and a session id; a session is keyed by user and session
    id), each as its distinct items; contexts with one item or more than ``max_items``
    items are dropped (nothing to pair / browsing noise).

    Returns:
        ``_ctx, item_id`` (distinct), or None when there are neither orders nor sessions.
    """
    end = F.lit(cut).cast("timestamp")
    parts = []
    if orders is not None:
        parts.append(
            orders.filter(~F.col(N.IS_RETURN) & (F.col(N.ORDER_TS) < end)).select(
                F.concat(F.lit("o:"), F.col(N.ORDER_ID)).alias("_ctx"), N.ITEM_ID
            )
        )
    if events is not None and N.SESSION_ID in events.columns:
        parts.append(
            events.filter(
                F.col(N.ITEM_ID).isNotNull()
                & F.col(N.SESSION_ID).isNotNull()
                & (F.col(N.EVENT_TS) < end)
            ).select(
                F.concat_ws(":", F.lit("s"), F.col(N.USER_ID), F.col(N.SESSION_ID)).alias("_ctx"),
                N.ITEM_ID,
            )
        )
    if not parts:
        return None
    rows = parts[0]
    for p in parts[1:]:
        rows = rows.unionByName(p)
    rows = rows.filter(F.col(N.ITEM_ID).isNotNull()).distinct()
    w = Window.partitionBy("_ctx")
    return (
        rows.withColumn("_size", F.count(F.lit(1)).over(w))
        .filter((F.col("_size") >= 2) & (F.col("_size") <= max_items))
        .select("_ctx", N.ITEM_ID)
    )


def scaled_rows(nb: Neighbours) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A neighbour list as (src, dst, value) triples, each item's values divided by its
    largest (so every item's best neighbour scores 1)."""
    ok = (nb.idx >= 0) & (nb.val > 0)
    top = np.where(ok, nb.val, 0.0).max(axis=1)
    src = np.nonzero(ok)[0]
    val = (nb.val[ok] / top[src]).astype(np.float64)
    return src.astype(np.int64), nb.idx[ok].astype(np.int64), val


def combine_neighbours(
    parts: list[tuple[Neighbours, float]], n_items: int, k: int
) -> Neighbours | None:
    """The weighted sum of several neighbour lists (each scaled to 1 per item, see
    :func:`scaled_rows`), top ``k`` per item; None when no part has a neighbour."""
    src, dst, val = [], [], []
    for nb, weight in parts:
        if nb is None or weight <= 0:
            continue
        s, d, v = scaled_rows(nb)
        src.append(s)
        dst.append(d)
        val.append(v * weight)
    if not src or not sum(len(x) for x in src):
        return None
    s, d, v = np.concatenate(src), np.concatenate(dst), np.concatenate(val)
    key = s * n_items + d
    uniq, inv = np.unique(key, return_inverse=True)
    total = np.bincount(inv, weights=v)
    return Neighbours.from_pairs(uniq // n_items, uniq % n_items, total, n_items, k)


def context_neighbours(
    orders: DataFrame | None,
    events: DataFrame | None,
    items: DataFrame,
    cut: dt.date,
    max_items: int,
    k: int,
    n_items: int,
    content: Neighbours | None = None,
    content_weight: float = 0.0,
) -> Neighbours | None:
    """Neighbours of the "last item" source: items viewed in the same sessions or bought in
    the same orders before ``cut`` (cosine of the context counts: ``c_ij / sqrt(c_i c_j)``,
    counted in Spark, top ``k`` per item), plus ``content_weight`` x the content neighbours
    (both scaled to 1 per item). Only ``n_items x k`` rows reach the driver.

    Args:
        orders: silver.orders or None.
        events: silver.events or None.
        items: ``item_id, _i`` of the catalogue the models know.
        cut: Only orders and events before this date.
        max_items: Largest context (distinct items) counted.
        k: Neighbours per item.
        n_items: Catalogue size.
        content: Content neighbours (or None).
        content_weight: Their weight.

    Returns:
        The neighbours, or None when there is neither a co-occurrence nor content.
    """
    co = None
    ctx = context_items(orders, events, cut, max_items)
    if ctx is not None:
        t = ctx.join(F.broadcast(items), N.ITEM_ID).select("_ctx", I_IDX)
        counts = t.groupBy(I_IDX).agg(F.count(F.lit(1)).alias("_n"))
        a = t.select("_ctx", F.col(I_IDX).alias("_a"))
        b = t.select("_ctx", F.col(I_IDX).alias("_b"))
        pairs = (
            a.join(b, "_ctx")
            .filter(F.col("_a") != F.col("_b"))
            .groupBy("_a", "_b")
            .agg(F.count(F.lit(1)).alias("_c"))
            .select(F.col("_a").alias(I_IDX), F.col("_b").alias("_j"), "_c")
        )
        co = neighbours_spark(pairs, counts, COSINE, k, n_items)
        if not (co.idx >= 0).any():
            co = None
    parts = [(co, 1.0)]
    if content is not None:
        parts.append((content, content_weight))
    return combine_neighbours([(nb, w) for nb, w in parts if nb is not None], n_items, k)


def ease_weights(gram: np.ndarray, factor: float) -> np.ndarray:
    """EASE with ``lambda = factor x mean item count`` (scale-free across data sizes)."""
    d = np.diag(gram)
    mean = float(d[d > 0].mean()) if (d > 0).any() else 1.0
    return ease(gram, max(factor * mean, 1e-3))


# ------------------------------------------------------------------ content (TF-IDF)
def content_neighbours(
    products: DataFrame | None,
    items: DataFrame,
    k: int,
    max_df: float,
    n_items: int,
) -> tuple[Neighbours | None, DataFrame | None]:
    """TF-IDF cosine similarity of item texts (title, description, category), top ``k`` per
    item, computed in Spark with an inverted index: only items sharing a term are paired,
    and terms in more than ``max_df`` of the items (which weigh little) are left out of the
    pairing.

    Args:
        products: silver.products, or None (no content model).
        items: ``item_id, _i`` of the catalogue the models know.
        k: Neighbours per item.
        max_df: Largest document frequency (share of items) of a pairing term.
        n_items: Catalogue size.

    Returns:
        The neighbours (None without text) and the ranked pairs ``_i, _j, _s, _r``.
    """
    if products is None:
        return None, None
    text = F.lower(
        F.concat_ws(
            " ",
            F.coalesce(F.col(N.TITLE), F.lit("")),
            F.coalesce(F.col(N.DESCRIPTION), F.lit("")),
            F.regexp_replace(F.coalesce(F.col(N.CATEGORY), F.lit("")), "[/>|]", " "),
        )
    )
    docs = (
        products.groupBy(N.ITEM_ID)
        .agg(F.max(text).alias("_text"))
        .join(F.broadcast(items), N.ITEM_ID)
        .select(I_IDX, "_text")
    )
    tok = RegexTokenizer(
        inputCol="_text", outputCol="_tok", pattern="[^\\p{L}\\p{N}]+", minTokenLength=2
    )
    stop = StopWordsRemover(inputCol="_tok", outputCol="_words")
    words = stop.transform(tok.transform(docs)).select(I_IDX, F.explode("_words").alias("_t"))
    tf = words.groupBy(I_IDX, "_t").agg(F.count(F.lit(1)).alias("_tf"))
    n_docs = docs.count()
    if n_docs < 2:
        return None, None
    df = tf.groupBy("_t").agg(F.count(F.lit(1)).alias("_df"))
    idf = F.log(F.lit(float(n_docs + 1)) / (F.col("_df") + 1.0))  # MLlib IDF's formula
    tfidf = tf.join(df, "_t").withColumn("_v", F.col("_tf") * idf).filter(F.col("_v") > 0)
    norm = tfidf.groupBy(I_IDX).agg(F.sqrt(F.sum(F.col("_v") * F.col("_v"))).alias("_norm"))
    vec = tfidf.join(norm, I_IDX).select(
        I_IDX, "_t", "_df", (F.col("_v") / F.col("_norm")).alias("_v")
    )
    pairing = vec.filter(F.col("_df") <= F.lit(max(2.0, max_df * n_docs)))
    a = pairing.select(F.col(I_IDX), "_t", F.col("_v").alias("_va"))
    b = pairing.select(F.col(I_IDX).alias("_j"), "_t", F.col("_v").alias("_vb"))
    sims = (
        a.join(b, "_t")
        .filter(F.col(I_IDX) != F.col("_j"))
        .groupBy(I_IDX, "_j")
        .agg(F.sum(F.col("_va") * F.col("_vb")).alias("_s"))
    )
    w = Window.partitionBy(I_IDX).orderBy(F.col("_s").desc(), F.col("_j"))
    top = sims.withColumn("_r", F.row_number().over(w)).filter(F.col("_r") <= k)
    pdf = top.toPandas()  # n_items x k at most
    nb = Neighbours.from_pairs(
        pdf[I_IDX].to_numpy(np.int64),
        pdf["_j"].to_numpy(np.int64),
        pdf["_s"].to_numpy(np.float64),
        n_items,
        k,
    )
    return nb, top


# ------------------------------------------------------------------ similar items from factors
def similar_from_factors(
    spark: SparkSession, item_ids: np.ndarray, factors: np.ndarray, k: int
) -> DataFrame:
    """Top-``k`` items by factor cosine for every item, scored in blocks of items on the
    executors against the broadcast factors.

    Returns:
        ``item_id, rank, similar_item_id, score``.
    """
    norms = np.linalg.norm(factors, axis=1, keepdims=True)
    unit = (factors / np.where(norms > 0, norms, 1.0)).astype(np.float32)
    bc = spark.sparkContext.broadcast((item_ids, unit))
    schema = f"{N.ITEM_ID} string, {N.RANK} int, {N.SIMILAR_ITEM_ID} string, {N.SCORE} double"

    def fn(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        ids, u = bc.value
        valid = np.linalg.norm(u, axis=1) > 0
        for b in batches:
            rows = b["id"].to_numpy()
            rows = rows[valid[rows]]
            if not len(rows):
                continue
            s = u[rows] @ u.T
            s[np.arange(len(rows)), rows] = -np.inf
            s[:, ~valid] = -np.inf
            kk = min(k, s.shape[1] - 1)
            if kk < 1:
                continue
            part = np.argpartition(-s, kk - 1, axis=1)[:, :kk]
            v = np.take_along_axis(s, part, axis=1)
            order = np.argsort(-v, axis=1, kind="stable")
            idx = np.take_along_axis(part, order, axis=1)
            v = np.take_along_axis(v, order, axis=1)
            r, c = np.nonzero(np.isfinite(v))
            yield pd.DataFrame(
                {
                    N.ITEM_ID: ids[rows[r]],
                    N.RANK: (c + 1).astype(np.int32),
                    N.SIMILAR_ITEM_ID: ids[idx[r, c]],
                    N.SCORE: v[r, c].astype(np.float64),
                }
            )

    n = len(item_ids)
    parts = max(1, min(task_slots(spark) * 2, n // 500 + 1))
    return spark.range(0, n, numPartitions=parts).mapInPandas(fn, schema)


def neighbours_frame(
    spark: SparkSession, item_ids: np.ndarray, nb: Neighbours, k: int
) -> DataFrame:
    """``item_id, rank, similar_item_id, score`` from neighbour lists (item-sized)."""
    kk = min(k, nb.idx.shape[1])
    idx, val = nb.idx[:, :kk], nb.val[:, :kk]
    r, c = np.nonzero((idx >= 0) & (val > 0))
    pdf = pd.DataFrame(
        {
            N.ITEM_ID: item_ids[r],
            N.RANK: (c + 1).astype(np.int32),
            N.SIMILAR_ITEM_ID: item_ids[idx[r, c]],
            N.SCORE: val[r, c].astype(np.float64),
        }
    )
    schema = f"{N.ITEM_ID} string, {N.RANK} int, {N.SIMILAR_ITEM_ID} string, {N.SCORE} double"
    if not len(pdf):
        return spark.createDataFrame([], schema)
    return spark.createDataFrame(pdf, schema)
