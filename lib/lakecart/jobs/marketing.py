"""``marketing``: uplift targeting on randomised campaigns, and promotion lift per category.

Publishes gold.campaign_targets (every known customer x every offer seen in silver.campaigns
before ``--as-of``: uplift, response probability, expected incremental revenue, cost,
expected profit, rank and ``send``), gold.promotion_effects (units in promotion weeks against
each item's own non-promotion level, per category) and the validation metrics of every
uplift candidate, of the chosen model and of the response model beside random targeting in
ops.model_metrics, with bootstrap intervals.

Models learn only from contacts of randomised campaigns (with a control group) sent before
as_of, and only from responses before as_of. Needs campaigns (targets) and orders +
campaigns (promotion effects); skips what it cannot build, with a log line.
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import Config, MarketingConfig
from lakecart.features.demand import item_demand
from lakecart.features.specs import item_demand_spec
from lakecart.gold import Metric, new_model_version, publish, with_gold_columns, write_metrics
from lakecart.marketing import contacts as C
from lakecart.marketing import customer_features as X
from lakecart.marketing.promotions import promotion_effects
from lakecart.marketing.specs import CAMPAIGN_TARGETS, PROMOTION_EFFECTS
from lakecart.marketing.targeting import (
    VALUE_PER_RESPONSE,
    decide,
    fit_value_model,
    predict_value,
)
from lakecart.marketing.uplift_metrics import binned_outcomes, metrics_with_intervals
from lakecart.marketing.uplift_models import (
    P1_COL,
    UPLIFT_COL,
    ResponseModel,
    UpliftModel,
    candidate_name,
    fit_response,
    fit_uplift,
)
from lakecart.runlog import RunContext
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")

POOLED = "*pooled*"
_METRIC_NAMES = {
    "uplift_at": N.MT_UPLIFT_AT,
    "share_captured": N.MT_SHARE_CAPTURED,
    "qini": N.MT_QINI,
}
_REVENUE_NAMES = {
    "uplift_at": N.MT_REVENUE_UPLIFT_AT,
    "share_captured": N.MT_REVENUE_SHARE_CAPTURED,
}
_REV_SCORE = "_rev_score"


@dataclass
class Unit:
    """A group of offers sharing fitted models: one offer (dedicated) or all (pooled).

    Attributes:
        name: The offer, or :data:`POOLED`.
        train_offers: Offers whose rows the models learn from.
        offers: Offers the unit scores.
        features: Feature column (``_x``; ``_xo`` with the offer for the pooled unit).
    """

    name: str
    train_offers: list[str]
    offers: list[str]
    features: str
    candidates: dict[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def pooled(self) -> bool:
        """Whether the unit pools offers."""
        return self.name == POOLED


def plan_units(
    offers: list[str], counts: dict[str, tuple[int, int]], cfg: MarketingConfig
) -> list[Unit]:
    """Dedicated units for the most contacted offers with enough treated and control rows,
    and one pooled unit (all randomised offers, the offer as a feature) for the rest."""
    eligible = sorted(
        (o for o, (t, c) in counts.items() if min(t, c) >= cfg.min_offer_contacts),
        key=lambda o: (-sum(counts[o]), o),
    )[: cfg.max_dedicated_offers]
    units = [Unit(o, [o], [o], X.FEATURES) for o in sorted(eligible)]
    rest = [o for o in offers if o not in eligible]
    if rest:
        units.append(Unit(POOLED, sorted(counts), rest, X.FEATURES_OFFER))
    for u in units:
        u.candidates = {
            candidate_name(m, lrn, u.pooled): (m, lrn)
            for m in cfg.meta_learners
            for lrn in cfg.learners
        }
    return units


def _key(m: dict[str, float]) -> tuple[float, float]:
    def val(x: float) -> float:
        return x if x is not None and not math.isnan(x) else -math.inf

    return val(m.get("share_captured")), val(m.get("qini"))


def choose(unit: Unit, scores: dict[str, dict[str, dict[str, float]]]) -> dict[str, str]:
    """The chosen candidate per offer of the unit: the first (simplest) candidate unless
    another one's share captured on the offer's validation rows lies above the first's
    bootstrap interval (``share_captured_hi``; without an interval, above its point value),
    then the best such challenger (ties by Qini): with small effects a validation winner
    within noise of the simple model rarely carries over. Offers without validation rows
    take the candidate with the best mean share over the unit's offers; with no usable
    metric, the first one."""
    first = next(iter(unit.candidates))
    out: dict[str, str] = {}
    for offer in unit.offers:
        best = max(
            unit.candidates,
            key=lambda c: (_key(scores.get(c, {}).get(offer, {})), -list(unit.candidates).index(c)),
        )
        base = scores.get(first, {}).get(offer, {})
        bar = _key({"share_captured": base.get("share_captured_hi", base.get("share_captured"))})
        if best != first and bar[0] != -math.inf:
            if _key(scores.get(best, {}).get(offer, {}))[0] <= bar[0]:
                best = first
        if _key(scores.get(best, {}).get(offer, {}))[0] == -math.inf:
            best = ""
        out[offer] = best
    missing = [o for o, c in out.items() if not c]
    if missing:

        def mean_share(c: str) -> float:
            vals = [_key(m)[0] for m in scores.get(c, {}).values()]
            vals = [v for v in vals if v != -math.inf]
            return sum(vals) / len(vals) if vals else -math.inf

        fallback = max(
            unit.candidates, key=lambda c: (mean_share(c), -list(unit.candidates).index(c))
        )
        if mean_share(fallback) == -math.inf:
            fallback = first
        for o in missing:
            out[o] = fallback
    return out


def _evaluate(
    pred: DataFrame, score: str, cfg: MarketingConfig, replicates: int, revenue: bool = False
) -> dict[str, dict[str, float]]:
    outcomes = [C.VALUE] if revenue else [C.RESPONSE]
    bins = binned_outcomes(
        pred,
        key=N.OFFER,
        score=score,
        treated=C.TREATED,
        outcomes=outcomes,
        row_keys=C.CONTACT_KEYS,
        bins=cfg.bins,
        replicates=replicates,
        seed=cfg.seed,
    )
    return metrics_with_intervals(bins, cfg.top_percent / 100.0, outcomes[0], cfg.interval)


def _overall(pred: DataFrame) -> dict[str, tuple[float, float]]:
    """Overall treated minus control response and revenue rates per offer (random
    targeting's uplift@k); one short row per offer."""
    t = F.col(C.TREATED)

    def diff(outcome: str):
        y = F.col(outcome)
        return F.sum(y * t) / F.sum(t) - F.sum(y * (1.0 - t)) / F.sum(1.0 - t)

    rows = (
        pred.groupBy(N.OFFER).agg(diff(C.RESPONSE).alias("d"), diff(C.VALUE).alias("r")).collect()
    )

    def num(x: float | None) -> float:
        return float("nan") if x is None else float(x)

    return {r[N.OFFER]: (num(r["d"]), num(r["r"])) for r in rows}


def _read(lh: Lakehouse, entity: str) -> DataFrame | None:
    spec = SILVER[entity]
    return lh.read(spec) if lh.exists(spec) else None


def population(
    customers: DataFrame | None, campaigns: DataFrame, orders: DataFrame | None, as_of: dt.date
) -> DataFrame:
    """Every known customer: silver.customers, campaign contacts and order customers before
    as_of, with ``_ref_ts`` = as_of."""
    ts = F.lit(dt.datetime.combine(as_of, dt.time())).cast("timestamp")
    ids = campaigns.filter(F.col(N.SENT_TS) < ts).select(N.CUSTOMER_ID)
    if customers is not None:
        ids = ids.unionByName(customers.select(N.CUSTOMER_ID))
    if orders is not None:
        ids = ids.unionByName(
            orders.filter(F.col(N.CUSTOMER_ID).isNotNull() & (F.col(N.ORDER_TS) < ts)).select(
                N.CUSTOMER_ID
            )
        )
    return ids.distinct().withColumn(X.REF_TS, ts)


def targets(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    as_of: dt.date,
    version: str,
    dataset: str,
    metrics: list[Metric],
) -> dict[str, Any]:
    """Fit, choose, evaluate and publish gold.campaign_targets (see the module doc)."""
    cfg = config.marketing
    campaigns = _read(lh, N.CAMPAIGNS)
    customers = _read(lh, N.CUSTOMERS)
    orders = _read(lh, N.ORDERS)
    out: dict[str, Any] = {}
    if campaigns is None:
        return {"skipped": "silver has no campaigns"}
    cached: list[DataFrame] = []
    try:
        with ctx.stage("marketing: contacts") as st:
            costs = C.offer_costs(campaigns, as_of)
            offers = sorted(costs)
            if not offers:
                return {"skipped": "no campaign with an offer before as_of"}
            rows = C.with_validation(
                C.offer_rows(C.campaign_contacts(campaigns, as_of, cfg.response_days)),
                cfg.validation_share,
                cfg.seed,
            )
            plan = X.plan_features(
                customers,
                orders is not None,
                config.features.windows,
                cfg.max_categories,
                cfg.max_distinct,
            )
            keys = rows.select(N.CUSTOMER_ID, F.col(N.SENT_TS).alias(X.REF_TS)).distinct()
            feats = X.feature_rows(keys, plan, customers, orders)
            raw = rows.join(
                feats,
                (rows[N.CUSTOMER_ID] == feats[N.CUSTOMER_ID])
                & (rows[N.SENT_TS] == feats[X.REF_TS]),
            ).drop(feats[N.CUSTOMER_ID])
            raw = raw.localCheckpoint(eager=True)
            cached.append(raw)
            n_rows = raw.count()
            st.update(
                offers=len(offers),
                rows=n_rows,
                features=len(plan.numeric_columns()) + len(plan.categorical),
            )
        ctx.rows_in += n_rows
        if n_rows == 0:
            return {"skipped": "no randomised campaign (with a control group) before as_of"}
        with ctx.stage("marketing: encode") as st:
            encoder = X.fit_encoder(raw.filter(~F.col(C.VALIDATION)), plan, offers)
            keep = [
                *C.CONTACT_KEYS,
                N.SENT_TS,
                C.TREATED,
                C.RESPONSE,
                C.VALUE,
                C.PROPENSITY,
                C.VALIDATION,
            ]
            data = X.encode(encoder, raw).select(*keep, X.FEATURES, X.FEATURES_OFFER)
            data = data.persist(StorageLevel.MEMORY_AND_DISK)  # the fits iterate over it
            cached.append(data)
            counts = C.offer_counts(data)
            units = plan_units(offers, counts, cfg)
            st.update(units=len(units), dedicated=sum(not u.pooled for u in units))
        train_all = data.filter(~F.col(C.VALIDATION))
        valid_all = data.filter(F.col(C.VALIDATION))
        with ctx.stage("marketing: value model") as st:
            value_model = fit_value_model(train_all, X.FEATURES_OFFER, cfg)
            st["fitted"] = value_model is not None
        chosen: dict[str, tuple[Unit, str]] = {}
        unit_models: dict[str, dict[str, UpliftModel]] = {}
        responses: dict[str, ResponseModel] = {}
        scores_by_unit: dict[str, dict[str, dict[str, dict[str, float]]]] = {}
        for unit in units:
            train = train_all.filter(F.col(N.OFFER).isin(unit.train_offers))
            valid = valid_all.filter(F.col(N.OFFER).isin([o for o in unit.offers if o in counts]))
            scores: dict[str, dict[str, dict[str, float]]] = {}
            fitted: dict[str, UpliftModel] = {}
            first = next(iter(unit.candidates))

            def fit_candidate(
                item: tuple[str, tuple[str, str]],
                train: DataFrame = train,
                valid: DataFrame = valid,
                features: list[str] = unit.features,
                first: str = first,
            ) -> tuple[UpliftModel, dict[str, dict[str, float]]]:
                name, (meta, learner) = item
                with ctx.stage(f"marketing: fit {name}") as st:
                    model = fit_uplift(train, meta, learner, features, cfg)
                    sc = _evaluate(
                        model.predict(valid), UPLIFT_COL, cfg, cfg.bootstrap if name == first else 0
                    )
                    st.update(
                        **{
                            o[:20]: round(m["share_captured"], 3)
                            for o, m in sc.items()
                            if m["share_captured"] == m["share_captured"]
                        }
                    )
                return model, sc

            # the candidates are independent: fitted cfg.fit_parallelism at a time
            items = list(unit.candidates.items())
            done = map_in_threads(fit_candidate, items, cfg.fit_parallelism, "marketing-fit")
            for (name, _), (model, sc) in zip(items, done, strict=True):
                fitted[name] = model
                scores[name] = sc
            scores_by_unit[unit.name] = scores
            picks = choose(unit, scores)
            with ctx.stage(f"marketing: evaluate {unit.name[:30]}") as st:
                response = fit_response(train, unit.features, cfg)
                both = _overall(valid)
                overall = {o: v[0] for o, v in both.items()}
                overall_rev = {o: v[1] for o, v in both.items()}
                resp_pred = predict_value(
                    value_model, response.predict(valid, P1_COL), cfg.response_value
                ).withColumn(_REV_SCORE, F.col(P1_COL) * F.col(VALUE_PER_RESPONSE))
                resp_m = _evaluate(resp_pred, P1_COL, cfg, cfg.bootstrap)
                resp_rev = _evaluate(resp_pred, _REV_SCORE, cfg, cfg.bootstrap, revenue=True)
                for name in sorted(set(picks.values())):
                    offers_here = [o for o, c in picks.items() if c == name and o in counts]
                    if not offers_here:
                        continue
                    pred = predict_value(
                        value_model,
                        fitted[name].predict(valid.filter(F.col(N.OFFER).isin(offers_here))),
                        cfg.response_value,
                    ).withColumn(_REV_SCORE, F.col(UPLIFT_COL) * F.col(VALUE_PER_RESPONSE))
                    boot = _evaluate(pred, UPLIFT_COL, cfg, cfg.bootstrap)
                    boot_rev = _evaluate(pred, _REV_SCORE, cfg, cfg.bootstrap, revenue=True)
                    for offer in offers_here:
                        metrics += _offer_metrics(
                            version, dataset, as_of, cfg, offer, name,
                            boot.get(offer, {}), boot_rev.get(offer, {}),
                            resp_m.get(offer, {}), resp_rev.get(offer, {}),
                            overall.get(offer, float("nan")), overall_rev.get(offer, float("nan")),
                        )  # fmt: skip
                        out[offer] = {
                            "model": name,
                            "share_captured": _round(boot.get(offer, {}).get("share_captured")),
                            "response_model": _round(resp_m.get(offer, {}).get("share_captured")),
                        }
                for name, per_offer in scores.items():
                    for offer, m in per_offer.items():
                        metrics += _candidate_metrics(
                            version, dataset, as_of, cfg, offer, name, m,
                            overall.get(offer, float("nan")), picks.get(offer) == name,
                        )  # fmt: skip
                st["chosen"] = ",".join(sorted(set(picks.values())))
            with ctx.stage(f"marketing: refit {unit.name[:30]}") as st:
                rows_all = data.filter(F.col(N.OFFER).isin(unit.train_offers))
                final: dict[str, UpliftModel] = {}
                for name in sorted(set(picks.values())):
                    meta, learner = unit.candidates[name]
                    final[name] = (
                        fit_uplift(rows_all, meta, learner, unit.features, cfg)
                        if cfg.refit
                        else fitted[name]
                    )
                responses[unit.name] = (
                    fit_response(rows_all, unit.features, cfg) if cfg.refit else response
                )
                for offer, name in picks.items():
                    chosen[offer] = (unit, name)
                unit.candidates = {n: unit.candidates[n] for n in final}
                unit_models[unit.name] = final
                st["refit"] = cfg.refit
        with ctx.stage("marketing: score + publish") as st:
            pop = population(customers, campaigns, orders, as_of)
            offer_df = spark.createDataFrame([(o,) for o in offers], f"{N.OFFER} string")
            scoring = X.feature_rows(pop, plan, customers, orders).crossJoin(F.broadcast(offer_df))
            scoring = X.encode(encoder, scoring).select(
                N.CUSTOMER_ID, N.OFFER, X.FEATURES, X.FEATURES_OFFER
            )
            scoring = scoring.localCheckpoint(eager=True)
            cached.append(scoring)
            parts = []
            for unit in units:
                for name, model in unit_models[unit.name].items():
                    these = [o for o, (u, c) in chosen.items() if u is unit and c == name]
                    if not these:
                        continue
                    rows_u = scoring.filter(F.col(N.OFFER).isin(these))
                    pred = model.predict(rows_u)
                    pred = responses[unit.name].predict(pred, N.P_RESPONSE)
                    parts.append(
                        pred.select(
                            N.CUSTOMER_ID, N.OFFER, X.FEATURES_OFFER, UPLIFT_COL, N.P_RESPONSE
                        )
                    )
            scored = parts[0]
            for p in parts[1:]:
                scored = scored.unionByName(p)
            scored = predict_value(value_model, scored, cfg.response_value)
            cost_df = spark.createDataFrame(
                [(o, float(cfg.contact_cost if costs[o] is None else costs[o])) for o in offers],
                f"{N.OFFER} string, {N.COST} double",
            )
            scored = scored.join(F.broadcast(cost_df), N.OFFER).select(
                N.CUSTOMER_ID,
                N.OFFER,
                F.col(UPLIFT_COL).alias(N.UPLIFT),
                F.greatest(F.lit(0.0), F.least(F.lit(1.0), F.col(N.P_RESPONSE))).alias(
                    N.P_RESPONSE
                ),
                VALUE_PER_RESPONSE,
                N.COST,
            )
            table = decide(scored, cfg.margin, cfg.budget)
            n = publish(lh, with_gold_columns(table, version, as_of), CAMPAIGN_TARGETS)
            ctx.rows_out += n
            out[CAMPAIGN_TARGETS.full_name] = n
            st["rows"] = n
        return out
    finally:
        for df in cached:
            df.unpersist()


def _round(x: float | None) -> float | None:
    return None if x is None or x != x else round(float(x), 4)


def _offer_metrics(
    version: str,
    dataset: str,
    as_of: dt.date,
    cfg: MarketingConfig,
    offer: str,
    name: str,
    m: dict[str, float],
    rev: dict[str, float],
    resp: dict[str, float],
    resp_rev: dict[str, float],
    overall: float,
    overall_rev: float,
) -> list[Metric]:
    """Rows of the chosen model and the response model of one offer, with intervals."""
    ds = f"{dataset} offer={offer}"
    k = cfg.top_percent
    frac = k / 100.0
    rnd = {"share_captured": frac, "uplift_at": overall, "qini": 0.0}
    rnd_rev = {"share_captured": frac, "uplift_at": overall_rev}
    out: list[Metric] = []

    def add(
        model: str, vals: dict[str, float], names: dict[str, str], base: dict[str, float]
    ) -> None:
        for key, metric in names.items():
            kk = None if key == "qini" else k
            out.append(
                Metric(
                    model,
                    version,
                    metric,
                    vals.get(key),
                    ds,
                    as_of,
                    N.SPLIT_VALIDATION,
                    kk,
                    N.B_RANDOM,
                    base.get(key),
                )
            )
            for side in ("lo", "hi"):
                if f"{key}_{side}" in vals:
                    out.append(
                        Metric(
                            model,
                            version,
                            f"{metric}_{side}",
                            vals[f"{key}_{side}"],
                            ds,
                            as_of,
                            N.SPLIT_VALIDATION,
                            kk,
                            N.B_RANDOM,
                            base.get(key),
                        )
                    )
            if model == N.M_UPLIFT:
                other = resp if names is _METRIC_NAMES else resp_rev
                out.append(
                    Metric(
                        model,
                        version,
                        metric,
                        vals.get(key),
                        ds,
                        as_of,
                        N.SPLIT_VALIDATION,
                        kk,
                        N.B_RESPONSE_MODEL,
                        other.get(key),
                    )
                )

    add(N.M_UPLIFT, m, _METRIC_NAMES, rnd)
    add(N.M_UPLIFT, rev, _REVENUE_NAMES, rnd_rev)
    add(N.B_RESPONSE_MODEL, resp, _METRIC_NAMES, rnd)
    add(N.B_RESPONSE_MODEL, resp_rev, _REVENUE_NAMES, rnd_rev)
    lo = m.get("share_captured_lo")
    if lo is not None and lo == lo:
        noise = 1.0 if lo <= frac else 0.0
        if noise:
            log.warning(
                "[marketing] offer %r: the chosen model (%s) is within noise of random targeting "
                "(share captured at %d%% %.3f, interval %.3f-%.3f, random %.2f)",
                offer, name, k, m.get("share_captured"), lo, m.get("share_captured_hi"), frac,
            )  # fmt: skip
        out.append(
            Metric(
                N.M_UPLIFT,
                version,
                N.MT_WITHIN_NOISE,
                noise,
                ds,
                as_of,
                N.SPLIT_VALIDATION,
                k,
                N.B_RANDOM,
                frac,
            )
        )
    return out


def _candidate_metrics(
    version: str,
    dataset: str,
    as_of: dt.date,
    cfg: MarketingConfig,
    offer: str,
    name: str,
    m: dict[str, float],
    overall: float,
    is_chosen: bool,
) -> list[Metric]:
    """Validation rows of one candidate of one offer, beside random targeting."""
    ds = f"{dataset} offer={offer}"
    k = cfg.top_percent
    rnd = {"share_captured": k / 100.0, "uplift_at": overall, "qini": 0.0}
    out = [
        Metric(
            name,
            version,
            metric,
            m.get(key),
            ds,
            as_of,
            N.SPLIT_VALIDATION,
            None if key == "qini" else k,
            N.B_RANDOM,
            rnd[key],
        )
        for key, metric in _METRIC_NAMES.items()
    ]
    out.append(
        Metric(name, version, N.MT_CHOSEN, 1.0 if is_chosen else 0.0, ds, as_of, N.SPLIT_VALIDATION)
    )
    return out


def promotions(
    spark: SparkSession,
    config: Config,
    lh: Lakehouse,
    ctx: RunContext,
    as_of: dt.date,
    version: str,
) -> dict[str, Any]:
    """Publish gold.promotion_effects from the weekly item demand of as_of."""
    orders, campaigns = _read(lh, N.ORDERS), _read(lh, N.CAMPAIGNS)
    if orders is None or campaigns is None:
        return {"skipped": "promotion effects need orders and campaigns"}
    with ctx.stage("marketing: promotion effects") as st:
        spec = item_demand_spec()
        demand = None
        if lh.exists(spec):
            stored = lh.read(spec).filter(
                (F.col(N.AS_OF) == F.lit(as_of)) & (F.col(N.GRAIN) == N.WEEK)
            )
            if stored.limit(1).count() > 0:
                demand = stored
        if demand is None:
            demand = item_demand(orders, campaigns, as_of=as_of, grains=[N.WEEK])
        effects = promotion_effects(
            demand, _read(lh, N.PRODUCTS), config.marketing.promo_window_weeks
        )
        n = publish(lh, with_gold_columns(effects, version, as_of), PROMOTION_EFFECTS)
        ctx.rows_out += n
        st["categories"] = n
    return {PROMOTION_EFFECTS.full_name: n}


def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Compute and publish the marketing tables as of ``as_of``.

    Returns:
        A summary: rows per table, the chosen model and share captured per offer, or the
        reasons for skips.
    """
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    version = new_model_version("marketing", as_of)
    result: dict[str, Any] = {"as_of": as_of.isoformat(), "model_version": version}
    metrics: list[Metric] = []
    t = targets(spark, config, lh, ctx, as_of, version, dataset, metrics)
    p = promotions(spark, config, lh, ctx, as_of, version)
    if "skipped" in t:
        log.info("[marketing] targets skipped: %s", t["skipped"])
        result["skipped_targets"] = t.pop("skipped")
    if "skipped" in p:
        log.info("[marketing] promotion effects skipped: %s", p["skipped"])
        result["skipped_promotions"] = p.pop("skipped")
    result.update(t)
    result.update(p)
    if "skipped_targets" in result and "skipped_promotions" in result:
        result["skipped"] = f"{result['skipped_targets']}; {result['skipped_promotions']}"
    result["metrics"] = write_metrics(lh, ctx.run_id, metrics)
    return result


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the marketing job (everything else is in the ``marketing`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    if not lh.exists(SILVER[N.CAMPAIGNS]):
        log.info("[marketing] skipped: silver has no campaigns")
        return {"skipped": "silver has no campaigns"}
    as_of = resolve_as_of(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[marketing] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("marketing", __doc__, add_arguments, run, argv)
