"""The forecast itself: demand input, feature rows, the global GBT, baselines, the
rolling-origin backtest, calibrated intervals and the published frame.

Every function takes DataFrames and explicit arguments; nothing here reads or writes
tables (see :mod:`lakecart.jobs.forecast`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd
from pyspark import StorageLevel
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.regression import GBTRegressionModel, GBTRegressor
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import ForecastConfig
from lakecart.forecast import intermittent as IR
from lakecart.forecast import metrics as M
from lakecart.forecast.panel import (
    B_MEAN,
    BASELINES,
    GRAINS,
    HISTORY,
    LEVEL,
    ORIGIN,
    SHOP_UNITS,
    TARGET_START,
    PanelParams,
    Y,
    feature_names,
    item_rows,
    output_schema,
)
from lakecart.ml import fit_partitions
from lakecart.selection import Choice, choose
from lakecart.session import local_python_workers
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")

GBT = "gbt"  # the model's method name
COMBINATION = "combination"  # the mean of forecast.combine's methods
GBT_MEDIAN = "gbt_median"  # the median of a Poisson count with the GBT's forecast as mean
COMBINATION_MEDIAN = "combination_median"  # the same for the combination
COUNT_MEDIANS = {GBT: GBT_MEDIAN, COMBINATION: COMBINATION_MEDIAN}  # forecast.count_median
MODELS = (GBT, COMBINATION, GBT_MEDIAN, COMBINATION_MEDIAN)  # the candidates that are not rules
DERIVED = (COMBINATION, GBT_MEDIAN, COMBINATION_MEDIAN)  # computed from other methods' columns
PRED = "pred"
RATE = "rate"  # the expected units behind a forecast (the model's forecast under a count median)
METHOD = "method"
CUTOFF = "cutoff"
FALLBACK = "fallback"
LABEL = "_label"
WEIGHT = "_weight"
FEATURES = "_features"
RULES = (*BASELINES, *IR.RULES)  # every non-model candidate (the baselines of the choice)
METHODS = (*MODELS, *RULES)
DEMAND_CLASS = IR.DEMAND_CLASS
UNCLASSIFIED = "unclassified"  # an item without a class (never expected: no history)
DEMAND_COLS = (
    N.ITEM_ID,
    N.PERIOD_START,
    N.UNITS,
    N.REVENUE,
    N.AVG_PRICE,
    N.DAYS_OBSERVED,
    N.PROMO_ACTIVE,
    N.HOLIDAY_DAYS,
    N.ORDER_COUNT,
    N.BUYERS,
)


@dataclass(frozen=True)
class Plan:
    """Dates and windows of one forecast run, derived from as_of and the config.

    Attributes:
        grain: ``week`` or ``day``.
        horizon: Periods ahead.
        period_days: Days per period.
        forecast_origin: First forecast period: the first Monday on or after as_of (weeks)
            or as_of itself (days).
        level_periods: Activity / level window in periods.
        min_history: Periods of history below which an item gets the fallback.
        origin_step: Periods between training origins.
        train_origins: Training origins before a cutoff.
        cutoffs: Backtest cutoffs (origins), latest first.
    """

    grain: str
    horizon: int
    period_days: int
    forecast_origin: dt.date
    level_periods: int
    min_history: int
    origin_step: int
    train_origins: int
    cutoffs: tuple[dt.date, ...]

    def shift(self, d: dt.date, periods: int) -> dt.date:
        """``d`` moved by whole periods."""
        return d + dt.timedelta(days=periods * self.period_days)

    @property
    def first_needed_origin(self) -> dt.date:
        """The earliest origin any training set uses."""
        earliest = min((*self.cutoffs, self.forecast_origin))
        return self.shift(earliest, -(self.train_origins * self.origin_step + self.horizon))


def forecast_origin(as_of: dt.date, grain: str) -> dt.date:
    """The first forecast period for ``as_of`` (SPEC 5): first Monday on or after it (weeks)."""
    if grain == N.DAY:
        return as_of
    return as_of + dt.timedelta(days=(7 - as_of.weekday()) % 7)


def make_plan(as_of: dt.date, cfg: ForecastConfig, first_period: dt.date | None) -> Plan:
    """Dates of the run; cutoffs that would leave too little training history are dropped.

    Args:
        as_of: The decision date.
        cfg: The ``forecast`` configuration.
        first_period: The earliest period in the demand input (None when empty).
    """
    g = GRAINS[cfg.grain]
    p = g.period_days
    horizon = int(cfg.horizon or 4)
    origin = forecast_origin(as_of, cfg.grain)
    level_periods = max(1, math.ceil(cfg.active_days / p))
    min_history = max(1, math.ceil(cfg.min_history_days / p))
    o_step = cfg.origin_step or (1 if cfg.grain == N.WEEK else 7)
    # a cutoff needs several training origins whose targets lie before it
    min_train = max(4, min_history + 2) * o_step + horizon
    b_step = cfg.backtest_step or spread_step(
        cfg.backtest_cutoffs,
        math.ceil(cfg.backtest_span_days / p) - horizon,
        None
        if first_period is None
        else ((origin - first_period).days // p) - horizon - min_train - min_history,
        2 if cfg.grain == N.WEEK else 7,
    )
    cutoffs: list[dt.date] = []
    for k in range(cfg.backtest_cutoffs):
        c = origin - dt.timedelta(days=(horizon + k * b_step) * p)
        if first_period is None or (c - first_period).days < (min_train + min_history) * p:
            break
        cutoffs.append(c)
    return Plan(
        cfg.grain,
        horizon,
        p,
        origin,
        level_periods,
        min_history,
        o_step,
        cfg.train_origins,
        tuple(cutoffs),
    )


def spread_step(count: int, span: int, room: int | None, least: int) -> int:
    """Periods between backtest cutoffs: ``count`` cutoffs spread over ``span`` periods,
    closer together when the history leaves only ``room`` periods for them (None: no
    history), never closer than ``least``.

    >>> spread_step(4, 22, 32, 2)  # 26 weeks less a 4-week horizon, ample history
    7
    >>> spread_step(4, 22, 9, 2)  # 9 weeks of room: 3 apart
    3
    >>> spread_step(4, 22, 2, 2)  # less: the old spacing (the earliest cutoffs drop)
    2
    """
    if count <= 1:
        return max(1, least)
    step = span // (count - 1)
    if room is not None:
        step = min(step, room // (count - 1))
    return max(step, least, 1)


def demand_series(item_demand: DataFrame, grain: str, as_of: dt.date) -> DataFrame:
    """One grain of a ``features.item_demand`` snapshot (or frame), with the columns the
    panel needs and each period's all-items units (``shop_units``)."""
    d = item_demand.filter((F.col(N.GRAIN) == grain) & (F.col(N.AS_OF) == F.lit(as_of))).select(
        *DEMAND_COLS
    )
    shop = d.groupBy(N.PERIOD_START).agg(F.sum(N.UNITS).alias(SHOP_UNITS))
    return d.join(F.broadcast(shop), N.PERIOD_START)


def panel(
    demand: DataFrame, plan: Plan, first_origin: dt.date | None = None, buckets: int = 16
) -> DataFrame:
    """Feature rows (item x origin x horizon) for origins from ``first_origin`` (default:
    the earliest a training set needs) to the forecast origin, built in pandas for
    ``buckets`` hash buckets of items."""
    local_python_workers(demand.sparkSession)
    first = first_origin or plan.first_needed_origin
    params = PanelParams(
        grain=plan.grain,
        horizon=plan.horizon,
        level_periods=plan.level_periods,
        first_origin=pd.Timestamp(first),
        last_origin=pd.Timestamp(plan.forecast_origin),
    )
    g = GRAINS[plan.grain]
    lookback = max(g.season + plan.level_periods, max(g.lags), max(g.windows)) + 1
    start = plan.shift(first, -lookback)
    d = demand.filter(F.col(N.PERIOD_START) >= F.lit(start))
    # items are processed in hash buckets: one vectorised pandas call per bucket
    bucket = F.pmod(F.xxhash64(N.ITEM_ID), F.lit(buckets))
    rows = (
        d.withColumn("_bucket", bucket)
        .groupBy("_bucket")
        .applyInPandas(
            lambda pdf: item_rows(pdf.drop(columns="_bucket"), params),
            schema=output_schema(plan.grain),
        )
    )
    # training origins are every origin_step-th period before the forecast origin
    steps = F.datediff(F.lit(plan.forecast_origin), F.col(ORIGIN)) / F.lit(plan.period_days)
    return rows.filter(
        (F.col(LEVEL) > 0) & ((steps % plan.origin_step == 0) | F.col(ORIGIN).isin(*plan.cutoffs))
    )


def rule_params(plan: Plan, cfg: ForecastConfig) -> IR.RuleParams:
    """The intermittent rules' parameters for a run: origins = the cutoffs and as_of's."""
    adida_periods = cfg.adida_periods or (4 if plan.grain == N.WEEK else 7)
    return IR.RuleParams(
        period_days=plan.period_days,
        croston_alpha=cfg.croston_alpha,
        tsb_alpha=cfg.tsb_alpha,
        tsb_beta=cfg.tsb_beta,
        adida_periods=adida_periods,
        adida_alpha=cfg.adida_alpha,
        class_periods=max(2, math.ceil(cfg.class_days / plan.period_days)),
        adi_cutoff=cfg.class_adi,
        cv2_cutoff=cfg.class_cv2,
        origins=tuple(pd.Timestamp(o) for o in (*plan.cutoffs, plan.forecast_origin)),
    )


def rule_forecasts(
    demand: DataFrame, plan: Plan, cfg: ForecastConfig, buckets: int = 16
) -> DataFrame:
    """Croston, SBA, TSB, ADIDA, zero and the demand class per item at every backtest cutoff
    and at the forecast origin, each from the item's whole history strictly before the
    origin (:func:`lakecart.forecast.intermittent.item_rules`, one vectorised pandas call per
    hash bucket of items). Columns ``item_id``, ``origin``, the rules, ``adi``, ``cv2``,
    ``demand_class``."""
    local_python_workers(demand.sparkSession)
    params = rule_params(plan, cfg)
    bucket = F.pmod(F.xxhash64(N.ITEM_ID), F.lit(buckets))
    return (
        demand.filter(F.col(N.PERIOD_START) < F.lit(plan.forecast_origin))
        .select(N.ITEM_ID, N.PERIOD_START, N.UNITS, N.DAYS_OBSERVED)
        .withColumn("_bucket", bucket)
        .groupBy("_bucket")
        .applyInPandas(
            lambda pdf: IR.item_rules(pdf.drop(columns="_bucket"), params),
            schema=IR.output_schema(),
        )
    )


def with_rules(rows: DataFrame, rules: DataFrame) -> DataFrame:
    """Feature rows with the rules' forecasts and the demand class at their origin (NULL at
    origins that are neither a cutoff nor the forecast origin)."""
    r = rules.drop(IR.ADI, IR.CV2).withColumnRenamed(IR.ORIGIN, ORIGIN)
    return rows.join(r, [N.ITEM_ID, ORIGIN], "left")


def training_rows(rows: DataFrame, plan: Plan, cutoff: dt.date) -> DataFrame:
    """Rows a model for ``cutoff`` may learn from: targets observed before it, origins in
    the training window, enough history."""
    first = plan.shift(cutoff, -(plan.train_origins * plan.origin_step + plan.horizon))
    return rows.filter(
        F.col(Y).isNotNull()
        & ~F.isnan(Y)
        & (F.col(TARGET_START) < F.lit(cutoff))
        & (F.col(ORIGIN) >= F.lit(first))
        & (F.col(HISTORY) >= plan.min_history)
    )


def with_label(rows: DataFrame, cfg: ForecastConfig) -> DataFrame:
    """The training label and weight of the configured target transformation."""
    y = F.least(F.col(Y), F.lit(cfg.target_cap) * F.col(LEVEL))
    if cfg.target == "log":
        return rows.withColumns({LABEL: F.log1p(y), WEIGHT: F.lit(1.0)})
    if cfg.target == "ratio":
        return rows.withColumns({LABEL: y / F.col(LEVEL), WEIGHT: F.col(LEVEL)})
    return rows.withColumns({LABEL: y, WEIGHT: F.lit(1.0)})


def fit_gbt(train: DataFrame, cfg: ForecastConfig, grain: str) -> GBTRegressionModel:
    """Fit the global GBT on feature rows (one model, horizon is a feature)."""
    assembler = VectorAssembler(inputCols=feature_names(grain), outputCol=FEATURES)
    keyed = fit_partitions(train, [N.ITEM_ID, ORIGIN, N.HORIZON])
    data = assembler.transform(with_label(keyed, cfg)).select(FEATURES, LABEL, WEIGHT)
    gbt = GBTRegressor(
        featuresCol=FEATURES,
        labelCol=LABEL,
        weightCol=WEIGHT,
        lossType=cfg.loss,
        maxIter=cfg.max_iter,
        maxDepth=cfg.max_depth,
        stepSize=cfg.step_size,
        subsamplingRate=cfg.subsampling_rate,
        maxBins=32,
        seed=cfg.seed,
    )
    return gbt.fit(data)


def predict(
    model: GBTRegressionModel, rows: DataFrame, cfg: ForecastConfig, plan: Plan
) -> DataFrame:
    """``rows`` with the GBT's unit forecast in ``gbt`` (the moving mean for items with too
    little history, flagged in ``fallback``)."""
    assembler = VectorAssembler(inputCols=feature_names(plan.grain), outputCol=FEATURES)
    scored = model.setPredictionCol("_raw").transform(assembler.transform(rows)).drop(FEATURES)
    raw = {"ratio": F.col("_raw") * F.col(LEVEL), "log": F.expm1(F.col("_raw"))}.get(
        cfg.target, F.col("_raw")
    )
    short = F.col(HISTORY) < plan.min_history
    return scored.withColumns(
        {GBT: F.when(short, F.col(B_MEAN)).otherwise(F.greatest(raw, F.lit(0.0))), FALLBACK: short}
    ).drop("_raw")


def fill_baselines(rows: DataFrame, min_history: int) -> DataFrame:
    """Rules that cannot be computed (no year of history for the seasonal naive, no
    complete ADIDA bucket) fall back to the moving mean, and so does every window baseline
    for items with fewer than ``min_history`` periods (the same fallback the model gets).
    The intermittent-demand rules (Croston, SBA, TSB, ADIDA, zero) are made for short and
    sparse histories and keep their own forecast there: an item sold once gets TSB's
    decaying demand, and the zero forecast stays zero. Items without a demand class get
    ``unclassified``."""
    short = F.col(HISTORY) < min_history
    filled = {
        b: F.when(
            (F.lit(False) if b in IR.RULES else short) | F.col(b).isNull() | F.isnan(b),
            F.col(B_MEAN),
        ).otherwise(F.col(b))
        for b in RULES
    }
    filled[DEMAND_CLASS] = F.coalesce(F.col(DEMAND_CLASS), F.lit(UNCLASSIFIED))
    return rows.withColumns(filled)


def methods(cfg: ForecastConfig) -> list[str]:
    """The candidates of a run: the GBT, the combination (when configured), their count
    medians (``forecast.count_median``) and the rules."""
    models = [GBT, *([COMBINATION] if cfg.combine else [])]
    medians = [COUNT_MEDIANS[m] for m in models] if cfg.count_median else []
    return [*models, *medians, *RULES]


def needs_model(published: set[str], cfg: ForecastConfig) -> bool:
    """Whether the published methods need the GBT (itself, inside the combination, or
    under a count median of either)."""
    combined = GBT in cfg.combine and bool({COMBINATION, COMBINATION_MEDIAN} & published)
    return bool({GBT, GBT_MEDIAN} & published) or combined


def with_combination(rows: DataFrame, members: list[str]) -> DataFrame:
    """``rows`` with the ``combination`` forecast: the mean of the ``members`` columns (the
    GBT's and the rules' forecasts after :func:`fill_baselines`); unchanged without members.

    A combination of forecasts with different errors (a model that reads the features, and
    medians that ignore spikes) is usually better than each (Bates and Granger, 1969); the
    backtest decides whether it is published.
    """
    if not members:
        return rows
    total = functools.reduce(lambda a, b: a + b, [F.col(m) for m in members])
    return rows.withColumn(COMBINATION, total / F.lit(float(len(members))))


def poisson_median(mean: Column) -> Column:
    """The median of a Poisson count with mean ``mean``: ``floor(m + 1/3 - 0.02 / m)``,
    at least 0 (Choi, 1994). The median lies in ``[m - ln 2, m + 1/3)``; the approximation
    differs from the exact quantile only within about 0.003 of the means where the median
    steps up, where both integers have the same expected absolute error."""
    m = F.greatest(mean.cast("double"), F.lit(1e-9))
    return F.greatest(F.floor(m + F.lit(1.0 / 3.0) - F.lit(0.02) / m), F.lit(0)).cast("double")


def rate_of(method: str) -> str:
    """The column holding the expected units behind ``method``'s forecast: the model's
    own forecast for a count median (whose point forecast is a median, not a mean), the
    method itself otherwise. The inventory plan works from expected demand."""
    return {med: m for m, med in COUNT_MEDIANS.items()}.get(method, method)


def with_count_medians(rows: DataFrame, models: list[str]) -> DataFrame:
    """``rows`` with the count median of each of ``models`` (``gbt_median`` from ``gbt``,
    ``combination_median`` from ``combination``): :func:`poisson_median` with the model's
    forecast as the mean.

    WAPE is an absolute error, so the best point forecast of a period's units is the
    median of their distribution, not the mean: for an item selling 0.5 units a week it is
    0, for one selling 1.2 it is 1. Weekly units of slow movers are close to Poisson
    counts, so the Poisson median of a model's forecast is the WAPE-optimal forecast when
    that forecast is the right rate; the backtest decides whether it is published.
    """
    return rows.withColumns({COUNT_MEDIANS[m]: poisson_median(F.col(m)) for m in models})


def long_format(rows: DataFrame, methods: list[str], keep: list[str]) -> DataFrame:
    """One row per method: ``method``, ``pred``, ``rate`` (:func:`rate_of`) and the
    ``keep`` columns."""
    stack = F.explode(
        F.array(
            *[
                F.struct(
                    F.lit(m).alias(METHOD),
                    F.col(m).cast("double").alias(PRED),
                    F.col(rate_of(m)).cast("double").alias(RATE),
                )
                for m in methods
            ]
        )
    ).alias("_m")
    return rows.select(*keep, stack).select(*keep, "_m.*")


def backtest(rows: DataFrame, plan: Plan, cfg: ForecastConfig) -> DataFrame | None:
    """Out-of-sample forecasts of the model and every baseline at each cutoff.

    For each cutoff a GBT is trained on rows whose targets lie before it and scores the
    items active at it; the combination, the baselines and the intermittent rules use the
    same rows (``rows``
    must carry :func:`with_rules`' columns). Returns long rows (``cutoff``, ``item_id``,
    ``horizon``, ``y``, ``level``, ``method``, ``pred``, ``fallback``, ``demand_class``),
    or None when there is no cutoff.
    """
    parts = []
    # a handful of cutoffs: one model fit each, ``forecast.fit_parallelism`` at a time
    models = map_in_threads(
        lambda c: fit_gbt(training_rows(rows, plan, c), cfg, plan.grain),
        plan.cutoffs,
        cfg.fit_parallelism,
        "forecast-fit",
    )
    for c, model in zip(plan.cutoffs, models, strict=True):
        test = rows.filter((F.col(ORIGIN) == F.lit(c)) & F.col(Y).isNotNull() & ~F.isnan(Y))
        scored = with_combination(
            fill_baselines(predict(model, test, cfg, plan), plan.min_history), cfg.combine
        )
        scored = with_count_medians(
            scored, [m for m in (GBT, COMBINATION) if COUNT_MEDIANS[m] in methods(cfg)]
        ).withColumn(CUTOFF, F.lit(c))
        parts.append(
            long_format(
                scored,
                methods(cfg),
                [CUTOFF, N.ITEM_ID, N.HORIZON, TARGET_START, Y, LEVEL, FALLBACK, DEMAND_CLASS],
            )
        )
    if not parts:
        return None
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    return out


def residual_quantiles(
    bt: DataFrame, low: float, high: float, by: list[str] | None = None
) -> DataFrame:
    """Quantiles of the level-scaled residual ``(y - pred) / level`` per method and horizon
    (and ``by``): the calibration of the P10-P90 interval."""
    s = (F.col(Y) - F.col(PRED)) / F.col(LEVEL)
    return bt.groupBy(METHOD, N.HORIZON, *(by or [])).agg(
        F.percentile(s, F.lit(low)).alias("q_low"), F.percentile(s, F.lit(high)).alias("q_high")
    )


def interval(pred: Column, level: Column, q_low: Column, q_high: Column) -> tuple[Column, Column]:
    """P10 and P90 from a point forecast and calibrated scaled-residual quantiles (>= 0)."""
    lo = F.greatest(F.lit(0.0), F.least(pred, pred + q_low * level))
    hi = F.greatest(lo, pred, pred + q_high * level)
    return lo, hi


def with_loo_interval(bt: DataFrame, low: float, high: float) -> DataFrame:
    """Backtest rows with P10/P90 calibrated on the OTHER cutoffs (leave one cutoff out), so
    the measured coverage is out of sample. With a single cutoff its own residuals are used
    (and the coverage is in-sample)."""
    cut = bt.select(F.col(CUTOFF).alias("_held")).distinct()
    if bt.select(CUTOFF).distinct().count() > 1:  # a handful of cutoffs
        pairs = bt.crossJoin(F.broadcast(cut)).filter(F.col(CUTOFF) != F.col("_held"))
    else:
        pairs = bt.crossJoin(F.broadcast(cut))
    q = residual_quantiles(pairs, low, high, ["_held"]).withColumnRenamed("_held", CUTOFF)
    # a horizon the other cutoffs never observed (e.g. a partial last week) uses every cutoff
    q_all = residual_quantiles(bt, low, high).select(
        METHOD, N.HORIZON, F.col("q_low").alias("a_low"), F.col("q_high").alias("a_high")
    )
    j = bt.join(F.broadcast(q), [METHOD, N.HORIZON, CUTOFF], "left").join(
        F.broadcast(q_all), [METHOD, N.HORIZON], "left"
    )
    q_low = F.coalesce(F.col("q_low"), F.col("a_low"))
    q_high = F.coalesce(F.col("q_high"), F.col("a_high"))
    lo, hi = interval(F.col(PRED), F.col(LEVEL), q_low, q_high)
    return j.withColumns({N.YHAT_P10: lo, N.YHAT_P90: hi}).drop(
        "q_low", "q_high", "a_low", "a_high"
    )


@dataclass
class Selection:
    """Which method is published and why.

    Attributes:
        method: A model (``gbt``, ``combination`` or their count medians) or a baseline.
        scores: Backtest WAPE over all horizons per method.
        best_baseline: The baseline with the lowest backtest WAPE.
    """

    method: str
    scores: dict[str, float]
    best_baseline: str

    @property
    def model_beat_baselines(self) -> bool:
        """Whether a model (the GBT, the combination or a count median) is published."""
        return self.method in MODELS


def select_method(overall: dict[str, float]) -> Selection:
    """The best model (the GBT, the combination or a count median of either) if its
    backtest WAPE beat the best baseline's, else that baseline."""
    known = {m: v for m, v in overall.items() if v is not None and not math.isnan(v)}
    baselines = {m: v for m, v in known.items() if m not in MODELS}
    best = min(baselines, key=lambda m: (baselines[m], m))
    models = {m: v for m, v in known.items() if m in MODELS}
    top = min(models, key=lambda m: (models[m], m)) if models else None
    chosen = top if top is not None and models[top] < baselines[best] else best
    return Selection(chosen, dict(overall), best)


@dataclass(frozen=True)
class ClassChoice:
    """The method published in each demand class, and why.

    Attributes:
        overall: The one-rule-everywhere choice (all classes pooled).
        by_class: The choice within each demand class seen in the backtest; a class with
            too few items (or none chosen per class) carries the overall choice, with a note.
        items: Items per class in the backtest.
    """

    overall: Choice
    by_class: dict[str, Choice]
    items: dict[str, int]

    def method(self, demand_class: str) -> str:
        """The method published for ``demand_class`` (the overall one when unseen)."""
        c = self.by_class.get(demand_class)
        return (c or self.overall).published

    @property
    def methods(self) -> set[str]:
        """Every method published somewhere."""
        return {self.overall.published, *(c.published for c in self.by_class.values())}


def _known(x: float | None) -> bool:
    return x is not None and not math.isnan(float(x))


def _split(scores: Mapping[str, float | None]) -> tuple[dict, dict]:
    models = {m: v for m, v in scores.items() if m in MODELS}
    return models, {m: v for m, v in scores.items() if m not in MODELS}


def choose_by_class(
    overall: Mapping[str, float | None],
    by_class: Mapping[str, Mapping[str, float | None]],
    items: Mapping[str, int],
    min_items: int,
    per_class: bool = True,
    min_gain: float = 0.0,
) -> ClassChoice:
    """The published method per demand class: within each class the better model (the GBT
    or the combination) if its backtest WAPE beats every rule's (baselines, intermittent rules and the zero forecast), else the
    best rule (:func:`lakecart.selection.choose`).

    Args:
        overall: Backtest WAPE per method over every class.
        by_class: Backtest WAPE per class and method (None / NaN: undefined).
        items: Items per class in the backtest.
        min_items: A class with fewer items uses the overall choice.
        per_class: False: the overall choice everywhere (one rule for every item).
        min_gain: A class keeps the overall choice unless its own best method's WAPE is
            lower than the overall choice's within the class by more than this share
            (differences within backtest noise do not make classes depart from one rule);
            where the overall choice is worse than zero in the class, zero is published.

    Returns:
        The :class:`ClassChoice`. A class whose actual units sum to 0 in the backtest (WAPE
        undefined for every method) publishes the zero forecast, whose error there is 0; a
        small class whose overall choice scores worse than zero within it publishes zero, so
        that no class publishes a method worse than the zero forecast on its backtest.
    """
    models, rules = _split(overall)
    top = choose("forecast", M.WAPE, models, rules, higher_is_better=False)
    chosen: dict[str, Choice] = {}
    for cls, scores in sorted(by_class.items()):
        n = int(items.get(cls, 0))
        if not per_class:
            chosen[cls] = dataclasses.replace(top, target=f"forecast class={cls}")
            continue
        if n < min_items:
            mine, zero = scores.get(top.published), scores.get(IR.ZERO)
            worse = _known(zero) and (not _known(mine) or float(mine) > float(zero))
            chosen[cls] = dataclasses.replace(
                top,
                target=f"forecast class={cls}",
                published=IR.ZERO if worse else top.published,
                note=f"{n} items < {min_items}: the overall choice"
                + (f" {top.published} is worse than zero here: zero" if worse else ""),
            )
            continue
        cm, cr = _split(scores)
        c = choose(f"forecast class={cls}", M.WAPE, cm, cr, higher_is_better=False)
        mine, zero = scores.get(top.published), scores.get(IR.ZERO)
        if (
            min_gain > 0
            and c.published != top.published
            and _known(mine)
            and _known(c.baseline_value if not c.model_won else c.model_value)
            and not (_known(zero) and float(mine) > float(zero))
            and float(c.model_value if c.model_won else c.baseline_value)
            >= float(mine) * (1.0 - min_gain)
        ):
            best = float(c.model_value if c.model_won else c.baseline_value)
            # the overall choice as this class's model candidate when it is a model, so the
            # decision row says a model was published
            kept = {"model": top.published, "model_value": float(mine)} if top.model_won else {}
            c = dataclasses.replace(
                c,
                published=top.published,
                note=f"the class's best {c.published} ({best:.4f}) is within {min_gain:.0%}"
                f" of the overall choice {top.published} ({float(mine):.4f}): the overall choice",
                **kept,
            )
        if not any(_known(v) for v in scores.values()):
            c = dataclasses.replace(
                c,
                published=IR.ZERO,
                baseline=IR.ZERO,
                note="no units sold in the backtest: the zero forecast",
            )
        chosen[cls] = c
    return ClassChoice(top, chosen, {k: int(v) for k, v in items.items()})


def chosen_method(choice: ClassChoice) -> Column:
    """The published method of each row's ``demand_class`` (a column expression)."""
    expr = None
    for cls, c in sorted(choice.by_class.items()):
        cond = F.col(DEMAND_CLASS) == F.lit(cls)
        expr = (
            F.when(cond, F.lit(c.published))
            if expr is None
            else expr.when(cond, F.lit(c.published))
        )
    default = F.lit(choice.overall.published)
    return default if expr is None else expr.otherwise(default)


def forecast_rows(
    rows: DataFrame,
    plan: Plan,
    cfg: ForecastConfig,
    choice: ClassChoice,
    quantiles: DataFrame,
    model: GBTRegressionModel | None,
) -> DataFrame:
    """The forecast for as_of: one row per active item and horizon with ``yhat`` from the
    method chosen for the item's demand class, P10, P90 from that method's calibration,
    ``rate`` (the expected units behind ``yhat``, :func:`rate_of`), ``fallback``,
    ``method``, ``demand_class`` and the target period (``period_start``)."""
    at = fill_baselines(rows.filter(F.col(ORIGIN) == F.lit(plan.forecast_origin)), plan.min_history)
    if needs_model(choice.methods, cfg):
        if model is None:
            raise ValueError("the GBT was selected but no model was fitted")
        at = predict(model, at, cfg, plan)
    else:
        at = at.withColumns({GBT: F.col(B_MEAN), FALLBACK: F.col(HISTORY) < plan.min_history})
    if {COMBINATION, COMBINATION_MEDIAN} & choice.methods:
        at = with_combination(at, cfg.combine)
    at = with_count_medians(at, [m for m, med in COUNT_MEDIANS.items() if med in choice.methods])
    at = at.withColumn(METHOD, chosen_method(choice))
    # the moving-mean fallback of short histories applies to the model and the window
    # baselines only; the intermittent rules forecast short histories themselves
    at = at.withColumn(FALLBACK, F.col(FALLBACK) & ~F.col(METHOD).isin(*IR.RULES))
    pick = rate = None
    for m in sorted(choice.methods):
        cond = F.col(METHOD) == F.lit(m)
        pick = F.when(cond, F.col(m)) if pick is None else pick.when(cond, F.col(m))
        r = F.col(rate_of(m))
        rate = F.when(cond, r) if rate is None else rate.when(cond, r)
    at = at.withColumns({PRED: pick, RATE: rate})
    q = quantiles
    # short-history items are forecast by the moving mean: use its calibration
    qf = quantiles.filter(F.col(METHOD) == B_MEAN).select(
        N.HORIZON, F.col("q_low").alias("f_low"), F.col("q_high").alias("f_high")
    )
    j = at.join(F.broadcast(q), [METHOD, N.HORIZON], "left").join(
        F.broadcast(qf), N.HORIZON, "left"
    )
    q_low = F.when(F.col(FALLBACK), F.col("f_low")).otherwise(F.col("q_low"))
    q_high = F.when(F.col(FALLBACK), F.col("f_high")).otherwise(F.col("q_high"))
    yhat = F.col(PRED)
    lo, hi = interval(
        yhat, F.col(LEVEL), F.coalesce(q_low, F.lit(0.0)), F.coalesce(q_high, F.lit(0.0))
    )
    return j.select(
        N.ITEM_ID,
        F.col(TARGET_START).alias(N.PERIOD_START),
        F.lit(plan.grain).alias(N.GRAIN),
        F.col(N.HORIZON).cast("int").alias(N.HORIZON),
        yhat.cast("double").alias(N.YHAT),
        lo.cast("double").alias(N.YHAT_P10),
        hi.cast("double").alias(N.YHAT_P90),
        F.col(RATE).cast("double").alias(RATE),
        F.col(LEVEL),
        F.col(FALLBACK),
        F.col(METHOD),
        F.col(DEMAND_CLASS),
    )


def published_rows(bt: DataFrame, choice: ClassChoice) -> DataFrame:
    """The backtest rows of the method chosen for each row's demand class."""
    return bt.filter(F.col(METHOD) == chosen_method(choice))


def persist(df: DataFrame) -> DataFrame:
    """Cache a frame reused by several fits."""
    return df.persist(StorageLevel.MEMORY_AND_DISK)


def score_table(bt: DataFrame) -> DataFrame:
    """Backtest metrics per method and horizon, plus ``horizon`` NULL for all horizons."""
    per_h = M.scores(bt, [METHOD, N.HORIZON], Y, PRED, N.YHAT_P10, N.YHAT_P90)
    overall = M.scores(bt, [METHOD], Y, PRED, N.YHAT_P10, N.YHAT_P90).withColumn(
        N.HORIZON, F.lit(None).cast("int")
    )
    return per_h.unionByName(overall)


PUBLISHED = "published"  # the method name of the published mix in cutoff_table


def cutoff_table(bt: DataFrame, published: Column) -> DataFrame:
    """Backtest WAPE (and the other scores) per cutoff, for every method and for the
    published mix (``method`` = ``published``; ``published`` is the boolean column that
    picks its rows), over all horizons."""
    per = M.scores(bt, [METHOD, CUTOFF], Y, PRED, N.YHAT_P10, N.YHAT_P90)
    pub = M.scores(bt.filter(published), [CUTOFF], Y, PRED, N.YHAT_P10, N.YHAT_P90)
    return per.unionByName(pub.withColumn(METHOD, F.lit(PUBLISHED)))


ITEMS = "items"
UNITS_SUM = "units"


def class_table(bt: DataFrame) -> DataFrame:
    """Backtest metrics per demand class and method over all horizons, with the class's
    distinct items and actual units."""
    s = M.scores(bt, [DEMAND_CLASS, METHOD], Y, PRED, N.YHAT_P10, N.YHAT_P90)
    n = bt.groupBy(DEMAND_CLASS).agg(
        F.countDistinct(N.ITEM_ID).alias(ITEMS),
        F.sum(F.when(F.col(METHOD) == F.lit(IR.ZERO), F.col(Y))).alias(UNITS_SUM),
    )
    return s.join(n, DEMAND_CLASS)


def replace_plan(plan: Plan, **changes) -> Plan:
    """A copy of ``plan`` with some fields changed."""
    return dataclasses.replace(plan, **changes)
