"""Category paths (lakecart.images.categories): the known-path table, the joint decoding of
per-level probabilities worked out by hand, and the Spark column of path prefixes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart.images.categories import PathTable, decode_paths, level_paths, tag_frame, unit

# Two learned levels. Level 1: A (0), B (1). Level 2: "A > x" (0), "A > y" (1). B's only
# child "B > w" is too rare to be learned at level 2, so its path is truncated to "B".
CLASSES = [["A", "B"], ["A > x", "A > y"]]
PATHS = [
    ["A", "A > x"],
    ["A", "A > y"],
    ["B", "B > w"],  # level 2 unlearned: truncated to (1,) named "B"
    ["A", "A > x"],  # duplicate: dropped
    ["C", "C > q"],  # learned at no level: dropped
    ["B"],  # a one-level path: the same key (1,) as the truncated one, first name kept
]


def test_path_table_truncates_and_drops():
    t = PathTable.build(PATHS, CLASSES)
    # keys sorted: (0, 0) < (0, 1) < (1,); (1,) stays: B has no learned child
    assert t.names == ["A > x", "A > y", "B"]
    assert t.index.tolist() == [[0, 0], [0, 1], [1, -1]]
    assert t.index.dtype == np.int64


def test_path_table_drops_a_path_cut_short_at_an_interior_node():
    # B has a learned child "B > z": the truncated "B" (from the rare "B > w" and from a
    # product categorised "B" only) is an interior node of the learned tree and is dropped
    t = PathTable.build(
        [["A", "A > x"], ["B", "B > w"], ["B"], ["B", "B > z"]],
        [["A", "B"], ["A > x", "B > z"]],
    )
    assert t.names == ["A > x", "B > z"]
    assert t.index.tolist() == [[0, 0], [1, 1]]


def test_path_table_deeper_paths_than_levels_and_nothing_learned():
    t = PathTable.build([["A", "A > x", "A > x > 1"]], CLASSES)  # third level not learned
    assert t.names == ["A > x"] and t.index.tolist() == [[0, 0]]
    empty = PathTable.build([["C"]], CLASSES)
    assert empty.names == [] and empty.index.shape == (0, 2)


def test_decode_paths_by_hand():
    t = PathTable.build(PATHS, CLASSES)  # A > x, A > y, B (truncated)
    p1 = np.array(
        [
            [0.9, 0.1],  # row 0
            [0.6, 0.4],  # row 1
            [0.6, 0.4],  # row 2
            [0.8, 0.2],  # row 3
            [0.3, 0.7],  # row 4
        ]
    )
    p2 = np.array(
        [
            [0.2, 0.8],
            [0.5, 0.5],
            [0.9, 0.1],
            [0.5, 0.5],
            [0.5, 0.5],
        ]
    )
    # sums of log-probabilities: A>x = ln p1[A] + ln p2[A>x]; the truncated B has no level-2
    # class and is charged the row's best level-2 probability: ln p1[B] + ln max(p2)
    # row 0: A>x ln .18, A>y ln .72, B ln .08 -> A > y, confidences (.9, .8)
    # row 1: A>x ln .30, A>y ln .30, B ln .20 -> tie A>x / A>y: the first, A > x (.6, .5)
    #        (scored on level 1 alone, B's ln .4 would have beaten ln .3)
    # row 2: A>x ln .54, A>y ln .06, B ln .36 -> A > x, confidences (.6, .9)
    # row 3: A>x ln .40, A>y ln .40, B ln .10 -> tie: A > x, confidences (.8, .5)
    # row 4: A>x ln .15, A>y ln .15, B ln .35 -> B, confidences (.7, NaN)
    best, conf = decode_paths([p1, p2], t)
    assert [t.names[b] for b in best] == ["A > y", "A > x", "A > x", "A > x", "B"]
    want = np.array([[0.9, 0.8], [0.6, 0.5], [0.6, 0.9], [0.8, 0.5], [0.7, np.nan]])
    np.testing.assert_allclose(conf, want)


def test_decode_paths_floors_zero_probabilities():
    # a class the model rules out (p = 0) is floored at 1e-12 rather than -inf, so a path
    # through it still ranks by its other levels instead of every score being -inf
    t = PathTable.build([["A", "A > x"], ["A", "A > y"]], [["A"], ["A > x", "A > y"]])
    best, conf = decode_paths([np.array([[1.0]]), np.array([[0.0, 1.0]])], t)
    assert best.tolist() == [1]
    np.testing.assert_allclose(conf, [[1.0, 1.0]])
    # every path at probability 0: scores tie at 2 ln 1e-12 and the first path wins
    t2 = PathTable.build([["A", "A > x"], ["B", "B > z"]], [["A", "B"], ["A > x", "B > z"]])
    best, _ = decode_paths([np.array([[0.0, 0.0]]), np.array([[0.0, 0.0]])], t2)
    assert best.tolist() == [0]


def test_decode_paths_one_level():
    t = PathTable.build([["A"], ["B"], ["C"]], [["A", "B", "C"]])
    best, conf = decode_paths([np.array([[0.2, 0.5, 0.3], [0.1, 0.1, 0.8]])], t)
    assert best.tolist() == [1, 2]
    np.testing.assert_allclose(conf, [[0.5], [0.8]])


def test_a_truncated_parent_does_not_hide_its_learned_children():
    # B has a learned child "B > z" and a rare unlearned one "B > w"
    t = PathTable.build(
        [["A", "A > x"], ["B", "B > z"], ["B", "B > w"]], [["A", "B"], ["A > x", "B > z"]]
    )
    # the photo is surely B and surely "B > z": ln .9 + ln .95 = ln .855 beats A>x ln .005
    best, conf = decode_paths([np.array([[0.1, 0.9]]), np.array([[0.05, 0.95]])], t)
    assert t.names[best[0]] == "B > z"
    np.testing.assert_allclose(conf, [[0.9, 0.95]])


def test_tag_frame_by_hand():
    t = PathTable.build(PATHS, CLASSES)
    batch = pd.DataFrame(
        {
            "item_id": ["i1", "i2"],
            "scaled": [np.array([3.0, 4.0]), np.array([0.0, 0.0])],
            "p0": [np.array([0.9, 0.1]), np.array([0.3, 0.7])],
            "p1": [np.array([0.2, 0.8]), np.array([0.5, 0.5])],
        }
    )
    # rows 0 and 4 of test_decode_paths_by_hand
    out = tag_frame(batch, t, 2, probability_weight=2.0)
    assert out["item_id"].tolist() == ["i1", "i2"]
    assert out["category"].tolist() == ["A > y", "B"]
    assert [list(c) for c in out["level_confidences"]] == [[0.9, 0.8], [0.7]]
    # embedding: unit pixels (3, 4) / 5, then 2 x unit(p1): (0.2, 0.8) / sqrt(0.68)
    n = math.sqrt(0.2**2 + 0.8**2)
    np.testing.assert_allclose(out["embedding"][0], [0.6, 0.8, 2 * 0.2 / n, 2 * 0.8 / n], rtol=1e-6)
    # zero pixels stay zero; (0.5, 0.5) / sqrt(0.5) = (0.7071, 0.7071)
    r = 2 * 0.5 / math.sqrt(0.5)
    np.testing.assert_allclose(out["embedding"][1], [0.0, 0.0, r, r], rtol=1e-6)
    assert out["embedding"][0].dtype == np.float32
    # photo_p (the photo's own deepest-level probabilities) replaces p1 in the embedding
    own = batch.assign(photo_p=[np.array([0.0, 3.0]), np.array([4.0, 0.0])])
    out_own = tag_frame(own, t, 2, probability_weight=2.0)
    assert out_own["category"].tolist() == ["A > y", "B"]  # decoded from p0, p1 as before
    np.testing.assert_allclose(out_own["embedding"][0], [0.6, 0.8, 0.0, 2.0], rtol=1e-6)
    np.testing.assert_allclose(out_own["embedding"][1], [0.0, 0.0, 2.0, 0.0], rtol=1e-6)
    # without the probabilities the embedding is the unit pixels only
    out0 = tag_frame(batch, t, 2, probability_weight=0.0)
    np.testing.assert_allclose(out0["embedding"][0], [0.6, 0.8], rtol=1e-6)


def test_unit_rows():
    np.testing.assert_allclose(
        unit(np.array([[3.0, 4.0], [0.0, 0.0], [-2.0, 0.0]])), [[0.6, 0.8], [0, 0], [-1, 0]]
    )


# ----------------------------------------------------------------------------- Spark
def test_level_paths(spark):
    rows = [
        ("a", "A > B > C"),
        ("b", " A>B "),
        ("c", None),
        ("d", "A >  > B"),
        ("e", ""),
        ("f", " > "),
        ("g", "Women > Tops > Blouses > Silk"),
        ("h", "Home & Kitchen"),
    ]
    df = spark.createDataFrame(rows, "id string, category string")
    two = df.select("id", level_paths(F.col("category"), 2).alias("paths"))
    expected = [
        ("a", ["A", "A > B"]),
        ("b", ["A", "A > B"]),
        ("c", []),
        ("d", ["A", "A > B"]),
        ("e", []),
        ("f", []),
        ("g", ["Women", "Women > Tops"]),
        ("h", ["Home & Kitchen"]),
    ]
    assertDataFrameEqual(
        two, spark.createDataFrame(expected, "id string, paths array<string>"), checkRowOrder=False
    )
    three = df.filter(F.col("id").isin("a", "g")).select(
        "id", level_paths(F.col("category"), 3).alias("paths")
    )
    assertDataFrameEqual(
        three,
        spark.createDataFrame(
            [
                ("a", ["A", "A > B", "A > B > C"]),
                ("g", ["Women", "Women > Tops", "Women > Tops > Blouses"]),
            ],
            "id string, paths array<string>",
        ),
    )
    assert two.schema["paths"].dataType.simpleString() == "array<string>"
    assert two.filter(F.col("paths").isNull()).count() == 0  # NULL category: empty, not NULL
