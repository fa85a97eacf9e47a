"""Recommendation evaluation: metrics against an independent plain-Python implementation
of the Microsoft Recommenders formulas, hand-computed figures, the split and the
chronological truth."""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict

import numpy as np
import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from lakecart.recommend.evaluate import (
    beyond_accuracy_by_model,
    beyond_accuracy_metrics,
    new_item_truth,
    ranking_metrics,
    stratified_split,
)

# ---------------------------------------------------------------- independent reference


def ref_ranking(recs: list[tuple], truth: list[tuple], k: int) -> dict[str, float]:
    """Recommenders' precision_at_k / recall_at_k / ndcg_at_k (binary) / map / map_at_k,
    straight from the formulas: per user, over the users in both inputs."""
    rel: dict[str, set] = defaultdict(set)
    for u, i in truth:
        rel[u].add(i)
    best: dict[str, dict] = defaultdict(dict)
    for u, i, r in recs:
        best[u][i] = min(r, best[u].get(i, r))
    users = sorted(set(rel) & set(best))
    if not users:
        return dict.fromkeys(
            ("precision", "recall", "ndcg", "map", "map_at_k", "hit_rate"), 0.0
        ) | {"users": 0.0}
    p = r = nd = ap = apk = hr = 0.0
    for u in users:
        ranked = [i for i, _ in sorted(best[u].items(), key=lambda t: (t[1], t[0]))][:k]
        hit_pos = [pos for pos, i in enumerate(ranked, start=1) if i in rel[u]]
        n_rel = len(rel[u])
        p += len(hit_pos) / k
        r += len(hit_pos) / n_rel
        dcg = sum(1 / math.log(1 + pos) for pos in hit_pos)
        idcg = sum(1 / math.log(1 + i) for i in range(1, min(n_rel, k) + 1))
        nd += dcg / idcg
        rr = sum(j / pos for j, pos in enumerate(hit_pos, start=1))
        ap += rr / n_rel
        apk += rr / min(n_rel, k)
        hr += 1.0 if hit_pos else 0.0
    n = len(users)
    return {
        "precision": p / n,
        "recall": r / n,
        "ndcg": nd / n,
        "map": ap / n,
        "map_at_k": apk / n,
        "hit_rate": hr / n,
        "users": float(n),
    }


def ref_beyond(
    recs: list[tuple], train: list[tuple], k: int, catalogue: int | None = None
) -> dict[str, float]:
    """Recommenders' catalog_coverage, diversity (item co-occurrence cosine) and novelty."""
    train = sorted(set(train))
    items = sorted({i for _, i in train})
    users = sorted({u for u, _ in train})
    ix = {i: n for n, i in enumerate(items)}
    ux = {u: n for n, u in enumerate(users)}
    m = np.zeros((len(users), len(items)))
    for u, i in train:
        m[ux[u], ix[i]] = 1.0
    co = m.T @ m  # co-occurrence counts; diagonal = users per item
    n_i = np.diag(co)
    best: dict[str, dict] = defaultdict(dict)
    for u, i, r in recs:
        best[u][i] = min(r, best[u].get(i, r))
    lists = {
        u: [i for i, _ in sorted(d.items(), key=lambda t: (t[1], t[0]))][:k]
        for u, d in best.items()
    }
    rec_items = {i for lst in lists.values() for i in lst}
    coverage = len(rec_items) / (catalogue if catalogue is not None else len(items))

    def sim(a: str, b: str) -> float:
        if a not in ix or b not in ix:
            return 0.0
        return co[ix[a], ix[b]] / math.sqrt(n_i[ix[a]] * n_i[ix[b]])

    divs = []
    for lst in lists.values():
        pairs = [(a, b) for x, a in enumerate(lst) for b in lst[x + 1 :]]
        if pairs:
            divs.append(1.0 - float(np.mean([sim(a, b) for a, b in pairs])))
    n_rows = sum(len(lst) for lst in lists.values())
    nov = sum(-math.log2(n_i[ix[i]] / len(train)) for lst in lists.values() for i in lst if i in ix)
    return {
        "coverage": coverage,
        "diversity": float(np.mean(divs)) if divs else 0.0,
        "novelty": nov / n_rows,
    }


def _recs_df(spark, rows):
    return spark.createDataFrame(rows, "user_id string, item_id string, rank int")


def _truth_df(spark, rows):
    return spark.createDataFrame(rows, "user_id string, item_id string")


def _close(got: dict[str, float], want: dict[str, float]) -> None:
    for key, value in want.items():
        assert got[key] == pytest.approx(value, abs=1e-12), key


# ---------------------------------------------------------------- ranking metrics

# A hand-built case, k = 3.
# user A: recs a,b,c,d (ranks 1..4; d beyond k), truth {b, d, x}
#   top-3 = a,b,c; one hit (b) at position 2
#   precision = 1/3; recall = 1/3
#   DCG = 1/ln 3 = 0.910239; IDCG = 1/ln 2 + 1/ln 3 + 1/ln 4 = 1.442695+0.910239+0.721348
#       = 3.074282; NDCG = 0.296082
#   AP (map) = (1/2) / 3 = 1/6; map_at_k divides by min(3, 3) = 3 too: 1/6
# user B: recs x,y (fewer than k), truth {y, y} (a duplicate)
#   hit y at position 2: precision = 1/3 (divided by k, not by 2); recall = 1/1
#   NDCG = (1/ln 3) / (1/ln 2) = ln 2 / ln 3 = 0.630930; AP = (1/2) / 1 = 1/2
# user C: only in truth, user D: only in recs -> not evaluated (Recommenders' common users)
# means over A, B: precision 1/3, recall 2/3, NDCG (0.296082 + 0.630930)/2 = 0.463506,
#   MAP (1/6 + 1/2)/2 = 1/3, hit rate 1, users 2
HAND_RECS = [
    ("A", "a", 1),
    ("A", "b", 2),
    ("A", "c", 3),
    ("A", "d", 4),
    ("B", "x", 1),
    ("B", "y", 2),
    ("D", "a", 1),
]
HAND_TRUTH = [("A", "b"), ("A", "d"), ("A", "x"), ("B", "y"), ("B", "y"), ("C", "a")]


def test_ranking_metrics_hand_computed(spark):
    got = ranking_metrics(_recs_df(spark, HAND_RECS), _truth_df(spark, HAND_TRUTH), 3)
    assert got["users"] == 2.0
    assert got["precision"] == pytest.approx(1 / 3)
    assert got["recall"] == pytest.approx(2 / 3)
    assert got["ndcg"] == pytest.approx(0.463506, abs=1e-6)
    assert got["map"] == pytest.approx(1 / 3)
    assert got["map_at_k"] == pytest.approx(1 / 3)
    assert got["hit_rate"] == 1.0
    _close(got, ref_ranking(HAND_RECS, HAND_TRUTH, 3))


def test_map_differs_from_map_at_k_when_many_relevant(spark):
    # 4 relevant items, k = 2, both recs hit: rr = 1/1 + 2/2 = 2
    # map = 2/4 = 0.5 (Recommenders' map), map_at_k = 2/min(4, 2) = 1.0
    recs = [("u", "a", 1), ("u", "b", 2), ("u", "c", 3)]
    truth = [("u", "a"), ("u", "b"), ("u", "c"), ("u", "d")]
    got = ranking_metrics(_recs_df(spark, recs), _truth_df(spark, truth), 2)
    assert got["map"] == pytest.approx(0.5)
    assert got["map_at_k"] == pytest.approx(1.0)
    assert got["ndcg"] == pytest.approx(1.0)  # both positions hit; IDCG over min(4, 2)
    assert got["precision"] == pytest.approx(1.0)
    assert got["recall"] == pytest.approx(0.5)


def test_ranking_ties_gaps_and_duplicates(spark):
    # ranks with a tie (1, 1: ordered by item id), a gap (5) and an item listed twice
    # (its best rank counts): positions are p->1, q->2, r->3 (rank 5), s beyond k=3
    recs = [
        ("u", "q", 1),
        ("u", "p", 1),
        ("u", "r", 5),
        ("u", "p", 7),
        ("u", "s", 9),
    ]
    truth = [("u", "r"), ("u", "s")]
    got = ranking_metrics(_recs_df(spark, recs), _truth_df(spark, truth), 3)
    # one hit at position 3: NDCG = (1/ln 4) / (1/ln 2 + 1/ln 3); AP = (1/3) / 2
    assert got["ndcg"] == pytest.approx((1 / math.log(4)) / (1 / math.log(2) + 1 / math.log(3)))
    assert got["map"] == pytest.approx(1 / 6)
    _close(got, ref_ranking(recs, truth, 3))


def test_ranking_no_common_users(spark):
    got = ranking_metrics(_recs_df(spark, [("a", "x", 1)]), _truth_df(spark, [("b", "x")]), 10)
    assert got == {
        "precision": 0.0,
        "recall": 0.0,
        "ndcg": 0.0,
        "map": 0.0,
        "map_at_k": 0.0,
        "hit_rate": 0.0,
        "users": 0.0,
    }


def test_ranking_matches_reference_on_random_cases(spark):
    rng = np.random.default_rng(1)
    items = [f"i{j}" for j in range(25)]
    recs, truth = [], []
    for u in range(40):
        user = f"u{u}"
        if u % 7 != 0:  # some users only in truth
            n = int(rng.integers(1, 15))  # fewer or more than k
            chosen = rng.choice(items, size=n, replace=False)
            ranks = rng.integers(1, 12, size=n)  # ties and gaps
            recs += [(user, str(i), int(r)) for i, r in zip(chosen, ranks, strict=True)]
        if u % 5 != 0:  # some users only in recs
            n = int(rng.integers(1, 12))
            truth += [(user, str(i)) for i in rng.choice(items, size=n, replace=True)]  # dups
    for k in (3, 10):
        got = ranking_metrics(_recs_df(spark, recs), _truth_df(spark, truth), k)
        _close(got, ref_ranking(recs, truth, k))


# ---------------------------------------------------------------- beyond accuracy


def test_beyond_accuracy_hand_computed(spark):
    # train: u1 {a, b}, u2 {a, c}, u3 {b, c, d}, plus a duplicate row; N = 7 interactions
    train = [("u1", "a"), ("u1", "b"), ("u2", "a"), ("u2", "c"), ("u3", "b"), ("u3", "c")]
    train += [("u3", "d"), ("u3", "d")]
    # top-2 lists: u1 [c, d], u2 [b, d], u3 [a] (one item: no pair, left out of diversity)
    recs = [("u1", "c", 1), ("u1", "d", 2), ("u1", "a", 3), ("u2", "b", 1), ("u2", "d", 2)]
    recs += [("u3", "a", 1)]
    got = beyond_accuracy_metrics(
        _recs_df(spark, recs), _truth_df(spark, train), 2, catalogue_size=5
    )
    # coverage: {a, b, c, d} / 5 = 0.8
    # sim(c, d) = |{u3}| / sqrt(2 * 1) = 0.707107; sim(b, d) = 1 / sqrt(2) = 0.707107
    # diversity = mean(1 - 0.707107, 1 - 0.707107) = 0.292893
    # novelty: users per item a 2, b 2, c 2, d 1 of N = 7 interactions:
    #   rows c, d, b, d, a -> 3 * -log2(2/7) + 2 * -log2(1/7) = 3*1.807355 + 2*2.807355
    #   = 11.036775 over 5 rows = 2.207355
    assert got["coverage"] == pytest.approx(0.8)
    assert got["diversity"] == pytest.approx(1 - 1 / math.sqrt(2))
    assert got["novelty"] == pytest.approx(2.207355, abs=1e-6)
    _close(got, ref_beyond(recs, train, 2, catalogue=5))


def test_beyond_accuracy_matches_reference_on_random_case(spark):
    rng = np.random.default_rng(7)
    items = [f"i{j}" for j in range(30)]
    train, recs = [], []
    for u in range(30):
        user = f"u{u}"
        train += [(user, str(i)) for i in rng.choice(items[:25], size=int(rng.integers(2, 10)))]
        chosen = rng.choice(items, size=int(rng.integers(1, 12)), replace=False)  # some unseen
        recs += [(user, str(i), int(r)) for r, i in enumerate(chosen, start=1)]
    got = beyond_accuracy_metrics(_recs_df(spark, recs), _truth_df(spark, train), 8)
    _close(got, ref_beyond(recs, train, 8))


def test_beyond_accuracy_by_model_scores_each_model_as_alone(spark):
    # two models' lists (and a third model named but without rows) in one frame: each
    # model's metrics equal the python reference computed on its own lists
    rng = np.random.default_rng(11)
    items = [f"i{j}" for j in range(20)]
    train, by_model = [], {"a": [], "b": []}
    for u in range(25):
        user = f"u{u}"
        train += [(user, str(i)) for i in rng.choice(items[:16], size=int(rng.integers(2, 8)))]
        for m in by_model:
            chosen = rng.choice(items, size=int(rng.integers(1, 9)), replace=False)
            by_model[m] += [(user, str(i), int(r)) for r, i in enumerate(chosen, start=1)]
    rows = [(m, *r) for m, recs in by_model.items() for r in recs]
    df = spark.createDataFrame(rows, "model string, user_id string, item_id string, rank int")
    got = beyond_accuracy_by_model(df, ["a", "b", "c"], _truth_df(spark, train), 5, 20)
    for m, recs in by_model.items():
        _close(got[m], ref_beyond(recs, train, 5, catalogue=20))
    assert got["c"] == {"coverage": 0.0, "diversity": 0.0, "novelty": 0.0}


# ---------------------------------------------------------------- split


def _ratings(spark, n_users: int = 30):
    rows = []
    for u in range(n_users):
        for j in range(1 + (u * 7) % 23):  # 1..23 rows per user
            rows.append((f"u{u}", f"i{(u * 3 + j * 5) % 97}", float(j % 5 + 1), j * 1000 + u))
    return spark.createDataFrame(rows, "user_id string, item_id string, rating double, ts long")


def test_stratified_split_partition_ratio_and_determinism(spark):
    df = _ratings(spark)
    train, test = stratified_split(df, 0.75, seed=42)
    all_rows = df.collect()
    tr, te = train.collect(), test.collect()
    # every row in exactly one side
    assert sorted(tr + te) == sorted(all_rows)
    assert not set(tr) & set(te)
    # per user: round(0.75 n) rows in train, with Python's (half-to-even) rounding
    n = defaultdict(int)
    for r in all_rows:
        n[r.user_id] += 1
    n_tr = defaultdict(int)
    for r in tr:
        n_tr[r.user_id] += 1
    assert {u: n_tr[u] for u in n} == {u: round(0.75 * c) for u, c in n.items()}
    # the same split whatever the partitioning and row order
    shuffled = df.repartition(5).orderBy("rating", "ts")
    tr2, te2 = stratified_split(shuffled, 0.75, seed=42)
    assertDataFrameEqual(tr2, train)
    assertDataFrameEqual(te2, test)
    # another seed gives another split
    tr3, _ = stratified_split(df, 0.75, seed=43)
    assert sorted(tr3.collect()) != sorted(tr)


def test_chronological_split_puts_oldest_in_train(spark):
    df = _ratings(spark)
    train, test = stratified_split(df, 0.5, ts_col="ts")
    last_train, first_test = defaultdict(int), {}
    for r in train.collect():
        last_train[r.user_id] = max(last_train[r.user_id], r.ts)
    for r in test.collect():
        first_test[r.user_id] = min(first_test.get(r.user_id, r.ts), r.ts)
    assert first_test  # users with >= 2 rows have a test part
    assert all(last_train[u] < t for u, t in first_test.items() if u in last_train)
    assert train.count() + test.count() == df.count()


# ---------------------------------------------------------------- new_item_truth


def test_new_item_truth(spark):
    ts = dt.datetime
    o = "customer_id string, item_id string, order_ts timestamp, is_return boolean"
    rows = [
        # c1 returning: bought a before; after as_of buys a again (repeat), b (new),
        # b twice (one row), returns c
        ("c1", "a", ts(2011, 10, 1), False),
        ("c1", "a", ts(2011, 11, 2), False),
        ("c1", "b", ts(2011, 11, 3), False),
        ("c1", "b", ts(2011, 11, 4), False),
        ("c1", "c", ts(2011, 11, 5), True),
        # c2 returning; buys d exactly at as_of (counts: [as_of, end)) and e after end
        ("c2", "x", ts(2011, 10, 31, 23, 59), False),
        ("c2", "d", ts(2011, 11, 1, 0, 0), False),
        ("c2", "e", ts(2011, 12, 1), False),
        # c3 only returned before as_of: not a returning customer
        ("c3", "a", ts(2011, 10, 1), True),
        ("c3", "f", ts(2011, 11, 2), False),
        # c4 new customer after as_of: excluded
        ("c4", "g", ts(2011, 11, 2), False),
        # guests: excluded
        (None, "h", ts(2011, 10, 1), False),
        (None, "h", ts(2011, 11, 2), False),
        # c5 bought b before; its return before as_of does not make b new again
        ("c5", "b", ts(2011, 9, 1), False),
        ("c5", "b", ts(2011, 9, 2), True),
        ("c5", "b", ts(2011, 11, 9), False),
    ]
    orders = spark.createDataFrame(rows, o)
    got = new_item_truth(orders, dt.date(2011, 11, 1), dt.date(2011, 12, 1))
    want = [Row(user_id="c1", item_id="b"), Row(user_id="c2", item_id="d")]
    assertDataFrameEqual(got, spark.createDataFrame(want, "user_id string, item_id string"))
    open_end = new_item_truth(orders, dt.date(2011, 11, 1))
    want_open = [*want, Row(user_id="c2", item_id="e")]
    assertDataFrameEqual(
        open_end, spark.createDataFrame(want_open, "user_id string, item_id string")
    )
