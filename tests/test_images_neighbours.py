"""Cosine top-K neighbours in blocks: the numpy kernel on a hand-worked example, the Spark
version against an independent brute force (scikit-learn / numpy over the whole matrix)."""

from __future__ import annotations

import contextlib
import io

import numpy as np
import pandas as pd
import pytest
from pyspark.ml.functions import array_to_vector
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.testing import assertDataFrameEqual

from lakecart.images.neighbours import (
    block_top_k,
    blocks,
    partition_keys,
    prepared,
    spark_hash_int,
    top_k_cosine,
    unit_rows,
)

# Five unit vectors whose cosines are worked out by hand:
#   a.b = 0.6   a.c = 0.8   a.d = 0   a.e = 0.6
#   b.c = 0.48 + 0.48 = 0.96          b.d = 0   b.e = 0.36
#   c.d = 0     c.e = 0.48            d.e = 0.8
HAND_IDS = ["a", "b", "c", "d", "e"]
HAND = [
    [1.0, 0.0, 0.0],
    [0.6, 0.8, 0.0],
    [0.8, 0.6, 0.0],
    [0.0, 0.0, 1.0],
    [0.6, 0.0, 0.8],
]
# k=2 without self: a has a tie b/e at 0.6 at the cut-off (b, the smaller id, is kept);
# d ties a/b/c at 0 (a is kept).
HAND_TOP2 = [
    ("a", "c", 0.8),
    ("a", "b", 0.6),
    ("b", "c", 0.96),
    ("b", "a", 0.6),
    ("c", "b", 0.96),
    ("c", "a", 0.8),
    ("d", "e", 0.8),
    ("d", "a", 0.0),
    ("e", "d", 0.8),
    ("e", "a", 0.6),
]


def _rows(df: pd.DataFrame) -> list[tuple]:
    return [(i, s, round(float(x), 6)) for i, s, x in df.itertuples(index=False)]


def test_block_top_k_hand_example_excludes_self_and_breaks_ties_by_smaller_id():
    q = np.array(HAND, dtype=np.float32)
    cand_order = [4, 2, 0, 3, 1]  # candidates need not come sorted by id
    got = block_top_k(
        np.array(HAND_IDS, dtype=object),
        q,
        np.array(HAND_IDS, dtype=object)[cand_order],
        q[cand_order],
        k=2,
        exclude_self=True,
    )
    assert list(got.columns) == ["item_id", "similar_item_id", "score"]
    assert got["score"].dtype == np.float64
    assert _rows(got) == HAND_TOP2


def test_block_top_k_tie_inside_the_list_and_self_included():
    q = np.array(HAND, dtype=np.float32)
    ids = np.array(HAND_IDS, dtype=object)
    got = block_top_k(ids[:1], q[:1], ids, q, k=3, exclude_self=True)
    assert _rows(got) == [("a", "c", 0.8), ("a", "b", 0.6), ("a", "e", 0.6)]
    # a new photo equal to c: c itself is its best neighbour when self is not excluded
    got = block_top_k(np.array(["new"], dtype=object), q[2:3], ids, q, k=3, exclude_self=False)
    assert _rows(got) == [("new", "c", 1.0), ("new", "b", 0.96), ("new", "a", 0.8)]
    # a query with the id "c" but a's vector: exclusion goes by id, not by vector
    got = block_top_k(np.array(["c"], dtype=object), q[:1], ids, q, k=3, exclude_self=True)
    assert _rows(got) == [("c", "a", 1.0), ("c", "b", 0.6), ("c", "e", 0.6)]


def test_block_top_k_k_larger_than_candidates_and_empty_inputs():
    q = np.array(HAND, dtype=np.float32)
    ids = np.array([10, 20, 30, 40, 50])
    got = block_top_k(ids[:2], q[:2], ids[:2], q[:2], k=5, exclude_self=True)
    assert _rows(got) == [(10, 20, 0.6), (20, 10, 0.6)]
    empty = block_top_k(ids[:0], q[:0], ids, q, k=3, exclude_self=False)
    assert len(empty) == 0 and list(empty.columns) == ["item_id", "similar_item_id", "score"]
    with pytest.raises(ValueError):
        block_top_k(ids, q, ids, q[:, :2], k=1, exclude_self=False)


def test_block_top_k_equals_full_sort_on_random_blocks():
    rng = np.random.default_rng(3)
    x = rng.normal(size=(60, 6)).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    ids = np.arange(100, 160)
    got = block_top_k(ids[:25], x[:25], ids[::-1], x[::-1], k=4, exclude_self=True)
    s = (x[:25] @ x.T).astype(np.float64)
    for r in range(25):
        cands = sorted((-s[r, j], ids[j]) for j in range(60) if j != r)[:4]
        rows = got[got["item_id"] == ids[r]]
        assert rows["similar_item_id"].tolist() == [int(j) for _, j in cands]
        assert np.allclose(rows["score"], [-v for v, _ in cands], atol=1e-6)


def test_unit_rows_normalises_and_drops_zero_nan_and_infinite_rows():
    x = np.array([[3, 4], [0, 0], [np.nan, 1], [np.inf, 1], [1e-35, 0], [-5, 0]], np.float32)
    unit, ok = unit_rows(x)
    assert ok.tolist() == [True, False, False, False, True, True]
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit, [[0.6, 0.8], [1.0, 0.0], [-1.0, 0.0]], atol=1e-7)


# -------------------------------------------------------------------------------- Spark
def _frame(spark, ids, vecs, element="float"):
    id_type = T.StringType() if isinstance(ids[0], str) else T.LongType()
    el = T.FloatType() if element == "float" else T.DoubleType()
    schema = T.StructType(
        [T.StructField("item_id", id_type), T.StructField("vector", T.ArrayType(el))]
    )
    return spark.createDataFrame(
        [
            (str(i) if isinstance(i, str) else int(i), [float(x) for x in v])
            for i, v in zip(ids, vecs, strict=True)
        ],
        schema,
    )


def test_top_k_cosine_hand_example_several_blocks(spark):
    # scaled copies: Spark normalises; a zero vector gets no neighbours and is no neighbour
    vecs = [np.array(v) * s for v, s in zip(HAND, [1, 2, 0.5, 3, 10], strict=True)]
    df = _frame(spark, HAND_IDS + ["z"], vecs + [np.zeros(3)])
    got = top_k_cosine(df, 2, block_rows=3)  # 2 blocks
    exp = spark.createDataFrame(
        [(i, r % 2 + 1, s, x) for r, (i, s, x) in enumerate(HAND_TOP2)], got.schema
    )
    assertDataFrameEqual(got, exp, rtol=1e-6, atol=1e-6)


def test_each_block_is_alone_in_its_partition(spark):
    vals = [0, 1, 12, -7, 2**31 - 1, -(2**31)]
    hashed = spark.createDataFrame([(v,) for v in vals], "v int").select(F.hash("v")).collect()
    assert [spark_hash_int(v) for v in vals] == [r[0] for r in hashed]
    assert sorted(spark_hash_int(k) % 7 for k in partition_keys(7)) == list(range(7))
    rng = np.random.default_rng(1)
    df = _frame(spark, [f"i{j}" for j in range(200)], rng.normal(size=(200, 4)))
    b = blocks(prepared(df, "item_id", "vector"), 7)
    parts = b.select(F.spark_partition_id().alias("p"), F.size("ids").alias("n")).collect()
    assert sorted(r["p"] for r in parts) == list(range(7))  # one block in each partition
    assert sum(r["n"] for r in parts) == 200


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_top_k_cosine_equals_sklearn_brute_force(spark):
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(42)
    n, d, k = 300, 20, 7
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 5.0, size=(n, 1))
    ids = np.array([f"item-{j:04d}" for j in rng.permutation(n)])
    df = _frame(spark, list(ids) + ["zero"], list(x) + [np.zeros(d)], element="double")
    got = top_k_cosine(df, k, block_rows=100).toPandas()  # 3 blocks, 9 block pairs

    nn = NearestNeighbors(n_neighbors=k + 1, metric="cosine", algorithm="brute").fit(x)
    dist, idx = nn.kneighbors(x)
    assert (idx[:, 0] == np.arange(n)).all()  # self first; dropped below
    assert set(got["item_id"]) == set(ids)  # the zero vector has no neighbours ...
    assert "zero" not in set(got["similar_item_id"])  # ... and is nobody's neighbour
    got = got.sort_values(["item_id", "rank"])
    assert (
        got.groupby("item_id")["rank"].apply(list).map(lambda r: r == list(range(1, k + 1))).all()
    )
    exp = pd.DataFrame(
        {
            "item_id": np.repeat(ids, k),
            "rank": np.tile(np.arange(1, k + 1), n),
            "similar_item_id": ids[idx[:, 1:]].ravel(),
            "score": 1.0 - dist[:, 1:].ravel(),
        }
    ).sort_values(["item_id", "rank"])
    assert got["similar_item_id"].tolist() == exp["similar_item_id"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), exp["score"].to_numpy(), atol=1e-5)
    assert got["rank"].dtype == np.int32 and got["score"].dtype == np.float64


def test_top_k_cosine_queries_search_the_catalogue(spark):
    rng = np.random.default_rng(5)
    n, d, k = 250, 16, 5
    x = rng.normal(size=(n, d))
    ids = np.arange(1000, 1000 + n)
    q = rng.normal(size=(30, d))
    q[0] = x[17] * 3.0  # a new photo identical to catalogue item 1017 (up to scale)
    q_ids = np.arange(30)
    cat = _frame(spark, list(ids), list(x))
    queries = _frame(spark, list(q_ids) + [99], list(q) + [np.zeros(d)])
    queries = queries.select("item_id", array_to_vector("vector").alias("vector"))  # ML vectors
    result = top_k_cosine(cat, k, block_rows=100, queries=queries)
    plan = io.StringIO()
    with contextlib.redirect_stdout(plan):
        result.explain()
    assert "CartesianProduct" in plan.getvalue() and "Broadcast" not in plan.getvalue()
    got = result.toPandas()
    got = got.sort_values(["item_id", "rank"])

    s = _unit(q) @ _unit(x).T
    top = np.argsort(-s, axis=1)[:, :k]
    assert got["item_id"].tolist() == list(np.repeat(q_ids, k))  # none for the zero query 99
    assert got["rank"].tolist() == list(np.tile(np.arange(1, k + 1), 30))
    assert got["similar_item_id"].tolist() == list(ids[top].ravel())
    np.testing.assert_allclose(got["score"], np.take_along_axis(s, top, 1).ravel(), atol=1e-5)
    first = got.iloc[0]
    assert first["similar_item_id"] == 1017 and first["score"] == pytest.approx(1.0, abs=1e-6)


def test_top_k_cosine_rejects_mixed_lengths_and_returns_empty_for_no_rows(spark):
    df = _frame(spark, ["a", "b"], [[1.0, 0.0], [1.0, 0.0, 0.0]])
    with pytest.raises(ValueError, match="different lengths"):
        top_k_cosine(df, 3)
    zeros = _frame(spark, ["a", "b"], [[0.0, 0.0], [0.0, 0.0]])
    got = top_k_cosine(zeros, 3)
    assert got.columns == ["item_id", "rank", "similar_item_id", "score"]
    assert got.count() == 0
