"""Forecast helpers without Spark: feature rows and baselines per item, metrics, inventory
formulas, method selection and the run's dates (expected values by hand)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import ConfigError, ForecastConfig
from lakecart.forecast import inventory as I
from lakecart.forecast import metrics as M
from lakecart.forecast.model import COMBINATION, GBT, forecast_origin, make_plan, select_method
from lakecart.forecast.panel import (
    B_MEAN,
    B_MEDIAN,
    B_MEDIAN_SHORT,
    B_NAIVE,
    B_SNAIVE,
    HISTORY,
    LEVEL,
    ORIGIN,
    SHOP_UNITS,
    TARGET_START,
    PanelParams,
    Y,
    item_rows,
    output_columns,
)

MON = dt.date(2024, 1, 1)  # a Monday


def series(units, days_observed=None, start=MON, price=2.0):
    n = len(units)
    weeks = [start + dt.timedelta(days=7 * i) for i in range(n)]
    return pd.DataFrame(
        {
            N.ITEM_ID: "x",
            N.PERIOD_START: weeks,
            N.UNITS: [float(u) for u in units],
            N.AVG_PRICE: [price if u else None for u in units],
            N.DAYS_OBSERVED: days_observed or [7] * n,
            N.PROMO_ACTIVE: [None] * n,
            N.HOLIDAY_DAYS: [0] * n,
            SHOP_UNITS: [10.0 * (i + 1) for i in range(n)],
        }
    )


def params(first, last, horizon=2, level=4):
    return PanelParams(N.WEEK, horizon, level, pd.Timestamp(first), pd.Timestamp(last))


def week(i):
    return MON + dt.timedelta(days=7 * i)


def test_item_rows_baselines_targets_and_level():
    units = [4, 0, 2, 6, 0, 8]  # weeks 0..5; the forecast origin is week 6
    out = item_rows(series(units), params(week(4), week(6)))
    assert list(out.columns) == output_columns(N.WEEK)
    # origins 4, 5, 6 x horizons 1, 2
    assert out[ORIGIN].tolist() == [week(4)] * 2 + [week(5)] * 2 + [week(6)] * 2
    assert out[N.HORIZON].tolist() == [1, 2] * 3
    assert out[TARGET_START].tolist() == [week(4), week(5), week(5), week(6), week(6), week(7)]
    # targets: units of the target week, NaN beyond the data
    np.testing.assert_array_equal(out[Y].to_numpy(), [0, 8, 8, np.nan, np.nan, np.nan])
    at6 = out[out[ORIGIN] == week(6)].iloc[0]
    assert at6[HISTORY] == 6
    assert at6[B_NAIVE] == 8  # last week
    assert at6[B_MEAN] == pytest.approx((2 + 6 + 0 + 8) / 4)  # mean of the last 4 weeks
    assert at6[B_MEDIAN] == pytest.approx(np.median([4, 0, 2, 6, 0, 8]))  # <= 8 weeks available
    assert at6[B_MEDIAN_SHORT] == pytest.approx(np.median([2, 6, 0, 8]))  # the last 4 weeks
    assert math.isnan(at6[B_SNAIVE])  # no year of history
    assert at6[LEVEL] == pytest.approx(4.0)  # mean of the last 4 weeks (level window 4)
    assert at6["lag_1"] == pytest.approx(8 / 4.0)
    assert at6["lag_2"] == pytest.approx(0.0)
    assert at6["lag_13"] == -1.0  # before the first week: missing marker
    assert at6["since_last_sale"] == 0
    at5 = out[out[ORIGIN] == week(5)].iloc[0]
    assert at5["since_last_sale"] == 1  # week 4 had no sale
    assert at5["zero_share_4"] == pytest.approx(2 / 4)  # weeks 1..4 = 0, 2, 6, 0


def test_item_rows_order_and_buyer_features():
    """Orders and buyers behind the units, by hand: windows 4 and 13 weeks (the zero-share
    windows), units per order over 13, the orders' 4-week mean over their 13-week mean."""
    units = [10, 0, 6, 30, 4]
    pdf = series(units).assign(**{N.ORDER_COUNT: [2, 0, 3, 1, 4], N.BUYERS: [2, 0, 2, 1, 3]})
    at5 = item_rows(pdf, params(week(5), week(5), horizon=1)).iloc[0]
    assert at5["orders_4"] == pytest.approx((0 + 3 + 1 + 4) / 4)
    assert at5["orders_13"] == pytest.approx(10 / 5)  # 5 weeks of history so far
    assert at5["buyers_4"] == pytest.approx((0 + 2 + 1 + 3) / 4)
    assert at5["buyers_13"] == pytest.approx(8 / 5)
    assert at5["units_per_order"] == pytest.approx(50 / 10)
    assert at5["orders_trend"] == pytest.approx(2.0 / 2.0)
    # without the columns (an older item_demand) the features are missing, not an error
    plain = item_rows(series(units), params(week(5), week(5), horizon=1)).iloc[0]
    assert plain["orders_4"] == -1.0 and plain["units_per_order"] == -1.0


def test_item_rows_never_look_at_the_origin_or_later():
    units = [3, 1, 4, 1, 5, 9, 2, 6]
    p = params(week(5), week(5), horizon=1)
    full = item_rows(series(units), p)
    cut = item_rows(series(units[:5]), p)  # the data end right before the origin
    features = [c for c in output_columns(N.WEEK) if c != Y]
    pd.testing.assert_frame_equal(full[features], cut[features])


def test_partial_last_week_is_scaled_in_features_and_not_a_target():
    units = [7, 7, 7, 2]  # the last week observed 2 of 7 days
    out = item_rows(
        series(units, days_observed=[7, 7, 7, 2]), params(week(3), week(4), horizon=1, level=2)
    )
    at3 = out[out[ORIGIN] == week(3)].iloc[0]
    assert math.isnan(at3[Y])  # a partial week is not a target
    at4 = out[out[ORIGIN] == week(4)].iloc[0]
    assert at4[B_NAIVE] == pytest.approx(7.0)  # 2 units in 2 days -> 7 a week
    assert at4[LEVEL] == pytest.approx(7.0)


def test_seasonal_naive_with_a_year_of_history():
    units = list(range(1, 61))  # 60 weeks
    out = item_rows(series(units), params(week(60), week(60), horizon=2))
    # target week 60 -> week 8 (value 9); week 61 -> week 9 (value 10)
    assert out[B_SNAIVE].tolist() == [9.0, 10.0]


def test_metrics_by_hand():
    y = [10, 0, 5, 5]
    yhat = [8, 1, 5, 8]
    assert M.wape(y, yhat) == pytest.approx((2 + 1 + 0 + 3) / 20)
    assert M.mae(y, yhat) == pytest.approx(6 / 4)
    assert M.bias(y, yhat) == pytest.approx((22 - 20) / 20)
    assert M.coverage(y, [9, 0, 4, 6], [11, 2, 5, 9]) == pytest.approx(3 / 4)  # 5 < 6 misses
    assert math.isnan(M.wape([0, 0], [1, 1]))


def test_inventory_formulas_by_hand():
    assert I.z_value(0.95) == pytest.approx(1.6449, abs=1e-4)
    # z=1.6449, L=14, sigma_d=2, d=5, sigma_L=3: sqrt(14*4 + 25*9) = sqrt(281)
    assert I.safety_stock(1.6449, 14, 2, 5, 3) == pytest.approx(1.6449 * math.sqrt(281))
    # D=365*5, S=50, H=0.25*6
    assert I.eoq(1825, 50, 1.5) == pytest.approx(math.sqrt(2 * 1825 * 50 / 1.5))
    assert I.eoq(0, 50, 1.5) == 0.0


def test_select_method():
    sel = select_method({GBT: 0.5, B_NAIVE: 0.7, B_MEDIAN: 0.6})
    assert sel.method == GBT and sel.best_baseline == B_MEDIAN
    sel = select_method({GBT: 0.65, B_NAIVE: 0.7, B_MEDIAN: 0.6})
    assert sel.method == B_MEDIAN and not sel.model_beat_baselines
    assert select_method({GBT: float("nan"), B_MEAN: 0.6}).method == B_MEAN
    # the combination is a model too: the better of the two, if it beats every rule
    both = select_method({GBT: 0.65, COMBINATION: 0.55, B_MEDIAN: 0.6, B_NAIVE: 0.7})
    assert (both.method, both.best_baseline, both.model_beat_baselines) == (COMBINATION, B_MEDIAN, True)  # fmt: skip
    assert select_method({GBT: 0.65, COMBINATION: 0.61, B_MEDIAN: 0.6}).method == B_MEDIAN


def test_combination_is_the_mean_of_its_members(spark):
    from pyspark.testing import assertDataFrameEqual

    from lakecart.forecast.model import with_combination

    df = spark.createDataFrame([("a", 3.0, 1.0, 2.0), ("b", 0.0, 4.0, 5.0)], "item_id string, gbt double, m4 double, m8 double")  # fmt: skip
    want = spark.createDataFrame([("a", 3.0, 1.0, 2.0, 2.0), ("b", 0.0, 4.0, 5.0, 3.0)], "item_id string, gbt double, m4 double, m8 double, combination double")  # fmt: skip
    assertDataFrameEqual(with_combination(df, ["gbt", "m4", "m8"]), want)
    assertDataFrameEqual(with_combination(df, []), df)


def test_poisson_median_agrees_with_scipy_and_by_hand(spark):
    from scipy.stats import poisson

    from lakecart.forecast.model import poisson_median

    means = np.round(np.concatenate([np.linspace(0.0, 12.0, 1201), [37.4, 150.2, 1000.6]]), 4)
    df = spark.createDataFrame([(float(m),) for m in means], "m double")
    got = dict(df.select("m", poisson_median(F.col("m")).alias("med")).collect())
    # by hand: P(0) = exp(-m) >= 0.5 up to ln 2; P(X <= 1) = exp(-m)(1 + m) >= 0.5 up to 1.678
    assert [got[m] for m in (0.0, 0.5, 0.69, 0.7, 1.2, 1.67, 1.69)] == [0, 0, 0, 1, 1, 1, 2]
    exact = poisson.ppf(0.5, np.maximum(means, 1e-12))
    # the steps of the exact median; within 0.003 of one both integers cost the same
    steps = [m for m, lo, hi in zip(means[1:], exact[:-1], exact[1:], strict=True) if hi > lo]
    far = [m for m in means if all(abs(m - s) > 0.003 for s in steps)]
    assert len(far) > 1000
    assert [got[m] for m in far] == [exact[list(means).index(m)] for m in far]


def test_count_medians_are_candidates_and_need_the_model():
    from lakecart.forecast.model import (
        COMBINATION_MEDIAN,
        GBT_MEDIAN,
        methods,
        needs_model,
    )

    on, off = ForecastConfig(), ForecastConfig(count_median=False)
    assert methods(on)[:4] == [GBT, COMBINATION, GBT_MEDIAN, COMBINATION_MEDIAN]
    assert GBT_MEDIAN not in methods(off) and COMBINATION_MEDIAN not in methods(off)
    no_comb = ForecastConfig(combine=[])
    assert methods(no_comb)[:2] == [GBT, GBT_MEDIAN] and COMBINATION_MEDIAN not in methods(no_comb)
    assert needs_model({GBT_MEDIAN}, on) and needs_model({COMBINATION_MEDIAN, "zero"}, on)
    rules_only = ForecastConfig(combine=["moving_median", "moving_median_short"])
    assert not needs_model({COMBINATION_MEDIAN}, rules_only)
    assert not needs_model({"zero", "moving_median"}, on)


def test_count_medians_keep_their_model_as_the_rate(spark):
    from pyspark.testing import assertDataFrameEqual

    from lakecart.forecast.model import long_format, with_count_medians

    df = spark.createDataFrame([("a", 0.6, 1.2), ("b", 3.0, 1.68)], "item_id string, gbt double, combination double")  # fmt: skip
    out = long_format(with_count_medians(df, [GBT, COMBINATION]), [GBT, "gbt_median", "combination_median"], ["item_id"])  # fmt: skip
    # by hand: Poisson medians of 0.6, 1.2, 3.0 and 1.68 are 0, 1, 3 and 2
    want = spark.createDataFrame(
        [("a", "gbt", 0.6, 0.6), ("a", "gbt_median", 0.0, 0.6), ("a", "combination_median", 1.0, 1.2),
         ("b", "gbt", 3.0, 3.0), ("b", "gbt_median", 3.0, 3.0), ("b", "combination_median", 2.0, 1.68)],
        "item_id string, method string, pred double, rate double",
    )  # fmt: skip
    assertDataFrameEqual(out, want)


def test_config_names_every_forecast_method():
    from lakecart.config import FORECAST_METHODS
    from lakecart.forecast.model import DERIVED, METHODS

    assert sorted(FORECAST_METHODS) == sorted(m for m in METHODS if m not in DERIVED)
    with pytest.raises(ConfigError, match="combine"):
        ForecastConfig(combine=["gbt", "prophet"])
    with pytest.raises(ConfigError, match="combine"):
        ForecastConfig(combine=["gbt"])
    with pytest.raises(ConfigError, match="combine"):
        ForecastConfig(combine=["gbt", "gbt"])  # one method twice is that method alone
    assert ForecastConfig(combine=[]).combine == []


def test_dates_of_a_run():
    assert forecast_origin(dt.date(2011, 11, 14), N.WEEK) == dt.date(2011, 11, 14)  # a Monday
    assert forecast_origin(dt.date(2011, 11, 16), N.WEEK) == dt.date(2011, 11, 21)
    assert forecast_origin(dt.date(2011, 11, 16), N.DAY) == dt.date(2011, 11, 16)
    cfg = ForecastConfig()
    plan = make_plan(dt.date(2011, 11, 14), cfg, dt.date(2010, 11, 29))
    assert plan.horizon == 4 and plan.level_periods == 13 and plan.min_history == 4
    # cutoffs spread over the 26 weeks before the forecast week: H, H+7, H+14, H+21 weeks
    # before it (26 weeks less the horizon, over 3 gaps: 7 weeks apart)
    assert plan.cutoffs == tuple(
        dt.date(2011, 11, 14) - dt.timedelta(weeks=4 + 7 * k) for k in range(4)
    )
    # 24 weeks of history: 14 of them are needed before the earliest cutoff (10 training
    # weeks + 4 of history), 4 are the horizon: 6 weeks of room, cutoffs 2 apart
    mid = make_plan(dt.date(2011, 11, 14), cfg, dt.date(2011, 5, 30))
    assert mid.cutoffs == tuple(
        dt.date(2011, 11, 14) - dt.timedelta(weeks=4 + 2 * k) for k in range(4)
    )
    fixed = make_plan(dt.date(2011, 11, 14), ForecastConfig(backtest_step=3), dt.date(2010, 11, 29))
    assert fixed.cutoffs[1] == dt.date(2011, 11, 14) - dt.timedelta(weeks=7)
    short = make_plan(dt.date(2011, 11, 14), cfg, dt.date(2011, 8, 29))  # 11 weeks of history
    assert len(short.cutoffs) < 4
    assert make_plan(dt.date(2011, 11, 14), cfg, dt.date(2011, 10, 31)).cutoffs == ()
    assert ForecastConfig(grain="day").horizon == 28
    with pytest.raises(ConfigError):
        ForecastConfig(service_levels={"A": 0.98, "B": 0.95})


def test_short_histories_keep_the_intermittent_rules_own_forecasts(spark):
    """An item with less than min_history periods: the window baselines fall back to the
    moving mean, the intermittent rules keep their own values (zero stays 0, an item sold
    once keeps TSB's small decaying demand); a rule with nothing to go on (NULL) falls back."""
    from lakecart.forecast import intermittent as IR
    from lakecart.forecast import model as FM
    from lakecart.forecast.panel import B_MEAN, BASELINES, HISTORY

    own = {IR.CROSTON: None, IR.SBA: 0.9, IR.TSB: 0.008, IR.ADIDA: 0.25, IR.ZERO: 0.0}
    row = {"item_id": "x", HISTORY: 2.0, FM.DEMAND_CLASS: None}
    row.update({b: 7.0 for b in BASELINES if b != B_MEAN})
    row.update({B_MEAN: 0.5, **own})
    df = spark.createDataFrame(
        [row],
        ", ".join(
            f"{k} {'string' if k in ('item_id', FM.DEMAND_CLASS) else 'double'}" for k in row
        ),
    )
    got = FM.fill_baselines(df, min_history=4).first().asDict()
    assert {b: got[b] for b in BASELINES} == {b: 0.5 for b in BASELINES}
    assert {r: got[r] for r in IR.RULES} == {IR.CROSTON: 0.5, IR.SBA: 0.9, IR.TSB: 0.008, IR.ADIDA: 0.25, IR.ZERO: 0.0}  # fmt: skip
    assert got[FM.DEMAND_CLASS] == "unclassified"
    # with enough history nothing is replaced but the missing Croston
    long = FM.fill_baselines(df.withColumn(HISTORY, df[HISTORY] + 10), min_history=4).first()
    assert long[IR.SBA] == 0.9 and long[BASELINES[0]] == 7.0 and long[IR.CROSTON] == 0.5
