"""``basket``: association rules (MLlib FP-growth), bought-together lists and open-cart
completions from the baskets before ``--as-of``.

A basket is one order's distinct non-return merchandise items (items whose
silver.products category is in ``basket.exclude_categories``, or whose id is in
``basket.exclude_items``, are left out) within ``basket.days`` before as_of. The job

1. validates: on the last ``basket.validation_days`` before as_of, every bought-together
   score shape of the grid (shrinkage x popularity exponent x half-life), the FP-growth
   rules, raw co-occurrence and popularity complete held-out baskets (hide one item, rank
   the rest; :mod:`lakecart.basket.completion`), fitted on the baskets before the window;
   the shape with the best hit rate is chosen;
2. refits on all baskets before as_of and publishes gold.bought_together (the chosen
   shape), gold.basket_rules (FP-growth) and, when silver.events holds open carts,
   gold.cart_completions;
3. writes hit rate and MRR of every method beside popularity to ops.model_metrics.

Skips (a log line) without orders or with fewer than ``basket.min_baskets`` baskets of
two or more items.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
from pathlib import PurePath
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.basket.baskets import BASKET_TS, basket_lines, capped_lines, line_popularity
from lakecart.basket.carts import cart_completions, item_titles, open_carts
from lakecart.basket.completion import (
    hide_one,
    hide_one_ranks,
    list_scores,
    popularity_ranks,
    rank_metrics,
    rule_scores,
)
from lakecart.basket.pairs import (
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
from lakecart.basket.specs import BASKET_RULES, BOUGHT_TOGETHER, CART_COMPLETIONS
from lakecart.config import BasketConfig, Config
from lakecart.gold import Metric, new_model_version, publish, with_gold_columns, write_metrics
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")

COOCCURRENCE_SHAPE = Shape(0.0, 0.0, 0.0, joint=True)  # ranks as raw co-occurrence counts


def _read(lh: Lakehouse, entity: str) -> DataFrame | None:
    spec = SILVER[entity]
    return lh.read(spec) if lh.exists(spec) else None


def mine_rules(lines: DataFrame, n_baskets: int, cfg: BasketConfig) -> tuple[DataFrame, int]:
    """FP-growth rules of the (capped) basket lines; (rules, the minimum support count)."""
    min_count = min_support_count(n_baskets, cfg.min_support, cfg.min_support_count)
    itemsets = frequent_itemsets(basket_arrays(lines), n_baskets, min_count)
    rules = rules_from_itemsets(itemsets, n_baskets, cfg.max_itemset_size, cfg.min_confidence)
    return rules, min_count


def validate(
    orders: DataFrame,
    train: DataFrame,
    held_out: DataFrame,
    train_end: dt.date,
    cfg: BasketConfig,
    n_train: int,
) -> tuple[dict[str, dict[str, float]], list[Shape]]:
    """Hide-one completion on ``held_out`` of every method fitted on ``train``.

    Args:
        orders: silver.orders (the popularity tie-break counts their lines).
        train: Capped basket lines before ``train_end`` (cached by the caller).
        held_out: Basket lines of the validation window.
        train_end: First day of the validation window.
        cfg: The basket configuration.
        n_train: Baskets in ``train``.

    Returns:
        ``({method: {hit_rate, mrr, queries}}, the shapes of the grid)``.
    """
    shapes = shape_grid(cfg.shrinkages, cfg.popularity_exponents, cfg.half_lives)
    counted = counted_pairs(train, train_end, cfg.half_lives, cfg.candidate_pool)
    scores_by_method = {s.label: shape_score(s, cfg.half_lives) for s in shapes}
    if COOCCURRENCE_SHAPE.label not in scores_by_method:  # the baseline: unweighted counts
        scores_by_method[N.B_COOCCURRENCE] = F.col("_c0")
    # method labels hold '=' and ',': columns are named _m0, _m1, ... meanwhile
    column = {m: f"_m{i}" for i, m in enumerate([*scores_by_method, N.M_BASKET_RULES])}
    lists = wide_lists(
        counted, {column[m]: score for m, score in scores_by_method.items()}, cfg.top_k
    )
    rules, _ = mine_rules(train, n_train, cfg)
    queries, context = hide_one(held_out, cfg.seed, cfg.validation_max_baskets)
    queries = queries.localCheckpoint(eager=True)
    context = context.localCheckpoint(eager=True)
    listed = [column[m] for m in scores_by_method]
    rc = column[N.M_BASKET_RULES]
    scores = (
        list_scores(context, lists, listed)
        .join(rule_scores(context, rules, rc), [N.ORDER_ID, N.OTHER_ITEM_ID], "full")
        .localCheckpoint(eager=True)
    )
    ranks = popularity_ranks(
        line_popularity(orders, train),
        queries.select(F.col("_hidden").alias(N.ITEM_ID)),
        context,
        scores.select(F.col(N.OTHER_ITEM_ID).alias(N.ITEM_ID)),
    ).localCheckpoint(eager=True)
    names = [*column.values(), N.B_POPULARITY]
    by_column = rank_metrics(hide_one_ranks(queries, context, scores, ranks, names), cfg.eval_k)
    label = {c: m for m, c in column.items()} | {N.B_POPULARITY: N.B_POPULARITY}
    result = {label[c]: v for c, v in by_column.items()}
    result.setdefault(N.B_COOCCURRENCE, result.get(COOCCURRENCE_SHAPE.label, {}))
    return result, shapes


def choose(results: dict[str, dict[str, float]], shapes: list[Shape]) -> Shape:
    """The shape with the best hit rate (then MRR, then grid order)."""
    best = max(
        enumerate(shapes),
        key=lambda t: (results[t[1].label][N.HIT_RATE], results[t[1].label][N.MRR], -t[0]),
    )
    return best[1]


def metric_rows(
    results: dict[str, dict[str, float]],
    chosen: Shape,
    shapes: list[Shape],
    version: str,
    dataset: str,
    as_of: dt.date,
    k: int,
) -> list[Metric]:
    """Hit rate and MRR of the published score, the rules, co-occurrence and every candidate
    shape, each beside popularity."""
    base = results[N.B_POPULARITY]
    models = [
        (N.M_BOUGHT_TOGETHER, chosen.label),
        (N.M_BASKET_RULES, N.M_BASKET_RULES),
        (N.B_COOCCURRENCE, N.B_COOCCURRENCE),
        (N.B_POPULARITY, N.B_POPULARITY),
        *[(f"{N.M_BOUGHT_TOGETHER}:{s.label}", s.label) for s in shapes],
    ]
    return [
        Metric(
            model,
            version,
            metric,
            results[key][metric],
            dataset,
            as_of,
            N.SPLIT_VALIDATION,
            k,
            N.B_POPULARITY,
            base[metric],
        )
        for model, key in models
        for metric in (N.HIT_RATE, N.MRR)
    ]


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Validate, fit and publish the basket tables as of ``as_of``.

    Returns:
        A summary: rows per table, the chosen shape, validation figures, or a skip reason.
    """
    cfg = config.basket
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    orders = _read(lh, N.ORDERS)
    if orders is None:
        log.info("[basket] skipped: silver has no orders")
        return {**result, "skipped": "silver has no orders"}
    products = _read(lh, N.PRODUCTS)
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    val_start = as_of - dt.timedelta(days=cfg.validation_days)
    start = None if cfg.days is None else as_of - dt.timedelta(days=cfg.days)
    val_train_start = None if cfg.days is None else val_start - dt.timedelta(days=cfg.days)
    cached: list[DataFrame] = []
    try:
        with ctx.stage("basket: baskets") as st:
            lines = basket_lines(
                orders, products, val_train_start, as_of, cfg.exclude_categories, cfg.exclude_items
            )
            lines = lines.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(lines)
            ts = F.col(BASKET_TS)
            final = lines if start is None else lines.filter(ts >= F.lit(start).cast("timestamp"))
            counts = (
                final.groupBy(N.ORDER_ID)
                .agg(F.count(F.lit(1)).alias("n"))
                .agg(
                    F.count(F.lit(1)).alias("b"),
                    F.sum((F.col("n") >= 2).cast("long")).alias("b2"),
                    F.sum("n").alias("l"),
                )
                .first()
            )
            n_baskets, n_multi, n_lines = (int(counts[c] or 0) for c in ("b", "b2", "l"))
            st.update(baskets=n_baskets, multi_item=n_multi, lines=n_lines)
        ctx.rows_in += n_lines
        if n_multi < cfg.min_baskets:
            reason = (
                f"{n_multi} baskets with 2+ merchandise items before {as_of} "
                f"(basket.min_baskets = {cfg.min_baskets})"
            )
            log.info("[basket] skipped: %s", reason)
            return {**result, "skipped": reason}
        version = new_model_version("basket", as_of)
        result["model_version"] = version
        val_ts = F.lit(val_start).cast("timestamp")
        train = capped_lines(lines.filter(ts < val_ts), cfg.max_basket_items, cfg.seed)
        held_out = capped_lines(lines.filter(ts >= val_ts), cfg.max_basket_items, cfg.seed)
        with ctx.stage("basket: validation baskets") as st:
            train = train.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(train)
            n_train = train.select(N.ORDER_ID).distinct().count()
            n_val = held_out.select(N.ORDER_ID).distinct().count()
            st.update(train=n_train, validation=n_val)
        metrics: list[Metric] = []
        if n_train >= cfg.min_baskets and n_val > 0:
            with ctx.stage("basket: validate") as st:
                results, shapes = validate(orders, train, held_out, val_start, cfg, n_train)
                chosen = choose(results, shapes)
                metrics = metric_rows(results, chosen, shapes, version, dataset, as_of, cfg.eval_k)
                best = results[chosen.label]
                st.update(
                    shape=chosen.label,
                    queries=best[N.QUERIES],
                    hit=round(best[N.HIT_RATE], 4),
                    popularity=round(results[N.B_POPULARITY][N.HIT_RATE], 4),
                )
            result["validation"] = {
                m: round(v[N.HIT_RATE], 4) for m, v in results.items() if ":" not in m
            }
        else:
            chosen = default_shape(cfg.shrinkages, cfg.popularity_exponents, cfg.half_lives)
            log.info(
                "[basket] no validation (%d training / %d validation baskets): default shape %s",
                n_train,
                n_val,
                chosen.label,
            )
        result["shape"] = chosen.label
        train.unpersist()
        with ctx.stage("basket: bought together") as st:
            fit = capped_lines(final, cfg.max_basket_items, cfg.seed).persist(
                StorageLevel.MEMORY_AND_DISK
            )
            cached.append(fit)
            counted = counted_pairs(fit, as_of, [chosen.half_life], cfg.candidate_pool)
            lists = bought_together(counted, chosen, [chosen.half_life], cfg.top_k)
            lists = lists.localCheckpoint(eager=True)
            n = publish(lh, with_gold_columns(lists, version, as_of), BOUGHT_TOGETHER)
            result[BOUGHT_TOGETHER.full_name] = n
            ctx.rows_out += n
            st["rows"] = n
        with ctx.stage("basket: fp-growth rules") as st:
            rules, min_count = mine_rules(fit, n_baskets, cfg)
            rules = rules.localCheckpoint(eager=True)
            n = publish(lh, with_gold_columns(rules, version, as_of), BASKET_RULES)
            result[BASKET_RULES.full_name] = n
            result["min_support_count"] = min_count
            ctx.rows_out += n
            st.update(rows=n, min_support_count=min_count)
        events = _read(lh, N.EVENTS)
        if events is not None:
            with ctx.stage("basket: cart completions") as st:
                carts = open_carts(events, as_of, cfg.cart_days)
                out = cart_completions(
                    carts,
                    lists.select(N.ITEM_ID, N.OTHER_ITEM_ID, N.SCORE, N.BASKETS),
                    item_titles(products),
                    cfg.cart_top_n,
                )
                n = publish(lh, with_gold_columns(out, version, as_of), CART_COMPLETIONS)
                result[CART_COMPLETIONS.full_name] = n
                ctx.rows_out += n
                st["rows"] = n
        result["metrics"] = write_metrics(lh, ctx.run_id, metrics)
        return result
    finally:
        for df in cached:
            df.unpersist()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the basket job (everything else is in the ``basket`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    as_of = resolve_as_of(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[basket] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("basket", __doc__, add_arguments, run, argv)
