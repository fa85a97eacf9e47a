"""The recommend job on a hand-built shop whose right answers are known: two taste groups
(group A buys the A items, group B the B items), a discontinued best-seller, a customer
without history; then a re-run for the same as_of and a re-score with --model-version."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.recommend.specs import POPULAR_ITEMS, RECOMMENDATIONS, SIMILAR_ITEMS
from lakecart.schemas import MODEL_METRICS
from tests.helpers import run_cli

AS_OF = dt.date(2024, 4, 1)
LINEAGE = ("test", "hand-built", 1, "run", dt.datetime(2024, 4, 1))
GROUPS = {"A": [f"a{i}" for i in range(6)], "B": [f"b{i}" for i in range(6)]}
COUNTRY = {"A": "UK", "B": "FR"}
SMALL = [
    "--set", "spark.shuffle_partitions=2",
    "--set", "recommend.als_ranks=[4]",
    "--set", "recommend.als_reg_params=[0.1]",
    "--set", "recommend.als_alphas=[10.0]",
    "--set", "recommend.als_max_iters=[5]",
    "--set", "recommend.cf_similarities=[cosine,ease]",
    "--set", "recommend.ease_factors=[1.0]",
    "--set", "recommend.blend_step=0.5",
    "--set", "recommend.holdout_days=20",
    "--set", "recommend.validation_days=20",
    "--set", "recommend.inactive_item_days=60",
    "--set", "recommend.top_n=5",
    "--set", "recommend.min_users=2",
    "--set", "recommend.min_items=2",
    # the taste groups are also the countries and the categories, so popularity by segment
    # is an oracle of the group here; the rule itself is tested in test_recommend_context
    "--set", "recommend.popular_segments=[]",
]  # fmt: skip


def _shop():
    """Orders, products, customers: each user of a group buys 4 of its 6 items (a different
    rotation per user), one item per day across Jan..Mar 2024; 'old' sold only in 2023."""
    orders, customers = [], []
    start = dt.datetime(2024, 1, 5, 10)
    n = 0
    for g, items in GROUPS.items():
        for u in range(10):
            uid = f"{g}{u}"
            customers.append((uid, dt.datetime(2023, 1, 1), COUNTRY[g], 1980, "f", None))
            for k in range(4):
                item = items[(u + k) % 6]
                ts = start + dt.timedelta(days=(u * 7 + k * 19) % 85)
                n += 1
                orders.append(
                    (f"o{n}", uid, ts, item, 1.0, 2.0, 2.0, False, COUNTRY[g], "web", "completed")
                )
            if u < 8:
                n += 1
                ts = dt.datetime(2023, 6, 1 + u)
                orders.append(
                    (f"o{n}", uid, ts, "old", 1.0, 2.0, 2.0, False, COUNTRY[g], "web", "completed")
                )
    customers.append(("C0", dt.datetime(2024, 2, 1), "FR", 1990, "m", None))  # no history
    products = [
        (i, f"Title {i}", f"{g.lower()}kind{k // 2} gift", f"cat{g}", "brand", 2.0, None)
        for g, items in GROUPS.items()
        for k, i in enumerate(items)
    ] + [("old", "Title old", "discontinued thing", "catA", "brand", 2.0, None)]
    return orders, products, customers


def write_shop(spark, lh) -> list[tuple]:
    """:func:`_shop`'s orders, products and customers appended to ``lh``'s silver tables;
    returns the order rows."""
    from lakecart.schemas import SILVER

    orders, products, customers = _shop()
    for entity, rows in ((N.ORDERS, orders), (N.PRODUCTS, products), (N.CUSTOMERS, customers)):
        df = spark.createDataFrame([(*r, *LINEAGE) for r in rows], SILVER[entity].schema)
        lh.append(df, SILVER[entity])
    return orders


@pytest.fixture(scope="module")
def shop(recommend_shop):
    """The shop after one run (built once per session in conftest: test_faults reads it too)."""
    return recommend_shop


def test_stage_lines_and_metrics_beside_popularity(shop):
    lh, _, _, err = shop
    assert "recommend: tune als" in err and "recommend: publish" in err, err
    m = lh.read(MODEL_METRICS).filter(F.col(N.SPLIT) == N.SPLIT_HOLDOUT).toPandas()
    assert {"als", "item_cf", "content", "popular", "hybrid"} <= set(m[N.MODEL])
    assert (m[N.BASELINE] == "popular").all()
    ndcg = m[m[N.METRIC] == "ndcg"].set_index(N.MODEL)
    assert (ndcg[N.BASELINE_VALUE] == ndcg.loc["popular", N.VALUE]).all()
    # the rule's decision: the hybrid beat popularity on validation and was published
    v = lh.read(MODEL_METRICS).filter(F.col(N.SPLIT) == N.SPLIT_VALIDATION).toPandas()
    pub = v[v[N.METRIC] == "published"]
    assert pub[N.MODEL].tolist() == ["hybrid"] and pub[N.VALUE].tolist() == [1.0]
    assert pub[N.BASELINE].tolist() == ["popular"]
    assert {"hybrid", "popular", "als", "item_cf"} <= set(v[v[N.METRIC] == "ndcg"][N.MODEL])


def test_taste_groups_seen_and_inactive_items(shop):
    _, recs, orders, _ = shop
    bought = {}
    for o in orders:
        bought.setdefault(o[1], set()).add(o[3])
    for g, items in GROUPS.items():
        for u in range(10):
            uid = f"{g}{u}"
            mine = recs[recs[N.USER_ID] == uid].sort_values(N.RANK)
            got = mine[N.ITEM_ID].tolist()
            assert not set(got) & bought[uid], uid  # already-bought items excluded
            assert "old" not in got  # not sold for more than inactive_item_days
            assert mine[N.RANK].tolist() == list(range(1, len(got) + 1))
            # what item-to-item CF recommends comes from the user's own group
            cf = mine[mine[N.SOURCE] == "item_cf"][N.ITEM_ID]
            assert set(cf) <= set(items), (uid, got)


def test_cold_user_gets_country_popular_list(shop):
    lh, recs, _, _ = shop
    cold = recs[recs[N.USER_ID] == "C0"].sort_values(N.RANK)
    pop = (
        lh.read(POPULAR_ITEMS)
        .filter(F.col(N.SEGMENT) == "country:FR")
        .orderBy(N.RANK)
        .limit(5)
        .toPandas()
    )
    assert cold[N.ITEM_ID].tolist() == pop[N.ITEM_ID].tolist()
    assert set(pop[N.ITEM_ID]) <= set(GROUPS["B"])
    assert (cold[N.SOURCE] == "popular").all()
    assert (cold[N.REASON] == "popular in FR").all()


def test_reasons_name_a_title_from_the_users_history(shop):
    _, recs, orders, _ = shop
    bought = {}
    for o in orders:
        bought.setdefault(o[1], set()).add(o[3])
    prefix = {
        "item_cf": "bought together with Title ",
        "als": "matches your taste for Title ",
        "content": "similar to Title ",
    }
    personal = recs[recs[N.SOURCE].isin(list(prefix))]
    assert len(personal)
    for r in personal.itertuples():
        if r.source == "item_cf":
            assert r.item_id[0] == r.user_id[0].lower()  # CF stays in the user's group
        if not r.reason.startswith(prefix[r.source]):
            continue  # no history item explains it (generic reason)
        title_item = r.reason.removeprefix(prefix[r.source])
        assert title_item in bought[r.user_id], r


def test_similar_items_stay_in_group(shop):
    lh, _, _, _ = shop
    sim = lh.read(SIMILAR_ITEMS).filter(F.col(N.RANK) == 1).toPandas()
    assert {"als", "item_cf", "content"} <= set(sim[N.METHOD])
    grouped = sim[sim[N.METHOD].isin(["item_cf", "content"]) & (sim[N.ITEM_ID] != "old")]
    assert len(grouped)
    for r in grouped.itertuples():  # 'old' was bought by both groups: no group to stay in
        assert r.item_id[0] == r.similar_item_id[0], r


def test_rerun_replaces_and_model_version_rescores(shop):
    lh, recs, _, _ = shop
    root = lh.config.root
    version = recs[N.MODEL_VERSION].iloc[0]
    code, err = run_cli(
        "recommend",
        ["--lakehouse", root, "--as-of", AS_OF.isoformat(), *SMALL, "--model-version", version],
    )
    assert code == 0, err
    again = lh.read(RECOMMENDATIONS)
    assert again.count() == len(recs)
    assert again.groupBy(N.USER_ID, N.RANK).count().filter("count > 1").count() == 0
    got = again.toPandas()
    assert set(got[N.MODEL_VERSION]) == {version}
    key = [N.USER_ID, N.RANK, N.ITEM_ID]
    a = got[key].sort_values(key).reset_index(drop=True)
    b = recs[key].sort_values(key).reset_index(drop=True)
    assert a.equals(b)


def test_spark_block_scorer_equals_numpy_brute_force(spark):
    """score() through mapInPandas on random factors: the same lists as a full numpy sort."""
    import numpy as np

    from lakecart.recommend import core
    from lakecart.recommend.score import score

    rng = np.random.default_rng(11)
    n_users, n_items, rank, n = 25, 40, 5, 6
    uf = rng.normal(size=(n_users, rank)).astype(np.float32)
    vf = rng.normal(size=(n_items, rank)).astype(np.float32)
    hist = [
        sorted(rng.choice(n_items, size=int(rng.integers(1, 8)), replace=False).tolist())
        for _ in range(n_users)
    ]
    blocks = spark.createDataFrame(
        [(f"u{u}", uf[u].tolist(), hist[u], [1.0] * len(hist[u])) for u in range(n_users)],
        "user_id string, factors array<float>, items array<int>, weights array<double>",
    ).repartition(3)
    ids = np.array([f"i{j}" for j in range(n_items)], dtype=object)
    model = core.ItemModel(
        ids, np.ones(n_items, bool), np.zeros(n_items, np.float32), item_factors=vf
    )
    got = score(blocks, model, {"als": {"als": 1.0}}, n).toPandas()
    for u in range(n_users):
        s = uf[u].astype(np.float64) @ vf.T.astype(np.float64)
        order = [j for j in np.lexsort((np.arange(n_items), -s)) if j not in hist[u]][:n]
        mine = got[got[N.USER_ID] == f"u{u}"].sort_values(N.RANK)
        assert mine[N.ITEM_ID].tolist() == [f"i{j}" for j in order]


def test_bought_together_rows_publish_as_item_cf_with_an_often_bought_with_reason(spark):
    from pyspark.testing import assertDataFrameEqual

    from lakecart.recommend import core, outputs

    scored = spark.createDataFrame(
        [
            ("u1", 1, "b", 0.9, core.BASKET, "a"),
            ("u1", 2, "c", 0.5, core.BASKET, None),
            ("u1", 3, "d", 0.4, core.ITEM_CF, "a"),
        ],
        f"{N.USER_ID} string, {N.RANK} int, {N.ITEM_ID} string, {N.SCORE} double, "
        f"{N.SOURCE} string, {core.OUT_WHY} string",
    )
    products = spark.createDataFrame([("a", "Red mug")], f"{N.ITEM_ID} string, {N.TITLE} string")
    got = outputs.personalised(scored, products, purchases=True)
    expected = spark.createDataFrame(
        [
            ("u1", 1, "b", 0.9, "item_cf", "often bought with Red mug"),
            ("u1", 2, "c", 0.5, "item_cf", "often bought with items in your history"),
            ("u1", 3, "d", 0.4, "item_cf", "bought together with Red mug"),
        ],
        f"{N.USER_ID} string, {N.RANK} int, {N.ITEM_ID} string, {N.SCORE} double, "
        f"{N.SOURCE} string, {N.REASON} string",
    )
    assertDataFrameEqual(got, expected)


def test_saved_model_keeps_its_bought_together_neighbours(spark, tmp_root):
    """store.save / store.load round trip of an item model with every item-side part,
    the bought-together neighbours included (a kept source must re-score the same)."""
    import numpy as np
    from pyspark.ml.recommendation import ALS

    from lakecart.recommend import core, store

    ratings = spark.createDataFrame(
        [(0, 0, 1.0), (0, 1, 1.0), (1, 1, 1.0), (1, 2, 1.0)], "_u int, _i int, _c float"
    )
    als = ALS(rank=2, maxIter=1, implicitPrefs=True, userCol="_u", itemCol="_i", ratingCol="_c")
    als_model = als.setSeed(1).fit(ratings)
    bt = np.array([[0, 0.5, 0.1], [0.4, 0, 0], [0, 0.9, 0]])
    model = core.ItemModel(
        np.array(["a", "b", "c"], dtype=object),
        np.array([True, True, False]),
        np.array([3.0, 2.0, 1.0], np.float32),
        item_factors=np.arange(6, dtype=np.float32).reshape(3, 2),
        cf=core.Neighbours.from_dense(bt.T, 2),
        basket=core.Neighbours.from_dense(bt, 2),
    )
    users = spark.createDataFrame([("u0", 0), ("u1", 1)], f"{N.USER_ID} string, _u int")
    path = str(tmp_root / "saved_recommender")
    store.save(spark, path, model, als_model, users, {"blend": {core.BASKET: 1.0}})
    got, _, _, choice = store.load(spark, path)
    assert choice == {"blend": {core.BASKET: 1.0}}
    assert got.item_ids.tolist() == ["a", "b", "c"] and got.allowed.tolist() == [True, True, False]
    assert got.content is None and got.cf_dense is None
    for name in ("cf", "basket"):
        np.testing.assert_array_equal(getattr(got, name).idx, getattr(model, name).idx)
        np.testing.assert_allclose(getattr(got, name).val, getattr(model, name).val)
    # the hand-set scores survive: a -> b 0.5, c -> b 0.9, b -> a 0.4
    src, dst = np.array([0, 2, 1]), np.array([1, 1, 0])
    np.testing.assert_allclose(got.basket.lookup(src, dst), [0.5, 0.9, 0.4], rtol=1e-6)
