"""Customer features of the uplift models, at a reference time per row.

Two sources, both optional:

* **the customer record** (silver.customers): ``country``, ``gender`` and ``birth_year``,
  the days since sign-up, and every landed attribute of the ``attributes`` map. A key
  whose non-empty values all parse as numbers is numeric; the others are categories
  (their ``marketing.max_categories`` most frequent values, the rest ``other``, empty
  ``missing``); keys with more than ``marketing.max_distinct`` values (ids, free text)
  are ignored. Columns that never vary are dropped.
* **the order history before the reference time** (silver.orders): distinct orders, net
  revenue, days since the last and the first order, and orders and revenue in each of
  ``features.windows`` (the definitions of ``features.user_features``), with a
  ``hist_has_orders`` indicator (0 and the indicator when there is no order).

The reference time is each contact's ``sent_ts`` for training rows and as_of for the
scored customers: ``features.user_features`` holds one snapshot per as_of, and a model fed
the snapshot at as_of would learn from the very orders that were the responses to the
campaigns it is trained on; the history is therefore recomputed at each contact's send
time (one join of contacts with their customers' orders, one aggregation).

Numbers enter the models as ``sign(x) log(1 + |x|)`` (monotone: trees are unaffected, the
logistic learner sees skewed money and count columns on a usable scale).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.feature import OneHotEncoder, StringIndexer, VectorAssembler
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

REF_TS = "_ref_ts"
FEATURES = "_x"  # customer features (vector)
FEATURES_OFFER = "_xo"  # customer features followed by the offer (one-hot)
STANDARD_CATEGORICAL = (N.COUNTRY, N.GENDER)
STANDARD_NUMERIC = (N.BIRTH_YEAR,)
TENURE = "signup_days"
OTHER = "other"
MISSING = "missing"
MAX_ATTRIBUTE_KEYS = 200


def column_name(key: str) -> str:
    """Feature column of an attribute key (``attr_`` + the key, non-word characters -> _)."""
    return "attr_" + re.sub(r"\W", "_", key.strip().lower())


@dataclass(frozen=True)
class FeaturePlan:
    """Which feature columns exist, discovered on silver (see :func:`plan_features`).

    Attributes:
        numeric: Numeric source -> feature column (attribute keys and standard columns).
        categorical: Categorical source -> (feature column, kept values).
        attribute_sources: Sources that are keys of the attributes map.
        with_missing: Numeric feature columns that get a ``<col>_missing`` indicator.
        tenure: Whether sign-up times exist (``signup_days``).
        history_windows: Windows of the order-history columns; None without orders.
    """

    numeric: dict[str, str] = field(default_factory=dict)
    categorical: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)
    attribute_sources: frozenset[str] = frozenset()
    with_missing: tuple[str, ...] = ()
    tenure: bool = False
    history_windows: tuple[int, ...] | None = None

    def numeric_columns(self) -> list[str]:
        """Every numeric feature column, in a fixed order."""
        cols = list(self.numeric.values()) + [f"{c}_missing" for c in self.with_missing]
        if self.tenure:
            cols.append(TENURE)
        if self.history_windows is not None:
            cols += history_columns(self.history_windows)
        return cols

    def categorical_columns(self) -> list[str]:
        """Every categorical feature column."""
        return [c for c, _ in self.categorical.values()]


def history_columns(windows: Sequence[int]) -> list[str]:
    """Order-history feature columns for ``windows``."""
    cols = [
        "hist_has_orders",
        "hist_orders",
        "hist_net_revenue",
        "hist_recency_days",
        "hist_first_order_days",
    ]
    for w in windows:
        cols += [f"hist_orders_{w}d", f"hist_revenue_{w}d"]
    return cols


def _long_values(customers: DataFrame) -> DataFrame:
    """(source, value, is_attribute) of every non-empty customer field."""
    parts = [
        customers.select(
            F.col(N.CUSTOMER_ID), F.explode(F.col(N.ATTRIBUTES)).alias("source", "value")
        ).select("source", "value", F.lit(True).alias("attr"))
    ]
    for c in (*STANDARD_CATEGORICAL, *STANDARD_NUMERIC):
        parts.append(
            customers.select(
                F.lit(c).alias("source"),
                F.col(c).cast("string").alias("value"),
                F.lit(False).alias("attr"),
            )
        )
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out.filter(F.col("value").isNotNull() & (F.trim(F.col("value")) != ""))


def plan_features(
    customers: DataFrame | None,
    has_orders: bool,
    windows: Sequence[int],
    max_categories: int,
    max_distinct: int,
) -> FeaturePlan:
    """Discover the feature columns (two small aggregations of silver.customers).

    Args:
        customers: silver.customers, or None.
        has_orders: Whether silver has orders (the history columns).
        windows: Windows of the history columns.
        max_categories: Values kept per categorical column.
        max_distinct: Attributes with more distinct values are ignored.
    """
    hist = tuple(sorted(set(int(w) for w in windows))) if has_orders else None
    if customers is None:
        return FeaturePlan(history_windows=hist)
    sizes = customers.agg(
        F.count(F.lit(1)).alias("n"), F.count(F.col(N.SIGNUP_TS)).alias("signups")
    ).first()
    n_customers, tenure = int(sizes["n"]), int(sizes["signups"]) > 0
    long = _long_values(customers)
    stats = (
        long.groupBy("source", "attr")
        .agg(
            F.count(F.lit(1)).alias("n"),
            F.count(F.trim(F.col("value")).try_cast("double")).alias("n_num"),
            F.approx_count_distinct("value").alias("n_distinct"),
        )
        .orderBy(F.desc("n"), "source")
        .limit(MAX_ATTRIBUTE_KEYS)
        .collect()
    )
    numeric: dict[str, str] = {}
    missing: list[str] = []
    cats: list[str] = []
    attrs: set[str] = set()
    for r in stats:
        src = r["source"]
        name = column_name(src) if r["attr"] else src
        if r["attr"] and src in (*STANDARD_CATEGORICAL, *STANDARD_NUMERIC, N.SIGNUP_TS):
            continue  # a landed column of the same name already is a standard column
        if r["n_distinct"] < 2 and r["n"] == n_customers:
            continue  # constant
        if r["attr"]:
            attrs.add(src)
        if r["n_num"] == r["n"] and src not in STANDARD_CATEGORICAL:
            numeric[src] = name
            if r["n"] < n_customers:
                missing.append(name)
        elif r["n_distinct"] <= max_distinct:
            cats.append(src)
    categorical: dict[str, tuple[str, tuple[str, ...]]] = {}
    if cats:
        w = Window.partitionBy("source").orderBy(F.desc("n"), "value")
        top = (
            long.filter(F.col("source").isin(cats))
            .groupBy("source", F.trim(F.col("value")).alias("value"))
            .agg(F.count(F.lit(1)).alias("n"))
            .withColumn("_r", F.row_number().over(w))
            .filter(F.col("_r") <= max_categories)
            .collect()  # at most max_categories values per categorical column
        )
        kept: dict[str, list[str]] = {}
        for r in sorted(top, key=lambda r: (r["source"], r["_r"])):
            kept.setdefault(r["source"], []).append(r["value"])
        for src in sorted(cats):
            name = column_name(src) if src in attrs else src
            categorical[src] = (name, tuple(kept.get(src, ())))
    return FeaturePlan(
        numeric=dict(sorted(numeric.items())),
        categorical=categorical,
        attribute_sources=frozenset(attrs),
        with_missing=tuple(sorted(missing)),
        tenure=tenure,
        history_windows=hist,
    )


def _source(plan: FeaturePlan, src: str) -> Column:
    if src in plan.attribute_sources:
        return F.col(N.ATTRIBUTES)[src]
    return F.col(src).cast("string")


def signed_log(c: Column) -> Column:
    """``sign(x) * log(1 + |x|)``."""
    return F.signum(c) * F.log1p(F.abs(c))


def customer_columns(customers: DataFrame, plan: FeaturePlan) -> DataFrame:
    """``customer_id``, ``signup_ts`` and the raw record features of every customer."""
    cols = [F.col(N.CUSTOMER_ID), F.col(N.SIGNUP_TS)]
    for src, name in plan.numeric.items():
        cols.append(F.trim(_source(plan, src)).try_cast("double").alias(name))
    for src, (name, kept) in plan.categorical.items():
        v = F.trim(_source(plan, src))
        cols.append(
            F.when(v.isNull() | (v == ""), F.lit(MISSING))
            .when(v.isin(list(kept)), v)
            .otherwise(F.lit(OTHER))
            .alias(name)
        )
    return customers.select(*cols)


def order_history(keys: DataFrame, orders: DataFrame, windows: Sequence[int]) -> DataFrame:
    """Order-history features of each (customer_id, _ref_ts) from orders strictly before it.

    Args:
        keys: Distinct ``customer_id, _ref_ts`` rows.
        orders: silver.orders (guest lines are ignored).
        windows: Look-back windows in days.

    Returns:
        ``customer_id, _ref_ts`` and :func:`history_columns` (0 without orders).
    """
    o = orders.filter(F.col(N.CUSTOMER_ID).isNotNull()).select(
        N.CUSTOMER_ID, N.ORDER_ID, N.ORDER_TS, N.REVENUE, N.IS_RETURN
    )
    j = keys.join(o, N.CUSTOMER_ID).filter(F.col(N.ORDER_TS) < F.col(REF_TS))
    sale = ~F.col(N.IS_RETURN)
    ts = F.col(N.ORDER_TS)
    aggs = [
        F.count_distinct(F.when(sale, F.col(N.ORDER_ID))).alias("hist_orders"),
        F.sum(N.REVENUE).alias("hist_net_revenue"),
        F.max(F.when(sale, ts)).alias("_last"),
        F.min(F.when(sale, ts)).alias("_first"),
    ]
    for w in windows:
        recent = ts >= F.col(REF_TS) - F.expr(f"INTERVAL {int(w)} DAYS")
        aggs.append(
            F.count_distinct(F.when(sale & recent, F.col(N.ORDER_ID))).alias(f"hist_orders_{w}d")
        )
        aggs.append(F.sum(F.when(recent, F.col(N.REVENUE))).alias(f"hist_revenue_{w}d"))
    agg = j.groupBy(N.CUSTOMER_ID, REF_TS).agg(*aggs)
    out = keys.join(agg, [N.CUSTOMER_ID, REF_TS], "left").select(
        N.CUSTOMER_ID,
        REF_TS,
        F.when(F.col("_last").isNotNull(), 1.0).otherwise(0.0).alias("hist_has_orders"),
        F.coalesce(F.col("hist_orders").cast("double"), F.lit(0.0)).alias("hist_orders"),
        F.coalesce(F.col("hist_net_revenue"), F.lit(0.0)).alias("hist_net_revenue"),
        F.coalesce(F.datediff(F.col(REF_TS), F.col("_last")).cast("double"), F.lit(0.0)).alias(
            "hist_recency_days"
        ),
        F.coalesce(F.datediff(F.col(REF_TS), F.col("_first")).cast("double"), F.lit(0.0)).alias(
            "hist_first_order_days"
        ),
        *[
            F.coalesce(F.col(c).cast("double"), F.lit(0.0)).alias(c)
            for w in windows
            for c in (f"hist_orders_{w}d", f"hist_revenue_{w}d")
        ],
    )
    return out


def feature_rows(
    keys: DataFrame,
    plan: FeaturePlan,
    customers: DataFrame | None,
    orders: DataFrame | None,
) -> DataFrame:
    """Raw feature columns (numbers filled, categories as strings) of each key row.

    Args:
        keys: Distinct ``customer_id, _ref_ts`` rows.
        plan: From :func:`plan_features`.
        customers: silver.customers or None.
        orders: silver.orders or None (needed when the plan has history columns).

    Returns:
        ``customer_id, _ref_ts`` + the plan's numeric (transformed) and categorical columns.
    """
    out = keys
    if customers is not None and (plan.numeric or plan.categorical or plan.tenure):
        out = out.join(customer_columns(customers, plan), N.CUSTOMER_ID, "left")
    if plan.history_windows is not None and orders is not None:
        out = out.join(
            order_history(keys, orders, plan.history_windows), [N.CUSTOMER_ID, REF_TS], "left"
        )
    cols = [F.col(N.CUSTOMER_ID), F.col(REF_TS)]
    for name in plan.numeric.values():
        cols.append(F.coalesce(signed_log(F.col(name)), F.lit(0.0)).alias(name))
    for name in plan.with_missing:
        cols.append(F.when(F.col(name).isNull(), 1.0).otherwise(0.0).alias(f"{name}_missing"))
    if plan.tenure:
        days = F.datediff(F.col(REF_TS), F.col(N.SIGNUP_TS)).cast("double")
        cols.append(F.coalesce(signed_log(F.greatest(days, F.lit(0.0))), F.lit(0.0)).alias(TENURE))
    if plan.history_windows is not None:
        for c in history_columns(plan.history_windows):
            src = F.col(c) if orders is not None else F.lit(0.0)
            cols.append(F.coalesce(signed_log(src), F.lit(0.0)).alias(c))
    for name, _ in plan.categorical.values():
        cols.append(F.coalesce(F.col(name), F.lit(MISSING)).alias(name))
    return out.select(*cols)


def fit_encoder(df: DataFrame, plan: FeaturePlan, offers: Sequence[str]) -> PipelineModel:
    """Fit the one-hot encodings and assemble ``_x`` (customer) and ``_xo`` (+ offer).

    Args:
        df: Training rows with the plan's columns and ``offer``.
        plan: The feature plan.
        offers: Every offer (their one-hot slots are fixed by sorted name; an offer absent
            from training gets all zeros).
    """
    cats = plan.categorical_columns()
    stages: list = []
    ohe = [f"{c}_ohe" for c in cats]
    if cats:
        stages.append(
            StringIndexer(
                inputCols=cats,
                outputCols=[f"{c}_idx" for c in cats],
                handleInvalid="keep",
                stringOrderType="alphabetAsc",
            )
        )
        stages.append(
            OneHotEncoder(
                inputCols=[f"{c}_idx" for c in cats],
                outputCols=ohe,
                handleInvalid="keep",
                dropLast=True,
            )
        )
    stages.append(
        StringIndexer(
            inputCol=N.OFFER,
            outputCol="_offer_idx",
            handleInvalid="keep",
            stringOrderType="alphabetAsc",
        )
    )
    stages.append(
        OneHotEncoder(
            inputCol="_offer_idx", outputCol="_offer_ohe", handleInvalid="keep", dropLast=False
        )
    )
    inputs = plan.numeric_columns() + ohe
    if not inputs:
        df = df.withColumn("_bias", F.lit(0.0))
        inputs = ["_bias"]
    stages.append(VectorAssembler(inputCols=inputs, outputCol=FEATURES))
    stages.append(VectorAssembler(inputCols=[FEATURES, "_offer_ohe"], outputCol=FEATURES_OFFER))
    spark = df.sparkSession
    offer_df = spark.createDataFrame([(o,) for o in sorted(offers)], f"{N.OFFER} string")
    # the offer indexer must know every offer; fit it on the training rows plus the list
    fit_df = df.select(*[c for c in df.columns if c != N.OFFER], N.OFFER)
    filler = offer_df.crossJoin(fit_df.drop(N.OFFER).limit(1))
    model = Pipeline(stages=stages).fit(fit_df.unionByName(filler.select(*fit_df.columns)))
    return model


def encode(model: PipelineModel, df: DataFrame) -> DataFrame:
    """Apply the fitted encoder; adds ``_x`` and ``_xo``."""
    if "_bias" in [
        c for s in model.stages if isinstance(s, VectorAssembler) for c in s.getInputCols()
    ]:
        df = df.withColumn("_bias", F.lit(0.0))
    return model.transform(df)
