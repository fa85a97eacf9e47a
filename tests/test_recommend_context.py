"""Issue 22: the one publishing rule of ``recommend`` (the hybrid only when it beats the best
popularity baseline on validation, else popularity by the user's segment) and the "last
item" source (neighbours of each user's latest items by co-view in sessions, co-purchase
in orders and content). Expected values are worked out by hand in the comments."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pytest
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.recommend import build, core, models, outputs
from lakecart.recommend.data import I_IDX, TS, U_IDX
from lakecart.recommend.score import user_blocks
from lakecart.selection import PUBLISHED

REC_SCHEMA = (
    f"{N.USER_ID} string, {N.RANK} int, {N.ITEM_ID} string, {N.SCORE} double, "
    f"{N.SOURCE} string, {N.REASON} string"
)


# ------------------------------------------------------------------ the one rule
def test_model_that_loses_on_validation_publishes_the_best_popularity_baseline():
    # the marketplace case: every personalised model 0, popularity ahead
    scores = {"hybrid": 0.0, "als": 0.0, "last_item": 0.01, "popular": 0.050}
    sel = build.select(scores, {"popular_country": 0.041, "popular_category": 0.062})
    assert sel.published == "popular_category" and not sel.model_won
    assert sel.model == "hybrid" and sel.baseline == "popular_category"
    assert sel.reason().startswith("recommendations: published baseline popular_category")
    rows = sel.metrics("v1", "shop", dt.date(2024, 4, 1), N.SPLIT_VALIDATION)
    pub = [r for r in rows if r.metric == PUBLISHED]
    assert len(pub) == 1 and pub[0].model == "popular_category" and pub[0].value == 0.0


def test_model_that_wins_is_published_and_ties_go_to_the_baseline():
    sel = build.select({"hybrid": 0.102, "popular": 0.059}, {"popular_country": 0.060})
    assert sel.published == "hybrid" and sel.model_won
    tie = build.select({"hybrid": 0.06, "popular": 0.06}, {})
    assert tie.published == "popular"
    # no validation (nothing known): the overall popularity is published
    assert build.select({}, {}).published == "popular"


def test_popular_for_users_lists_of_the_segment_padded_with_overall(spark):
    popular = spark.createDataFrame(
        [
            ("all", 1, "x", 9.0),
            ("all", 2, "y", 8.0),
            ("all", 3, "z", 7.0),
            ("all", 4, "w", 6.0),
            ("category:Mugs", 1, "m1", 5.0),
            ("category:Mugs", 2, "m2", 4.0),
            ("category:Mugs", 3, "x", 3.0),
            ("country:UK", 1, "y", 2.0),
        ],
        f"{N.SEGMENT} string, {N.RANK} int, {N.ITEM_ID} string, {N.SCORE} double",
    )
    users = spark.createDataFrame([("u1",), ("u2",), ("u3",)], f"{N.USER_ID} string")
    cats = spark.createDataFrame(
        [("u1", "Mugs"), ("u3", "Lamps")], f"{N.USER_ID} string, {N.CATEGORY} string"
    )
    seen = spark.createDataFrame(
        [("u1", "m1"), ("u2", "x")], f"{N.USER_ID} string, {N.ITEM_ID} string"
    )
    got = outputs.popular_for_users(
        users, cats, outputs.baseline_segment("popular_category"), popular, seen, 3
    )
    # u1: Mugs list without m1 (m2, x), then the overall list's first new item (y);
    # u2: no category: overall without x; u3: Lamps has no list: overall
    expected = spark.createDataFrame(
        [
            ("u1", 1, "m2", 1.0, "popular", "popular in Mugs"),
            ("u1", 2, "x", 0.5, "popular", "popular in Mugs"),
            ("u1", 3, "y", 1 / 3, "popular", "popular right now"),
            ("u2", 1, "y", 1.0, "popular", "popular right now"),
            ("u2", 2, "z", 0.5, "popular", "popular right now"),
            ("u2", 3, "w", 1 / 3, "popular", "popular right now"),
            ("u3", 1, "x", 1.0, "popular", "popular right now"),
            ("u3", 2, "y", 0.5, "popular", "popular right now"),
            ("u3", 3, "z", 1 / 3, "popular", "popular right now"),
        ],
        REC_SCHEMA,
    )
    assertDataFrameEqual(got, expected)
    # by country, overall only
    countries = spark.createDataFrame([("u1", "UK")], f"{N.USER_ID} string, {N.COUNTRY} string")
    got = outputs.popular_for_users(users.limit(1), countries, "country", popular, None, 2)
    expected = spark.createDataFrame(
        [
            ("u1", 1, "y", 1.0, "popular", "popular in UK"),
            ("u1", 2, "x", 0.5, "popular", "popular right now"),
        ],
        REC_SCHEMA,
    )
    assertDataFrameEqual(got, expected)
    got = outputs.popular_for_users(users.limit(1), None, None, popular, seen, 1)
    assert [tuple(r) for r in got.collect()] == [
        ("u1", 1, "x", 1.0, "popular", "popular right now")
    ]


def test_top_category_is_the_one_with_most_items(spark):
    train = spark.createDataFrame(
        [("u1", "a", 1.0), ("u1", "b", 1.0), ("u1", "c", 5.0), ("u2", "c", 1.0), ("u2", "a", 1.0)],
        f"{N.USER_ID} string, {N.ITEM_ID} string, {N.WEIGHT} double",
    )
    products = spark.createDataFrame(
        [("a", "Mugs"), ("b", "Mugs"), ("c", "Lamps")], f"{N.ITEM_ID} string, {N.CATEGORY} string"
    )
    got = outputs.top_categories(train, products)
    # u1: Mugs 2 items vs Lamps 1; u2: 1 each, Lamps weighs as much -> the smaller name
    expected = spark.createDataFrame(
        [("u1", "Mugs"), ("u2", "Lamps")], f"{N.USER_ID} string, {N.CATEGORY} string"
    )
    assertDataFrameEqual(got, expected)


# ------------------------------------------------------------------ the last item's neighbours
CUT = dt.date(2024, 3, 1)
ITEMS = ["a", "b", "c", "d", "e"]


@pytest.fixture(scope="module")
def context(spark):
    t = dt.datetime(2024, 2, 1, 10)
    after = dt.datetime(2024, 3, 2)
    orders = spark.createDataFrame(
        [
            ("o1", "a", t, False),
            ("o1", "b", t, False),
            ("o2", "a", t, False),
            ("o2", "b", t, False),
            ("o2", "c", t, False),
            ("o3", "d", t, False),  # one item: nothing to pair
            ("o4", "a", t, True),  # a return
            ("o4", "e", t, True),
            ("o5", "a", after, False),  # after the cut
            ("o5", "d", after, False),
        ],
        f"{N.ORDER_ID} string, {N.ITEM_ID} string, {N.ORDER_TS} timestamp, {N.IS_RETURN} boolean",
    )
    events = spark.createDataFrame(
        [
            (t, "u1", "s1", "view", "a"),
            (t, "u1", "s1", "view", "c"),
            (t, "u1", "s1", "cart", "c"),
            (t, "u2", "s1", "view", "d"),  # same session id, another user: another session
            (t, "u2", "s1", "view", "e"),
            (t, "u2", None, "view", "a"),  # no session
            (t, "u3", "s9", "view", "a"),  # 4 items > context_max_items 3: left out
            (t, "u3", "s9", "view", "b"),
            (t, "u3", "s9", "view", "c"),
            (t, "u3", "s9", "view", "d"),
            (t, "u1", "s2", "search", None),
        ],
        f"{N.EVENT_TS} timestamp, {N.USER_ID} string, {N.SESSION_ID} string, "
        f"{N.EVENT_TYPE} string, {N.ITEM_ID} string",
    )
    items = spark.createDataFrame(
        [(x, i) for i, x in enumerate(ITEMS)], f"{N.ITEM_ID} string, {I_IDX} int"
    )
    return orders, events, items


def test_context_neighbours_count_sessions_and_orders(context):
    orders, events, items = context
    nb = models.context_neighbours(orders, events, items, CUT, 3, 2, len(ITEMS))
    # contexts: o1 {a,b}, o2 {a,b,c}, u1/s1 {a,c}, u2/s1 {d,e}; counts a 3, b 2, c 2, d 1, e 1
    # cosine: a-b 2/sqrt(6), a-c 2/sqrt(6), b-c 1/sqrt(4), d-e 1; each item scaled to its best
    s = 0.5 / (2 / math.sqrt(6))
    want = {
        0: [(1, 1.0), (2, 1.0)],
        1: [(0, 1.0), (2, s)],
        2: [(0, 1.0), (1, s)],
        3: [(4, 1.0)],
        4: [(3, 1.0)],
    }
    for i, pairs in want.items():
        got = [(int(j), float(v)) for j, v in zip(nb.idx[i], nb.val[i], strict=True) if j >= 0]
        assert [j for j, _ in got] == [j for j, _ in pairs], i
        np.testing.assert_allclose([v for _, v in got], [v for _, v in pairs], rtol=1e-6)


def test_last_item_scores_from_the_latest_items_with_content(spark, context):
    orders, events, items = context
    content = core.Neighbours(
        np.array([[-1], [-1], [-1], [-1], [2]], np.int32),
        np.array([[0], [0], [0], [0], [0.9]], np.float32),
    )
    nb = models.context_neighbours(orders, events, items, CUT, 3, 2, len(ITEMS), content, 0.5)
    # e: d 1 (co-view), c 0.5 (content 0.9 scaled to 1, x 0.5)
    assert nb.idx[4].tolist() == [3, 2]
    np.testing.assert_allclose(nb.val[4], [1.0, 0.5], rtol=1e-6)
    # the user's history b (oldest), a, e (latest): the blocks carry [e, a] with recent=2
    ts = [dt.datetime(2024, 1, 1), dt.datetime(2024, 2, 1), dt.datetime(2024, 2, 20)]
    train_idx = spark.createDataFrame(
        [("u", 0, i, 1.0, t) for i, t in zip([1, 0, 4], ts, strict=True)],
        f"{N.USER_ID} string, {U_IDX} int, {I_IDX} int, {N.WEIGHT} double, {TS} timestamp",
    )
    block = user_blocks(train_idx, None, recent=2).toPandas()
    assert list(block[core.U_RECENT][0]) == [4, 0] and list(block[core.U_ITEMS][0]) == [0, 1, 4]
    model = core.ItemModel(
        np.array(ITEMS, dtype=object),
        np.ones(5, bool),
        np.array([5, 4, 3, 2, 1], np.float32),
        context=nb,
        recent_decay=0.5,
    )
    out = core.score_block(model, block, {"l": {core.LAST: 1.0}}, 3, explain=True)
    # e (weight 1) -> d 1, c 0.5; a (weight 0.5) -> b 0.5, c 0.5; a, b, e are seen, so
    # c 1.0 and d 1.0 (tie: the lower index first) are the only candidates
    assert out[core.OUT_ITEM].tolist() == ["c", "d"]
    np.testing.assert_allclose(out[core.OUT_SCORE].tolist(), [1.0, 1.0])
    assert out[core.OUT_SOURCE].tolist() == [core.LAST, core.LAST]
    # c: e gives 0.5 x 1, a 1 x 0.5 (a tie: the latest item); d: only e
    assert out[core.OUT_WHY].tolist() == ["e", "e"]
    # without the recent column the source scores nothing (no user history context)
    none = core.source_scores(model, block.drop(columns=[core.U_RECENT]), [core.LAST])
    assert not none[core.LAST].any()


def test_truth_of_known_users_includes_browsers(spark):
    from lakecart.recommend.evaluate import new_item_truth

    t0, t1 = dt.datetime(2024, 2, 1), dt.datetime(2024, 3, 5)
    orders = spark.createDataFrame(
        [
            ("u1", "a", t0, False),
            ("u1", "a", t1, False),  # bought before: not new
            ("u1", "b", t1, False),
            ("u2", "c", t1, False),  # u2 only browsed before the cut
            ("u3", "d", t1, False),  # u3 unknown before the cut
        ],
        f"{N.CUSTOMER_ID} string, {N.ITEM_ID} string, {N.ORDER_TS} timestamp, "
        f"{N.IS_RETURN} boolean",
    )
    known = spark.createDataFrame([("u1",), ("u2",)], f"{N.USER_ID} string")
    schema = f"{N.USER_ID} string, {N.ITEM_ID} string"
    assertDataFrameEqual(
        new_item_truth(orders, CUT, None, known),
        spark.createDataFrame([("u1", "b"), ("u2", "c")], schema),
    )
    assertDataFrameEqual(new_item_truth(orders, CUT), spark.createDataFrame([("u1", "b")], schema))
