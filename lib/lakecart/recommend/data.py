"""Inputs of the recommenders: interactions as of a date, item and user indices, and the
train / validation / holdout splits carved from the data before as_of.

Splits (SPEC section 5: time is respected):

* chronological (orders or events exist): the holdout is the last
  ``recommend.holdout_days`` before as_of, the validation period the
  ``recommend.validation_days`` before that. The training data of a period is
  ``features.interactions`` recomputed as of the period's start (the feature functions, in
  memory), and its truth is what the users the models know bought new in the period
  (:func:`lakecart.recommend.evaluate.new_item_truth`): customers who bought before and,
  with ``recommend.truth_users: known``, users who only browsed (events) before — in a
  shop of one-off buyers the browsers are most of the users the lists are for.
* random (ratings-only data, which has no purchase time line worth respecting): per-user
  stratified random holdout, then a per-user random validation split of the rest.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import Config
from lakecart.features.build import FeatureInputs, build_features, read_inputs
from lakecart.features.specs import INTERACTIONS
from lakecart.recommend.evaluate import new_item_truth, stratified_split
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse

CHRONOLOGICAL = "chronological"
RANDOM = "random"

# internal column names
U_IDX = "_u"
I_IDX = "_i"
TS = "_ts"


@dataclass
class Inputs:
    """Silver entities the recommend job reads (None when absent) and the interactions."""

    silver: FeatureInputs
    inventory: DataFrame | None
    interactions: DataFrame  # user_id, item_id, weight, _ts (last interaction)


@dataclass
class Split:
    """One training set and the truth it is evaluated on.

    Attributes:
        name: ``validation``, ``holdout`` or ``final``.
        cut: Decision date of the training data (items active/popular relative to it).
        train: ``user_id, item_id, weight, _ts``.
        truth: ``user_id, item_id`` of the relevant items; None for the final fit.
    """

    name: str
    cut: dt.date
    train: DataFrame
    truth: DataFrame | None = None


def _slim(interactions: DataFrame) -> DataFrame:
    return interactions.filter(F.col(N.WEIGHT) > 0).select(
        N.USER_ID, N.ITEM_ID, N.WEIGHT, F.col(N.LAST_INTERACTION_TS).alias(TS)
    )


def interactions_as_of(silver: FeatureInputs, as_of: dt.date, config: Config) -> DataFrame:
    """``features.interactions`` as of ``as_of``, computed in memory (pairs with weight > 0)."""
    frame = build_features(silver, as_of, config.features, [N.INTERACTIONS])[N.INTERACTIONS]
    return _slim(frame)


def load_inputs(lh: Lakehouse, config: Config, as_of: dt.date) -> Inputs | None:
    """Silver inputs and the interactions of ``as_of`` (the feature snapshot when it exists,
    else computed in memory); None when silver has no orders, events or ratings."""
    silver = read_inputs(lh)
    if not silver.has_facts:
        return None
    inv_spec = SILVER[N.INVENTORY]
    inventory = lh.read(inv_spec) if lh.exists(inv_spec) else None
    inter = None
    if lh.exists(INTERACTIONS):
        snap = lh.read(INTERACTIONS).filter(F.col(N.AS_OF) == F.lit(as_of))
        if snap.limit(1).count():
            inter = _slim(snap)
    if inter is None:
        inter = interactions_as_of(silver, as_of, config)
    return Inputs(silver, inventory, inter)


def split_mode(inputs: Inputs, setting: str) -> str:
    """``chronological`` or ``random`` (``auto``: random for ratings-only data)."""
    if setting != "auto":
        return setting
    s = inputs.silver
    return CHRONOLOGICAL if (s.orders is not None or s.events is not None) else RANDOM


def _period_truth(
    inputs: Inputs, config: Config, start: dt.date, end: dt.date, train: DataFrame | None = None
) -> DataFrame:
    """What returning users took up new in ``[start, end)``: purchases when there are
    orders (by past buyers and, with ``recommend.truth_users: known``, by every user of
    ``train``, the interactions before ``start``), else any new interaction pair."""
    s = inputs.silver
    if s.orders is not None:
        known = None
        if train is not None and config.recommend.truth_users == "known":
            known = train.select(N.USER_ID).distinct()
        return new_item_truth(s.orders, start, end, known)
    before = interactions_as_of(s, start, config)
    after = interactions_as_of(s, end, config)
    returning = before.select(N.USER_ID).distinct()
    return (
        after.select(N.USER_ID, N.ITEM_ID)
        .join(before.select(N.USER_ID, N.ITEM_ID), [N.USER_ID, N.ITEM_ID], "left_anti")
        .join(returning, N.USER_ID, "left_semi")
    )


def make_splits(inputs: Inputs, config: Config, as_of: dt.date, mode: str) -> list[Split]:
    """Validation, holdout (both with truth) and final training sets.

    Returns:
        ``[validation, holdout, final]``.
    """
    rc = config.recommend
    full = inputs.interactions
    final = Split(N.SPLIT_TRAIN, as_of, full)
    if mode == CHRONOLOGICAL:
        cut_h = as_of - dt.timedelta(days=rc.holdout_days)
        cut_v = cut_h - dt.timedelta(days=rc.validation_days)
        s = inputs.silver
        train_h = interactions_as_of(s, cut_h, config)
        train_v = interactions_as_of(s, cut_v, config)
        hold = Split(
            N.SPLIT_HOLDOUT, cut_h, train_h, _period_truth(inputs, config, cut_h, as_of, train_h)
        )
        val = Split(
            N.SPLIT_VALIDATION, cut_v, train_v, _period_truth(inputs, config, cut_v, cut_h, train_v)
        )
        return [val, hold, final]
    train_h, test_h = stratified_split(full, 1.0 - rc.holdout_share, rc.seed)
    train_v, test_v = stratified_split(train_h, 1.0 - rc.holdout_share, rc.seed + 1)
    hold = Split(N.SPLIT_HOLDOUT, as_of, train_h, test_h.select(N.USER_ID, N.ITEM_ID))
    val = Split(N.SPLIT_VALIDATION, as_of, train_v, test_v.select(N.USER_ID, N.ITEM_ID))
    return [val, hold, final]


def user_index(spark: SparkSession, interactions: DataFrame) -> DataFrame:
    """``user_id -> _u`` (0..n-1, by user id), distributed (``zipWithIndex``)."""
    users = interactions.select(N.USER_ID).distinct().orderBy(N.USER_ID)
    rdd = users.rdd.zipWithIndex().map(lambda r: (r[0][0], int(r[1])))
    return spark.createDataFrame(rdd, f"{N.USER_ID} string, {U_IDX} int")


def item_ids(interactions: DataFrame) -> list[str]:
    """The catalogue the models know (items with an interaction), sorted; item-sized."""
    return [r[0] for r in interactions.select(N.ITEM_ID).distinct().orderBy(N.ITEM_ID).collect()]


def item_index(spark: SparkSession, ids: list[str]) -> DataFrame:
    """``item_id -> _i`` from the sorted item list."""
    return spark.createDataFrame(
        list(zip(ids, range(len(ids)), strict=True)), f"{N.ITEM_ID} string, {I_IDX} int"
    )


def indexed(train: DataFrame, items: DataFrame, users: DataFrame) -> DataFrame:
    """Training rows with ``_u`` and ``_i`` (rows of unknown items or users dropped)."""
    return train.join(F.broadcast(items), N.ITEM_ID).join(users, N.USER_ID)


def item_stats(
    train: DataFrame, cut: dt.date, popular_days: int, inactive_days: int | None
) -> DataFrame:
    """Per item: recent and all-time distinct users, and whether it is still active.

    Returns:
        ``item_id, recent_users, all_users, active``.
    """
    since = F.lit(cut - dt.timedelta(days=popular_days)).cast("timestamp")
    active = F.lit(True)
    if inactive_days:
        active = F.max(TS) >= F.lit(cut - dt.timedelta(days=inactive_days)).cast("timestamp")
    return train.groupBy(N.ITEM_ID).agg(
        F.countDistinct(F.when(F.col(TS) >= since, F.col(N.USER_ID))).alias("recent_users"),
        F.countDistinct(N.USER_ID).alias("all_users"),
        active.alias("active"),
    )


def out_of_stock(inventory: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    """Items whose latest stock snapshot before as_of shows nothing on hand."""
    if inventory is None:
        return None
    w = Window.partitionBy(N.ITEM_ID).orderBy(F.col(N.SNAPSHOT_DATE).desc())
    return (
        inventory.filter(F.col(N.SNAPSHOT_DATE) < F.lit(as_of))
        .withColumn("_r", F.row_number().over(w))
        .filter((F.col("_r") == 1) & (F.col(N.ON_HAND) <= 0))
        .select(N.ITEM_ID)
    )


def user_countries(inputs: Inputs, as_of: dt.date) -> DataFrame | None:
    """``user_id, country``: the most frequent country of the user's orders before as_of,
    else the customer's country; None when neither exists."""
    s = inputs.silver
    parts = []
    if s.orders is not None:
        o = (
            s.orders.filter(
                F.col(N.CUSTOMER_ID).isNotNull()
                & F.col(N.COUNTRY).isNotNull()
                & (F.col(N.ORDER_TS) < F.lit(as_of).cast("timestamp"))
            )
            .groupBy(N.CUSTOMER_ID, N.COUNTRY)
            .agg(F.countDistinct(N.ORDER_ID).alias("_n"))
        )
        w = Window.partitionBy(N.CUSTOMER_ID).orderBy(F.col("_n").desc(), F.col(N.COUNTRY))
        parts.append(
            o.withColumn("_r", F.row_number().over(w))
            .filter("_r = 1")
            .select(F.col(N.CUSTOMER_ID).alias(N.USER_ID), F.col(N.COUNTRY).alias("_oc"))
        )
    if s.customers is not None:
        c = s.customers.filter(F.col(N.COUNTRY).isNotNull()).select(
            F.col(N.CUSTOMER_ID).alias(N.USER_ID), F.col(N.COUNTRY).alias("_cc")
        )
        c = c.groupBy(N.USER_ID).agg(F.min("_cc").alias("_cc"))
        parts.append(c)
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.join(p, N.USER_ID, "full")
    cols = [c for c in ("_oc", "_cc") if c in out.columns]
    return out.select(N.USER_ID, F.coalesce(*[F.col(c) for c in cols]).alias(N.COUNTRY)).filter(
        F.col(N.COUNTRY).isNotNull()
    )


def known_users(inputs: Inputs, as_of: dt.date) -> DataFrame:
    """Users the shop knows at as_of: with an interaction, or a customer signed up before."""
    users = inputs.interactions.select(N.USER_ID)
    c = inputs.silver.customers
    if c is not None:
        signed = c.filter(
            F.col(N.SIGNUP_TS).isNull() | (F.col(N.SIGNUP_TS) < F.lit(as_of).cast("timestamp"))
        ).select(F.col(N.CUSTOMER_ID).alias(N.USER_ID))
        users = users.unionByName(signed)
    return users.distinct()


def replace_silver(inputs: Inputs, **kw) -> Inputs:
    """A copy with some silver frames replaced (tests)."""
    return dataclasses.replace(inputs, silver=dataclasses.replace(inputs.silver, **kw))
