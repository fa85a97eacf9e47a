"""The forecast job on a small synthetic shop: no leakage (the forecast for as_of D is the
same whether silver holds data after D or not), re-runs replace, metrics beside baselines,
fallback for short histories; Spark metrics and the inventory plan against hand numbers."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.config import ForecastConfig, LakehouseConfig
from lakecart.forecast import intermittent as IR
from lakecart.forecast import inventory as I
from lakecart.forecast import metrics as M
from lakecart.forecast.specs import DEMAND_FORECAST, INVENTORY_PLAN
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.tables import Lakehouse
from tests.helpers import run_cli

START = dt.date(2024, 1, 1)  # a Monday
AS_OF = dt.date(2024, 10, 16)  # a Wednesday: the last week is partial
END = dt.date(2024, 11, 20)  # data after AS_OF in the full lake
FAST = [
    "--set", "spark.shuffle_partitions=2",
    "--set", "forecast.max_iter=3",
    "--set", "forecast.max_depth=3",
    "--set", "forecast.backtest_cutoffs=2",
    "--set", "forecast.train_origins=4",
    "--set", "forecast.subsampling_rate=1.0",
]  # fmt: skip
NEW_ITEM = "new"  # first sold 10 days before AS_OF: the fallback


def synthetic_orders(spark, end: dt.date):
    """12 items with weekly seasonality and noise, one sale line per item and day it sells."""
    rng = np.random.default_rng(7)
    rows = []
    n_days = (END - START).days
    for i in range(12):
        base = 1 + i % 4
        for d in range(n_days):
            day = START + dt.timedelta(days=d)
            q = rng.poisson(base * (1.5 if day.weekday() < 2 else 1.0))
            if q > 0:
                rows.append((f"i{i:02d}", day, float(q), 2.0 + i))
    for d in range((AS_OF - START).days - 10, n_days, 3):
        rows.append((NEW_ITEM, START + dt.timedelta(days=d), 2.0, 5.0))
    rows.append(("i00", dt.date(2024, 5, 6), -3.0, 2.0))  # a return: not demand
    data = [
        (f"o{k}", f"c{k % 40}", dt.datetime.combine(day, dt.time(10)), item, q, p, q * p, q < 0,
         "X", None, None, "test", "f.csv", k, "r", dt.datetime(2024, 12, 1))
        for k, (item, day, q, p) in enumerate(rows)
        if day < end
    ]  # fmt: skip
    return spark.createDataFrame(data, SILVER[N.ORDERS].schema)


def make_lake(spark, root: str, end: dt.date) -> Lakehouse:
    lh = Lakehouse(spark, LakehouseConfig(root=root))
    lh.append(synthetic_orders(spark, end), SILVER[N.ORDERS])
    return lh


def forecast(root: str, *extra: str) -> str:
    code, err = run_cli(
        "forecast", ["--lakehouse", root, "--as-of", AS_OF.isoformat(), *FAST, *extra]
    )
    assert code == 0, err
    return err


@pytest.fixture(scope="module")
def lakes(forecast_lakes):
    """Built once per session in conftest (test_faults reads ``full`` too)."""
    return forecast_lakes


def published(lh: Lakehouse, spec):
    return lh.read(spec).drop(N.GENERATED_AT, N.MODEL_VERSION)


def test_no_leakage_same_forecast_with_or_without_later_data(lakes):
    full, cut, _ = lakes
    assertDataFrameEqual(published(full, DEMAND_FORECAST), published(cut, DEMAND_FORECAST))
    assertDataFrameEqual(published(full, INVENTORY_PLAN), published(cut, INVENTORY_PLAN))


def test_forecast_shape_and_fallback(lakes):
    full, _, log = lakes
    fc = full.read(DEMAND_FORECAST)
    rows = fc.collect()  # 13 items x 4 weeks
    assert len(rows) == 13 * 4
    first_monday = dt.date(2024, 10, 21)
    assert {r[N.PERIOD_START] for r in rows} == {
        first_monday + dt.timedelta(weeks=k) for k in range(4)
    }
    assert {r[N.HORIZON] for r in rows} == {1, 2, 3, 4}
    assert all(r[N.AS_OF] == AS_OF and r[N.GRAIN] == N.WEEK for r in rows)
    assert all(0 <= r[N.YHAT_P10] <= r[N.YHAT] <= r[N.YHAT_P90] for r in rows)
    # model_version = <version>:<demand class>:<method>, "-fallback" when the short history
    # got the moving mean: under the model and the window baselines, not under the
    # intermittent rules, which forecast short histories themselves
    for r in rows:
        method = r[N.MODEL_VERSION].removesuffix("-fallback").rsplit(":", 1)[1]
        short = r[N.ITEM_ID] == NEW_ITEM
        assert r[N.MODEL_VERSION].endswith("-fallback") == (short and method not in IR.RULES), r
    assert "backtest" in log and "moving_median" in log
    plan = full.read(INVENTORY_PLAN).collect()
    assert len(plan) == 13 and all(r[N.ON_HAND] is None and r[N.REORDER_NOW] is None for r in plan)


def test_metrics_sit_beside_the_best_baseline(lakes):
    full, _, _ = lakes
    m = full.read(MODEL_METRICS).collect()  # one run's few dozen rows
    wape = [r for r in m if r[N.METRIC] == M.WAPE and r[N.SPLIT] == N.SPLIT_BACKTEST]
    models = {r[N.MODEL] for r in wape}
    assert {"demand_gbt", "naive", "seasonal_naive", "moving_mean", "moving_median"} <= models
    gbt = [r for r in wape if r[N.MODEL] == "demand_gbt"]
    assert {r[N.K] for r in gbt} == {None, 1, 2, 3, 4}
    assert all(r[N.BASELINE] and r[N.BASELINE_VALUE] is not None for r in gbt)
    assert any(r[N.METRIC].startswith("published_model:") for r in m)
    # every method and the published mix per backtest cutoff (split backtest:<cutoff>)
    cut = [r for r in m if r[N.METRIC] == M.WAPE and r[N.SPLIT].startswith("backtest:")]
    assert {
        "demand_gbt",
        "demand_combination",
        "demand_gbt_median",
        "demand_combination_median",
        "published",
        "moving_median",
        "zero",
    } <= {r[N.MODEL] for r in cut}
    assert len({r[N.SPLIT] for r in cut}) == 2  # forecast.backtest_cutoffs=2
    assert all(r[N.BASELINE_VALUE] is not None for r in cut if r[N.MODEL] == "published")
    # the per-demand-class choice: decision rows, WAPE per class and method, item counts
    assert any(r[N.METRIC] == "published" and "class=" in (r[N.DATASET] or "") for r in m)
    per_class = {r[N.MODEL] for r in m if r[N.METRIC].startswith("wape:class=")}
    assert {"demand_gbt", "zero", "croston", "sba", "tsb", "adida"} <= per_class
    assert any(r[N.METRIC].startswith("items:class=") for r in m)
    assert any(r[N.METRIC] == "cycle_service_level:all" and r[N.BASELINE] == "target" for r in m)


def test_rerun_replaces(lakes):
    full, _, _ = lakes
    before = full.read(DEMAND_FORECAST).count()
    forecast(full.config.root)
    fc = full.read(DEMAND_FORECAST)
    assert fc.count() == before
    assert fc.groupBy(N.ITEM_ID, N.PERIOD_START).count().filter("count > 1").count() == 0
    assert full.read(INVENTORY_PLAN).count() == 13


def test_spark_scores_match_hand_values(spark):
    df = spark.createDataFrame(
        [("a", 1, 10.0, 8.0, 9.0, 11.0), ("a", 1, 0.0, 1.0, 0.0, 2.0), ("a", 2, 5.0, 5.0, 4.0, 5.0),
         ("a", 2, 5.0, 8.0, 6.0, 9.0)],
        "m string, h int, y double, p double, lo double, hi double",
    )  # fmt: skip
    got = M.scores(df, ["m"], "y", "p", "lo", "hi").first()
    assert got[M.WAPE] == pytest.approx(6 / 20)
    assert got[M.MAE] == pytest.approx(1.5)
    assert got[M.BIAS] == pytest.approx(0.1)
    assert got[M.COVERAGE] == pytest.approx(0.75)
    per_h = {r["h"]: r[M.WAPE] for r in M.scores(df, ["h"], "y", "p", None, None).collect()}
    assert per_h == {1: pytest.approx(3 / 10), 2: pytest.approx(3 / 10)}


def test_abc_and_inventory_plan_by_hand(spark):
    cfg = ForecastConfig(
        lead_time_days=14.0, lead_time_std_days=2.0, order_cost=50.0, holding_rate=0.25
    )
    revenue = spark.createDataFrame(
        [("a", 700.0), ("b", 200.0), ("c", 60.0), ("d", 40.0)], "item_id string, revenue double"
    )
    classes = {r[N.ITEM_ID]: r[N.ABC_CLASS] for r in I.abc_classes(revenue, (0.8, 0.95)).collect()}
    # shares before each item: a 0, b 0.7, c 0.9, d 0.96
    assert classes == {"a": "A", "b": "A", "c": "B", "d": "C"}
    # item a: 4 weeks of yhat 70 (10/day), P10-P90 width 2 x 1.2816 x 7 -> sigma_week 7
    w = 2 * I.z_value(0.9)
    fc = spark.createDataFrame(
        [("a", 70.0, 70.0 - 7 * w / 2, 70.0 + 7 * w / 2)] * 4
        + [("b", 7.0, 7.0, 7.0)] * 4 + [("c", 0.0, 0.0, 0.0)] * 4 + [("d", 1.0, 0.0, 2.0)] * 4,
        "item_id string, yhat double, yhat_p10 double, yhat_p90 double",
    )  # fmt: skip
    prices = spark.createDataFrame(
        [("a", 10.0), ("b", 4.0), ("c", 1.0), ("d", 1.0)], "item_id string, price_last double"
    )
    inv = spark.createDataFrame(
        [
            ("b", dt.date(2024, 1, 1), 5.0, 7.0, 0.0, 3.0, 20.0),
            ("b", dt.date(2024, 2, 1), 30.0, 7.0, 0.0, 3.0, 20.0),
        ],
        SILVER[N.INVENTORY].schema.fieldNames()[:7],
    )
    latest = I.latest_inventory(inv, dt.date(2024, 3, 1))
    plan = {
        r[N.ITEM_ID]: r for r in I.inventory_plan(fc, revenue, prices, latest, cfg, 7).collect()
    }
    a = plan["a"]
    sd = 7 / np.sqrt(7)
    ss = I.z_value(0.98) * np.sqrt(14 * sd**2 + 10**2 * 2**2)
    assert a[N.MEAN_DEMAND] == pytest.approx(10.0)
    assert a[N.DEMAND_STD] == pytest.approx(sd)
    assert a[N.SAFETY_STOCK] == pytest.approx(ss)
    assert a[N.REORDER_POINT] == pytest.approx(140 + ss)
    assert a[N.EOQ] == pytest.approx(np.sqrt(2 * 3650 * 50 / (0.25 * 10 * 0.6)))
    assert a[N.ON_HAND] is None and a[N.REORDER_NOW] is None and a[N.DAYS_OF_COVER] is None
    b = plan["b"]  # inventory: lead time 7 +- 0, unit cost 3, order cost 20, 30 on hand
    assert b[N.LEAD_TIME_DAYS] == 7.0 and b[N.SAFETY_STOCK] == pytest.approx(0.0)
    assert b[N.REORDER_POINT] == pytest.approx(7.0)
    assert b[N.EOQ] == pytest.approx(np.sqrt(2 * 365 * 20 / (0.25 * 3)))
    assert (
        b[N.ON_HAND] == 30.0
        and b[N.REORDER_NOW] is False
        and b[N.DAYS_OF_COVER] == pytest.approx(30.0)
    )
    assert plan["c"][N.EOQ] == 0.0 and plan["c"][N.SERVICE_LEVEL] == pytest.approx(0.95)
    assert plan["d"][N.SERVICE_LEVEL] == pytest.approx(0.90)


def test_inventory_plan_applies_the_safety_factor(spark):
    cfg = ForecastConfig(lead_time_days=14.0, lead_time_std_days=2.0)
    revenue = spark.createDataFrame([("a", 100.0)], "item_id string, revenue double")
    w = 2 * I.z_value(0.9)
    fc = spark.createDataFrame(
        [("a", 70.0, 70.0 - 7 * w / 2, 70.0 + 7 * w / 2)] * 4,
        "item_id string, yhat double, yhat_p10 double, yhat_p90 double",
    )
    prices = spark.createDataFrame([("a", 10.0)], "item_id string, price_last double")
    plan = I.inventory_plan(fc, revenue, prices, None, cfg, 7, {"A": 2.5, "B": 1.0, "C": 1.0})
    a = plan.first()
    ss = 2.5 * I.z_value(0.98) * np.sqrt(14 * 7.0 + 10**2 * 2**2)  # sigma_d^2 = 49 / 7
    assert a[N.ABC_CLASS] == "A"
    assert a[N.SAFETY_STOCK] == pytest.approx(ss)
    assert a[N.REORDER_POINT] == pytest.approx(140 + ss)


def _cycles(spark, excess: dict[tuple[str, str], list[float]]):
    """Backtest cycles with given standardised excess demand per (cutoff, class)."""
    rows = []
    for (cut, cls), values in excess.items():
        for i, r in enumerate(values):
            rows.append((cut, f"{cls}{i}", cls, r))
    df = spark.createDataFrame(rows, "cutoff string, item_id string, abc_class string, r double")
    return df.select(
        "cutoff", N.ITEM_ID, N.ABC_CLASS, F.lit(0.9).alias(N.SERVICE_LEVEL),
        F.lit(0.0).alias(N.REORDER_POINT), F.lit(0.0).alias(I.LEAD_DEMAND),
        (F.col("r") > F.lit(I.z_value(0.9))).alias(I.STOCKOUT), F.col("r").alias(I.EXCESS),
    )  # fmt: skip


def test_safety_factors_are_calibrated_out_of_sample(spark):
    """Factors = quantile of the excess at the service level / z (numpy's linear
    percentile as the independent reference); classes with < 30 cycles keep 1; factors are
    bounded; each cutoff's stock-outs are re-decided with the OTHER cutoff's factors."""
    cfg = ForecastConfig(
        service_levels={"A": 0.9, "B": 0.9, "C": 0.9}, safety_factor_bounds=[0.5, 5.0]
    )
    z = I.z_value(0.9)
    rng = np.random.default_rng(3)
    c1 = [float(x) for x in np.round(rng.exponential(1.5, 40), 3)]  # heavier tail than normal
    c2 = [float(x) for x in np.round(rng.exponential(1.0, 50), 3)]
    huge = [100.0 + i for i in range(40)]  # B: a factor beyond the upper bound
    excess = {("c1", "C"): c1, ("c2", "C"): c2, ("c1", "A"): [9.0] * 5, ("c1", "B"): huge}
    cycles = _cycles(spark, excess)
    factors = I.safety_factors(cycles, cfg)
    assert factors["C"] == pytest.approx(np.percentile(c1 + c2, 90) / z)
    assert factors["A"] == 1.0  # 5 cycles: too few to calibrate
    assert factors["B"] == 5.0  # clamped
    got = I.calibrated_cycles(cycles, cfg, "cutoff").select("cutoff", N.ITEM_ID, I.STOCKOUT)
    k_for_c1 = np.percentile(c2, 90)  # factor x z fitted on the other cutoff
    k_for_c2 = np.percentile(c1, 90)
    expected = (
        [("c1", f"C{i}", bool(r > k_for_c1)) for i, r in enumerate(c1)]
        + [("c2", f"C{i}", bool(r > k_for_c2)) for i, r in enumerate(c2)]
        + [("c1", f"A{i}", bool(9.0 > z)) for i in range(5)]  # factor 1
        + [("c1", f"B{i}", True) for i in range(40)]  # B has no other cutoff: factor 1 there
    )
    assertDataFrameEqual(got, spark.createDataFrame(expected, got.schema))
    off = ForecastConfig(safety_calibration=False)
    assert I.safety_factors(cycles, off) == {"A": 1.0, "B": 1.0, "C": 1.0}


def test_short_history_is_skipped_cleanly(spark, tmp_root):
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_root / "fc_short")))
    lh.append(
        synthetic_orders(spark, END).filter(F.col(N.ORDER_TS) >= F.lit(dt.datetime(2024, 9, 20))),
        SILVER[N.ORDERS],
    )
    err = forecast(lh.config.root)
    assert "skipped" in err
    assert not lh.exists(DEMAND_FORECAST)
