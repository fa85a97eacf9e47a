"""Offline evaluation of recommendations, computed in Spark.

Every metric is an aggregation over distributed frames; only the final handful of numbers
reach the driver. The definitions follow Microsoft Recommenders
(``recommenders.evaluation.python_evaluation`` for ranking, ``SparkDiversityEvaluation`` /
the python diversity functions for beyond-accuracy metrics), so figures are comparable with
the numbers Recommenders publishes for MovieLens (SPEC section 5).

Ranking metrics (:func:`ranking_metrics`), for a user ``u`` with top-k list ``L_u`` (ranks
``1..k`` by position) and relevant set ``T_u``; ``hits_u = |L_u ∩ T_u|``:

* evaluated users ``U``: users present in both ``truth`` and ``recs``
  (Recommenders' ``merge_ranking_true_pred``: ``common_users``); every metric is a mean
  over ``U``, users without a hit counting 0;
* ``precision = mean_u hits_u / k`` (k even when the user has fewer than k recs, as in
  Recommenders and Spark's ``precisionAt``);
* ``recall = mean_u hits_u / |T_u|``;
* ``ndcg`` with binary relevance: ``DCG_u = Σ_{hits at position p} 1/log(1+p)``,
  ``IDCG_u = Σ_{i=1..min(|T_u|,k)} 1/log(1+i)`` (the log base cancels);
* ``map`` is Recommenders' ``map``:
  ``AP_u = (Σ_{j-th hit, at position p_j} j / p_j) / |T_u|``, normalised by all relevant
  items. Before Recommenders PR #2004 (2023) this function was its ``map_at_k``, and it is
  what the "MAP" column of Recommenders' published MovieLens table was computed with, so
  it is the SPEC's "MAP as defined by the Microsoft Recommenders python_evaluation
  module" and the figure comparable with the published numbers. Recommenders now reports
  ``map_at_k`` instead (issue #2309, 2026: normalised by ``min(|T_u|, k)``, Spark's
  ``meanAveragePrecisionAt``); it is returned too, as ``map_at_k``;
* ``hit_rate = share of U with at least one hit`` (not a Recommenders function).

Position, not the stored rank value, decides the order: each user's rows are ordered by
``rank`` then ``item_id`` (ties broken by item id, gaps closed) and numbered ``1, 2, ...``
exactly as Recommenders re-numbers its top-k with ``cumcount() + 1``; an item listed twice
for a user keeps its best rank. Duplicate truth rows are ignored.

One deliberate difference: Recommenders' ``ndcg_at_k`` merges the hits with the *whole*
truth frame, so users who appear only in the truth get NDCG 0 and enter its mean while
precision, recall and MAP exclude them. Here NDCG is averaged over the same users ``U`` as
every other metric (as Recommenders' Spark evaluator does). The two agree whenever every
truth user has recommendations, as in the MovieLens protocol.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

_POS = "_pos"
_LIST = "_list"
_REL = "_rel"
_SIM = "_sim"
_MODEL = "_model"
_KEY_SEP = "\u0001"


def model_user_key(model: Column, user: Column) -> Column:
    """One key per (model, user), so several models' lists are evaluated in one job as if
    their users were distinct (:func:`model_of_key` gives the model back)."""
    return F.concat_ws(_KEY_SEP, model, user)


def model_of_key(key: Column) -> Column:
    """The model of a :func:`model_user_key`."""
    return F.substring_index(key, _KEY_SEP, 1)


def _as_of_ts(day: dt.date) -> Column:
    """Midnight UTC at the start of ``day`` (the session time zone is UTC)."""
    return F.lit(day).cast("timestamp")


def top_k_lists(recs: DataFrame, k: int) -> DataFrame:
    """Each user's first ``k`` recommended items as one ordered array.

    Args:
        recs: ``user_id``, ``item_id``, ``rank`` (1 = best; gaps and ties allowed).
        k: List length.

    Returns:
        ``user_id``, ``_list`` (array of ``item_id``, best first): an item listed twice keeps
        its best rank; rows are ordered by rank, then item id.
    """
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    best = (
        recs.filter(F.col(N.USER_ID).isNotNull() & F.col(N.ITEM_ID).isNotNull())
        .groupBy(N.USER_ID, N.ITEM_ID)
        .agg(F.min(N.RANK).alias(N.RANK))
    )
    ordered = F.array_sort(F.collect_list(F.struct(F.col(N.RANK), F.col(N.ITEM_ID))))
    return best.groupBy(N.USER_ID).agg(
        F.transform(F.slice(ordered, 1, k), lambda x: x[N.ITEM_ID]).alias(_LIST)
    )


def top_k(recs: DataFrame, k: int) -> DataFrame:
    """Each user's first ``k`` recommendations, one row each, numbered by position.

    Args:
        recs: ``user_id``, ``item_id``, ``rank`` (1 = best; gaps and ties allowed).
        k: List length.

    Returns:
        ``user_id``, ``item_id``, ``_pos`` (1..k), ordered as in :func:`top_k_lists`.
    """
    return (
        top_k_lists(recs, k)
        .select(N.USER_ID, F.posexplode(_LIST).alias(_POS, N.ITEM_ID))
        .withColumn(_POS, F.col(_POS) + 1)
    )


def _sum(values: Column) -> Column:
    """Sum of a numeric array column (0.0 when empty)."""
    return F.aggregate(values, F.lit(0.0), lambda acc, x: acc + x)


def per_user_ranking(recs: DataFrame, truth: DataFrame, k: int) -> DataFrame:
    """Per-user ranking metrics for the users present in both ``recs`` and ``truth``.

    Each user's top-k list and relevant set meet as two arrays in one row (an inner join on
    the user, which is also Recommenders' choice of common users), so the whole
    computation is two aggregations and one join, with no per-item join.

    Args:
        recs: ``user_id``, ``item_id``, ``rank``.
        truth: ``user_id``, ``item_id`` of the relevant items (duplicates ignored).
        k: List length.

    Returns:
        ``user_id``, ``hits``, ``relevant``, ``precision``, ``recall``, ``ndcg``, ``ap``
        (Recommenders' ``map`` term), ``ap_at_k`` (its ``map_at_k`` term), ``hit``.
    """
    lists = top_k_lists(recs, k)
    rel = (
        truth.filter(F.col(N.USER_ID).isNotNull() & F.col(N.ITEM_ID).isNotNull())
        .groupBy(N.USER_ID)
        .agg(F.collect_set(N.ITEM_ID).alias(_REL))
    )
    both = lists.join(rel, N.USER_ID)
    # 1-based positions of the hits, in list order
    positions = F.transform(F.col(_LIST), lambda x, i: i + 1)
    hit_pos = F.filter(
        F.arrays_zip(F.col(_LIST).alias("i"), positions.alias("p")),
        lambda z: F.array_contains(F.col(_REL), z["i"]),
    )
    per = both.select(N.USER_ID, F.transform(hit_pos, lambda z: z["p"]).alias("_hp"), _REL)
    hp = F.col("_hp")
    hits = F.size(hp).cast("double")
    n_rel = F.size(_REL).cast("double")
    dcg = _sum(F.transform(hp, lambda p: 1.0 / F.log(1.0 + p.cast("double"))))
    # Σ_j j / p_j: precision at each hit's position (j-th hit at position p_j)
    rr = _sum(F.transform(hp, lambda p, j: (j + 1).cast("double") / p.cast("double")))
    ideal = _sum(
        F.transform(
            F.sequence(F.lit(1), F.least(F.size(_REL), F.lit(k))),
            lambda i: 1.0 / F.log(1.0 + i.cast("double")),
        )
    )
    return per.select(
        N.USER_ID,
        F.size(hp).cast("long").alias("hits"),
        F.size(_REL).cast("long").alias("relevant"),
        (hits / F.lit(float(k))).alias("precision"),
        (hits / n_rel).alias("recall"),
        (dcg / ideal).alias("ndcg"),
        (rr / n_rel).alias("ap"),
        (rr / F.least(n_rel, F.lit(float(k)))).alias("ap_at_k"),
        (hits > 0).cast("double").alias("hit"),
    )


def ranking_metrics(recs: DataFrame, truth: DataFrame, k: int) -> dict[str, float]:
    """Precision, recall, NDCG, MAP and hit rate at ``k``, as Microsoft Recommenders defines them.

    See the module docstring for the exact definitions and the evaluated users.

    Args:
        recs: ``user_id``, ``item_id``, ``rank`` (int, 1 = best); rows beyond position ``k``
            of a user are ignored.
        truth: ``user_id``, ``item_id`` of the relevant items; duplicates are ignored.
        k: List length.

    Returns:
        ``precision``, ``recall``, ``ndcg``, ``map`` (Recommenders' ``map``), ``map_at_k``
        (Recommenders' current ``map_at_k``), ``hit_rate`` and ``users`` (the number of
        evaluated users, as a float). All 0.0 when no user is in both frames.
    """
    per_user = per_user_ranking(recs, truth, k)
    row = per_user.agg(
        F.count(F.lit(1)).alias("users"),
        F.avg("precision").alias("precision"),
        F.avg("recall").alias("recall"),
        F.avg("ndcg").alias("ndcg"),
        F.avg("ap").alias("map"),
        F.avg("ap_at_k").alias("map_at_k"),
        F.avg("hit").alias("hit_rate"),
    ).first()
    keys = ("precision", "recall", "ndcg", "map", "map_at_k", "hit_rate")
    out = {key: float(row[key] or 0.0) for key in keys}
    out["users"] = float(row["users"] or 0)
    return out


def item_pair_similarity(pairs: DataFrame, train: DataFrame) -> DataFrame:
    """Co-occurrence cosine similarity of the given item pairs, from the training interactions.

    ``sim(i, j) = |users(i) ∩ users(j)| / sqrt(|users(i)| * |users(j)|)`` (Recommenders'
    ``item_cooccurrence_count`` measure; Zhang et al., Auralist, WSDM 2012). Only the given
    pairs are scored: each pair is looked up through the less popular of its two items, so
    the work is bounded by ``Σ_pairs min(|users(i)|, |users(j)|)``, never by all item pairs.

    Args:
        pairs: ``i1``, ``i2`` (distinct pairs, ``i1 < i2``).
        train: ``user_id``, ``item_id`` (duplicates ignored).

    Returns:
        ``i1``, ``i2``, ``_sim`` for the pairs that co-occur at least once (others are 0).
    """
    inter = train.select(N.USER_ID, N.ITEM_ID).distinct()
    counts = inter.groupBy(N.ITEM_ID).agg(F.count(F.lit(1)).alias("_n"))
    p = (
        pairs.join(counts.toDF("i1", "_n1"), "i1")
        .join(counts.toDF("i2", "_n2"), "i2")
        .withColumn("_a", F.when(F.col("_n1") <= F.col("_n2"), F.col("i1")).otherwise(F.col("i2")))
        .withColumn("_b", F.when(F.col("_n1") <= F.col("_n2"), F.col("i2")).otherwise(F.col("i1")))
    )
    via_a = p.join(inter.toDF(N.USER_ID, "_a"), "_a")
    both = via_a.join(inter.toDF(N.USER_ID, "_b"), [N.USER_ID, "_b"])
    return (
        both.groupBy("i1", "i2", "_n1", "_n2")
        .agg(F.count(F.lit(1)).alias("_co"))
        .select("i1", "i2", (F.col("_co") / F.sqrt(F.col("_n1") * F.col("_n2"))).alias(_SIM))
    )


def beyond_accuracy_metrics(
    recs: DataFrame, train: DataFrame, k: int, catalogue_size: int | None = None
) -> dict[str, float]:
    """Catalogue coverage, intra-list diversity and novelty of the top-``k`` lists.

    Definitions follow Recommenders' ``SparkDiversityEvaluation`` (and the python
    ``catalog_coverage``, ``diversity``, ``novelty``), with training interactions
    de-duplicated per (user, item) as Recommenders assumes:

    * ``coverage = |distinct recommended items| / catalogue_size`` (default: distinct items
      in ``train``);
    * ``diversity = mean_u (1 - mean_{i<j in L_u} sim(i, j))`` with the co-occurrence cosine
      of :func:`item_pair_similarity` (0 for pairs that never co-occur); users with fewer
      than two recommended items have no pair and are left out of the mean;
    * ``novelty = Σ_{rec rows whose item is in train} -log2(n_i / N) / |rec rows|`` with
      ``n_i`` the users who interacted with item ``i`` and ``N`` the number of (user, item)
      interactions in ``train`` — Recommenders' ``historical_item_novelty`` (Castells et
      al. 2011, item choice model). Recommended items absent from ``train`` add 0 to the
      sum but count in the denominator, as in Recommenders.

    Args:
        recs: ``user_id``, ``item_id``, ``rank``.
        train: ``user_id``, ``item_id`` interactions the model learned from.
        k: List length.
        catalogue_size: Number of items that could have been recommended.

    Returns:
        ``coverage``, ``diversity``, ``novelty`` (0.0 when undefined).
    """
    one = recs.select(F.lit("_").alias(_MODEL), N.USER_ID, N.ITEM_ID, N.RANK)
    return beyond_accuracy_by_model(one, ["_"], train, k, catalogue_size, _MODEL)["_"]


def beyond_accuracy_by_model(
    recs: DataFrame,
    names: list[str],
    train: DataFrame,
    k: int,
    catalogue_size: int | None = None,
    model_col: str = "model",
) -> dict[str, dict[str, float]]:
    """:func:`beyond_accuracy_metrics` of every model in ``recs`` at once.

    Three Spark actions whatever the number of models (the training counts, then the
    coverage and novelty sums and the diversity mean grouped by model); the pair
    similarities are computed once for the pairs of all models' lists.

    Args:
        recs: ``model_col``, ``user_id``, ``item_id``, ``rank``.
        names: The models to report (a model without rows gets 0.0 everywhere).
        train: ``user_id``, ``item_id`` interactions the models learned from.
        k: List length.
        catalogue_size: Number of items that could have been recommended.
        model_col: The column naming the model of each row.

    Returns:
        ``{model: {coverage, diversity, novelty}}``.
    """
    keyed = recs.filter(F.col(N.USER_ID).isNotNull()).select(
        model_user_key(F.col(model_col), F.col(N.USER_ID)).alias(N.USER_ID), N.ITEM_ID, N.RANK
    )
    top = (
        top_k(keyed, k)
        .select(N.USER_ID, N.ITEM_ID)
        .withColumn(_MODEL, model_of_key(F.col(N.USER_ID)))
    )
    inter = train.select(N.USER_ID, N.ITEM_ID).dropna().distinct()
    item_n = inter.groupBy(N.ITEM_ID).agg(F.count(F.lit(1)).alias("_n"))
    totals = inter.agg(
        F.count(F.lit(1)).alias("n"), F.countDistinct(N.ITEM_ID).alias("items")
    ).first()
    n_records, n_items = int(totals["n"]), int(totals["items"])
    catalogue = catalogue_size if catalogue_size is not None else n_items

    # one pass over the lists: rows, distinct items and the novelty sum per model (items
    # unseen in train join to NULL, adding nothing to the sum but counting as rows)
    nov = -F.log2(F.col("_n") / F.lit(float(max(n_records, 1))))
    rec_stats = (
        top.join(F.broadcast(item_n), N.ITEM_ID, "left")
        .groupBy(_MODEL)
        .agg(
            F.count(F.lit(1)).alias("rows"),
            F.countDistinct(N.ITEM_ID).alias("items"),
            F.sum(nov).alias("nov"),
        )
        .collect()  # one row per model
    )
    user_pairs = (
        top.toDF(N.USER_ID, "i1", _MODEL)
        .join(top.toDF(N.USER_ID, "i2", _MODEL).drop(_MODEL), N.USER_ID)
        .filter(F.col("i1") < F.col("i2"))
    )
    sim = item_pair_similarity(user_pairs.select("i1", "i2").distinct(), inter)
    div = (
        user_pairs.join(sim, ["i1", "i2"], "left")
        .fillna(0.0, subset=[_SIM])
        .groupBy(_MODEL, N.USER_ID)
        .agg((1.0 - F.avg(_SIM)).alias("_div"))
        .groupBy(_MODEL)
        .agg(F.avg("_div").alias("d"))
        .collect()  # one row per model
    )
    out = {x: {"coverage": 0.0, "diversity": 0.0, "novelty": 0.0} for x in names}
    for row in rec_stats:
        rows, rec_items = int(row["rows"]), int(row["items"])
        if row[_MODEL] in out and rows:
            out[row[_MODEL]]["coverage"] = rec_items / catalogue if catalogue else 0.0
            out[row[_MODEL]]["novelty"] = float(row["nov"] or 0.0) / rows
    for row in div:
        if row[_MODEL] in out and row["d"] is not None:
            out[row[_MODEL]]["diversity"] = float(row["d"])
    return out


def stratified_split(
    ratings: DataFrame,
    ratio: float = 0.75,
    seed: int = 42,
    user_col: str = "user_id",
    ts_col: str | None = None,
    item_col: str = "item_id",
) -> tuple[DataFrame, DataFrame]:
    """Per-user stratified split, like Recommenders' ``python_stratified_split``.

    Each user's rows are put in an order — a seeded pseudo-random one,
    ``xxhash64(seed, user, item)`` (ties, i.e. duplicate (user, item) rows, broken by a hash
    of the whole row) — or, with ``ts_col``, oldest first; the first
    ``round(ratio * n_user)`` rows go to train (round half to even, like the numpy rounding
    Recommenders applies), the rest to test. The result depends only on the rows and the
    seed, never on partitioning. Rows whose user is NULL are dropped.

    Args:
        ratings: Interactions, any columns.
        ratio: Share of each user's rows for train, in (0, 1).
        seed: Seed of the random order.
        user_col: Column to stratify by.
        ts_col: When given, split chronologically per user (oldest rows to train) instead.
        item_col: Item column, part of the random order's hash.

    Returns:
        ``(train, test)`` with the columns of ``ratings``.
    """
    if not 0.0 < ratio < 1.0:
        raise ValueError(f"ratio must be in (0, 1), got {ratio}")
    cols = ratings.columns
    key = F.xxhash64(F.lit(seed), F.col(user_col), F.col(item_col))
    tie = F.xxhash64(F.lit(seed), *[F.col(c) for c in cols])
    order = [key, tie] if ts_col is None else [F.col(ts_col).asc_nulls_last(), key, tie]
    w = Window.partitionBy(user_col).orderBy(*order)
    ranked = (
        ratings.filter(F.col(user_col).isNotNull())
        .withColumn("_rn", F.row_number().over(w))
        .withColumn("_cnt", F.count(F.lit(1)).over(Window.partitionBy(user_col)))
        .withColumn("_is_train", F.col("_rn") <= F.bround(F.col("_cnt") * F.lit(ratio), 0))
    )
    train = ranked.filter(F.col("_is_train")).select(*cols)
    test = ranked.filter(~F.col("_is_train")).select(*cols)
    return train, test


def new_item_truth(
    orders: DataFrame,
    as_of: dt.date,
    end: dt.date | None = None,
    known_users: DataFrame | None = None,
) -> DataFrame:
    """Chronological ground truth: what returning customers bought new from ``as_of`` on.

    A returning customer is one with at least one purchase line (not a return) strictly
    before ``as_of`` (or, with ``known_users``, any of those users: e.g. users who only
    browsed before). Their relevant items are those bought (purchase lines) in
    ``[as_of, end)`` that they never bought before ``as_of``. Guests (NULL customer) and
    return/cancellation lines are ignored on both sides.

    Args:
        orders: silver.orders rows (``customer_id``, ``item_id``, ``order_ts``, ``is_return``).
        as_of: Decision date (midnight UTC).
        end: Exclusive end date; None for the end of the data.
        known_users: ``user_id`` of further users who count as returning (None: buyers only).

    Returns:
        Distinct ``user_id``, ``item_id``.
    """
    bought = orders.filter(F.col(N.CUSTOMER_ID).isNotNull() & ~F.col(N.IS_RETURN)).select(
        F.col(N.CUSTOMER_ID).alias(N.USER_ID), N.ITEM_ID, N.ORDER_TS
    )
    start = _as_of_ts(as_of)
    past = bought.filter(F.col(N.ORDER_TS) < start).select(N.USER_ID, N.ITEM_ID).distinct()
    future = bought.filter(F.col(N.ORDER_TS) >= start)
    if end is not None:
        future = future.filter(F.col(N.ORDER_TS) < _as_of_ts(end))
    future = future.select(N.USER_ID, N.ITEM_ID).distinct()
    returning = past.select(N.USER_ID)
    if known_users is not None:
        returning = returning.unionByName(known_users.select(N.USER_ID))
    returning = returning.distinct()
    return future.join(returning, N.USER_ID, "left_semi").join(
        past, [N.USER_ID, N.ITEM_ID], "left_anti"
    )
