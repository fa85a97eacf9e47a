"""Exact cosine top-K nearest neighbours of image feature vectors, computed in blocks on the
executors (``gold.visually_similar`` and image search for new photos).

:func:`block_top_k` is the pure numpy/pandas kernel: the ``k`` best candidates of every
query row of one block pair, by the dot product of already L2-normalised rows. Spark
(:func:`top_k_cosine`) gathers the rows into blocks of about ``block_rows`` rows, pairs
every query block with every candidate block (a cartesian product laid out so that each
task holds exactly one block pair), normalises both blocks (:func:`unit_rows`) and runs
:func:`block_top_k` on each pair inside ``mapInPandas``, then merges the partial lists per
item with a window. Nothing whose size grows with the catalogue reaches the driver: it only
counts the rows.

The result is exact (every pair of vectors is scored, no approximate index): the per-pair
lists use the same order as the final merge (higher score first, then the smaller
``similar_item_id``), so the ``k`` best of the union of the per-pair lists are the ``k``
best overall. Scores are float32 dot products (about 1e-6 from a float64 computation);
neighbours whose cosines differ by less than that may be ordered differently from a
float64 brute force.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecart import names as N

BLOCK_ROWS = 2048
"""Default rows per block: a 2048 x 2048 float32 score matrix is 16 MB, and a block of
2048 vectors of 2,500 floats is 20 MB."""

_ID, _VEC, _BLOCK, _KEY = "_id", "_vec", "_block", "_key"
_QI, _QV, _CI, _CV = "_q_ids", "_q_vecs", "_c_ids", "_c_vecs"


# ------------------------------------------------------------------------- pure numpy part
def block_top_k(
    query_ids: np.ndarray | pd.Series | list,
    query: np.ndarray,
    cand_ids: np.ndarray | pd.Series | list,
    cand: np.ndarray,
    k: int,
    exclude_self: bool,
) -> pd.DataFrame:
    """The ``k`` best candidates of every query row by dot product (cosine for
    L2-normalised rows).

    Scores are a float32 matrix product; the ``k`` best per row are picked with
    ``numpy.argpartition``. Ties are broken deterministically: higher score first, then the
    smaller candidate id (also at the cut-off: of equal scores at rank ``k`` the smaller ids
    are kept). NaN scores are never returned.

    Args:
        query_ids: ``q`` ids of the query rows.
        query: ``q x d`` query vectors (L2-normalised).
        cand_ids: ``c`` ids of the candidate rows (unique).
        cand: ``c x d`` candidate vectors (L2-normalised).
        k: Neighbours per query row (at most ``c``, fewer when ``exclude_self`` removes one).
        exclude_self: Never pair a query row with a candidate of the same id.

    Returns:
        ``item_id, similar_item_id, score`` (score float64), the rows of each query in
        order of rank (best first), queries in their input order.

    Raises:
        ValueError: ``k`` < 1, or shapes that do not match.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    q_ids = np.asarray(query_ids)
    c_ids = np.asarray(cand_ids)
    q = np.asarray(query, dtype=np.float32)
    c = np.asarray(cand, dtype=np.float32)
    if q.ndim != 2 or c.ndim != 2 or q.shape[1] != c.shape[1]:
        raise ValueError(f"query {q.shape} and candidates {c.shape} must be 2-d with equal widths")
    if len(q_ids) != len(q) or len(c_ids) != len(c):
        raise ValueError("one id per row is needed for queries and candidates")
    nq, nc = len(q), len(c)
    if nq == 0 or nc == 0:
        return _frame(q_ids[:0], c_ids[:0], np.zeros(0))

    order = np.argsort(c_ids, kind="stable")  # column index order = id order (tie-break)
    c_ids, c = c_ids[order], c[order]
    scores = q @ c.T
    if exclude_self:
        index = pd.Index(c_ids)
        if index.is_unique:
            pos = index.get_indexer(q_ids)
            hit = np.flatnonzero(pos >= 0)
            scores[hit, pos[hit]] = -np.inf
        else:
            codes, _ = pd.factorize(np.concatenate([q_ids.astype(object), c_ids.astype(object)]))
            scores[codes[:nq, None] == codes[None, nq:]] = -np.inf
    scores[np.isnan(scores)] = -np.inf

    kk = min(k, nc)
    if kk < nc:
        part = np.argpartition(scores, nc - kk, axis=1)  # [:, nc-kk] is the kk-th best
        kth = np.take_along_axis(scores, part[:, nc - kk : nc - kk + 1], axis=1)
        above = scores > kth
        tied = scores == kth
        need = kk - above.sum(axis=1)  # >= 1 entries equal to the kk-th best per row
        over = np.flatnonzero(tied.sum(axis=1) > need)
        if len(over):  # more ties than places: keep the smallest ids (lowest columns)
            tied[over] &= np.cumsum(tied[over], axis=1) <= need[over, None]
        cols = np.nonzero(above | tied)[1].reshape(nq, kk)  # exactly kk per row
    else:
        cols = np.broadcast_to(np.arange(nc), (nq, nc))
    vals = np.take_along_axis(scores, cols, axis=1)
    rank = np.lexsort((cols, -vals), axis=1)
    cols = np.take_along_axis(cols, rank, axis=1)
    vals = np.take_along_axis(vals, rank, axis=1)

    keep = np.isfinite(vals).ravel()
    rows = np.repeat(np.arange(nq), kk)[keep]
    return _frame(q_ids[rows], c_ids[cols.ravel()[keep]], vals.ravel()[keep])


def _frame(item_ids: np.ndarray, similar_ids: np.ndarray, scores: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame(
        {
            N.ITEM_ID: item_ids,
            N.SIMILAR_ITEM_ID: similar_ids,
            N.SCORE: scores.astype(np.float64),
        }
    )


def n_blocks(rows: int, block_rows: int = BLOCK_ROWS) -> int:
    """Blocks for ``rows`` rows: ``ceil(rows / block_rows)``, at least 1.

    A block pair costs ``2 * block_rows**2 * d`` flops and holds about
    ``(2 * d + block_rows) * block_rows * 4`` bytes in one Python worker (two blocks of
    float32 vectors and their score matrix); ``n_query_blocks * n_candidate_blocks`` pairs
    are scored, one per task. 2048 rows keep a pair near 60 MB at 2,500 dimensions while the
    matrix product still dominates the per-task overhead (tens of milliseconds).
    """
    if block_rows < 1:
        raise ValueError(f"block_rows must be >= 1, got {block_rows}")
    return max(1, math.ceil(rows / block_rows))


def unit_rows(vectors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """L2-normalise rows (norms in float64).

    Args:
        vectors: ``n x d`` vectors.

    Returns:
        The float32 unit vectors of the usable rows and the ``n`` booleans saying which rows
        those are (a row of zeros, or holding a NaN or an infinite value, is not usable).
    """
    x = np.asarray(vectors, dtype=np.float32)
    with np.errstate(over="ignore", invalid="ignore"):
        norms = np.sqrt(np.einsum("ij,ij->i", x, x, dtype=np.float64))
    ok = np.isfinite(norms) & (norms > 0)
    x, norms = x[ok], norms[ok]
    if np.all((norms > 1e-30) & (norms < 1e30)):  # 1 / norm is a normal float32
        return x * (1.0 / norms).astype(np.float32)[:, None], ok
    return (x / norms[:, None]).astype(np.float32), ok


def pair_batches(k: int, dim: int, exclude_self: bool) -> Callable:
    """The body of ``mapInPandas`` over block pairs (``_q_ids, _q_vecs, _c_ids, _c_vecs``
    with raw vectors flattened row by row): :func:`unit_rows` of both blocks, then
    :func:`block_top_k` (unusable rows are neither queries nor candidates)."""

    def side(ids, flat) -> tuple[np.ndarray, np.ndarray]:
        ids = np.asarray(ids)
        unit, ok = unit_rows(np.asarray(flat, dtype=np.float32).reshape(len(ids), dim))
        return ids[ok], unit

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for pdf in batches:
            for i in range(len(pdf)):
                q_ids, q = side(pdf[_QI].iat[i], pdf[_QV].iat[i])
                c_ids, c = side(pdf[_CI].iat[i], pdf[_CV].iat[i])
                yield block_top_k(q_ids, q, c_ids, c, k, exclude_self)

    return run


# ------------------------------------------------------------------------------ Spark part
def top_k_cosine(
    vectors: DataFrame,
    k: int,
    *,
    id_col: str = N.ITEM_ID,
    vector_col: str = "vector",
    block_rows: int = BLOCK_ROWS,
    queries: DataFrame | None = None,
) -> DataFrame:
    """Exact cosine top-``k`` neighbours among the catalogue ``vectors``, in blocks.

    Rows whose id or vector is NULL, or whose vector is empty, all zeros or holds a
    NULL/NaN/infinite value, are dropped (as candidates and as queries: such a query gets
    no neighbours). Rows are assigned to ``n = ceil(rows / block_rows)`` blocks by
    ``pmod(xxhash64(id), n)``, each block is gathered into one row (ids and its vectors
    flattened) and placed in a partition of its own; the cartesian product of the query
    blocks and the candidate blocks then gives ``n_query_blocks x n_candidate_blocks`` tasks
    of exactly one block pair each (so an Arrow batch holds one pair whatever
    ``spark.sql.execution.arrow.maxRecordsPerBatch`` says), where both blocks are
    L2-normalised in numpy (:func:`unit_rows`, norms in float64) and scored by
    :func:`block_top_k` in ``mapInPandas``. The partial lists are merged per item with
    ``row_number`` over (score desc, similar_item_id asc). See :func:`n_blocks` for the
    cost of a pair and the choice of ``block_rows``. Vectors travel as float32: doubles
    beyond float32's range count as infinite.

    The driver runs one small aggregate per input (row count and vector lengths); the
    inputs are read again by the main computation, so cache them when they are expensive.

    Args:
        vectors: The catalogue, one row per item: ``id_col`` (unique, non-null) and
            ``vector_col`` (``array<float>``, ``array<double>``, any numeric array, or an
            ML ``Vector``), all vectors of one length.
        k: Neighbours per item (>= 1).
        id_col: The id column of ``vectors`` (and ``queries``).
        vector_col: The vector column of ``vectors`` (and ``queries``).
        block_rows: Rows per block, about (hashing makes blocks vary by a few percent).
        queries: Rows to find neighbours for among ``vectors`` (image search: new photos,
            same columns; an item is not excluded from its own neighbours). None: every
            catalogue item against the catalogue, itself excluded.

    Returns:
        ``item_id, rank, similar_item_id, score``: ``rank`` int (1 = most similar),
        ``score`` double (cosine), up to ``k`` rows per query; ``item_id`` has the type of
        the queries' ids, ``similar_item_id`` that of the catalogue's.

    Raises:
        ValueError: ``k`` or ``block_rows`` < 1, vectors of different lengths.
        TypeError: A vector column that is not a numeric array or ML vector.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    n_blocks(0, block_rows)  # validates block_rows
    spark = vectors.sparkSession
    cand = prepared(vectors, id_col, vector_col)
    n_cand, dim = _shape(cand, "vectors")
    if queries is None:
        query, n_query, exclude_self = cand, n_cand, True
    else:
        query = prepared(queries, id_col, vector_col)
        n_query, q_dim = _shape(query, "queries")
        if n_query and n_cand and q_dim != dim:
            raise ValueError(f"queries have {q_dim} dimensions, the catalogue {dim}")
        exclude_self = False
    schema = T.StructType(
        [
            T.StructField(N.ITEM_ID, query.schema[_ID].dataType),
            T.StructField(N.RANK, T.IntegerType(), False),
            T.StructField(N.SIMILAR_ITEM_ID, cand.schema[_ID].dataType),
            T.StructField(N.SCORE, T.DoubleType()),
        ]
    )
    if n_cand == 0 or n_query == 0:
        return spark.createDataFrame([], schema)

    c_blocks = blocks(cand, n_blocks(n_cand, block_rows))
    q_blocks = c_blocks if queries is None else blocks(query, n_blocks(n_query, block_rows))
    # shuffle_replicate_nl: a cartesian product, never a broadcast (that would collect a
    # whole side to the driver); it keeps both sides' partitioning, so task (i, j) holds
    # query block i and candidate block j.
    pairs = (
        q_blocks.select(F.col("ids").alias(_QI), F.col("vecs").alias(_QV))
        .hint("shuffle_replicate_nl")
        .crossJoin(c_blocks.select(F.col("ids").alias(_CI), F.col("vecs").alias(_CV)))
    )
    partial_schema = T.StructType([schema[N.ITEM_ID], schema[N.SIMILAR_ITEM_ID], schema[N.SCORE]])
    partial = pairs.mapInPandas(pair_batches(k, dim, exclude_self), partial_schema)
    w = Window.partitionBy(N.ITEM_ID).orderBy(F.col(N.SCORE).desc(), F.col(N.SIMILAR_ITEM_ID).asc())
    return (
        partial.withColumn(N.RANK, F.row_number().over(w))
        .filter(F.col(N.RANK) <= k)
        .select(N.ITEM_ID, N.RANK, N.SIMILAR_ITEM_ID, N.SCORE)
    )


def prepared(df: DataFrame, id_col: str, vector_col: str) -> DataFrame:
    """``_id, _vec``: the rows of ``df`` with a non-null id and a non-empty vector, the
    vector as ``array<float>`` (not normalised: :func:`unit_rows` does that in the block
    pair's task, in numpy, far cheaper than Spark's interpreted higher-order functions)."""
    dtype = df.schema[vector_col].dataType
    if isinstance(dtype, T.ArrayType) and isinstance(dtype.elementType, T.NumericType):
        v = F.col(vector_col).cast("array<float>")
    elif _is_ml_vector(dtype):
        from pyspark.ml.functions import vector_to_array

        v = vector_to_array(F.col(vector_col), "float32")
    else:
        raise TypeError(f"{vector_col} must be a numeric array or an ML vector, not {dtype}")
    rows = df.select(F.col(id_col).alias(_ID), v.alias(_VEC))
    return rows.filter(F.col(_ID).isNotNull() & (F.size(_VEC) > 0))


def _is_ml_vector(dtype: T.DataType) -> bool:
    # pyspark.ml is imported only here: Python workers unpickling this module skip it
    if not isinstance(dtype, T.UserDefinedType):
        return False
    from pyspark.ml.linalg import VectorUDT

    return isinstance(dtype, VectorUDT)


def _shape(rows: DataFrame, what: str) -> tuple[int, int]:
    """(rows, dimensions) of a :func:`prepared` frame (one small aggregate)."""
    size = F.size(_VEC)
    n, lo, hi = rows.agg(F.count(F.lit(1)), F.min(size), F.max(size)).first()
    if n and lo != hi:
        raise ValueError(f"{what}: vectors of different lengths ({lo} to {hi})")
    return int(n), int(lo or 0)


def blocks(rows: DataFrame, n: int) -> DataFrame:
    """``ids, vecs``: the rows of a :func:`prepared` frame gathered into ``n`` blocks by
    ``pmod(xxhash64(id), n)``, one row per block (``vecs``: the block's vectors flattened
    row by row, in the order of ``ids``), block ``b`` alone in partition ``b`` of ``n``.

    ``repartition(n, key)`` sends a row to partition ``pmod(hash(key), n)`` (Spark's
    Murmur3 with seed 42, the SQL ``hash``); each block gets as key an integer whose hash
    lands in its own partition (:func:`partition_keys`).
    """
    block = F.pmod(F.xxhash64(_ID), F.lit(n)).cast("int")
    key = F.element_at(F.array(*[F.lit(k) for k in partition_keys(n)]), F.col(_BLOCK) + 1)
    return (
        rows.groupBy(block.alias(_BLOCK))
        .agg(F.collect_list(F.struct(_ID, _VEC)).alias("_rows"))
        .select(
            key.alias(_KEY),
            F.col(f"_rows.{_ID}").alias("ids"),
            F.flatten(F.col(f"_rows.{_VEC}")).alias("vecs"),
        )
        .repartition(n, _KEY)
        .select("ids", "vecs")
    )


def partition_keys(n: int) -> list[int]:
    """For every partition ``p`` of ``n``, the smallest non-negative int whose Spark hash
    (``hash(int)``, which ``repartition`` uses) is ``p`` modulo ``n``.

    A partition without such a key below ``64 n`` (a chance of about ``n * exp(-64)``)
    keeps ``p`` itself: its block then shares a partition, still correct (a bigger task).
    """
    keys: dict[int, int] = {}
    for k in range(64 * n):
        keys.setdefault(spark_hash_int(k) % n, k)
        if len(keys) == n:
            break
    return [keys.get(p, p) for p in range(n)]


def spark_hash_int(value: int, seed: int = 42) -> int:
    """Spark's ``hash`` of an int column (``Murmur3_x86_32.hashInt``), a signed 32-bit int."""
    mask = 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    k1 = rotl((value & mask) * 0xCC9E2D51 & mask, 15) * 0x1B873593 & mask
    h1 = (rotl(seed ^ k1, 13) * 5 + 0xE6546B64) & mask
    h1 ^= 4  # the length in bytes
    h1 ^= h1 >> 16
    h1 = h1 * 0x85EBCA6B & mask
    h1 ^= h1 >> 13
    h1 = h1 * 0xC2B2AE35 & mask
    h1 ^= h1 >> 16
    return h1 - (1 << 32) if h1 >= 1 << 31 else h1
