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
def lakes(spark, tmp_root):
    full = make_lake(spark, str(tmp_root / "fc_full"), END)
    cut = make_lake(spark, str(tmp_root / "fc_cut"), AS_OF)
    log_full = forecast(full.config.root)
    forecast(cut.config.root)
    return full, cut, log_full


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
    fallback = {r[N.ITEM_ID] for r in rows if r[N.MODEL_VERSION].endswith("-fallback")}
    assert fallback == {NEW_ITEM}
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


def test_short_history_is_skipped_cleanly(spark, tmp_root):
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_root / "fc_short")))
    lh.append(
        synthetic_orders(spark, END).filter(F.col(N.ORDER_TS) >= F.lit(dt.datetime(2024, 9, 20))),
        SILVER[N.ORDERS],
    )
    err = forecast(lh.config.root)
    assert "skipped" in err
    assert not lh.exists(DEMAND_FORECAST)
