"""Choosing, evaluating and fitting the recommenders for one as_of.

1. **Validation** (training data before the validation period, or a per-user random
   split for ratings-only data): ALS hyperparameters by a one-at-a-time search from the
   first value of each candidate list (then the best value of every dimension together),
   the item-to-item method (EASE with a few regularisations, cosine, jaccard...), then the
   hybrid weights (ALS / item-CF share on a grid, then small popularity and content
   weights, then the bought-together source of purchase data on top, kept only when it
   helps, then the "last item" source — neighbours of each user's most recent items by
   co-view, co-purchase and content — on top, alone and with popularity, kept only when it
   helps) — all by NDCG@k on the validation truth. The popularity baselines (overall, by
   the user's country, by the user's top category) are scored on the same truth; the
   caller publishes the hybrid only when it beats the best of them
   (:func:`lakecart.selection.choose`).
2. **Holdout** (the last period before as_of): the chosen models refitted on the data
   before it, every model and the popularity baseline evaluated the same way
   (:mod:`lakecart.recommend.evaluate`).
3. **Final**: the chosen models refitted on all data before as_of.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from pyspark import StorageLevel
from pyspark.ml.recommendation import ALSModel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import BasketConfig, RecommendConfig
from lakecart.gold import Metric
from lakecart.recommend import core, models, outputs
from lakecart.recommend.core import (
    ALS,
    BASKET,
    CONTENT,
    ITEM_CF,
    LAST,
    POPULAR,
    POPULAR_CATEGORY,
    POPULAR_COUNTRY,
    ItemModel,
    Neighbours,
)
from lakecart.recommend.data import (
    I_IDX,
    Inputs,
    Split,
    indexed,
    item_stats,
    out_of_stock,
    user_countries,
)
from lakecart.recommend.evaluate import (
    beyond_accuracy_by_model,
    model_of_key,
    model_user_key,
    per_user_ranking,
)
from lakecart.recommend.models import AlsParams
from lakecart.recommend.score import score, user_blocks
from lakecart.runlog import RunContext
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")

HYBRID = N.SRC_HYBRID
RANKING = ("precision", "recall", "ndcg", "map", "hit_rate")
BEYOND = ("coverage", "diversity", "novelty")


@dataclass
class Choice:
    """What validation chose (the defaults when validation could not run)."""

    als: AlsParams
    cf: str  # "ease:<factor>", "cosine", "jaccard" or "lift"
    blend: dict[str, float]
    scores: dict[str, float] = field(default_factory=dict)  # candidate -> validation ndcg
    published: str = HYBRID  # the hybrid, or the popularity baseline that beat it

    def to_json(self) -> dict:
        """Plain data (saved beside the model)."""
        return {
            "als": dataclasses.asdict(self.als),
            "cf": self.cf,
            "blend": self.blend,
            "published": self.published,
        }

    @classmethod
    def from_json(cls, d: Mapping) -> Choice:
        """Inverse of :meth:`to_json` (versions saved before the rule publish the hybrid)."""
        return cls(
            AlsParams(**d["als"]),
            d["cf"],
            {k: float(v) for k, v in d["blend"].items()},
            published=d.get("published", HYBRID),
        )


@dataclass
class Fitted:
    """Models fitted on one split (item side on the driver, user side distributed)."""

    split: Split
    train_idx: DataFrame
    model: ItemModel
    als: ALSModel | None
    pairs: DataFrame | None = None
    counts: DataFrame | None = None
    gram: np.ndarray | None = None


class Context:
    """The catalogue, index frames and shared settings of one run."""

    def __init__(
        self,
        spark: SparkSession,
        rc: RecommendConfig,
        inputs: Inputs,
        item_ids: list[str],
        items: DataFrame,
        users: DataFrame,
        content: Neighbours | None,
        ctx: RunContext,
        basket: BasketConfig | None = None,
    ) -> None:
        self.spark = spark
        self.rc = rc
        self.inputs = inputs
        self.item_ids = np.array(item_ids, dtype=object)
        self.items = items
        self.users = users
        self.content = content
        self.ctx = ctx
        self.basket = basket  # baskets of the bought-together source (None: source off)

    @property
    def n_items(self) -> int:
        """Catalogue size."""
        return len(self.item_ids)

    @property
    def dense(self) -> bool:
        """Whether item-to-item models are dense matrices (small catalogue)."""
        return self.n_items <= self.rc.ease_max_items


# ------------------------------------------------------------------ candidates
def als_grid_start(rc: RecommendConfig) -> AlsParams:
    """The first value of every ALS candidate list."""
    return AlsParams(
        rc.als_ranks[0],
        rc.als_reg_params[0],
        rc.als_alphas[0],
        rc.als_max_iters[0],
        rc.als_confidences[0],
    )


def als_variants(rc: RecommendConfig, base: AlsParams) -> list[AlsParams]:
    """The start and every one-dimension change of it (one-at-a-time search)."""
    out = [base]
    dims = {
        "rank": rc.als_ranks,
        "reg": rc.als_reg_params,
        "alpha": rc.als_alphas,
        "max_iter": rc.als_max_iters,
        "confidence": rc.als_confidences,
    }
    for name, values in dims.items():
        for v in values:
            cand = dataclasses.replace(base, **{name: v})
            if cand not in out:
                out.append(cand)
    return out


def cf_candidates(rc: RecommendConfig, dense: bool) -> list[str]:
    """Item-to-item options to validate (EASE only for small catalogues)."""
    out = []
    for s in rc.cf_similarities:
        if s == models.EASE:
            if dense:
                out += [f"{models.EASE}:{f:g}" for f in rc.ease_factors]
        elif s not in out:
            out.append(s)
    return out or [models.COSINE]


def default_choice(rc: RecommendConfig, dense: bool) -> Choice:
    """What is used when there is no validation data."""
    cf = cf_candidates(rc, dense)
    mid = cf[min(1, len(cf) - 1)] if cf[0].startswith(models.EASE) and len(cf) > 1 else cf[0]
    return Choice(als_grid_start(rc), mid, {ALS: 0.5, ITEM_CF: 0.5})


# ------------------------------------------------------------------ fitting on a split
def fit_base(c: Context, split: Split) -> Fitted:
    """Index the split's training rows, compute popularity, activity and co-occurrences."""
    rc = c.rc
    split.train = split.train.persist(StorageLevel.MEMORY_AND_DISK)
    if split.truth is not None:
        split.truth = split.truth.persist(StorageLevel.MEMORY_AND_DISK)
    train_idx = indexed(split.train, c.items, c.users).persist(StorageLevel.MEMORY_AND_DISK)
    stats = item_stats(split.train, split.cut, rc.popular_days, rc.inactive_item_days)
    oos = out_of_stock(c.inputs.inventory, split.cut)
    if oos is not None:
        stats = stats.join(oos.withColumn("_oos", F.lit(True)), N.ITEM_ID, "left").withColumn(
            "active", F.col("active") & F.col("_oos").isNull()
        )
    pdf = (
        stats.join(F.broadcast(c.items), N.ITEM_ID)
        .select(I_IDX, "recent_users", "all_users", "active")
        .toPandas()
    )
    n = c.n_items
    pop = np.zeros(n)
    allowed = np.zeros(n, dtype=bool)
    if len(pdf):
        idx = pdf[I_IDX].to_numpy()
        all_u = pdf["all_users"].to_numpy(np.float64)
        pop[idx] = pdf["recent_users"].to_numpy(np.float64) + all_u / (all_u.max() + 1.0)
        allowed[idx] = pdf["active"].to_numpy(bool)
    orders = c.inputs.silver.orders
    basket = None
    if c.basket is not None and rc.basket_weights and orders is not None:
        basket = models.basket_neighbours(
            orders, c.inputs.silver.products, c.items, split.cut, c.basket, rc.cf_top_k, n
        )
    context = None
    if rc.last_items > 0:
        context = models.context_neighbours(
            orders,
            c.inputs.silver.events,
            c.items,
            split.cut,
            rc.context_max_items,
            rc.cf_top_k,
            n,
            c.content,
            rc.context_content_weight,
        )
    model = ItemModel(
        c.item_ids,
        allowed,
        pop.astype(np.float32),
        content=c.content,
        basket=basket,
        context=context,
        recent_decay=rc.last_item_decay,
    )
    pairs = counts = gram = None
    if c.dense:
        gram = models.gram_matrix(train_idx, rc.cf_max_user_items, n)
    else:
        pairs, counts = models.cooccurrence(train_idx, rc.cf_max_user_items)
    return Fitted(split, train_idx, model, None, pairs, counts, gram)


def with_cf(c: Context, f: Fitted, cf: str) -> ItemModel:
    """The split's item model with the item-to-item method ``cf``."""
    if cf.startswith(models.EASE):
        factor = float(cf.split(":", 1)[1])
        return dataclasses.replace(f.model, cf_dense=models.ease_weights(f.gram, factor), cf=None)
    if f.gram is not None:
        return dataclasses.replace(f.model, cf_dense=models.similarity_dense(f.gram, cf), cf=None)
    nb = models.neighbours_spark(f.pairs, f.counts, cf, c.rc.cf_top_k, c.n_items)
    return dataclasses.replace(f.model, cf_dense=None, cf=nb)


def with_als(c: Context, f: Fitted, p: AlsParams) -> tuple[ItemModel, ALSModel]:
    """Fit ALS on the split and return the item model with its item factors."""
    als = models.fit_als(f.train_idx, p, c.rc.seed, c.rc.checkpoint_interval)
    return dataclasses.replace(f.model, item_factors=models.item_factors(als, c.n_items)), als


def release(f: Fitted) -> None:
    """Drop the split's cached frames."""
    f.train_idx.unpersist()
    f.split.train.unpersist()
    if f.split.truth is not None:
        f.split.truth.unpersist()


# ------------------------------------------------------------------ evaluation
def ranking_by_model(
    recs: DataFrame, names: list[str], truth: DataFrame, k: int
) -> dict[str, dict[str, float]]:
    """:func:`~lakecart.recommend.evaluate.ranking_metrics` of every model in ``recs`` in
    one Spark job: users are keyed by (model, user) for
    :func:`~lakecart.recommend.evaluate.per_user_ranking`, then averaged per model."""
    spark = recs.sparkSession
    r = recs.select(
        model_user_key(F.col(core.OUT_MODEL), F.col(N.USER_ID)).alias(N.USER_ID),
        N.ITEM_ID,
        N.RANK,
    )
    labels = spark.createDataFrame([(x,) for x in names], "_m string")
    t = truth.select(N.USER_ID, N.ITEM_ID).crossJoin(F.broadcast(labels))
    t = t.select(model_user_key(F.col("_m"), F.col(N.USER_ID)).alias(N.USER_ID), N.ITEM_ID)
    pu = per_user_ranking(r, t, k).withColumn("_m", model_of_key(F.col(N.USER_ID)))
    rows = (
        pu.groupBy("_m")
        .agg(
            F.count(F.lit(1)).alias("users"),
            *[F.avg(m).alias(m) for m in ("precision", "recall", "ndcg")],
            F.avg("ap").alias("map"),
            F.avg("ap_at_k").alias("map_at_k"),
            F.avg("hit").alias("hit_rate"),
        )
        .collect()  # one row per model
    )
    out = {x: {m: 0.0 for m in (*RANKING, "map_at_k", "users")} for x in names}
    for row in rows:
        out[row["_m"]] = {m: float(row[m] or 0.0) for m in (*RANKING, "map_at_k", "users")}
    return out


def evaluate_lists(
    recs: DataFrame,
    names: list[str],
    truth: DataFrame,
    k: int,
    train: DataFrame | None = None,
    catalogue: int | None = None,
) -> dict[str, dict[str, float]]:
    """Ranking (and, with ``train``, beyond-accuracy) metrics per model name in ``recs``."""
    recs = recs.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        out = ranking_by_model(recs, names, truth, k)
        if train is not None:
            beyond = beyond_accuracy_by_model(recs, names, train, k, catalogue, core.OUT_MODEL)
            for name in names:
                out[name].update(beyond[name])
        return out
    finally:
        recs.unpersist()


def _recs(
    c: Context,
    f: Fitted,
    model: ItemModel,
    als: ALSModel | None,
    blends: Mapping[str, Mapping[str, float]],
    tag: str = "",
) -> DataFrame:
    """Top-k lists of the truth users for each blend (model names prefixed by ``tag``)."""
    users = f.split.truth.select(N.USER_ID).distinct()
    blocks = user_blocks(f.train_idx, als, users, recent=recent_items(c, model))
    recs = score(blocks, model, blends, c.rc.eval_k, c.rc.exclude_purchased)
    if tag:
        recs = recs.withColumn(core.OUT_MODEL, F.concat(F.lit(tag), F.col(core.OUT_MODEL)))
    return recs


def recent_items(c: Context, model: ItemModel) -> int:
    """How many recent items the user blocks carry (0 without the last-item source)."""
    return c.rc.last_items if model.has(LAST) else 0


def _eval_blends(
    c: Context,
    f: Fitted,
    model: ItemModel,
    als: ALSModel | None,
    blends: Mapping[str, Mapping[str, float]],
) -> dict[str, float]:
    res = evaluate_lists(_recs(c, f, model, als, blends), list(blends), f.split.truth, c.rc.eval_k)
    return {k: v["ndcg"] for k, v in res.items()}


def _eval_union(c: Context, f: Fitted, frames: dict[str, DataFrame]) -> dict[str, float]:
    """NDCG of several candidates' lists (``{model name in recs: recs}``) in one job."""
    names = list(frames)
    union = None
    for df in frames.values():
        union = df if union is None else union.unionByName(df)
    res = evaluate_lists(union, names, f.split.truth, c.rc.eval_k)
    return {k: v["ndcg"] for k, v in res.items()}


def has_truth(f: Fitted) -> bool:
    """Whether the split has relevant items of users the models know."""
    t = f.split.truth
    if t is None:
        return False
    return (
        t.join(f.train_idx.select(N.USER_ID).distinct(), N.USER_ID, "left_semi").limit(1).count()
        > 0
    )


def tune(c: Context, f: Fitted) -> Choice:
    """Choose ALS hyperparameters, the item-to-item method and the hybrid weights on the
    validation split (NDCG@eval_k)."""
    rc = c.rc
    scores: dict[str, float] = {}
    # ALS: one-at-a-time from the start point, then the best value of every dimension
    best_als: tuple[float, AlsParams, ItemModel, ALSModel] | None = None
    tried: list[tuple[AlsParams, float]] = []
    with c.ctx.stage("recommend: tune als") as st:
        cands = als_variants(rc, als_grid_start(rc))
        # the candidates are independent: fitted recommend.fit_parallelism at a time
        fitted = map_in_threads(
            lambda p: with_als(c, f, p), cands, rc.fit_parallelism, "recommend-fit"
        )
        fits = {f"a{i}": (p, *mf) for i, (p, mf) in enumerate(zip(cands, fitted, strict=True))}
        res = _eval_union(
            c,
            f,
            {
                k + ALS: _recs(c, f, m, als, {ALS: {ALS: 1.0}}, tag=k)
                for k, (p, m, als) in fits.items()
            },
        )
        for key, (p, m, als) in fits.items():
            s = res[key + ALS]
            scores[f"als {p.label()}"] = s
            tried.append((p, s))
            log.info("[recommend] validation ndcg@%d %.4f  als %s", rc.eval_k, s, p.label())
            if best_als is None or s > best_als[0]:
                best_als = (s, p, m, als)
        start = cands[0]
        base = dict(tried)[start]
        combo = {}
        for name in ("rank", "reg", "alpha", "max_iter", "confidence"):
            better = [
                (s, getattr(p, name))
                for p, s in tried
                if s > base and getattr(p, name) != getattr(start, name)
            ]
            if better:
                combo[name] = max(better)[1]
        if len(combo) > 1:
            p = dataclasses.replace(start, **combo)
            m, als = with_als(c, f, p)
            s = _eval_blends(c, f, m, als, {ALS: {ALS: 1.0}})[ALS]
            scores[f"als {p.label()}"] = s
            log.info("[recommend] validation ndcg@%d %.4f  als %s", rc.eval_k, s, p.label())
            if s > best_als[0]:
                best_als = (s, p, m, als)
        st.update(candidates=len(scores), best=f"{best_als[0]:.4f}", params=best_als[1].label())
    _, als_p, als_model, als = best_als
    # item-to-item
    with c.ctx.stage("recommend: tune item_cf") as st:
        best_cf = None
        cf_models = {
            f"c{i}": (cf, with_cf(c, f, cf)) for i, cf in enumerate(cf_candidates(rc, c.dense))
        }
        res = _eval_union(
            c,
            f,
            {
                k + ITEM_CF: _recs(c, f, m, None, {ITEM_CF: {ITEM_CF: 1.0}}, tag=k)
                for k, (_, m) in cf_models.items()
            },
        )
        for key, (cf, m) in cf_models.items():
            s = res[key + ITEM_CF]
            scores[f"item_cf {cf}"] = s
            log.info("[recommend] validation ndcg@%d %.4f  item_cf %s", rc.eval_k, s, cf)
            if best_cf is None or s > best_cf[0]:
                best_cf = (s, cf, m)
        st.update(
            candidates=len(cf_candidates(rc, c.dense)), best=f"{best_cf[0]:.4f}", method=best_cf[1]
        )
    _, cf, cf_model = best_cf
    # hybrid: ALS / item-CF share, then small popularity / content weights
    with c.ctx.stage("recommend: tune hybrid") as st:
        both = dataclasses.replace(cf_model, item_factors=als_model.item_factors)
        shares = [round(float(x), 4) for x in np.arange(0.0, 1.0 + 1e-9, rc.blend_step)]
        blends = {f"b{i}": {ALS: 1.0 - s, ITEM_CF: s} for i, s in enumerate(shares)}
        res = _eval_blends(c, f, both, als, blends)
        best_name = max(res, key=lambda k: (res[k], -int(k[1:])))
        blend, best = blends[best_name], res[best_name]
        extra = {}
        for e in (POPULAR, CONTENT):
            if not both.has(e):
                continue
            for w in (0.05, 0.2):
                extra[f"{e}{w:g}"] = {**blend, e: w}
        if extra:
            res2 = _eval_blends(c, f, both, als, extra)
            best_extra = max(res2, key=res2.get)
            if res2[best_extra] > best:
                blend, best = extra[best_extra], res2[best_extra]
            scores.update({f"hybrid {extra[k]}": v for k, v in res2.items()})
        scores.update({f"hybrid {blends[k]}": v for k, v in res.items()})
        st.update(best=f"{best:.4f}", weights=blend)
    # bought-together on top of the chosen blend: kept only when validation improves
    if both.has(BASKET) and rc.basket_weights:
        with c.ctx.stage("recommend: tune bought_together") as st:
            cands = {f"t{i}": {**blend, BASKET: float(w)} for i, w in enumerate(rc.basket_weights)}
            cands[BASKET] = {BASKET: 1.0}
            res3 = _eval_blends(c, f, both, als, cands)
            alone = res3.pop(BASKET)
            scores[BASKET] = alone
            best_t = max(res3, key=lambda k: (res3[k], -int(k[1:])))
            scores.update({f"hybrid {cands[k]}": v for k, v in res3.items()})
            kept = res3[best_t] > best
            if kept:
                blend, best = cands[best_t], res3[best_t]
            st.update(alone=f"{alone:.4f}", best=f"{best:.4f}", kept=kept, weights=blend)
    # the last item's neighbours: alone, with popularity and on top of the chosen blend;
    # popularity and content alone are scored in the same job (the rule's baseline)
    with c.ctx.stage("recommend: tune last_item") as st:
        cands: dict[str, dict[str, float]] = {POPULAR: {POPULAR: 1.0}}
        if both.has(CONTENT):
            cands[CONTENT] = {CONTENT: 1.0}
        variants: list[str] = []
        if both.has(LAST):
            cands[LAST] = {LAST: 1.0}
            variants.append(LAST)
            for i, w in enumerate(rc.last_item_weights):
                cands[f"l{i}"] = {**blend, LAST: float(w)}
                variants.append(f"l{i}")
            for i, w in enumerate(LAST_POPULAR_WEIGHTS):
                cands[f"p{i}"] = {LAST: 1.0, POPULAR: w}
                variants.append(f"p{i}")
        res4 = _eval_blends(c, f, both, als, cands)
        for name in (POPULAR, CONTENT, LAST):
            if name in res4:
                scores[name] = res4[name]
        scores.update({f"hybrid {cands[k]}": res4[k] for k in variants if k != LAST})
        kept = ""
        if variants:
            best_l = max(variants, key=lambda k: (res4[k], -variants.index(k)))
            if res4[best_l] > best:
                blend, best, kept = cands[best_l], res4[best_l], best_l
        st.update(
            alone=f"{res4.get(LAST, float('nan')):.4f}",
            popular=f"{res4[POPULAR]:.4f}",
            best=f"{best:.4f}",
            kept=bool(kept),
            weights=blend,
        )
    scores[ALS] = best_als[0]
    scores[ITEM_CF] = best_cf[0]
    scores[HYBRID] = best
    return Choice(als_p, cf, blend, scores)


LAST_POPULAR_WEIGHTS = (0.1, 0.3)
"""Popularity weights tried beside the last-item source alone (users whose latest items
have no neighbour then get popular items)."""


def baseline_lists(c: Context, f: Fitted, users: DataFrame, n: int) -> dict[str, DataFrame]:
    """The popularity-by-segment baselines' top-``n`` lists for ``users`` on a split:
    ``{name: user_id, rank, item_id, score, source, reason}`` for the segments of
    ``recommend.popular_segments`` that exist (countries known, products with categories),
    computed as published (:func:`lakecart.recommend.outputs.popular_for_users`) from the
    split's training data, its active items and its seen items."""
    rc = c.rc
    products = c.inputs.silver.products
    segs: dict[str, DataFrame] = {}
    countries = None
    if outputs.SEG_COUNTRY in rc.popular_segments:
        countries = user_countries(c.inputs, f.split.cut)
        if countries is not None:
            # each segment frame feeds the popular lists and the users' lists: computed once
            countries = countries.localCheckpoint(eager=True)
            segs[POPULAR_COUNTRY] = countries
    if outputs.SEG_CATEGORY in rc.popular_segments:
        cats = outputs.top_categories(f.split.train, products)
        if cats is not None:
            segs[POPULAR_CATEGORY] = cats.localCheckpoint(eager=True)
    if not segs:
        return {}
    ids = [str(x) for x in c.item_ids[f.model.allowed]]
    allowed = c.spark.createDataFrame([(x,) for x in ids], f"{N.ITEM_ID} string")
    popular = outputs.popular_lists(
        f.split.train,
        allowed,
        countries,
        products if POPULAR_CATEGORY in segs else None,
        f.split.cut,
        rc.popular_days,
        rc.popular_n,
    ).localCheckpoint(eager=True)  # read by every baseline's lists, twice each
    seen = f.split.train.select(N.USER_ID, N.ITEM_ID) if rc.exclude_purchased else None
    return {
        name: outputs.popular_for_users(
            users, seg, outputs.baseline_segment(name), popular, seen, n
        )
        for name, seg in segs.items()
    }


def evaluate_baselines(c: Context, f: Fitted) -> dict[str, dict[str, float]]:
    """Ranking metrics of the popularity-by-segment baselines on a split's truth (the
    overall popularity baseline is scored with the models, as ``popular``)."""
    users = f.split.truth.select(N.USER_ID).distinct()
    lists = baseline_lists(c, f, users, c.rc.eval_k)
    if not lists:
        return {}
    union = None
    for name, df in lists.items():
        part = df.select(F.lit(name).alias(core.OUT_MODEL), N.USER_ID, N.ITEM_ID, N.RANK)
        union = part if union is None else union.unionByName(part)
    return evaluate_lists(union, list(lists), f.split.truth, c.rc.eval_k)


def single_blends(model: ItemModel, blend: Mapping[str, float]) -> dict[str, dict[str, float]]:
    """The models evaluated side by side: each source alone and the hybrid."""
    out = {s: {s: 1.0} for s in (ALS, ITEM_CF, CONTENT, BASKET, LAST, POPULAR) if model.has(s)}
    out[HYBRID] = dict(blend)
    return out


def evaluate_split(
    c: Context, f: Fitted, model: ItemModel, als: ALSModel | None, choice: Choice, beyond: bool
) -> dict[str, dict[str, float]]:
    """Every model and the popularity baseline on one split's truth."""
    truth = f.split.truth
    users = truth.select(N.USER_ID).distinct()
    blends = single_blends(model, choice.blend)
    blocks = user_blocks(f.train_idx, als, users, recent=recent_items(c, model))
    recs = score(blocks, model, blends, c.rc.eval_k, c.rc.exclude_purchased)
    train = f.split.train.select(N.USER_ID, N.ITEM_ID) if beyond else None
    catalogue = int(model.allowed.sum()) if beyond else None
    return evaluate_lists(recs, list(blends), truth, c.rc.eval_k, train, catalogue)


def metric_rows(
    results: Mapping[str, Mapping[str, float]],
    split: str,
    version: str,
    dataset: str,
    as_of: dt.date,
    k: int,
) -> list[Metric]:
    """``ops.model_metrics`` rows: every model's metrics with popularity's beside them."""
    base = results.get(POPULAR, {})
    rows = []
    for model, m in results.items():
        for metric in (*RANKING, *BEYOND):
            if metric not in m:
                continue
            rows.append(
                Metric(
                    model=model,
                    model_version=version,
                    metric=metric,
                    value=m[metric],
                    dataset=dataset,
                    as_of=as_of,
                    split=split,
                    k=k,
                    baseline=POPULAR,
                    baseline_value=base.get(metric),
                )
            )
    return rows


def fit_final(c: Context, f: Fitted, choice: Choice) -> tuple[ItemModel, ALSModel]:
    """The chosen models fitted on a split (the item model has ALS, item-CF, content)."""
    m = with_cf(c, f, choice.cf)
    als_m, als = with_als(c, f, choice.als)
    return dataclasses.replace(m, item_factors=als_m.item_factors), als
