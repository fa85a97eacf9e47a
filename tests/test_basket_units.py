"""Basket transforms on hand-built data: baskets and exclusions, FP-growth rules,
bought-together scores, the hide-one ranks and metrics, and open carts — every expected
value counted by hand from the few baskets written here."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.basket.baskets import BASKET_TS, basket_lines, capped_lines
from lakecart.basket.carts import cart_completions, open_carts
from lakecart.basket.completion import (
    hide_one,
    hide_one_ranks,
    list_scores,
    popularity_ranks,
    rank_metrics,
    rule_scores,
)
from lakecart.basket.pairs import (
    METHOD,
    Shape,
    bought_together,
    counted_pairs,
    default_shape,
    shape_grid,
    shape_score,
    wide_lists,
)
from lakecart.basket.rules import (
    basket_arrays,
    frequent_itemsets,
    min_support_count,
    rules_from_itemsets,
)
from lakecart.config import BasketConfig, ConfigError

AS_OF = dt.date(2024, 3, 1)
T0 = dt.datetime(2024, 2, 1, 10)

# 7 baskets: a b c | a b | a c | b c | a b d | a b c | d
BASKETS = {
    "B1": "abc",
    "B2": "ab",
    "B3": "ac",
    "B4": "bc",
    "B5": "abd",
    "B6": "abc",
    "B7": "d",
}
# counted by hand: n(a)=5 n(b)=5 n(c)=4 n(d)=2; co(a,b)=4 co(a,c)=3 co(b,c)=3 co(a,d)=1
# co(b,d)=1; {a,b,c}=2; N=7


def lines_of(spark, baskets=BASKETS, ts=T0):
    rows = [(o, i, ts) for o, items in baskets.items() for i in items]
    return spark.createDataFrame(
        rows, f"{N.ORDER_ID} string, {N.ITEM_ID} string, {BASKET_TS} timestamp"
    )


# ---------------------------------------------------------------- baskets


def test_basket_lines_cut_returns_non_merchandise_and_window(spark):
    orders = spark.createDataFrame(
        [
            ("o1", "a", dt.datetime(2024, 2, 1, 9), False),
            ("o1", "a", dt.datetime(2024, 2, 1, 9, 5), False),  # same item twice: one line
            ("o1", "b", dt.datetime(2024, 2, 1, 9, 5), False),
            ("o1", "POST", dt.datetime(2024, 2, 1, 9), False),  # category non-merchandise
            ("o1", "X", dt.datetime(2024, 2, 1, 9), False),  # excluded by id
            ("o2", "a", dt.datetime(2024, 2, 2), True),  # a return
            ("o2", "c", dt.datetime(2024, 2, 2), False),
            ("o3", "a", dt.datetime(2024, 3, 1), False),  # on as_of: after the window
            ("o4", "b", dt.datetime(2023, 1, 1), False),  # before the window
            ("o5", "FEE", dt.datetime(2024, 2, 3), False),  # top level of the category
        ],
        f"{N.ORDER_ID} string, {N.ITEM_ID} string, {N.ORDER_TS} timestamp, {N.IS_RETURN} boolean",
    )
    products = spark.createDataFrame(
        [
            ("a", "Home"),
            ("POST", "Non-Merchandise"),
            ("FEE", "non-merchandise > fees"),
            ("c", None),
        ],
        f"{N.ITEM_ID} string, {N.CATEGORY} string",
    )
    got = basket_lines(orders, products, dt.date(2024, 1, 1), AS_OF, ["non-merchandise"], ["X"])
    expected = spark.createDataFrame(
        [
            ("o1", "a", dt.datetime(2024, 2, 1, 9)),
            ("o1", "b", dt.datetime(2024, 2, 1, 9)),
            ("o2", "c", dt.datetime(2024, 2, 2)),
        ],
        f"{N.ORDER_ID} string, {N.ITEM_ID} string, {BASKET_TS} timestamp",
    )
    assertDataFrameEqual(got, expected)


def test_capped_lines_keep_at_most_the_cap_per_basket(spark):
    big = {"o1": "abcdefgh", "o2": "ab"}
    got = capped_lines(lines_of(spark, big), 3, seed=7)
    sizes = {r[N.ORDER_ID]: r["count"] for r in got.groupBy(N.ORDER_ID).count().collect()}
    assert sizes == {"o1": 3, "o2": 2}
    again = capped_lines(lines_of(spark, big), 3, seed=7)
    assertDataFrameEqual(got, again)


# ---------------------------------------------------------------- FP-growth rules


def test_min_support_count_adapts_to_size():
    assert min_support_count(1000, 0.005, 10) == 10
    assert min_support_count(17000, 0.005, 10) == 85
    assert min_support_count(17001, 0.005, 10) == 86


def test_rules_supports_confidences_and_lifts_by_hand(spark):
    n = 7
    lines = lines_of(spark)
    itemsets = frequent_itemsets(basket_arrays(lines), n, min_count=2)
    expected_sets = spark.createDataFrame(
        [(["a"], 5), (["b"], 5), (["c"], 4), (["d"], 2), (["a", "b"], 4), (["a", "c"], 3),
         (["b", "c"], 3), (["a", "b", "c"], 2)],
        "items array<string>, freq long",
    )  # fmt: skip
    assertDataFrameEqual(itemsets, expected_sets)
    rules = rules_from_itemsets(itemsets, n, max_size=3, min_confidence=0.55)

    def rule(ante, cons, both, n_ante, n_cons):
        conf = both / n_ante
        return (ante, cons, both / n, conf, conf / (n_cons / n), both)

    expected = spark.createDataFrame(
        [
            rule(["a"], "b", 4, 5, 5),
            rule(["b"], "a", 4, 5, 5),
            rule(["a"], "c", 3, 5, 4),
            rule(["c"], "a", 3, 4, 5),
            rule(["b"], "c", 3, 5, 4),
            rule(["c"], "b", 3, 4, 5),
            # ["a","b"] -> c has confidence 2/4 < 0.55: not published
            rule(["a", "c"], "b", 2, 3, 5),
            rule(["b", "c"], "a", 2, 3, 5),
        ],
        f"{N.ANTECEDENT} array<string>, {N.CONSEQUENT} string, {N.SUPPORT} double, "
        f"{N.CONFIDENCE} double, {N.LIFT} double, {N.BASKETS} long",
    )
    assertDataFrameEqual(rules, expected)
    pairs_only = rules_from_itemsets(itemsets, n, max_size=2, min_confidence=0.0)
    assert pairs_only.filter(F.size(N.ANTECEDENT) > 1).count() == 0
    assert pairs_only.count() == 6


# ---------------------------------------------------------------- bought-together scores


def test_bought_together_scores_by_hand(spark):
    counted = counted_pairs(lines_of(spark), AS_OF, [0.0], pool=None)
    got = bought_together(counted, Shape(2.0, 0.0, 0.0), [0.0], k=10)
    n = 7
    share = {"a": 5 / n, "b": 5 / n, "c": 4 / n, "d": 2 / n}
    count = {"a": 5, "b": 5, "c": 4, "d": 2}

    def row(a, rank, b, co):  # (co + 2 p(b)) / (n(a) + 2); lift = co N / (n(a) n(b))
        score = (co + 2 * share[b]) / (count[a] + 2)
        return (a, rank, b, score, co, co * n / (count[a] * count[b]))

    expected = spark.createDataFrame(
        [
            row("a", 1, "b", 4), row("a", 2, "c", 3), row("a", 3, "d", 1),
            row("b", 1, "a", 4), row("b", 2, "c", 3), row("b", 3, "d", 1),
            row("c", 1, "a", 3), row("c", 2, "b", 3),  # a tie: same baskets, then the id
            row("d", 1, "a", 1), row("d", 2, "b", 1),
        ],
        f"{N.ITEM_ID} string, {N.RANK} int, {N.OTHER_ITEM_ID} string, {N.SCORE} double, "
        f"{N.BASKETS} long, {N.LIFT} double",
    )  # fmt: skip
    assertDataFrameEqual(got, expected)
    # beta = 0, gamma = 1 is P(b|a) / p(b): the lift itself
    lifted = bought_together(counted, Shape(0.0, 1.0, 0.0), [0.0], k=10)
    assert lifted.filter(F.abs(F.col(N.SCORE) - F.col(N.LIFT)) > 1e-12).count() == 0
    joint = bought_together(counted, Shape(0.0, 0.0, 0.0, joint=True), [0.0], k=10)
    assert joint.filter(F.abs(F.col(N.SCORE) - F.col(N.BASKETS) / n) > 1e-12).count() == 0
    top1 = bought_together(counted, Shape(2.0, 0.0, 0.0), [0.0], k=1)
    assert sorted((r[0], r[1]) for r in top1.select(N.ITEM_ID, N.OTHER_ITEM_ID).collect()) == [
        ("a", "b"), ("b", "a"), ("c", "a"), ("d", "a"),
    ]  # fmt: skip


def test_half_life_weights_baskets_by_age(spark):
    # x y bought 10 days before the end, x z 30 days before; half-life 10 days
    rows = [("o1", "x", T0), ("o1", "y", T0), ("o2", "x", T0 - dt.timedelta(days=20)),
            ("o2", "z", T0 - dt.timedelta(days=20))]  # fmt: skip
    lines = spark.createDataFrame(
        rows, f"{N.ORDER_ID} string, {N.ITEM_ID} string, {BASKET_TS} timestamp"
    )
    end = (T0 + dt.timedelta(days=10)).date()
    counted = counted_pairs(lines, end, [10.0], pool=None)
    got = {
        r[N.OTHER_ITEM_ID]: r[N.SCORE]
        for r in bought_together(counted, Shape(0.0, 0.0, 10.0), [10.0], k=5)
        .filter(F.col(N.ITEM_ID) == "x")
        .collect()
    }
    w1, w2 = 0.5**1, 0.5**3  # weights of o1 and o2
    assert got == pytest.approx({"y": w1 / (w1 + w2), "z": w2 / (w1 + w2)})


def test_shape_grid_default_shape_and_config_validation():
    grid = shape_grid([0.0, 10.0], [0.0], [0.0, 120.0])
    assert [s.label for s in grid] == [
        "beta=0,gamma=0,half_life=0", "beta=10,gamma=0,half_life=0",
        "beta=0,gamma=0,half_life=120", "beta=10,gamma=0,half_life=120",
        "joint,half_life=0", "joint,half_life=120",
    ]  # fmt: skip
    assert default_shape([0.0, 3.0, 10.0, 30.0], [0.25, 0.0], [120.0, 0.0]) == Shape(10.0, 0.0, 0.0)
    with pytest.raises(ConfigError):
        BasketConfig(top_k=50, candidate_pool=10)
    with pytest.raises(ConfigError):
        BasketConfig(shrinkages=[])
    with pytest.raises(ConfigError):
        BasketConfig(days=0)


# ---------------------------------------------------------------- hide-one completion


def test_hide_one_ranks_and_metrics_by_hand(spark):
    pop = spark.createDataFrame(
        [("x1", 10), ("x2", 8), ("x3", 6), ("x4", 4), ("x5", 2), ("x6", 1)],
        f"{N.ITEM_ID} string, _pop long",
    )  # popularity ranks g: x1 0, x2 1, ..., x6 5
    queries = spark.createDataFrame(
        [("o1", "x4"), ("o2", "x5"), ("o3", "x1")], f"{N.ORDER_ID} string, _hidden string"
    )
    context = spark.createDataFrame(
        [("o1", "x1"), ("o2", "x2"), ("o2", "x3"), ("o3", "x6")],
        f"{N.ORDER_ID} string, {N.ITEM_ID} string",
    )
    # method m: o1 x3 ties with the hidden x4 and is more popular (ahead), x5 scores more;
    # o2 hidden x5 unreached: both reached items are ahead, then the unreached items more
    # popular than x5 that are not in the basket: none; o3 hidden x1 unreached: after x2
    # only. Method n reaches x5 in o1 only: x4 comes after x5, then x2 and x3 (x1 is in
    # the basket)
    scores = spark.createDataFrame(
        [
            ("o1", "x3", 0.5, None),
            ("o1", "x4", 0.5, None),
            ("o1", "x5", 0.9, 0.4),
            ("o2", "x1", 0.2, None),
            ("o2", "x4", 0.1, None),
            ("o3", "x2", 0.3, None),
        ],
        f"{N.ORDER_ID} string, {N.OTHER_ITEM_ID} string, m double, n double",
    )
    g = popularity_ranks(pop, context)
    ranks = hide_one_ranks(queries, context, scores, g, ["m", "n", "popularity"])
    expected = spark.createDataFrame(
        [
            ("m", "o1", 2), ("m", "o2", 2), ("m", "o3", 1),
            ("n", "o1", 3), ("n", "o2", 2), ("n", "o3", 0),
            # popularity: o1 x2 x3 ahead of x4 (x1 in the basket); o2 x1 x4 ahead of x5; o3 first
            ("popularity", "o1", 2), ("popularity", "o2", 2), ("popularity", "o3", 0),
        ],
        f"{METHOD} string, {N.ORDER_ID} string, {N.RANK} long",
    )  # fmt: skip
    assertDataFrameEqual(ranks, expected)
    at2 = rank_metrics(ranks, 2)
    assert at2["m"][N.HIT_RATE] == pytest.approx(1 / 3)
    assert at2["m"][N.MRR] == pytest.approx((1 / 2) / 3)
    assert at2["popularity"][N.MRR] == pytest.approx(1 / 3)
    at3 = rank_metrics(ranks, 3)
    assert at3["m"][N.HIT_RATE] == pytest.approx(1.0)
    assert at3["m"][N.MRR] == pytest.approx((1 / 3 + 1 / 3 + 1 / 2) / 3)
    assert at3["m"][N.QUERIES] == 3


def test_hide_one_hides_one_item_of_each_multi_item_basket(spark):
    lines = lines_of(spark)
    queries, context = hide_one(lines, seed=3, max_baskets=None)
    q = {r[0]: r[1] for r in queries.collect()}
    assert set(q) == {"B1", "B2", "B3", "B4", "B5", "B6"}  # B7 has one item
    ctx = {}
    for r in context.collect():
        ctx.setdefault(r[0], set()).add(r[1])
    for o, items in BASKETS.items():
        if o in q:
            assert q[o] in items and ctx[o] == set(items) - {q[o]}
    sampled, _ = hide_one(lines, seed=3, max_baskets=4)
    assert sampled.count() == 4


def test_list_and_rule_candidates(spark):
    context = spark.createDataFrame(
        [("o1", "a"), ("o1", "b")], f"{N.ORDER_ID} string, {N.ITEM_ID} string"
    )
    lists = spark.createDataFrame(
        [("a", "c", 0.2, 0.5), ("b", "c", 0.7, None), ("a", "b", 0.9, 0.9),
         ("b", "d", 0.1, None)],
        f"{N.ITEM_ID} string, {N.OTHER_ITEM_ID} string, m double, n double",
    )  # fmt: skip
    expected = spark.createDataFrame(
        [("o1", "c", 0.7, 0.5), ("o1", "d", 0.1, None)],  # b is in the basket
        f"{N.ORDER_ID} string, {N.OTHER_ITEM_ID} string, m double, n double",
    )
    assertDataFrameEqual(list_scores(context, lists, ["m", "n"]), expected)
    rules = spark.createDataFrame(
        [(["a"], "c", 0.6), (["a", "b"], "d", 0.5), (["a", "e"], "f", 0.9), (["a"], "b", 0.8),
         (["b"], "c", 0.3)],
        f"{N.ANTECEDENT} array<string>, {N.CONSEQUENT} string, {N.CONFIDENCE} double",
    )  # fmt: skip
    expected_rules = spark.createDataFrame(
        [("o1", "c", 0.6), ("o1", "d", 0.5)],
        f"{N.ORDER_ID} string, {N.OTHER_ITEM_ID} string, r double",
    )
    assertDataFrameEqual(rule_scores(context, rules, "r"), expected_rules)


def test_wide_lists_keep_each_methods_top_k(spark):
    counted = counted_pairs(lines_of(spark), AS_OF, [0.0], pool=None)
    methods = {"p": shape_score(Shape(0.0, 0.0, 0.0), [0.0]), "r": 1.0 / F.col("_nb0")}
    got = wide_lists(counted, methods, k=1)
    # p = P(b|a): a -> b (4/5), b -> a, c -> a (3/4, tied with b: same baskets, smaller id),
    # d -> a (1/2, tied with b); r = 1 / n(b) prefers the rarest other: a -> d, b -> d,
    # c -> a (1/5, tied with b), d -> a (tied with b)
    expected = spark.createDataFrame(
        [("a", "b", 4 / 5, None), ("a", "d", None, 1 / 2), ("b", "a", 4 / 5, None),
         ("b", "d", None, 1 / 2), ("c", "a", 3 / 4, 1 / 5), ("d", "a", 1 / 2, 1 / 5)],
        f"{N.ITEM_ID} string, {N.OTHER_ITEM_ID} string, p double, r double",
    )  # fmt: skip
    assertDataFrameEqual(got, expected)


# ---------------------------------------------------------------- open carts


def test_open_carts_and_their_completions(spark):
    t = dt.datetime(2024, 2, 28, 12)
    m = dt.timedelta(minutes=1)
    events = spark.createDataFrame(
        [
            (t, "u1", "s1", "cart", "i1"),
            (t + m, "u1", "s1", "Cart", "i2"),  # open: never bought
            (t, "u1", "s2", "cart", "i1"),
            (t + m, "u1", "s2", "purchase", "i1"),  # bought after the cart: closed
            (t, "u2", "s3", "purchase", "i3"),
            (t + m, "u2", "s3", "cart", "i4"),  # carted after the purchase: open (i4)
            (t - dt.timedelta(days=30), "u2", "s4", "cart", "i1"),  # too old
            (dt.datetime(2024, 3, 1, 1), "u3", "s5", "cart", "i1"),  # on as_of: not read
            (t, "u3", None, "cart", "i1"),  # no session
            (t, "u1", "s1", "view", "i9"),
        ],
        f"{N.EVENT_TS} timestamp, {N.USER_ID} string, {N.SESSION_ID} string, "
        f"{N.EVENT_TYPE} string, {N.ITEM_ID} string",
    )
    carts = open_carts(events, AS_OF, days=7)
    expected = spark.createDataFrame(
        [("u1", "s1", "i1"), ("u1", "s1", "i2"), ("u2", "s3", "i4")],
        f"{N.USER_ID} string, {N.SESSION_ID} string, {N.ITEM_ID} string",
    )
    assertDataFrameEqual(carts, expected)
    lists = spark.createDataFrame(
        [
            ("i1", "i2", 0.9, 9),  # in the cart: not suggested
            ("i1", "i5", 0.4, 3),
            ("i2", "i5", 0.6, 2),  # i5's best score comes from i2
            ("i2", "i6", 0.3, 2),
            ("i1", "i7", 0.3, 5),  # same score as i6, more baskets: ahead
        ],
        f"{N.ITEM_ID} string, {N.OTHER_ITEM_ID} string, {N.SCORE} double, {N.BASKETS} long",
    )
    titles = spark.createDataFrame([("i2", "Mug")], f"{N.ITEM_ID} string, {N.TITLE} string")
    got = cart_completions(carts, lists, titles, n=2)
    expected = spark.createDataFrame(
        [
            ("u1", "s1", 1, "i5", 0.6, "often bought with Mug"),
            ("u1", "s1", 2, "i7", 0.3, "often bought with i1"),
        ],
        f"{N.USER_ID} string, {N.SESSION_ID} string, {N.RANK} int, {N.ITEM_ID} string, "
        f"{N.SCORE} double, {N.REASON} string",
    )
    assertDataFrameEqual(got, expected)


def test_recommend_bought_together_neighbours_by_hand(spark):
    """The recommender's bought-together source: the basket job's score over the same
    baskets, indexed by the recommender's catalogue (d is not in it and drops out)."""
    from lakecart.recommend.models import basket_neighbours

    rows = [(o, i, T0, False) for o, items in BASKETS.items() for i in items]
    rows += [("R1", "a", T0, True), ("R1", "b", T0, True)]  # a return: not a basket
    rows += [
        ("L1", "a", dt.datetime(2024, 3, 2), False),
        ("L1", "c", dt.datetime(2024, 3, 2), False),
    ]
    orders = spark.createDataFrame(
        rows,
        f"{N.ORDER_ID} string, {N.ITEM_ID} string, {N.ORDER_TS} timestamp, {N.IS_RETURN} boolean",
    )  # L1 is after the cut: never read
    items = spark.createDataFrame([("a", 0), ("b", 1), ("c", 2)], f"{N.ITEM_ID} string, _i int")
    cfg = BasketConfig(shrinkages=[2.0], popularity_exponents=[0.0], half_lives=[0.0], days=None)
    nb = basket_neighbours(orders, None, items, AS_OF, cfg, k=5, n_items=3)
    n, count = 7, {"a": 5, "b": 5, "c": 4}
    co = {("a", "b"): 4, ("a", "c"): 3, ("b", "c"): 3}
    idx = {"a": 0, "b": 1, "c": 2}
    for (x, y), c in co.items():
        for s, d in ((x, y), (y, x)):  # (co + 2 p(d)) / (n(s) + 2)
            want = (c + 2 * count[d] / n) / (count[s] + 2)
            got = nb.lookup(np.array([idx[s]]), np.array([idx[d]]))[0]
            assert got == pytest.approx(want, rel=1e-6), (s, d)
    assert nb.idx.shape == (3, 5) and ((nb.idx >= 0).sum(axis=1) == 2).all()
