"""The whole ``recommend`` stage for one as_of: choose and evaluate the models (or load a
saved version), fit on all data before as_of, publish the three gold tables and write the
metrics. Called by :mod:`lakecart.jobs.recommend` and the notebook.

One rule decides what users with history get (:func:`lakecart.selection.choose` on the
validation NDCG@k): the hybrid when it beats the best popularity baseline (overall, by the
user's country, by the user's top category), otherwise that baseline (``source``
``popular``, reason "popular in <segment>"). The decision is logged, written to
``ops.model_metrics`` (metric ``published``) and returned in the job's summary."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from pathlib import PurePath
from typing import Any

from pyspark import StorageLevel
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import selection
from lakecart.config import Config
from lakecart.gold import (
    Metric,
    model_path,
    models_root,
    new_model_version,
    publish,
    with_gold_columns,
    write_metrics,
)
from lakecart.recommend import core, data, models, outputs, store, train
from lakecart.recommend.core import ItemModel
from lakecart.recommend.score import score, user_blocks
from lakecart.recommend.specs import POPULAR_ITEMS, RECOMMENDATIONS, SIMILAR_ITEMS
from lakecart.recommend.train import Choice, Context
from lakecart.runlog import RunContext
from lakecart.tables import Lakehouse
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")

MODEL_NAME = "recommend"
TARGET = N.RECOMMENDATIONS
SELECTION_METRIC = "ndcg"


def select(scores: dict[str, float], baselines: dict[str, float]) -> selection.Choice:
    """The one rule on validation NDCG: the hybrid (``scores['hybrid']``, the tuned blend)
    against the best popularity baseline (``scores['popular']`` and the segment baselines).
    Without validation every value is unknown and the overall popularity is published."""
    base = {core.POPULAR: scores.get(core.POPULAR), **baselines}
    return selection.choose(
        TARGET, SELECTION_METRIC, {train.HYBRID: scores.get(train.HYBRID)}, base
    )


def validation_rows(
    scores: dict[str, float],
    baselines: dict[str, float],
    sel: selection.Choice,
    version: str,
    dataset: str,
    as_of: dt.date,
    k: int,
) -> list[Metric]:
    """``ops.model_metrics`` rows of the validation NDCG of every source alone, the hybrid
    and the popularity baselines, beside the best baseline."""
    vals = {m: scores[m] for m in (*core.SOURCES, train.HYBRID) if m in scores}
    vals.update(baselines)
    b = sel.baseline_value
    return [
        Metric(
            model=m,
            model_version=version,
            metric=SELECTION_METRIC,
            value=float(v),
            dataset=dataset,
            as_of=as_of,
            split=N.SPLIT_VALIDATION,
            k=k,
            baseline=sel.baseline,
            baseline_value=None if b != b else float(b),
        )
        for m, v in vals.items()
    ]


def _checkpoint_dir(spark: SparkSession, lh: Lakehouse) -> None:
    sc = spark.sparkContext
    if not sc.getCheckpointDir():
        sc.setCheckpointDir(f"{models_root(lh)}/_checkpoints")


def _skip(ctx: RunContext, reason: str) -> dict[str, Any]:
    with ctx.stage("recommend: skipped") as st:
        st["reason"] = reason
    return {"skipped": reason}


def _allowed_ids(c: Context, model: core.ItemModel) -> DataFrame:
    ids = [str(x) for x in c.item_ids[model.allowed]]
    return c.spark.createDataFrame([(x,) for x in ids], f"{N.ITEM_ID} string")


def _similar(c: Context, f: train.Fitted, model: core.ItemModel, allowed: DataFrame) -> DataFrame:
    k = c.rc.similar_k
    parts = []
    if model.item_factors is not None:
        als_sim = models.similar_from_factors(c.spark, c.item_ids, model.item_factors, k + 50)
        parts.append(
            outputs.rerank_allowed(als_sim, allowed, k).withColumn(N.METHOD, F.lit(core.ALS))
        )
    if f.gram is not None:
        nb = core.Neighbours.from_dense(models.similarity_dense(f.gram, models.COSINE), k + 50)
    else:
        nb = models.neighbours_spark(f.pairs, f.counts, models.COSINE, k + 50, c.n_items)
    cf = models.neighbours_frame(c.spark, c.item_ids, nb, k + 50)
    parts.append(outputs.rerank_allowed(cf, allowed, k).withColumn(N.METHOD, F.lit(core.ITEM_CF)))
    if model.content is not None:
        ct = models.neighbours_frame(c.spark, c.item_ids, model.content, model.content.idx.shape[1])
        parts.append(
            outputs.rerank_allowed(ct, allowed, k).withColumn(N.METHOD, F.lit(core.CONTENT))
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def baseline_recs(
    c: train.Context,
    f: train.Fitted,
    baseline: str,
    countries: DataFrame | None,
    popular: DataFrame,
) -> DataFrame:
    """The published popularity baseline's lists for every user with history."""
    kind = outputs.baseline_segment(baseline)
    segments = None
    if kind == outputs.SEG_COUNTRY:
        segments = countries
    elif kind == outputs.SEG_CATEGORY:
        segments = outputs.top_categories(f.split.train, c.inputs.silver.products)
    users = f.train_idx.select(N.USER_ID).distinct()
    seen = f.split.train.select(N.USER_ID, N.ITEM_ID) if c.rc.exclude_purchased else None
    return outputs.popular_for_users(users, segments, kind, popular, seen, c.rc.top_n)


def run_recommend(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    as_of: dt.date,
    model_version: str | None = None,
) -> dict[str, Any]:
    """Train (or reuse ``model_version``), evaluate and publish the recommendation tables.

    Returns:
        A summary: model version, chosen parameters, rows published, holdout NDCG per model;
        or ``{"skipped": reason}`` when the data is absent or too small.
    """
    rc = config.recommend
    with ctx.stage("recommend: inputs") as st:
        inputs = data.load_inputs(lh, config, as_of)
        if inputs is None:
            return _skip(ctx, "silver has no orders, events or ratings")
        inter = inputs.interactions.persist(StorageLevel.MEMORY_AND_DISK)
        inputs = dataclasses.replace(inputs, interactions=inter)
        row = inter.agg(
            F.countDistinct(N.USER_ID).alias("u"),
            F.countDistinct(N.ITEM_ID).alias("i"),
            F.count(F.lit(1)).alias("n"),
        ).first()
        st.update(as_of=as_of.isoformat(), users=row["u"], items=row["i"], pairs=row["n"])
    if row["u"] < rc.min_users or row["i"] < rc.min_items:
        inter.unpersist()
        return _skip(ctx, f"too little data before {as_of}: {row['u']} users, {row['i']} items")
    ctx.rows_in += int(row["n"])
    _checkpoint_dir(spark, lh)
    purchases = inputs.silver.orders is not None
    dataset = PurePath(lh.config.root.rstrip("/")).name or lh.config.root
    metrics: list = []
    summary: dict[str, Any] = {"as_of": as_of.isoformat()}
    mode = data.split_mode(inputs, rc.split)
    splits = data.make_splits(inputs, config, as_of, mode)
    final_split = splits[-1]
    try:
        if model_version:
            with ctx.stage("recommend: load model") as st:
                model, als, users, choice_d = store.load(
                    spark, model_path(lh, MODEL_NAME, model_version)
                )
                choice = Choice.from_json(choice_d)
                item_ids = [str(x) for x in model.item_ids]
                items = data.item_index(spark, item_ids)
                # users the saved model does not know get new indices (no ALS factors)
                st.update(version=model_version, items=len(item_ids))
            version = model_version
            # the saved model holds its own bought-together lists: none recomputed
            c = Context(spark, rc, inputs, item_ids, items, users, model.content, ctx)
            new_users = (
                final_split.train.select(N.USER_ID).distinct().join(users, N.USER_ID, "left_anti")
            )
            offset = users.agg(F.max(data.U_IDX)).first()[0]
            new_idx = data.user_index(spark, new_users).withColumn(
                data.U_IDX, F.col(data.U_IDX) + F.lit(int(offset if offset is not None else -1) + 1)
            )
            c.users = users.unionByName(new_idx).persist(StorageLevel.MEMORY_AND_DISK)
            f = train.fit_base(c, final_split)
            # re-score with the saved coefficients; activity is that of the new as_of
            model = dataclasses.replace(model, allowed=model.allowed & f.model.allowed)
        else:
            version = new_model_version(MODEL_NAME, as_of)
            with ctx.stage("recommend: index") as st:
                item_ids = data.item_ids(inter)
                items = data.item_index(spark, item_ids)
                users = data.user_index(spark, inter).persist(StorageLevel.MEMORY_AND_DISK)
                content, _ = models.content_neighbours(
                    inputs.silver.products, items, rc.cf_top_k, rc.content_max_df, len(item_ids)
                )
                st.update(mode=mode, items=len(item_ids), content=content is not None)
            c = Context(spark, rc, inputs, item_ids, items, users, content, ctx, config.basket)
            val, hold = splits[0], splits[1]
            with ctx.stage("recommend: validation data") as st:
                fv = train.fit_base(c, val)
                ok = train.has_truth(fv)
                st.update(cut=val.cut.isoformat(), truth=ok)
            choice = train.tune(c, fv) if ok else train.default_choice(rc, c.dense)
            with ctx.stage("recommend: validation baselines") as st:
                base_v = train.evaluate_baselines(c, fv) if ok else {}
                base_ndcg = {k: v["ndcg"] for k, v in base_v.items()}
                st.update(**{k: f"{v:.4f}" for k, v in base_ndcg.items()})
            train.release(fv)
            sel = select(choice.scores, base_ndcg)
            choice.published = sel.published
            log.info("[recommend] %s", sel.reason())
            metrics += sel.metrics(version, dataset, as_of, N.SPLIT_VALIDATION)
            metrics += validation_rows(
                choice.scores, base_ndcg, sel, version, dataset, as_of, rc.eval_k
            )
            summary["published"] = sel.published
            summary["selection"] = sel.reason()
            summary["validation_ndcg"] = {
                k: round(v, 4)
                for k, v in {**choice.scores, **base_ndcg}.items()
                if k in (*core.SOURCES, train.HYBRID, *core.BASELINES)
            }
            if core.BASKET in choice.scores:
                summary["validation_ndcg_bought_together"] = round(choice.scores[core.BASKET], 4)
            if core.BASKET not in choice.blend:
                c.basket = None  # validation left bought-together out: not refitted
            if ok:
                for name, s in choice.scores.items():
                    log.debug("validation %s %.4f", name, s)

            def holdout() -> list:
                """Every model and baseline on the holdout (metrics only; nothing published
                depends on it)."""
                with ctx.stage("recommend: holdout") as st:
                    fh = train.fit_base(c, hold)
                    rows: list = []
                    if train.has_truth(fh):
                        m_h, als_h = train.fit_final(c, fh, choice)
                        res = train.evaluate_split(c, fh, m_h, als_h, choice, beyond=True)
                        res.update(train.evaluate_baselines(c, fh))
                        rows = train.metric_rows(
                            res, N.SPLIT_HOLDOUT, version, dataset, as_of, rc.eval_k
                        )
                        summary["holdout_ndcg"] = {k: round(v["ndcg"], 4) for k, v in res.items()}
                        st.update(**{f"ndcg_{k}": f"{v['ndcg']:.4f}" for k, v in res.items()})
                    train.release(fh)
                    return rows

            def final() -> tuple[train.Fitted, ItemModel, ALSModel]:
                with ctx.stage("recommend: fit final") as st:
                    f = train.fit_base(c, final_split)
                    model, als = train.fit_final(c, f, choice)
                    store.save(
                        spark,
                        model_path(lh, MODEL_NAME, version),
                        model,
                        als,
                        c.users,
                        choice.to_json(),
                    )
                    st.update(
                        version=version,
                        als=choice.als.label(),
                        item_cf=choice.cf,
                        blend=choice.blend,
                    )
                    return f, model, als

            # independent: the holdout's evaluation runs beside the final fit
            rows_h, (f, model, als) = map_in_threads(
                lambda step: step(), [holdout, final], rc.fit_parallelism, "recommend-fit"
            )
            metrics += rows_h
        summary.update(model_version=version, choice=choice.to_json())

        with ctx.stage("recommend: publish") as st:
            allowed = _allowed_ids(c, model).persist()
            countries = data.user_countries(inputs, as_of)
            popular = outputs.popular_lists(
                inter,
                allowed,
                countries,
                inputs.silver.products,
                as_of,
                rc.popular_days,
                rc.popular_n,
            ).persist(StorageLevel.MEMORY_AND_DISK)
            if choice.published == train.HYBRID:
                blocks = user_blocks(f.train_idx, als, recent=train.recent_items(c, model))
                scored = score(
                    blocks,
                    model,
                    {train.HYBRID: choice.blend},
                    rc.top_n,
                    rc.exclude_purchased,
                    explain=True,
                )
                recs = outputs.personalised(scored, inputs.silver.products, purchases)
            else:  # the hybrid did not beat a popularity baseline on validation
                recs = baseline_recs(c, f, choice.published, countries, popular)
            st.update(published=choice.published)
            cold = data.known_users(inputs, as_of).join(
                inter.select(N.USER_ID), N.USER_ID, "left_anti"
            )
            recs = recs.unionByName(outputs.cold_start(cold, countries, popular, rc.top_n))
            sim = _similar(c, f, model, allowed)
            n_recs = publish(lh, with_gold_columns(recs, version, as_of), RECOMMENDATIONS)
            n_sim = publish(lh, with_gold_columns(sim, version, as_of), SIMILAR_ITEMS)
            n_pop = publish(lh, with_gold_columns(popular, version, as_of), POPULAR_ITEMS)
            st.update(recommendations=n_recs, similar_items=n_sim, popular_items=n_pop)
            popular.unpersist()
            allowed.unpersist()
            train.release(f)
        ctx.rows_out += n_recs + n_sim + n_pop
        summary["rows"] = {
            RECOMMENDATIONS.full_name: n_recs,
            SIMILAR_ITEMS.full_name: n_sim,
            POPULAR_ITEMS.full_name: n_pop,
        }
        if metrics:
            write_metrics(lh, ctx.run_id, metrics)
        summary["metrics"] = len(metrics)
        return summary
    finally:
        inter.unpersist()
