"""Intermittent-demand rules, demand classes and the per-class choice without Spark
(expected values by hand; the arithmetic is in the comments)."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from lakecart import names as N
from lakecart.config import ConfigError, ForecastConfig
from lakecart.forecast import intermittent as IR
from lakecart.forecast.model import GBT, choose_by_class
from lakecart.forecast.panel import B_MEAN, B_MEDIAN, B_NAIVE

MON = pd.Timestamp(2024, 1, 1)  # a Monday
NAN = np.nan


def week(i: int) -> pd.Timestamp:
    return MON + pd.Timedelta(weeks=i)


def test_croston_and_sba_by_hand():
    u = np.array([0, 3, 0, 0, 5, 0.0])
    # week 0: no demand yet -> NaN
    # week 1: first demand: z = 3, interval x = 2 (weeks 0..1) -> 3 / 2 = 1.5
    # weeks 2-3: no demand, no update -> 1.5
    # week 4: z = 3 + 0.1 (5 - 3) = 3.2, interval 3 -> x = 2 + 0.1 (3 - 2) = 2.1 -> 1.5238
    expected = [NAN, 1.5, 1.5, 1.5, 3.2 / 2.1, 3.2 / 2.1]
    np.testing.assert_allclose(IR.croston(u, 0.1), expected)
    # SBA = Croston x (1 - 0.1 / 2) = x 0.95
    np.testing.assert_allclose(IR.croston(u, 0.1, sba=True), np.array(expected) * 0.95)


def test_tsb_by_hand_and_a_single_sale_fades():
    u = np.array([0, 3, 0, 0, 5, 0.0])
    # week 1: first demand after 2 periods: p = 1/2, z = 3 -> 1.5
    # week 2: p = 0.5 + 0.1 (0 - 0.5) = 0.45 -> 1.35;  week 3: p = 0.405 -> 1.215
    # week 4: p = 0.405 + 0.1 (1 - 0.405) = 0.4645, z = 3 + 0.1 (5 - 3) = 3.2 -> 1.4864
    # week 5: p = 0.4645 x 0.9 = 0.41805 -> 1.33776
    np.testing.assert_allclose(
        IR.tsb(u, 0.1, 0.1), [NAN, 1.5, 1.35, 1.215, 0.4645 * 3.2, 0.41805 * 3.2]
    )
    once = np.array([2.0] + [0.0] * 52)  # sold once (2 units), then a year without sales
    f = IR.tsb(once, 0.1, 0.1)
    # p = 1 at the sale, x 0.9 per period: 2 x 0.9^k; Croston stays at 2 / 1 for ever
    np.testing.assert_allclose(f[:4], [2.0, 1.8, 1.62, 1.458])
    assert f[-1] == pytest.approx(2 * 0.9**52)  # 0.0082 units a week
    assert IR.croston(once, 0.1)[-1] == pytest.approx(2.0)


def test_adida_by_hand():
    u = np.array([0, 3, 0, 0, 5, 0.0])
    # buckets of 2 periods ending at the next origin, SES alpha 0.5 over bucket totals:
    # after week 0: no complete bucket -> NaN
    # after week 1: [w0, w1] = 3 -> 3 / 2 = 1.5
    # after week 2: [w1, w2] = 3 (w0 alone is incomplete) -> 1.5
    # after week 3: [w0, w1] = 3, [w2, w3] = 0 -> 3 + 0.5 (0 - 3) = 1.5 -> 0.75
    # after week 4: [w1, w2] = 3, [w3, w4] = 5 -> 3 + 0.5 (5 - 3) = 4 -> 2.0
    # after week 5: 3, 0, [w4, w5] = 5 -> 1.5, then 1.5 + 0.5 (5 - 1.5) = 3.25 -> 1.625
    np.testing.assert_allclose(IR.adida(u, 2, 0.5), [NAN, 1.5, 1.5, 0.75, 2.0, 1.625])
    np.testing.assert_allclose(IR.adida(u, 2, 0.5, at=[3]), [NAN, NAN, NAN, 0.75, NAN, NAN])


def test_demand_classes_one_series_each():
    cases = {
        # ADI 1; sizes 5, 6: mean 5.5, var 0.25 -> CV2 0.0083
        IR.SMOOTH: [5, 6, 5, 6, 5, 6],
        # ADI 1; sizes 1, 10: mean 5.5, var 20.25 -> CV2 = 20.25 / 30.25 = 0.669
        IR.ERRATIC: [1, 10, 1, 10, 1, 10],
        # ADI 6 / 3 = 2; sizes all 5 -> CV2 0
        IR.INTERMITTENT: [0, 5, 0, 5, 0, 5],
        # ADI 2; sizes 1, 10 -> CV2 0.669
        IR.LUMPY: [0, 1, 0, 10, 0, 1, 0, 10],
    }
    for cls, units in cases.items():
        adi, cv2, c = IR.demand_class(np.array(units, float), window=52)
        assert c[-1] == cls, (cls, adi[-1], cv2[-1])
    adi, cv2, c = IR.demand_class(np.array([1, 10, 1, 10, 1, 10.0]))
    assert adi[-1] == 1.0 and cv2[-1] == pytest.approx(20.25 / 30.25)
    adi, cv2, c = IR.demand_class(np.array([0, 1, 0, 10, 0, 1, 0, 10.0]), window=4)
    assert adi[-1] == 2.0  # the last 4 periods only: 0, 1, 0, 10
    # before the first period: no class; no sale yet: ADI inf -> intermittent
    adi, _, c = IR.demand_class(np.array([NAN, 0, 0, 3.0]))
    assert c[0] is None and math.isinf(adi[1]) and c[1] == IR.INTERMITTENT


def frame(units, item="x", start=0, observed=None):
    n = len(units)
    return pd.DataFrame(
        {
            N.ITEM_ID: item,
            N.PERIOD_START: [week(start + i).date() for i in range(n)],
            N.UNITS: [float(u) for u in units],
            N.DAYS_OBSERVED: observed or [7] * n,
        }
    )


def test_item_rules_rows_per_origin():
    pdf = pd.concat([frame([2, 0, 0, 0, 0, 0, 0]), frame([4, 4, 4, 4], item="y", start=3)])
    out = IR.item_rules(pdf, IR.RuleParams(origins=(week(5), week(7))))
    assert list(out.columns) == IR.output_columns()
    x5 = out[(out[N.ITEM_ID] == "x") & (out[IR.ORIGIN] == week(5).date())].iloc[0]
    # sold once in week 0: TSB 2 x 0.9^4 after week 4; Croston 2 / 1; zero 0
    assert x5[IR.TSB] == pytest.approx(2 * 0.9**4)
    assert x5[IR.CROSTON] == pytest.approx(2.0)
    assert x5[IR.ZERO] == 0.0
    # ADIDA (4-week buckets ending at week 5: [1..4] = 0, alone) -> 0
    assert x5[IR.ADIDA] == pytest.approx(0.0)
    assert x5[IR.DEMAND_CLASS] == IR.INTERMITTENT and x5[IR.ADI] == 5.0
    y7 = out[(out[N.ITEM_ID] == "y") & (out[IR.ORIGIN] == week(7).date())].iloc[0]
    assert y7[IR.CROSTON] == pytest.approx(4.0) and y7[IR.DEMAND_CLASS] == IR.SMOOTH
    # item y starts in week 3: no row at origin 5? it has weeks 3, 4 -> a row
    assert len(out[out[N.ITEM_ID] == "y"]) == 2


def test_item_rules_never_look_at_the_origin_or_later():
    units = [3, 0, 0, 1, 0, 9, 2, 0, 6]
    origin = week(5)
    p = IR.RuleParams(adida_periods=2, origins=(origin,))
    full = IR.item_rules(frame(units), p)
    changed = units[:5] + [50, 0, 70, 0]  # data at and after the origin altered
    other = IR.item_rules(frame(changed), p)
    cut = IR.item_rules(frame(units[:5]), p)  # the data end right before the origin
    pd.testing.assert_frame_equal(full, other)
    pd.testing.assert_frame_equal(full, cut)


def test_partial_period_is_scaled_like_the_features():
    # the last week observed 2 of 7 days with 2 units -> 7 a week
    out = IR.item_rules(
        frame([7, 7, 2], observed=[7, 7, 2]), IR.RuleParams(origins=(week(3),))
    ).iloc[0]
    assert out[IR.CROSTON] == pytest.approx(7.0)


BASE = {B_NAIVE: 0.9, B_MEAN: 0.7, B_MEDIAN: 0.6, IR.TSB: 0.8, IR.ZERO: 1.0}


def test_choice_per_class():
    overall = {GBT: 0.65, **BASE}
    by_class = {
        # the model wins in smooth
        IR.SMOOTH: {GBT: 0.40, **BASE},
        # the model loses in erratic: the best baseline (median) is published
        IR.ERRATIC: {GBT: 0.75, **BASE},
        # every method over-forecasts items that hardly sell: zero wins
        IR.LUMPY: {GBT: 3.7, B_NAIVE: 4.4, B_MEAN: 2.1, B_MEDIAN: 1.2, IR.TSB: 1.1, IR.ZERO: 1.0},
        # too few items: the overall choice
        IR.INTERMITTENT: {GBT: 9.0, **BASE, IR.ZERO: 0.1},
        # nothing sold in the backtest: WAPE undefined everywhere -> zero
        "unclassified": {GBT: None, B_MEDIAN: None, IR.ZERO: None},
    }
    items = {IR.SMOOTH: 100, IR.ERRATIC: 50, IR.LUMPY: 400, IR.INTERMITTENT: 5, "unclassified": 40}
    c = choose_by_class(overall, by_class, items, min_items=30)
    assert c.overall.published == B_MEDIAN and not c.overall.model_won  # GBT 0.65 > 0.6
    assert c.method(IR.SMOOTH) == GBT and c.by_class[IR.SMOOTH].model_won
    assert c.method(IR.ERRATIC) == B_MEDIAN
    assert c.method(IR.LUMPY) == IR.ZERO and c.by_class[IR.LUMPY].baseline_value == 1.0
    # a small class keeps the overall choice unless zero beats it there (0.1 < 0.6)
    assert c.method(IR.INTERMITTENT) == IR.ZERO and "overall" in c.by_class[IR.INTERMITTENT].note
    small = choose_by_class(overall, {IR.INTERMITTENT: BASE}, {IR.INTERMITTENT: 5}, 30)
    assert small.method(IR.INTERMITTENT) == B_MEDIAN
    assert c.method("unclassified") == IR.ZERO
    assert c.method("never seen") == B_MEDIAN
    assert c.methods == {GBT, B_MEDIAN, IR.ZERO}
    # the guarantee: within a class with enough items, no published method is worse than zero
    for cls, ch in c.by_class.items():
        if by_class[cls][IR.ZERO] is not None:
            assert by_class[cls][ch.published] <= by_class[cls][IR.ZERO]
    rows = c.by_class[IR.LUMPY].metrics("v1", "item_demand:week class=lumpy", None, "backtest")
    assert rows[0].model == IR.ZERO and rows[0].value == 0.0 and rows[0].baseline == IR.ZERO
    one = choose_by_class(overall, by_class, items, min_items=30, per_class=False)
    assert {ch.published for ch in one.by_class.values()} == {B_MEDIAN}


def test_a_class_departs_from_the_overall_choice_only_beyond_the_margin():
    overall = {GBT: 0.65, **BASE}  # overall choice: the median (0.6)
    by_class = {
        # the class's best (mean 0.58) is 3.3 % better than the median (0.60): within 5 %
        IR.SMOOTH: {
            GBT: 0.70,
            B_NAIVE: 0.9,
            B_MEAN: 0.58,
            B_MEDIAN: 0.60,
            IR.TSB: 0.8,
            IR.ZERO: 1.0,
        },
        # the GBT (0.50) is 16.7 % better than the median there: it departs
        IR.ERRATIC: {GBT: 0.50, **BASE},
        # the median is worse than zero here: TSB (0.95 < 1.0) however small its gain
        IR.LUMPY: {GBT: 1.3, B_NAIVE: 1.4, B_MEAN: 1.2, B_MEDIAN: 1.02, IR.TSB: 0.95, IR.ZERO: 1.0},
    }
    items = {IR.SMOOTH: 100, IR.ERRATIC: 100, IR.LUMPY: 100}
    c = choose_by_class(overall, by_class, items, min_items=30, min_gain=0.05)
    assert c.method(IR.SMOOTH) == B_MEDIAN and "within 5%" in c.by_class[IR.SMOOTH].note
    assert c.method(IR.ERRATIC) == GBT and c.by_class[IR.ERRATIC].model_won
    assert c.method(IR.LUMPY) == IR.TSB
    # without a margin the smooth class takes its own best
    assert choose_by_class(overall, by_class, items, min_items=30).method(IR.SMOOTH) == B_MEAN


def test_a_class_keeping_an_overall_model_reports_a_model():
    from lakecart.forecast.model import COMBINATION_MEDIAN, GBT_MEDIAN

    overall = {GBT: 0.65, GBT_MEDIAN: 0.58, COMBINATION_MEDIAN: 0.57, **BASE}
    # the class's best (the GBT's median 0.95) is 2 % better than the overall model (0.97)
    rules = {B_NAIVE: 1.3, B_MEAN: 1.2, B_MEDIAN: 0.99, IR.TSB: 1.1, IR.ZERO: 1.0}
    cls = {GBT: 1.1, GBT_MEDIAN: 0.95, COMBINATION_MEDIAN: 0.97, **rules}
    c = choose_by_class(overall, {IR.INTERMITTENT: cls}, {IR.INTERMITTENT: 100}, 30, True, 0.05)
    kept = c.by_class[IR.INTERMITTENT]
    assert c.overall.published == COMBINATION_MEDIAN
    assert (kept.published, kept.model_won, kept.model_value) == (COMBINATION_MEDIAN, True, 0.97)
    assert "best gbt_median (0.9500) is within 5%" in kept.note
    rows = kept.metrics("v1", "item_demand:week class=intermittent", None, "backtest")
    assert (rows[0].model, rows[0].value, rows[0].baseline) == (COMBINATION_MEDIAN, 1.0, B_MEDIAN)


def test_rule_config_is_validated():
    cfg = ForecastConfig()
    assert (cfg.croston_alpha, cfg.tsb_alpha, cfg.tsb_beta, cfg.class_adi) == (0.1, 0.1, 0.1, 1.32)
    with pytest.raises(ConfigError):
        ForecastConfig(tsb_beta=0.0)
    with pytest.raises(ConfigError):
        ForecastConfig(adida_periods=0)


def test_dates_are_plain():  # origins may be given as dates or timestamps
    out = IR.item_rules(frame([1, 1]), IR.RuleParams(origins=(pd.Timestamp(dt.date(2024, 1, 15)),)))
    assert out[IR.ORIGIN].tolist() == [dt.date(2024, 1, 15)]
