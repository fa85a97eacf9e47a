"""Hide-one basket completion, measured in Spark.

Each evaluated basket (2+ items) hides one item (chosen by a seeded hash); the others are
its context. A method scores every candidate item by the max over the context items of
its score (bought-together lists, co-occurrence counts) or by the highest confidence of a
rule whose whole antecedent is in the context; items of the context are not candidates.
Candidates rank by score, then popularity (order lines in the training period), then id;
an item no method reaches scores 0, so it ranks by popularity after every reached item —
popularity alone is the baseline (no method reaches anything).

The hidden item's rank is computed without materialising any ranking: with ``g`` the
global popularity rank (0 = most order lines) and ``s_h`` the hidden item's score,

* ``s_h > 0``: rank = reached candidates with a higher score, or the same score and a
  smaller ``g``;
* ``s_h = 0``: rank = every reached candidate, plus the items more popular than the
  hidden one (``g_h`` of them) that are neither reached nor in the context.

``hit@k`` is the share of baskets whose hidden item ranks in the first ``k`` (0-based rank
``< k``), ``MRR@k`` the mean of ``1 / (rank + 1)`` over those (0 beyond ``k``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.basket.pairs import METHOD

HIDDEN = "_hidden"
G = "_g"


def hide_one(lines: DataFrame, seed: int, max_baskets: int | None) -> tuple[DataFrame, DataFrame]:
    """Queries and contexts of the baskets with at least two items.

    Args:
        lines: ``order_id, item_id`` (distinct) of the evaluated period.
        seed: Seed of the basket sample and of the hidden item.
        max_baskets: Keep this many baskets at most (those with the smallest seeded hash).

    Returns:
        ``(queries, context)``: ``order_id, _hidden`` and the other items ``order_id, item_id``.
    """
    keys = lines.select(N.ORDER_ID, N.ITEM_ID).distinct()
    n = F.count(F.lit(1)).over(Window.partitionBy(N.ORDER_ID))
    keys = keys.withColumn("_n", n).filter(F.col("_n") >= 2).drop("_n")
    if max_baskets is not None:
        chosen = (
            keys.select(N.ORDER_ID)
            .distinct()
            .orderBy(F.xxhash64(F.lit(seed), F.col(N.ORDER_ID)), F.col(N.ORDER_ID))
            .limit(max_baskets)
        )
        keys = keys.join(chosen, N.ORDER_ID, "left_semi")
    w = Window.partitionBy(N.ORDER_ID).orderBy(
        F.xxhash64(F.lit(seed + 1), F.col(N.ORDER_ID), F.col(N.ITEM_ID)), F.col(N.ITEM_ID)
    )
    ranked = keys.withColumn("_r", F.row_number().over(w))
    queries = ranked.filter(F.col("_r") == 1).select(N.ORDER_ID, F.col(N.ITEM_ID).alias(HIDDEN))
    context = ranked.filter(F.col("_r") > 1).select(N.ORDER_ID, N.ITEM_ID)
    return queries, context


def _not_in_context(scores: DataFrame, context: DataFrame) -> DataFrame:
    ctx = context.select(N.ORDER_ID, F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID))
    return scores.join(ctx, [N.ORDER_ID, N.OTHER_ITEM_ID], "left_anti")


def list_scores(context: DataFrame, lists: DataFrame, columns: Sequence[str]) -> DataFrame:
    """Candidates of list methods: per method, the max score over the context items.

    Args:
        context: ``order_id, item_id``.
        lists: ``item_id, other_item_id`` and one score column per method (NULL where the
            pair is not in that method's list): every method in one join.
        columns: The score columns.

    Returns:
        ``order_id, other_item_id, *columns`` for the candidates outside the context (NULL:
        the method does not reach the candidate).
    """
    s = (
        context.join(lists.select(N.ITEM_ID, N.OTHER_ITEM_ID, *columns), N.ITEM_ID)
        .groupBy(N.ORDER_ID, N.OTHER_ITEM_ID)
        .agg(*[F.max(c).alias(c) for c in columns])
    )
    return _not_in_context(s, context)


def rule_scores(context: DataFrame, rules: DataFrame, column: str) -> DataFrame:
    """Candidates of a rule set: the highest confidence among the rules whose whole
    antecedent is in the context.

    Args:
        context: ``order_id, item_id``.
        rules: ``antecedent, consequent, confidence``.
        column: Name of the score column.

    Returns:
        ``order_id, other_item_id, <column>``.
    """
    r = rules.select(
        F.monotonically_increasing_id().alias("_rule"),
        F.size(N.ANTECEDENT).alias("_size"),
        N.ANTECEDENT,
        N.CONSEQUENT,
        N.CONFIDENCE,
    )
    parts = r.select("_rule", "_size", F.explode(N.ANTECEDENT).alias(N.ITEM_ID))
    matched = (
        context.join(parts, N.ITEM_ID)
        .groupBy(N.ORDER_ID, "_rule", "_size")
        .agg(F.count(F.lit(1)).alias("_hits"))
        .filter(F.col("_hits") == F.col("_size"))
        .join(r.select("_rule", N.CONSEQUENT, N.CONFIDENCE), "_rule")
        .groupBy(N.ORDER_ID, F.col(N.CONSEQUENT).alias(N.OTHER_ITEM_ID))
        .agg(F.max(N.CONFIDENCE).alias(column))
    )
    return _not_in_context(matched, context)


def popularity_ranks(popularity: DataFrame, *item_frames: DataFrame) -> DataFrame:
    """``item_id, _g``: 0-based rank by order lines (descending), then id, over every item
    of ``popularity`` and of the ``item_id`` columns of ``item_frames`` (unseen: 0 lines)."""
    universe = popularity.select(N.ITEM_ID, "_pop")
    for f in item_frames:
        universe = universe.unionByName(f.select(N.ITEM_ID, F.lit(0).cast("long").alias("_pop")))
    universe = universe.groupBy(N.ITEM_ID).agg(F.max("_pop").alias("_pop"))
    w = Window.orderBy(F.col("_pop").desc(), F.col(N.ITEM_ID))  # one partition: the catalogue
    return universe.select(N.ITEM_ID, (F.row_number().over(w) - 1).alias(G))


def hide_one_ranks(
    queries: DataFrame,
    context: DataFrame,
    scores: DataFrame,
    ranks: DataFrame,
    methods: Sequence[str],
) -> DataFrame:
    """The 0-based rank of every query's hidden item under every method.

    Args:
        queries: ``order_id, _hidden``.
        context: ``order_id, item_id``.
        scores: ``order_id, other_item_id`` and one column per method that has scores
            (positive; NULL = not reached; context items excluded).
        ranks: ``item_id, _g`` over every item involved (:func:`popularity_ranks`).
        methods: Every method to rank for; one without a column in ``scores`` reaches
            nothing and ranks by popularity.

    Returns:
        ``_method, order_id, rank``.
    """
    cols = [m for m in methods if m in scores.columns]
    q = queries.join(ranks.select(F.col(N.ITEM_ID).alias(HIDDEN), F.col(G).alias("_gh")), HIDDEN)
    ctx_before = (
        context.join(ranks, N.ITEM_ID)
        .join(q, N.ORDER_ID)
        .groupBy(N.ORDER_ID)
        .agg(F.sum((F.col(G) < F.col("_gh")).cast("long")).alias("_ctx_before"))
    )
    q = q.join(ctx_before, N.ORDER_ID, "left").fillna(0, ["_ctx_before"])
    # one row per basket: small beside the candidates, so broadcast to them
    s = scores.join(ranks.select(F.col(N.ITEM_ID).alias(N.OTHER_ITEM_ID), G), N.OTHER_ITEM_ID)
    s = s.join(F.broadcast(q.select(N.ORDER_ID, HIDDEN, "_gh")), N.ORDER_ID)
    basket = Window.partitionBy(N.ORDER_ID)
    is_h = F.col(N.OTHER_ITEM_ID) == F.col(HIDDEN)
    s = s.withColumns(
        {f"_sh{i}": F.max(F.when(is_h, F.col(c))).over(basket) for i, c in enumerate(cols)}
    )
    other = ~is_h
    aggs = []
    for i, c in enumerate(cols):
        sc, sh = F.col(c), F.coalesce(F.col(f"_sh{i}"), F.lit(0.0))
        better = (sc > sh) | ((sc == sh) & (F.col(G) < F.col("_gh")))
        aggs += [
            F.max(f"_sh{i}").alias(f"_sh{i}"),
            F.sum((other & sc.isNotNull() & better).cast("long")).alias(f"_better{i}"),
            F.sum((other & sc.isNotNull() & (F.col(G) < F.col("_gh"))).cast("long")).alias(
                f"_before{i}"
            ),
        ]
    counts = s.groupBy(N.ORDER_ID).agg(*aggs) if cols else None
    if counts is not None:
        q = q.join(counts, N.ORDER_ID, "left")
    per_method = []
    for m in methods:
        if m in cols:
            i = cols.index(m)
            better = F.coalesce(F.col(f"_better{i}"), F.lit(0))
            before = F.coalesce(F.col(f"_before{i}"), F.lit(0))
            reached = F.col(f"_sh{i}").isNotNull()
        else:
            better, before, reached = F.lit(0), F.lit(0), F.lit(False)
        unreached = F.col("_gh") - before - F.col("_ctx_before")
        rank = better + F.when(reached, F.lit(0)).otherwise(unreached)
        per_method.append(F.struct(F.lit(m).alias(METHOD), rank.cast("long").alias(N.RANK)))
    return q.select(N.ORDER_ID, F.explode(F.array(*per_method)).alias("_m")).select(
        F.col(f"_m.{METHOD}").alias(METHOD), N.ORDER_ID, F.col(f"_m.{N.RANK}").alias(N.RANK)
    )


def rank_metrics(ranks: DataFrame, k: int) -> dict[str, dict[str, float]]:
    """``{method: {hit_rate, mrr, queries}}`` at cut-off ``k`` (one small aggregation)."""
    hit = F.col(N.RANK) < k
    rows = (
        ranks.groupBy(METHOD)
        .agg(
            F.avg(hit.cast("double")).alias(N.HIT_RATE),
            F.avg(F.when(hit, 1.0 / (F.col(N.RANK) + 1)).otherwise(0.0)).alias(N.MRR),
            F.count(F.lit(1)).alias(N.QUERIES),
        )
        .collect()
    )
    return {
        r[METHOD]: {N.HIT_RATE: r[N.HIT_RATE], N.MRR: r[N.MRR], N.QUERIES: r[N.QUERIES]}
        for r in rows
    }
