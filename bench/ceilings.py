"""How far the data can take a model: ceilings for the quality goals of issues 5 and 6.

The goals are "forecast WAPE <= 0.56" (Online Retail, as_of 2011-11-14, 4 weeks) and "churn
AUC >= 0.76, CLV MAE <= 0.85 x the previous-90-days baseline" (as_of 2011-09-10, 90 days).
This script measures what the job's own features can reach when a model is allowed to learn
from the very period it is scored on, something no forecast made at as_of can do:

* **forecast**: the job's feature rows at as_of (``lakecart.forecast`` panel, the same code
  the job runs) with the truth of the 4 weeks after it; LightGBM with exact L1 loss on the
  level ratio (weight = level, i.e. L1 on units, the numerator of WAPE) is (a) trained the
  honest way, on rows whose targets lie before as_of, and (b) trained *in season*: 5-fold
  cross-validation over items on the scored weeks themselves (each item is predicted by a
  model that saw the other 80 % of items in those very weeks). Beside them: the rules, and
  an oracle that knows each item's median over the 4 scored weeks.
* **customers**: the job's snapshot features at as_of (``lakecart.customers.snapshots``)
  with the truth of the 90 days after it; 5-fold cross-validation *on the scored window's
  own labels* (3 seeds) for churn (LightGBM, binary) and CLV (LightGBM, L1), and the best
  multiplier of the 180-day spend rate chosen on the scored window (in hindsight).

An in-season or in-hindsight figure is not a result (it peeks at the truth); it is an upper
bound for any model built from these features before as_of. Needs ``lightgbm`` (``[dev]``).

Usage: .venv/bin/python bench/ceilings.py [--lake /work/lakes/online_retail] [--part all]
"""

from __future__ import annotations

import argparse
import datetime as dt

import lightgbm as lgb
import numpy as np
import pandas as pd
from common import config_for, timed
from customers_quality import auc
from forecast_quality import truth as forecast_truth
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.cli import setup_logging
from lakecart.customers import snapshots as S
from lakecart.features.build import prepare_inputs, read_inputs
from lakecart.features.demand import item_demand
from lakecart.forecast import model as FM
from lakecart.forecast import panel as P
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

FORECAST_AS_OF = dt.date(2011, 11, 14)
CUSTOMERS_AS_OF = dt.date(2011, 9, 10)
FOLDS = 5
SEEDS = (0, 1, 2)


def folds(keys: pd.Series, k: int, seed: int) -> np.ndarray:
    """Fold number per row, the same for equal keys (rows of one item stay together)."""
    uniq = pd.unique(keys)
    order = np.random.default_rng(seed).permutation(len(uniq))
    fold_of = pd.Series(order % k, index=uniq)
    return fold_of.loc[keys].to_numpy()


def stratified_folds(y: np.ndarray, k: int, seed: int) -> np.ndarray:
    """Fold number per row with each class spread evenly over the folds."""
    out = np.empty(len(y), dtype=int)
    rng = np.random.default_rng(seed)
    for cls in np.unique(y):
        idx = np.flatnonzero(y == cls)
        out[rng.permutation(idx)] = np.arange(len(idx)) % k
    return out


def wape(y: np.ndarray, p: np.ndarray) -> float:
    """Sum of absolute errors over the sum of actuals."""
    return float(np.abs(y - p).sum() / y.sum())


def _l1_ratio_model(rows: pd.DataFrame, feats: list[str], cap: float, seed: int) -> lgb.Booster:
    y = np.minimum(rows[P.Y].to_numpy(), cap * rows[P.LEVEL].to_numpy())
    params = {
        "objective": "l1",
        "learning_rate": 0.05,
        "num_leaves": 31,
        "min_data_in_leaf": 50,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": seed,
        "verbose": -1,
    }
    data = lgb.Dataset(rows[feats], y / rows[P.LEVEL], weight=rows[P.LEVEL])
    return lgb.train(params, data, 300)


def _units(model: lgb.Booster, rows: pd.DataFrame, feats: list[str], min_history: int):
    pred = np.maximum(model.predict(rows[feats]), 0.0) * rows[P.LEVEL].to_numpy()
    short = rows[P.HISTORY].to_numpy() < min_history
    return np.where(short, rows[P.B_MEAN].to_numpy(), pred)


def forecast_ceiling(spark, lh: Lakehouse, cfg) -> list[tuple[str, float, str]]:
    """WAPE of rules, honest and in-season LightGBM and the oracle on the issue-5 protocol."""
    fc = cfg.forecast
    inputs = read_inputs(lh)
    dem = item_demand(inputs.orders, inputs.campaigns, as_of=FORECAST_AS_OF, grains=[fc.grain])
    demand = FM.demand_series(dem, fc.grain, FORECAST_AS_OF).persist()
    first = demand.agg(F.min(N.PERIOD_START)).first()[0]
    plan = FM.make_plan(FORECAST_AS_OF, fc, first)
    rows = FM.fill_baselines(FM.panel(demand, plan), plan.min_history)
    pdf = rows.toPandas()  # a bench: ~0.5 M feature rows
    pdf[P.ORIGIN] = pd.to_datetime(pdf[P.ORIGIN])
    pdf[P.TARGET_START] = pd.to_datetime(pdf[P.TARGET_START])
    origin = pd.Timestamp(plan.forecast_origin)
    t = forecast_truth(inputs.orders, FORECAST_AS_OF).toPandas()
    t[N.PERIOD_START] = pd.to_datetime(t[N.PERIOD_START])
    test = (
        pdf[pdf[P.ORIGIN] == origin]
        .drop(columns=P.Y)
        .merge(
            t.rename(columns={N.PERIOD_START: P.TARGET_START}),
            on=[N.ITEM_ID, P.TARGET_START],
            how="left",
        )
        .fillna({P.Y: 0.0})
        .reset_index(drop=True)
    )
    feats = P.feature_names(plan.grain)
    first_train = origin - pd.Timedelta(days=plan.period_days * (plan.train_origins + plan.horizon))
    train = pdf[
        pdf[P.Y].notna()
        & (pdf[P.TARGET_START] < origin)
        & (pdf[P.ORIGIN] >= first_train)
        & (pdf[P.HISTORY] >= plan.min_history)
    ]
    y = test[P.Y].to_numpy()
    out = [(f"rule: {b}", wape(y, test[b].to_numpy()), "honest") for b in P.BASELINES]
    honest = _units(_l1_ratio_model(train, feats, fc.target_cap, 0), test, feats, plan.min_history)
    out.append(("LightGBM L1, trained before as_of", wape(y, honest), "honest"))
    inseason = np.zeros(len(test))
    fitted = test[test[P.HISTORY] >= plan.min_history]
    for seed in SEEDS:
        fold = folds(test[N.ITEM_ID], FOLDS, seed)
        for k in range(FOLDS):
            tr = fitted[fold[fitted.index] != k]
            m = _l1_ratio_model(tr, feats, fc.target_cap, seed)
            held = test[fold == k]
            inseason[held.index] += _units(m, held, feats, plan.min_history) / len(SEEDS)
    out.append(("LightGBM L1, in season (CV over items)", wape(y, inseason), "peeks"))
    oracle = test.groupby(N.ITEM_ID)[P.Y].transform("median").to_numpy()
    out.append(("oracle: each item's median of the 4 weeks", wape(y, oracle), "peeks"))
    demand.unpersist()
    return out


def _customer_frame(lh: Lakehouse, cfg) -> tuple[pd.DataFrame, list[str]]:
    inputs = read_inputs(lh)
    prepared, _ = prepare_inputs(inputs, CUSTOMERS_AS_OF)
    feats = S.snapshot_features(prepared, [CUSTOMERS_AS_OF], cfg.features.windows, 90)
    co = S.customer_orders(inputs.orders)  # the truth: orders on/after as_of
    lab = S.labels(co, [CUSTOMERS_AS_OF], [90])
    frame = S.with_labels(feats, lab, [90])
    cols = S.feature_columns(frame)
    return frame.toPandas(), cols  # one row per customer


def _gbm(objective: str, x: pd.DataFrame, y: np.ndarray, seed: int) -> lgb.Booster:
    params = {
        "objective": objective,
        "learning_rate": 0.03,
        "num_leaves": 4,
        "min_data_in_leaf": 30,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "feature_fraction": 0.8,
        "seed": seed,
        "verbose": -1,
    }
    return lgb.train(params, lgb.Dataset(x, y), 300)


def customers_ceiling(lh: Lakehouse, cfg) -> list[tuple[str, float, str]]:
    """Churn AUC and CLV MAE ratio: rules, and in-hindsight CV on the scored window."""
    d, cols = _customer_frame(lh, cfg)
    bought = d[S.bought_col(90)].to_numpy()
    churn = 1 - bought
    spend = d[S.spend_col(90)].to_numpy()
    x = d[cols]
    out = [
        ("churn AUC, rule: recency", auc(churn, d[N.RECENCY_DAYS].to_numpy(float)), "honest"),
        ("churn AUC, rule: RFM score", auc(churn, -d[S.RFM_SUM].to_numpy(float)), "honest"),
    ]
    p_churn = np.zeros(len(d))
    p_spend = np.zeros(len(d))
    for seed in SEEDS:
        f_b = stratified_folds(bought, FOLDS, seed)
        f_s = folds(d[N.CUSTOMER_ID], FOLDS, seed)
        for k in range(FOLDS):
            m = _gbm("binary", x[f_b != k], bought[f_b != k], seed)
            p_churn[f_b == k] += (1 - m.predict(x[f_b == k])) / len(SEEDS)
            m = _gbm("l1", x[f_s != k], spend[f_s != k], seed)
            p_spend[f_s == k] += m.predict(x[f_s == k]) / len(SEEDS)
    out.append(("churn AUC, LightGBM CV on the scored window", auc(churn, p_churn), "peeks"))
    base = float(np.mean(np.abs(spend - d[S.SPEND_PREV].to_numpy())))
    out.append(
        ("CLV MAE / baseline, LightGBM L1 CV", np.mean(np.abs(spend - p_spend)) / base, "peeks")
    )
    rate = d[S.REVENUE_180D].to_numpy() / 2.0
    out.append(
        ("CLV MAE / baseline, rule: 180-day rate", np.mean(np.abs(spend - rate)) / base, "honest")
    )
    best = min((np.mean(np.abs(spend - a * rate)) / base, a) for a in np.arange(0.5, 2.01, 0.05))
    out.append((f"CLV MAE / baseline, best multiplier ({best[1]:.2f}) of it", best[0], "peeks"))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", default="/work/lakes/online_retail")
    ap.add_argument("--part", choices=["all", "forecast", "customers"], default="all")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    a = ap.parse_args()
    setup_logging()
    cfg = config_for(a.lake, a)
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    results = []
    if a.part in ("all", "forecast"):
        secs, rows = timed(lambda: forecast_ceiling(spark, lh, cfg))
        results.append((f"forecast WAPE, as_of {FORECAST_AS_OF} (goal <= 0.56)", rows, secs))
    if a.part in ("all", "customers"):
        secs, rows = timed(lambda: customers_ceiling(lh, cfg))
        goal = "goals: churn AUC >= 0.76, CLV <= 0.85"
        results.append((f"customers, as_of {CUSTOMERS_AS_OF} ({goal})", rows, secs))
    for title, rows, secs in results:
        print(f"\n{title}  [{secs:.0f} s]")
        print(f"  {'what':<48}{'value':>8}  kind")
        for name, value, kind in rows:
            print(f"  {name:<48}{value:>8.4f}  {kind}")


if __name__ == "__main__":
    main()
