"""The numpy side of the recommenders, without Spark: the block scorer against brute force,
sparse neighbour scoring, EASE against its per-column least-squares definition."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lakecart.recommend import core
from lakecart.recommend.core import ALS, CONTENT, ITEM_CF, POPULAR, ItemModel, Neighbours


def _block(users, factors, hist):
    return pd.DataFrame(
        {
            core.U_ID: users,
            core.U_FACTORS: factors,
            core.U_ITEMS: [np.array([i for i, _ in h], dtype=np.int64) for h in hist],
            core.U_WEIGHTS: [np.array([w for _, w in h], dtype=np.float64) for h in hist],
        }
    )


def _brute_top(scores: np.ndarray, banned: set[int], n: int) -> list[int]:
    """Independent top-n: a full sort of (-score, index) over the allowed items."""
    cands = [(-float(s), j) for j, s in enumerate(scores) if j not in banned]
    return [j for _, j in sorted(cands)[:n]]


def test_als_top_n_equals_brute_force_with_seen_and_inactive_items_removed():
    rng = np.random.default_rng(7)
    n_users, n_items, rank, n = 37, 53, 6, 8
    uf = rng.normal(size=(n_users, rank)).astype(np.float32)
    vf = rng.normal(size=(n_items, rank)).astype(np.float32)
    allowed = rng.random(n_items) > 0.2
    hist = [
        [(int(j), 1.0) for j in rng.choice(n_items, size=rng.integers(0, 10), replace=False)]
        for _ in range(n_users)
    ]
    model = ItemModel(
        np.array([f"i{j}" for j in range(n_items)], dtype=object),
        allowed,
        np.zeros(n_items, np.float32),
        item_factors=vf,
    )
    block = _block([f"u{u}" for u in range(n_users)], list(uf), hist)
    old = core.BLOCK_CELLS
    core.BLOCK_CELLS = n_items * 5  # several sub-blocks
    try:
        got = core.score_block(model, block, {"als": {ALS: 1.0}}, n)
    finally:
        core.BLOCK_CELLS = old
    for u in range(n_users):
        scores = [
            float(np.dot(uf[u].astype(np.float64), vf[j].astype(np.float64)))
            for j in range(n_items)
        ]
        banned = {j for j, _ in hist[u]} | {j for j in range(n_items) if not allowed[j]}
        want = [f"i{j}" for j in _brute_top(np.array(scores), banned, n)]
        rows = got[got[core.U_ID] == f"u{u}"].sort_values(core.OUT_RANK)
        assert rows[core.OUT_ITEM].tolist() == want
        assert rows[core.OUT_RANK].tolist() == list(range(1, len(want) + 1))
        assert set(rows[core.OUT_SOURCE]) <= {ALS}


def test_neighbour_scores_equal_dense_product():
    rng = np.random.default_rng(3)
    n_items, k = 20, 4
    dense = rng.random((n_items, n_items))
    np.fill_diagonal(dense, 0)
    nb = Neighbours.from_dense(dense, k)
    # the truncated matrix, built independently
    trunc = np.zeros_like(dense)
    for i in range(n_items):
        for j in sorted(range(n_items), key=lambda j: -dense[i, j] if j != i else np.inf)[:k]:
            trunc[i, j] = dense[i, j]
    x = (rng.random((5, n_items)) < 0.3) * rng.random((5, n_items))
    rows, items = np.nonzero(x)
    got = nb.scores(rows, items, x[rows, items], 5)
    np.testing.assert_allclose(got, x @ trunc, rtol=1e-5, atol=1e-6)
    src, dst = np.nonzero(trunc)
    np.testing.assert_allclose(nb.lookup(src, dst), trunc[src, dst], rtol=1e-6)
    assert nb.lookup(np.array([0]), np.array([0]))[0] == 0.0


def test_ease_matches_per_column_least_squares():
    rng = np.random.default_rng(5)
    x = (rng.random((40, 9)) < 0.35).astype(np.float64)
    g = x.T @ x
    lam = 3.0
    b = core.ease(g, lam)
    for j in range(9):
        others = [i for i in range(9) if i != j]
        a = g[np.ix_(others, others)] + lam * np.eye(8)
        want = np.linalg.solve(a, g[others, j])
        np.testing.assert_allclose(b[others, j], want, rtol=1e-4, atol=1e-5)
        assert b[j, j] == 0


def test_blend_normalises_per_user_and_names_the_dominant_source():
    items = np.array(["a", "b", "c", "d"], dtype=object)
    pop = np.array([10.0, 1.0, 0.0, 5.0], dtype=np.float32)
    # item-CF: a -> b strongly, a -> c weakly
    cf = np.zeros((4, 4), np.float32)
    cf[0, 1], cf[0, 2] = 0.9, 0.3
    model = ItemModel(items, np.ones(4, bool), pop, cf_dense=cf)
    block = _block(["u"], [None], [[(0, 1.0)]])
    out = core.score_block(
        model, block, {"h": {ITEM_CF: 0.7, POPULAR: 0.3}, "p": {POPULAR: 1.0}}, 3, explain=True
    )
    h = out[out[core.OUT_MODEL] == "h"].sort_values(core.OUT_RANK)
    # normalised: cf b=1, c=1/3, d=0 ; pop (max over unseen = 5) b=.2, c=0, d=1
    # blend: b = .7 + .06 = .76, c = .7/3 = .2333, d = .3
    assert h[core.OUT_ITEM].tolist() == ["b", "d", "c"]
    np.testing.assert_allclose(h[core.OUT_SCORE].to_numpy(), [0.76, 0.3, 0.7 / 3], rtol=1e-5)
    assert h[core.OUT_SOURCE].tolist() == [ITEM_CF, POPULAR, ITEM_CF]
    assert h[core.OUT_WHY].tolist() == ["a", None, "a"]
    p = out[out[core.OUT_MODEL] == "p"].sort_values(core.OUT_RANK)
    assert p[core.OUT_ITEM].tolist() == ["d", "b", "c"]  # "a" was seen


def test_content_and_als_explanations_pick_the_closest_history_item():
    items = np.array(["x", "y", "z", "w"], dtype=object)
    vf = np.array([[1, 0], [0, 1], [0.9, 0.1], [0.1, 0.9]], dtype=np.float32)
    content = Neighbours.from_dense(
        np.array([[0, 0, 0.8, 0.1], [0, 0, 0.1, 0.7], [0.8, 0.1, 0, 0], [0.1, 0.7, 0, 0]]), 2
    )
    model = ItemModel(
        items, np.ones(4, bool), np.zeros(4, np.float32), item_factors=vf, content=content
    )
    block = _block(["u"], [np.array([1.0, 1.0], np.float32)], [[(0, 1.0), (1, 1.0)]])
    out = core.score_block(model, block, {"a": {ALS: 1.0}, "c": {CONTENT: 1.0}}, 2, explain=True)
    why = {(r.model, r.item_id): r.why_item_id for r in out.itertuples()}
    assert why[("a", "z")] == "x" and why[("a", "w")] == "y"
    assert why[("c", "z")] == "x" and why[("c", "w")] == "y"


def test_exclude_seen_off_keeps_history_items():
    items = np.array(["a", "b"], dtype=object)
    model = ItemModel(items, np.ones(2, bool), np.array([1.0, 2.0], np.float32))
    block = _block(["u"], [None], [[(1, 1.0)]])
    kept = core.score_block(model, block, {"p": {POPULAR: 1.0}}, 2, exclude_seen=False)
    assert kept[core.OUT_ITEM].tolist() == ["b", "a"]
    dropped = core.score_block(model, block, {"p": {POPULAR: 1.0}}, 2)
    assert dropped[core.OUT_ITEM].tolist() == ["a"]


@pytest.mark.parametrize("n", [1, 3, 10])
def test_top_n_orders_ties_by_index(n):
    total = np.array([[0.5, 0.9, 0.5, -np.inf, 0.9]])
    idx, vals = core.top_n(total, n)
    want = [1, 4, 0, 2, -1][: min(n, 5)]
    assert idx[0].tolist() == want


def test_bought_together_source_scores_and_explains_by_the_basket_partner():
    items = np.array(["a", "b", "c", "d"], dtype=object)
    # same-order scores: a -> b 0.6, a -> d 0.2, c -> d 0.8 (nothing else)
    bt = np.zeros((4, 4))
    bt[0, 1], bt[0, 3], bt[2, 3] = 0.6, 0.2, 0.8
    model = ItemModel(
        items, np.ones(4, bool), np.zeros(4, np.float32), basket=Neighbours.from_dense(bt, 2)
    )
    assert model.has(core.BASKET) and not model.has(ITEM_CF)
    block = _block(["u"], [None], [[(0, 1.0), (2, 1.0)]])  # bought a and c
    out = core.score_block(model, block, {"t": {core.BASKET: 1.0}}, 3, explain=True)
    out = out.sort_values(core.OUT_RANK)
    # raw: b = 0.6 (from a), d = 0.2 + 0.8 = 1.0 (mostly from c); normalised by the best (d)
    assert out[core.OUT_ITEM].tolist() == ["d", "b"]
    np.testing.assert_allclose(out[core.OUT_SCORE].to_numpy(), [1.0, 0.6], rtol=1e-6)
    assert out[core.OUT_SOURCE].tolist() == [core.BASKET, core.BASKET]
    assert out[core.OUT_WHY].tolist() == ["c", "a"]
