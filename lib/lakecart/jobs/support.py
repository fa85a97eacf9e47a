"""``support``: intents of customer-service messages, entities, queues, priorities and answers.

Learns from the labelled messages sent before ``--as-of`` (silver.messages.intent); every
message is scored. A TF-IDF linear model (MLlib: word 1-2-grams and character 2-5-grams;
multinomial logistic regression or one-vs-rest LinearSVC, the strength and kind chosen by
validation accuracy on the latest labelled messages) predicts the intent; ``confidence``
is a Platt map of the gap between the two best class scores fitted on the validation
split. Entities, queue, priority and the suggested answer come from the rules and files of
``lakecart.text.support`` (``conf/support_routing.yaml``, ``conf/support_answers.yaml``);
the customer's value tier is read from gold.customer_scores when that table exists.

Publishes gold.support_tickets and writes validation accuracy and macro-F1 beside a keyword
baseline to ops.model_metrics. Skips (exit 0, a log line) without messages, or with too
few labelled ones (``support.min_train_messages``, at least two intents).
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
from lakecart.asof import NoDataError, resolve_as_of
from lakecart.config import Config, SupportConfig
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
from lakecart.text.intents import (
    index_intent,
    intent_index,
    keyword_predict,
    keyword_rules,
    most_frequent,
    top_two,
)
from lakecart.text.specs import SUPPORT_TICKETS
from lakecart.text.splits import VALID, with_validation_flag
from lakecart.text.support import TICKET_INPUT, TICKET_OUTPUT_DDL, Answers, Routing, route

log = logging.getLogger("lakecart")

GAP = "_gap"
CORRECT = "_correct"


def feature_spec(cfg: SupportConfig) -> C.FeatureSpec:
    """The feature pipeline the configuration describes (no title block)."""
    return C.FeatureSpec(
        word_ngrams=cfg.word_ngrams,
        char_ngrams=tuple(cfg.char_ngrams) if cfg.char_ngrams else None,  # type: ignore[arg-type]
        min_df=cfg.min_df,
        vocab_size=cfg.vocab_size,
        hash_bits=cfg.hash_bits,
        title_block=False,
    )


def accuracy_and_f1(conf: dict) -> tuple[float, float]:
    """Accuracy and macro-F1 from ``{(true, predicted): count}``."""
    n = sum(conf.values())
    acc = sum(v for (t, p), v in conf.items() if t == p) / n if n else float("nan")
    return acc, C.macro_f1(conf)


def value_tiers(lh: Lakehouse, config: Config) -> DataFrame | None:
    """``customer_id, value_tier`` from gold.customer_scores keyed like silver (the
    pseudonym of the silver id when customers.pseudonymise), or None without the table."""
    from lakecart.customers.specs import CUSTOMER_SCORES

    if not lh.exists(CUSTOMER_SCORES):
        return None
    return lh.read(CUSTOMER_SCORES).select(F.col(N.CUSTOMER_ID).alias("_tier_key"), N.VALUE_TIER)


def _customer_key(config: Config) -> Any:
    from lakecart.customers.privacy import customer_key

    return customer_key(F.col(N.CUSTOMER_ID), config.customers)


def _skip(result: dict[str, Any], reason: str) -> dict[str, Any]:
    log.info("[support] skipped: %s", reason)
    result["skipped"] = reason
    return result


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Train, score, route and publish gold.support_tickets as of ``as_of``.

    Returns:
        A summary: rows, the chosen model, metrics, or a skip reason.
    """
    cfg = config.support
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    routing = Routing.load(cfg.routing_file)
    answers = Answers.load(cfg.answers_file)
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    version = new_model_version("support", as_of)
    result["model_version"] = version
    slots = task_slots(spark)
    cached: list[DataFrame] = []
    try:
        with ctx.stage("support: messages") as st:
            msgs = lh.read(SILVER[N.MESSAGES]).select(
                N.MESSAGE_ID, N.CUSTOMER_ID, N.SENT_TS, N.TEXT, N.ORDER_ID,
                F.lower(F.trim(F.col(N.INTENT))).alias(N.INTENT),
                F.col(N.TEXT).alias(C.DOC),
            )  # fmt: skip
            labelled = msgs.filter(
                F.col(N.INTENT).isNotNull()
                & (F.col(N.INTENT) != "")
                & (F.col(N.SENT_TS) < F.lit(as_of).cast("timestamp"))
            )
            labelled = with_validation_flag(
                labelled, N.SENT_TS, N.MESSAGE_ID, cfg.validation_share, cfg.seed
            )
            labelled = C.persisted(labelled, slots, N.MESSAGE_ID)
            cached.append(labelled)
            per_intent = {
                (r[N.INTENT], r[VALID]): int(r["count"])
                for r in labelled.groupBy(N.INTENT, VALID).count().collect()  # intents x 2
            }
            intents = sorted({i for i, _ in per_intent})
            n_lab = sum(per_intent.values())
            n_valid = sum(v for (_, s), v in per_intent.items() if s)
            st.update(labelled=n_lab, intents=len(intents), validation=n_valid)
        ctx.rows_in += n_lab
        if n_lab < cfg.min_train_messages or len(intents) < 2:
            return _skip(
                result,
                f"{n_lab} labelled messages with {len(intents)} intents before {as_of} "
                f"(need {cfg.min_train_messages} and 2 intents)",
            )
        if n_valid == 0 or n_valid == n_lab:
            return _skip(result, "the validation split is empty or holds every message")
        to_index, to_intent = intent_index(intents), index_intent(intents)
        k = len(intents)
        with ctx.stage("support: features") as st:
            data = labelled.withColumn(C.LABEL, to_index[F.col(N.INTENT)])
            fmodel = C.feature_pipeline(feature_spec(cfg)).fit(data)
            feats, _ = C.balanced_weights(
                C.featurise(fmodel, data, [N.MESSAGE_ID, C.LABEL, VALID]),
                C.LABEL,
                cfg.balance_classes,
            )
            feats = C.persisted(feats, slots, N.MESSAGE_ID)
            cached.append(feats)
            train, valid = feats.filter(~F.col(VALID)), feats.filter(F.col(VALID))
            st.update(vocabulary=len(C.word_vocabulary(fmodel)))

        def accuracy(s: DataFrame) -> float:
            conf = C.confusion(s, F.col(C.LABEL), F.col(C.PREDICTION))
            acc, f1 = accuracy_and_f1(conf)
            return acc + 1e-6 * f1  # macro-F1 breaks ties

        with ctx.stage("support: choose model") as st:
            choice = C.choose(
                C.candidates(cfg.models, cfg.c_values),
                train,
                valid,
                k,
                cfg.max_iter,
                accuracy,
                on_fit=lambda c, s: log.info(
                    "[support]   %-10s validation accuracy %.4f", c.name, s
                ),
                parallelism=cfg.fit_parallelism,
            )
            st.update(best=choice.best.name)
        with ctx.stage("support: calibrate + metrics") as st:
            vs = C.scored(choice.model, valid, k)
            s1, s2 = top_two(F.col(C.SCORES))
            vs = vs.withColumns(
                {GAP: s1 - s2, CORRECT: (F.col(C.PREDICTION) == F.col(C.LABEL)).cast("double")}
            ).persist(StorageLevel.MEMORY_AND_DISK)
            cached.append(vs)
            conf = C.confusion(vs, F.col(C.LABEL), F.col(C.PREDICTION))
            acc, f1 = accuracy_and_f1(conf)
            errors = sum(v for (t, p), v in conf.items() if t != p)
            if errors >= 1 and errors < n_valid:
                a, b = C.platt(vs, GAP, CORRECT, reg=1e-3)
            else:  # no error (or no success) to calibrate on: the top class's own score
                a, b = None, None
            rules = keyword_rules(
                labelled.filter(~F.col(VALID)), N.TEXT, N.INTENT, cfg.keyword_terms
            )
            fallback = most_frequent(labelled.filter(~F.col(VALID)), N.INTENT)
            kw = keyword_predict(
                labelled.filter(F.col(VALID)), N.MESSAGE_ID, N.TEXT, rules, N.INTENT, fallback
            ).join(labelled.select(N.MESSAGE_ID, N.INTENT), N.MESSAGE_ID)
            kw_acc, kw_f1 = accuracy_and_f1(C.confusion(kw, N.INTENT, "keyword_intent"))
            st.update(accuracy=round(acc, 4), macro_f1=round(f1, 4), keywords=round(kw_acc, 4))
        model = choice.model
        if cfg.refit:
            with ctx.stage("support: refit") as st:
                model = C.fit(choice.best, feats, k, cfg.max_iter)
                st["rows"] = n_lab
        kind = f"{N.M_SUPPORT}_{choice.best.kind}"
        metrics = [
            Metric(kind, version, "accuracy", acc, dataset, as_of, N.SPLIT_VALIDATION, None,
                   N.B_KEYWORDS, kw_acc),
            Metric(kind, version, "macro_f1", f1, dataset, as_of, N.SPLIT_VALIDATION, None,
                   N.B_KEYWORDS, kw_f1),
        ]  # fmt: skip
        with ctx.stage("support: score + route") as st:
            scored = C.scored(model, fmodel.transform(msgs), k)
            s1, s2 = top_two(F.col(C.SCORES))
            if a is not None:
                confidence = C.sigmoid(s1 - s2, a, b)
            elif choice.best.kind == C.LR:
                confidence = F.exp(s1)  # the top class's probability
            else:
                confidence = C.sigmoid(s1 - s2, 1.0, 0.0)
            scored = scored.select(
                N.MESSAGE_ID, N.CUSTOMER_ID, N.TEXT, N.ORDER_ID,
                to_intent[F.col(C.PREDICTION)].alias(N.INTENT),
                F.least(F.greatest(confidence, F.lit(0.0)), F.lit(1.0)).alias(N.CONFIDENCE),
            )  # fmt: skip
            tiers = value_tiers(lh, config)
            if tiers is not None:
                scored = scored.withColumn("_tier_key", _customer_key(config)).join(
                    tiers, "_tier_key", "left"
                )
            else:
                scored = scored.withColumn(N.VALUE_TIER, F.lit(None).cast("string"))
            scored = scored.select(*TICKET_INPUT)
            human, tone = cfg.human_threshold, cfg.negative_tone

            def run_route(batches):
                for b in batches:
                    yield route(b, routing, answers, human, tone)

            tickets = scored.mapInPandas(run_route, TICKET_OUTPUT_DDL)
            out = tickets.select(
                N.MESSAGE_ID, N.CUSTOMER_ID, N.INTENT, N.CONFIDENCE, N.QUEUE,
                F.col(N.PRIORITY).cast("int").alias(N.PRIORITY),
                F.coalesce(F.from_json("entities_json", "map<string,string>"),
                           F.create_map().cast("map<string,string>")).alias(N.ENTITIES_MAP),
                N.SUGGESTED_ANSWER,
            )  # fmt: skip
            n = publish(lh, with_gold_columns(out, version, as_of), SUPPORT_TICKETS)
            result[SUPPORT_TICKETS.full_name] = n
            ctx.rows_out += n
            st.update(rows=n, value_tiers=tiers is not None)
        path = model_path(lh, N.M_SUPPORT, version)
        fmodel.write().overwrite().save(f"{path}/features")
        model.write().overwrite().save(f"{path}/classifier")
        write_metrics(lh, ctx.run_id, metrics)
        result.update(
            model=choice.best.name,
            candidates={c: round(v, 4) for c, v in choice.scores.items()},
            validation_accuracy=acc,
            validation_macro_f1=f1,
            keyword_accuracy=kw_acc,
            calibration=None if a is None else [a, b],
            metrics=len(metrics),
        )
        return result
    finally:
        for df in cached:
            df.unpersist()


def resolve(lh: Lakehouse, config: Config) -> dt.date:
    """``resolve_as_of``; without any dated fact in silver, the day after the latest
    message (messages always have a sent_ts)."""
    try:
        return resolve_as_of(lh, config)
    except NoDataError:
        latest = lh.read(SILVER[N.MESSAGES]).agg(F.to_date(F.max(N.SENT_TS))).first()[0]
        as_of = (latest or utcnow().date()) + dt.timedelta(days=1)
        log.info("[support] as_of = the day after the latest message (%s)", as_of)
        return as_of


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the support job (everything else is in the ``support`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    if not lh.exists(SILVER[N.MESSAGES]):
        log.info("[support] skipped: silver has no messages")
        return {"skipped": "silver has no messages"}
    as_of = resolve(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[support] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("support", __doc__, add_arguments, run, argv)
