"""``sentiment``: review sentiment, aspects and complaints, and per-item sentiment alerts.

Learns only from rated reviews dated before ``--as-of`` (or undated): 4-5 stars positive,
1-2 negative (``sentiment.positive_min_rating`` / ``negative_max_rating``); every review
is scored, rated or not, before or after as_of. A TF-IDF linear model (MLlib: word 1-2-grams,
a title block and character 2-5-grams; logistic regression or LinearSVC, the strength and
kind chosen by validation AUC on the latest reviews before as_of) gives a margin that Platt
scaling on the validation split turns into ``p_positive``; the neutral band between two
thresholds is tuned on the validation 3-star reviews (see ``lakecart.text.sentiment``).

Publishes gold.review_sentiment and gold.item_sentiment, and writes validation (and, when
rated reviews on/after as_of exist, holdout) AUC and macro-F1 beside the majority class and
the VADER lexicon to ops.model_metrics. Skips (exit 0, a log line) without reviews or with
too few learnable ones.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
from pathlib import Path, PurePath
from typing import Any

from pyspark import StorageLevel
from pyspark.ml import PipelineModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import NoDataError, resolve_as_of
from lakecart.config import Config, SentimentConfig
from lakecart.gold import (
    Metric,
    model_path,
    new_model_version,
    publish,
    utcnow,
    with_gold_columns,
    write_metrics,
)
from lakecart.ml import task_slots
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse
from lakecart.text import classifier as C
from lakecart.text import vader
from lakecart.text.aspects import Lexicon, aspects_column
from lakecart.text.sentiment import (
    binned_counts,
    choose_thresholds,
    complaint,
    item_alerts,
    item_counts,
    item_terms,
    learnable,
    sentiment_label,
    shop_negative_share,
    star_label,
    term_drives,
)
from lakecart.text.specs import ITEM_SENTIMENT, REVIEW_SENTIMENT, STRINGS
from lakecart.text.splits import VALID, with_validation_flag
from lakecart.text.tokens import document

log = logging.getLogger("lakecart")

CLS = "_class"  # positive / negative / neutral (by stars) of a rated review
P = "_p"


def feature_spec(cfg: SentimentConfig) -> C.FeatureSpec:
    """The feature pipeline the configuration describes."""
    return C.FeatureSpec(
        word_ngrams=cfg.word_ngrams,
        char_ngrams=tuple(cfg.char_ngrams) if cfg.char_ngrams else None,  # type: ignore[arg-type]
        min_df=cfg.min_df,
        vocab_size=cfg.vocab_size,
        hash_bits=cfg.hash_bits,
        title_block=cfg.title_block,
    )


def prepared(reviews: DataFrame, cfg: SentimentConfig, as_of: dt.date) -> DataFrame:
    """Reviews with the classifier's documents, the star class and the learnable flag."""
    r = F.col(N.RATING)
    cls = (
        F.when(r >= F.lit(cfg.positive_min_rating), F.lit(N.POSITIVE))
        .when(r <= F.lit(cfg.negative_max_rating), F.lit(N.NEGATIVE))
        .when(r.isNotNull(), F.lit(N.NEUTRAL))
    )
    return reviews.select(
        N.REVIEW_ID,
        N.ITEM_ID,
        N.CUSTOMER_ID,
        N.RATING,
        N.REVIEW_TS,
        document(F.col(N.TITLE), F.col(N.TEXT)).alias(C.DOC),
        F.coalesce(F.col(N.TITLE), F.lit("")).alias(C.TITLE_DOC),
        star_label(r, cfg.positive_min_rating, cfg.negative_max_rating).alias(C.LABEL),
        cls.alias(CLS),
        learnable(r, F.col(N.REVIEW_TS), as_of).alias("_learnable"),
    )


def lexicon_metrics(valid: DataFrame) -> dict[str, float]:
    """VADER's AUC and macro-F1 (positive at compound >= 0.05) on rated pos/neg rows."""
    v = valid.withColumn("_vader", vader.compound(F.col(C.DOC))).persist(
        StorageLevel.MEMORY_AND_DISK
    )
    try:
        auc = C.binary_auc(v, "_vader")
        conf = C.confusion(
            v, F.col(C.LABEL), (F.col("_vader") >= F.lit(vader.POSITIVE_AT)).cast("double")
        )
        return {"auc": auc, "macro_f1": C.macro_f1(conf, [0.0, 1.0])}
    finally:
        v.unpersist()


def majority_metrics(counts: dict[Any, int]) -> dict[str, float]:
    """The majority class: AUC 0.5 and the macro-F1 of predicting it for every review."""
    n = sum(counts.values())
    top = max(counts.values()) if counts else 0
    f1_major = 2 * top / (top + n) if n else 0.0
    return {"auc": 0.5, "macro_f1": f1_major / 2}


def model_metrics(scored: DataFrame, hi: float) -> dict[str, float]:
    """AUC of p_positive and macro-F1 of ``p >= hi`` on rows with a 0/1 label."""
    conf = C.confusion(scored, F.col(C.LABEL), (F.col(P) >= F.lit(hi)).cast("double"))
    return {"auc": C.binary_auc(scored, P), "macro_f1": C.macro_f1(conf, [0.0, 1.0])}


def _skip(result: dict[str, Any], reason: str) -> dict[str, Any]:
    log.info("[sentiment] skipped: %s", reason)
    result["skipped"] = reason
    return result


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Train, score and publish the sentiment tables as of ``as_of``.

    Returns:
        A summary: rows per table, the chosen model, thresholds, metrics, or a skip reason.
    """
    cfg = config.sentiment
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    spec = SILVER[N.REVIEWS]
    if not lh.exists(spec):
        return _skip(result, "silver has no reviews")
    lexicon = Lexicon.load(cfg.aspects_file)
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    version = new_model_version("sentiment", as_of)
    result["model_version"] = version
    slots = task_slots(spark)
    cached: list[DataFrame] = []
    try:
        with ctx.stage("sentiment: reviews") as st:
            reviews = prepared(lh.read(spec), cfg, as_of)
            rated = with_validation_flag(
                reviews.filter(F.col("_learnable")),
                N.REVIEW_TS,
                N.REVIEW_ID,
                cfg.validation_share,
                cfg.seed,
            )
            rated = C.persisted(rated, slots, N.REVIEW_ID)
            cached.append(rated)
            counts = {
                (r[CLS], r[VALID]): int(r["count"])
                for r in rated.groupBy(CLS, VALID).count().collect()  # <= 6 rows
            }
            n_pos = sum(v for (c, _), v in counts.items() if c == N.POSITIVE)
            n_neg = sum(v for (c, _), v in counts.items() if c == N.NEGATIVE)
            st.update(positive=n_pos, negative=n_neg)
        ctx.rows_in += n_pos + n_neg
        per_split = {
            s: (counts.get((N.POSITIVE, s), 0), counts.get((N.NEGATIVE, s), 0))
            for s in (False, True)
        }
        if n_pos + n_neg < cfg.min_train_reviews or min(n_pos, n_neg) < 5:
            return _skip(
                result,
                f"{n_pos} positive and {n_neg} negative learnable reviews before {as_of} "
                f"(need {cfg.min_train_reviews}, at least 5 of each)",
            )
        if min(*per_split[False], *per_split[True]) == 0:
            return _skip(result, "the training or validation split lacks a class")
        binary = rated.filter(F.col(C.LABEL).isNotNull())
        with ctx.stage("sentiment: features") as st:
            fmodel = C.feature_pipeline(feature_spec(cfg)).fit(binary)
            keep = [N.REVIEW_ID, C.LABEL, VALID]
            feats, class_counts = C.balanced_weights(
                C.featurise(fmodel, binary, keep), C.LABEL, cfg.balance_classes
            )
            feats = C.persisted(feats, slots, N.REVIEW_ID)
            cached.append(feats)
            train = feats.filter(~F.col(VALID))
            valid = feats.filter(F.col(VALID))
            st.update(vocabulary=len(C.word_vocabulary(fmodel)))
        with ctx.stage("sentiment: choose model") as st:
            cands = C.candidates(cfg.models, cfg.c_values)
            choice = C.choose(
                cands,
                train,
                valid,
                2,
                cfg.max_iter,
                lambda s: C.binary_auc(s, C.MARGIN),
                on_fit=lambda c, s: log.info("[sentiment]   %-10s validation AUC %.4f", c.name, s),
                parallelism=cfg.fit_parallelism,
            )
            st.update(best=choice.best.name, auc=round(choice.scores[choice.best.name], 4))
        with ctx.stage("sentiment: calibrate") as st:
            vs = C.scored(choice.model, valid, 2)
            a, b = C.platt(vs, C.MARGIN, C.LABEL)
            # every rated validation review (3 stars too) for the neutral band
            vall = C.featurise(
                fmodel, rated.filter(F.col(VALID)), [N.REVIEW_ID, C.LABEL, CLS, N.RATING]
            )
            vall = C.scored(choice.model, vall, 2).withColumn(P, C.sigmoid(F.col(C.MARGIN), a, b))
            vall = vall.persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(vall)
            bins = binned_counts(vall, P, F.col(CLS))
            if not cfg.neutral_band:
                bins = bins[bins["cls"] != N.NEUTRAL]
            lo, hi = choose_thresholds(bins)
            st.update(platt_a=round(a, 3), platt_b=round(b, 3), lo=lo, hi=hi)
        with ctx.stage("sentiment: validation metrics") as st:
            vbin = vall.filter(F.col(C.LABEL).isNotNull())
            ours = model_metrics(vbin, hi)
            lex = lexicon_metrics(binary.filter(F.col(VALID)).select(C.DOC, C.LABEL))
            major = majority_metrics(
                {c: n for c, n in class_counts.items()}  # training classes
            )
            st.update(auc=round(ours["auc"], 4), vader_auc=round(lex["auc"], 4))
        model = choice.model
        if cfg.refit:
            with ctx.stage("sentiment: refit") as st:
                model = C.fit(choice.best, feats, 2, cfg.max_iter)
                st["rows"] = n_pos + n_neg
        kind = f"{N.M_SENTIMENT}_{choice.best.kind}"
        metrics = []
        for metric in ("auc", "macro_f1"):
            for base, values in ((N.B_VADER, lex), (N.B_MAJORITY, major)):
                metrics.append(
                    Metric(kind, version, metric, ours[metric], dataset, as_of,
                           N.SPLIT_VALIDATION, None, base, values[metric])
                )  # fmt: skip
        with ctx.stage("sentiment: score reviews") as st:
            feats_all = fmodel.transform(reviews).select(
                N.REVIEW_ID, N.ITEM_ID, N.CUSTOMER_ID, N.REVIEW_TS, N.RATING, C.LABEL,
                C.DOC, C.TERMS, C.FEATURES, "_learnable",
            )  # fmt: skip
            scored = C.scored(model, feats_all, 2).withColumn(P, C.sigmoid(F.col(C.MARGIN), a, b))
            scored = scored.withColumn(N.SENTIMENT, sentiment_label(F.col(P), lo, hi))
            scored = scored.withColumn("_asp", aspects_column(F.col(C.DOC), lexicon))
            scored = scored.select(
                N.REVIEW_ID, N.ITEM_ID, N.CUSTOMER_ID, N.REVIEW_TS, N.RATING, C.LABEL,
                C.TERMS, "_learnable", N.SENTIMENT, F.col(P).alias(N.P_POSITIVE),
                F.col(f"_asp.{N.ASPECTS}").cast(STRINGS).alias(N.ASPECTS),
                complaint(F.col(N.SENTIMENT), F.col(f"_asp.{N.ASPECTS}"),
                          F.col("_asp.complaint_term")).alias(N.COMPLAINT),
            ).persist(StorageLevel.MEMORY_AND_DISK)  # fmt: skip
            cached.append(scored)
            out = scored.select(*[c.name for c in REVIEW_SENTIMENT.columns[:7]])
            n = publish(lh, with_gold_columns(out, version, as_of), REVIEW_SENTIMENT)
            result[REVIEW_SENTIMENT.full_name] = n
            ctx.rows_out += n
            st["rows"] = n
        holdout = scored.filter(C.LABEL + " IS NOT NULL AND NOT _learnable")
        if holdout.limit(1).count():
            with ctx.stage("sentiment: holdout metrics") as st:
                h = holdout.withColumnRenamed(N.P_POSITIVE, P)
                ours_h = model_metrics(h, hi)
                lex_h = lexicon_metrics(
                    reviews.filter(F.col(C.LABEL).isNotNull() & ~F.col("_learnable"))
                )
                for metric in ("auc", "macro_f1"):
                    metrics.append(
                        Metric(kind, version, metric, ours_h[metric], dataset, as_of,
                               N.SPLIT_HOLDOUT, None, N.B_VADER, lex_h[metric])
                    )  # fmt: skip
                st.update(auc=round(ours_h["auc"], 4))
                result["holdout_auc"] = ours_h["auc"]
        with ctx.stage("sentiment: item sentiment") as st:
            ic = item_counts(scored, N.REVIEW_TS, as_of, cfg.window_days).persist(
                StorageLevel.MEMORY_AND_DISK
            )
            cached.append(ic)
            shop = shop_negative_share(ic)
            alerts = item_alerts(
                ic, shop, cfg.alert_alpha, cfg.alert_min_reviews, cfg.alert_prior_reviews
            )
            vocab = C.word_vocabulary(fmodel)
            drives = term_drives(spark, vocab, _word_weights(model, len(vocab)), _word_idf(fmodel))
            history = scored.filter(
                F.col(N.REVIEW_TS).isNull() | (F.col(N.REVIEW_TS) < F.lit(as_of).cast("timestamp"))
            )
            terms = item_terms(history, C.TERMS, drives, cfg.top_terms)
            items = alerts.join(terms, N.ITEM_ID, "left").select(
                N.ITEM_ID,
                F.col("n_cur").alias(N.REVIEWS_COUNT),
                N.SHARE_NEGATIVE,
                N.SHARE_NEGATIVE_PREV,
                N.ALERT,
                N.ALERT_P_VALUE,
                N.BASELINE_SHARE_NEGATIVE,
                F.coalesce(
                    F.col(N.TOP_POSITIVE_TERMS).cast(STRINGS), F.array().cast(STRINGS)
                ).alias(N.TOP_POSITIVE_TERMS),
                F.coalesce(
                    F.col(N.TOP_NEGATIVE_TERMS).cast(STRINGS), F.array().cast(STRINGS)
                ).alias(N.TOP_NEGATIVE_TERMS),
            )
            n = publish(lh, with_gold_columns(items, version, as_of), ITEM_SENTIMENT)
            result[ITEM_SENTIMENT.full_name] = n
            ctx.rows_out += n
            st.update(rows=n, shop_negative_share=round(shop, 4))
        _save(lh, fmodel, model, version, {"kind": choice.best.kind, "c": choice.best.c,
                                            "platt": [a, b], "thresholds": [lo, hi]})  # fmt: skip
        write_metrics(lh, ctx.run_id, metrics)
        result.update(
            model=choice.best.name,
            candidates={k: round(v, 4) for k, v in choice.scores.items()},
            thresholds=[lo, hi],
            validation_auc=ours["auc"],
            validation_macro_f1=ours["macro_f1"],
            vader_auc=lex["auc"],
            metrics=len(metrics),
        )
        return result
    finally:
        for df in cached:
            df.unpersist()


def _word_weights(model: Any, vocab_size: int) -> list[float]:
    """The linear model's weights of the word block (the first ``vocab_size`` features)."""
    return list(model.coefficients.toArray()[:vocab_size])


def _word_idf(fmodel: PipelineModel) -> list[float]:
    """IDF of the word block (the first ``IDFModel`` of the feature pipeline)."""
    for stage in fmodel.stages:
        if hasattr(stage, "idf"):
            return list(stage.idf.toArray())
    raise ValueError("the feature pipeline has no IDF stage")


def _save(lh: Lakehouse, fmodel: PipelineModel, model: Any, version: str, meta: dict) -> None:
    path = model_path(lh, N.M_SENTIMENT, version)
    fmodel.write().overwrite().save(f"{path}/features")
    model.write().overwrite().save(f"{path}/classifier")
    if "://" not in path or path.startswith("file:"):
        p = Path(path.removeprefix("file:"))
        p.mkdir(parents=True, exist_ok=True)
        (p / "calibration.json").write_text(
            json.dumps({**meta, "saved_at": utcnow().isoformat()}, indent=1)
        )
    else:  # object stores: a one-row JSON dataset beside the models
        lh.spark.createDataFrame([(json.dumps(meta),)], "meta STRING").coalesce(1).write.mode(
            "overwrite"
        ).text(f"{path}/calibration")


def resolve(lh: Lakehouse, config: Config) -> dt.date:
    """``resolve_as_of``; a lakehouse whose data are all undated (Women's reviews) uses
    today (UTC): every undated review is then before as_of."""
    try:
        return resolve_as_of(lh, config)
    except NoDataError:
        today = utcnow().date()
        log.info("[sentiment] no dated facts in silver: as_of = today (%s)", today)
        return today


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the sentiment job (everything else is in the ``sentiment`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    if not lh.exists(SILVER[N.REVIEWS]):
        log.info("[sentiment] skipped: silver has no reviews")
        return {"skipped": "silver has no reviews"}
    as_of = resolve(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[sentiment] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("sentiment", __doc__, add_arguments, run, argv)
