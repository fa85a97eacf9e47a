"""The inventory plan driven by the demand forecast, and its backtest.

Per item (all quantities in units and days):

* ABC class: items ranked by revenue over ``abc_days`` before as_of; an item is A while the
  revenue share of the items ranked above it is below the first cut-off (0.8), B below the
  second (0.95), else C.
* d = mean daily demand over the forecast horizon = sum of ``yhat`` / horizon days.
* sigma_d = daily standard deviation from the forecast intervals: each period's
  sigma = (P90 - P10) / (z(0.9) - z(0.1)); sigma_d = sqrt(mean period variance / days per
  period) (days within a period taken as independent).
* safety stock = z(service level of the class) x sqrt(L x sigma_d^2 + d^2 x sigma_L^2).
* reorder point = d x L + safety stock; EOQ = sqrt(2 D S / H) with D = 365 d,
  S = order cost, H = holding rate x unit cost.
* lead time, its std, unit and order cost: the item's latest silver.inventory snapshot
  before as_of, else the config defaults (unit cost = share x last selling price).

Backtest: at each backtest cutoff the policy's reorder point is computed from that cutoff's
out-of-sample forecast; a replenishment cycle that starts when the inventory position hits
the reorder point stocks out when the actual demand over the following lead time exceeds it.
The achieved cycle service level is the share of (item, cutoff) cycles without a stock-out,
reported beside the target (the mean target service level of the same items).

Calibration (``forecast.safety_calibration``): lumpy demand is not normal, so z x sigma
under-protects. Each backtest cycle gives a standardised excess demand
r = (lead-time demand - d x L) / sqrt(L x sigma_d^2 + d^2 x sigma_L^2); a cycle stocks out
when r > factor x z. The factor of an ABC class is the quantile of r at the class's service
level divided by z (within ``safety_factor_bounds``; 1 when the class has fewer than
:data:`MIN_CALIBRATION_CYCLES` cycles). The plan uses factors fitted on every cutoff; the
backtest's achieved level uses, for each cutoff, factors fitted on the OTHER cutoffs, so it
is measured out of sample.
"""

from __future__ import annotations

import datetime as dt
import math
from statistics import NormalDist

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import ForecastConfig

REVENUE_SHARE_BEFORE = "_share_before"
SIGMA_L = "_sigma_l"
SIGMA_LT = "_sigma_lead_time"  # sqrt(L sigma_d^2 + d^2 sigma_L^2): safety stock = z x f x this
UNIT_COST_COL = "_unit_cost"
ORDER_COST_COL = "_order_cost"
STOCKOUT = "stockout"
LEAD_DEMAND = "lead_time_demand"
EXCESS = "excess_z"  # (lead-time demand - d x L) / sigma over the lead time
SAFETY_FACTOR = "_safety_factor"
HELD = "_held"
ABC = ("A", "B", "C")
MIN_CALIBRATION_CYCLES = 30  # fewer cycles in a class: factor 1


def z_value(service_level: float) -> float:
    """The standard normal quantile of a service level."""
    return NormalDist().inv_cdf(service_level)


def safety_stock(z: float, lead_days: float, sigma_d: float, d: float, sigma_l: float) -> float:
    """z x sqrt(L sigma_d^2 + d^2 sigma_L^2)."""
    return z * math.sqrt(lead_days * sigma_d**2 + d**2 * sigma_l**2)


def eoq(annual_demand: float, order_cost: float, holding_cost: float) -> float:
    """sqrt(2 D S / H) (0 without demand or holding cost)."""
    if annual_demand <= 0 or holding_cost <= 0:
        return 0.0
    return math.sqrt(2 * annual_demand * order_cost / holding_cost)


def abc_classes(revenue: DataFrame, cutoffs: tuple[float, float] | list[float]) -> DataFrame:
    """``item_id``, ``abc_class`` from ``item_id``, ``revenue`` (one window over the items)."""
    order = [F.desc(N.REVENUE), F.asc(N.ITEM_ID)]
    cum = F.sum(N.REVENUE).over(Window.orderBy(*order).rowsBetween(Window.unboundedPreceding, -1))
    total = F.sum(N.REVENUE).over(Window.partitionBy())
    share = F.coalesce(F.try_divide(cum, total), F.lit(0.0))
    a, b = cutoffs
    cls = (
        F.when(F.col(N.REVENUE) <= 0, "C")
        .when(F.col(REVENUE_SHARE_BEFORE) < a, "A")
        .when(F.col(REVENUE_SHARE_BEFORE) < b, "B")
        .otherwise("C")
    )
    return revenue.withColumn(REVENUE_SHARE_BEFORE, share).select(N.ITEM_ID, cls.alias(N.ABC_CLASS))


def service_level_col(cfg: ForecastConfig) -> tuple[Column, Column]:
    """(service level, z) of each row's ``abc_class``."""
    lv = cfg.service_levels
    sl = (
        F.when(F.col(N.ABC_CLASS) == "A", lv["A"])
        .when(F.col(N.ABC_CLASS) == "B", lv["B"])
        .otherwise(lv["C"])
    )
    z = (
        F.when(F.col(N.ABC_CLASS) == "A", z_value(lv["A"]))
        .when(F.col(N.ABC_CLASS) == "B", z_value(lv["B"]))
        .otherwise(z_value(lv["C"]))
    )
    return sl.cast("double"), z


def daily_demand(
    fc: DataFrame,
    by: list[str],
    pred: str,
    low: str,
    high: str,
    cfg: ForecastConfig,
    period_days: int,
) -> DataFrame:
    """Mean and std of daily demand per ``by`` from per-period forecasts and intervals."""
    width = z_value(cfg.interval_high) - z_value(cfg.interval_low)
    sigma_p = (F.col(high) - F.col(low)) / F.lit(width)
    return fc.groupBy(*by).agg(
        (F.sum(pred) / (F.count(F.lit(1)) * F.lit(period_days))).alias(N.MEAN_DEMAND),
        F.sqrt(F.avg(sigma_p * sigma_p) / F.lit(period_days)).alias(N.DEMAND_STD),
    )


def latest_inventory(inventory: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    """Each item's latest silver.inventory snapshot strictly before ``as_of``."""
    if inventory is None:
        return None
    w = Window.partitionBy(N.ITEM_ID).orderBy(F.desc(N.SNAPSHOT_DATE))
    return (
        inventory.filter(F.col(N.SNAPSHOT_DATE) < F.lit(as_of))
        .withColumn("_rn", F.row_number().over(w))
        .filter("_rn = 1")
        .drop("_rn")
    )


def item_terms(items: DataFrame, inventory: DataFrame | None, cfg: ForecastConfig) -> DataFrame:
    """Lead time (mean, std), unit and order cost and on-hand per item of ``items``
    (``item_id``, ``price_last``), from inventory where known, else config."""
    if inventory is None:
        inv = items.select(
            N.ITEM_ID,
            F.lit(None).cast("double").alias(N.ON_HAND),
            F.lit(None).cast("double").alias(N.LEAD_TIME_DAYS),
            F.lit(None).cast("double").alias(N.LEAD_TIME_STD_DAYS),
            F.lit(None).cast("double").alias(N.UNIT_COST),
            F.lit(None).cast("double").alias(N.ORDER_COST),
        )
    else:
        inv = inventory.select(
            N.ITEM_ID, N.ON_HAND, N.LEAD_TIME_DAYS, N.LEAD_TIME_STD_DAYS, N.UNIT_COST, N.ORDER_COST
        )
    j = items.join(inv, N.ITEM_ID, "left")
    return j.select(
        N.ITEM_ID,
        F.col(N.ON_HAND).cast("double").alias(N.ON_HAND),
        F.coalesce(F.col(N.LEAD_TIME_DAYS), F.lit(cfg.lead_time_days))
        .cast("double")
        .alias(N.LEAD_TIME_DAYS),
        F.coalesce(F.col(N.LEAD_TIME_STD_DAYS), F.lit(cfg.lead_time_std_days))
        .cast("double")
        .alias(SIGMA_L),
        F.coalesce(
            F.col(N.UNIT_COST), F.col(N.PRICE_LAST) * F.lit(cfg.unit_cost_share), F.lit(0.0)
        ).alias(UNIT_COST_COL),
        F.coalesce(F.col(N.ORDER_COST), F.lit(cfg.order_cost)).cast("double").alias(ORDER_COST_COL),
    )


def class_value(values: dict[str, float], default: float = 1.0) -> Column:
    """A per-ABC-class constant as a column (``default`` for classes not in ``values``)."""
    col = F.lit(float(default))
    for cls, v in values.items():
        col = F.when(F.col(N.ABC_CLASS) == cls, F.lit(float(v))).otherwise(col)
    return col


def policy_columns(
    cfg: ForecastConfig, factors: dict[str, float] | None = None
) -> dict[str, Column]:
    """Service level, lead-time demand std, safety stock, reorder point and EOQ from
    ``mean_demand``, ``demand_std``, ``lead_time_days``, the lead-time std and the costs; the
    safety stock is multiplied by the class's calibrated factor when ``factors`` are given."""
    sl, z = service_level_col(cfg)
    if factors:
        z = z * class_value(factors)
    d, sd, lt, sl_t = (
        F.col(N.MEAN_DEMAND),
        F.col(N.DEMAND_STD),
        F.col(N.LEAD_TIME_DAYS),
        F.col(SIGMA_L),
    )
    sigma = F.sqrt(lt * sd * sd + d * d * sl_t * sl_t)
    ss = z * sigma
    hold = F.col(UNIT_COST_COL) * F.lit(cfg.holding_rate)
    q = F.when(
        (d > 0) & (hold > 0), F.sqrt(F.lit(2.0) * d * F.lit(365.0) * F.col(ORDER_COST_COL) / hold)
    ).otherwise(0.0)
    return {
        N.SERVICE_LEVEL: sl,
        SIGMA_LT: sigma,
        N.SAFETY_STOCK: ss,
        N.REORDER_POINT: d * lt + ss,
        N.EOQ: q,
    }


def inventory_plan(
    forecast: DataFrame,
    revenue: DataFrame,
    prices: DataFrame,
    inventory: DataFrame | None,
    cfg: ForecastConfig,
    period_days: int,
    factors: dict[str, float] | None = None,
    mean: str = N.YHAT,
) -> DataFrame:
    """The plan per forecast item.

    Args:
        forecast: ``item_id``, ``yhat``, ``yhat_p10``, ``yhat_p90`` per horizon.
        revenue: ``item_id``, ``revenue`` over the ABC window (items absent: revenue 0).
        prices: ``item_id``, ``price_last``.
        inventory: Latest snapshot per item before as_of, or None.
        cfg: The ``forecast`` configuration.
        period_days: Days per forecast period.
        factors: Calibrated safety-stock factor per ABC class (None: 1).
        mean: The column of expected units per period (``yhat`` unless the point forecast
            is a median, whose expected units are in another column).

    Returns:
        The ``gold.inventory_plan`` columns (without the common gold columns).
    """
    dd = daily_demand(forecast, [N.ITEM_ID], mean, N.YHAT_P10, N.YHAT_P90, cfg, period_days)
    rev = dd.select(N.ITEM_ID).join(revenue, N.ITEM_ID, "left").fillna(0.0, [N.REVENUE])
    classes = abc_classes(rev, tuple(cfg.abc_cutoffs))
    terms = item_terms(dd.select(N.ITEM_ID).join(prices, N.ITEM_ID, "left"), inventory, cfg)
    j = dd.join(classes, N.ITEM_ID).join(terms, N.ITEM_ID)
    j = j.withColumns(policy_columns(cfg, factors))
    on_hand = F.col(N.ON_HAND)
    return j.select(
        N.ITEM_ID,
        N.ABC_CLASS,
        F.col(N.MEAN_DEMAND).cast("double").alias(N.MEAN_DEMAND),
        F.col(N.DEMAND_STD).cast("double").alias(N.DEMAND_STD),
        N.LEAD_TIME_DAYS,
        N.SERVICE_LEVEL,
        F.col(N.SAFETY_STOCK).cast("double").alias(N.SAFETY_STOCK),
        F.col(N.REORDER_POINT).cast("double").alias(N.REORDER_POINT),
        F.col(N.EOQ).cast("double").alias(N.EOQ),
        on_hand,
        F.when(on_hand.isNotNull(), on_hand <= F.col(N.REORDER_POINT)).alias(N.REORDER_NOW),
        F.try_divide(on_hand, F.when(F.col(N.MEAN_DEMAND) > 0, F.col(N.MEAN_DEMAND))).alias(
            N.DAYS_OF_COVER
        ),
    )


def policy_backtest(
    bt: DataFrame,
    classes: DataFrame,
    terms: DataFrame,
    cfg: ForecastConfig,
    period_days: int,
    horizon: int,
    cutoff: str,
    y: str,
    pred: str,
) -> DataFrame:
    """Per (cutoff, item) cycle: reorder point from the cutoff's forecast, actual demand over
    the lead time (periods prorated; lead times beyond the horizon are cut to it) and
    whether it stocked out.

    Args:
        bt: Backtest rows of the published method: ``cutoff``, ``item_id``, ``horizon``,
            ``y``, ``pred``, ``yhat_p10``, ``yhat_p90``.
        classes: ``item_id``, ``abc_class``.
        terms: Output of :func:`item_terms`.
        cfg: The ``forecast`` configuration.
        period_days: Days per period.
        horizon: Periods forecast.
        cutoff, y, pred: Column names in ``bt`` (``pred``: the expected units per period).
    """
    dd = daily_demand(bt, [cutoff, N.ITEM_ID], pred, N.YHAT_P10, N.YHAT_P90, cfg, period_days)
    lt = F.least(F.col(N.LEAD_TIME_DAYS), F.lit(float(horizon * period_days)))
    share = F.greatest(
        F.lit(0.0),
        F.least(
            F.lit(1.0), (lt - (F.col(N.HORIZON) - 1) * period_days) / F.lit(float(period_days))
        ),
    )
    actual = (
        bt.join(terms.select(N.ITEM_ID, N.LEAD_TIME_DAYS), N.ITEM_ID)
        .groupBy(cutoff, N.ITEM_ID)
        .agg(F.sum(F.col(y) * share).alias(LEAD_DEMAND))
    )
    j = (
        dd.join(classes, N.ITEM_ID)
        .join(terms, N.ITEM_ID)
        .withColumns(policy_columns(cfg))
        .join(actual, [cutoff, N.ITEM_ID])
    )
    # the policy covers d x L' + SS over the (possibly cut) lead time L'
    ltc = F.least(F.col(N.LEAD_TIME_DAYS), F.lit(float(horizon * period_days)))
    mu = F.col(N.MEAN_DEMAND) * ltc
    rop = mu + F.col(N.SAFETY_STOCK)
    sigma = F.col(SIGMA_LT)
    gap = F.col(LEAD_DEMAND) - mu
    excess = (
        F.when(sigma > 0, gap / sigma)
        .when(gap > 1e-9, F.lit(float("inf")))
        .otherwise(F.lit(float("-inf")))
    )
    return j.select(
        cutoff,
        N.ITEM_ID,
        N.ABC_CLASS,
        N.SERVICE_LEVEL,
        rop.alias(N.REORDER_POINT),
        LEAD_DEMAND,
        (F.col(LEAD_DEMAND) > rop + F.lit(1e-9)).alias(STOCKOUT),
        excess.alias(EXCESS),
    )


def _factor_aggs(cfg: ForecastConfig) -> list[Column]:
    """Per ABC class: the quantile of ``excess_z`` at the class's service level, and the
    number of cycles."""
    out = []
    for cls in ABC:
        r = F.when(F.col(N.ABC_CLASS) == cls, F.col(EXCESS))
        out.append(F.percentile(r, F.lit(cfg.service_levels[cls])).alias(f"q_{cls}"))
        out.append(F.count(r).alias(f"n_{cls}"))
    return out


def _factors_from(row: dict, cfg: ForecastConfig) -> dict[str, float]:
    lo, hi = cfg.safety_factor_bounds
    out = {}
    for cls in ABC:
        z = z_value(cfg.service_levels[cls])
        q, n = row.get(f"q_{cls}"), row.get(f"n_{cls}") or 0
        if n < MIN_CALIBRATION_CYCLES or q is None or z <= 0 or math.isnan(q):
            out[cls] = 1.0
        else:
            out[cls] = min(hi, max(lo, q / z))
    return out


def safety_factors(cycles: DataFrame, cfg: ForecastConfig) -> dict[str, float]:
    """The calibrated safety-stock factor per ABC class from backtest cycles (output of
    :func:`policy_backtest`); every factor is 1 when calibration is off."""
    if not cfg.safety_calibration:
        return dict.fromkeys(ABC, 1.0)
    return _factors_from(cycles.agg(*_factor_aggs(cfg)).first().asDict(), cfg)


def calibrated_cycles(cycles: DataFrame, cfg: ForecastConfig, cutoff: str) -> DataFrame:
    """Backtest cycles with ``stockout`` re-decided under factors fitted on the other
    cutoffs (leave one cutoff out; with a single cutoff, on itself). Unchanged when
    calibration is off."""
    if not cfg.safety_calibration:
        return cycles
    cuts = cycles.select(F.col(cutoff).alias(HELD)).distinct()
    pairs = cycles.crossJoin(F.broadcast(cuts))
    if cuts.count() > 1:  # a handful of cutoffs
        pairs = pairs.filter(F.col(cutoff) != F.col(HELD))
    rows = pairs.groupBy(HELD).agg(*_factor_aggs(cfg)).collect()  # one row per cutoff
    f = F.lit(1.0)
    for r in rows:
        by_class = _factors_from(r.asDict(), cfg)
        f = F.when(F.col(cutoff) == F.lit(r[HELD]), class_value(by_class)).otherwise(f)
    _, z = service_level_col(cfg)
    return cycles.withColumn(SAFETY_FACTOR, f).withColumn(
        STOCKOUT, F.col(EXCESS) > F.col(SAFETY_FACTOR) * z
    )
