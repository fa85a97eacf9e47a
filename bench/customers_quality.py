"""Quality harness of the ``customers`` job, measured on the PUBLISHED tables.

Protocol (issue 6): the job runs with its default configuration as of ``--as-of`` on a
copy of a lakehouse (it reads only orders before as_of); the truth is what the customers
did in the ``--days`` days on/after as_of, computed here from silver orders. Metrics are
computed with numpy, independently of the library:

* churn (no purchase within ``--days``): AUC, PR-AUC and Brier of the published
  ``churn_probability`` beside recency, frequency and the RFM quintile score
  (r + f + m from gold.customer_segments), and the Brier of a calibrated recency baseline
  (recency mapped to a churn rate by isotonic regression fitted on the previous window,
  ``[as_of - days, as_of)``, i.e. on data before as_of only);
* CLV: MAE and RMSE of ``clv_90d`` against the net spend within ``--days``, beside the
  net spend in the ``--days`` before as_of;
* propensity: AUC of ``purchase_probability_30d`` for a purchase within ``--prop-days``;
* per country (most frequent order country before as_of; fewer than 50 customers pooled
  into 'other'): AUC, mean predicted churn and observed churn.

Usage: .venv/bin/python bench/customers_quality.py [--lake /work/lakes/online_retail]
       [--work /tmp/customers_quality] [--as-of 2011-09-10] [--skip-run]
"""

from __future__ import annotations

import argparse
import datetime as dt
import shutil
import time
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.cli import setup_logging
from lakecart.config import load_config
from lakecart.customers.specs import CUSTOMER_SCORES, CUSTOMER_SEGMENTS
from lakecart.jobs import customers as customers_job
from lakecart.runlog import tracked_run
from lakecart.schemas import SILVER
from lakecart.session import get_spark
from lakecart.tables import Lakehouse


def auc(y: np.ndarray, s: np.ndarray) -> float:
    """Mann-Whitney AUC with average ranks for ties."""
    r = pd.Series(s).rank(method="average").to_numpy()
    p = y == 1
    n1, n0 = p.sum(), (~p).sum()
    return float((r[p].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def average_precision(y: np.ndarray, s: np.ndarray) -> float:
    """Average precision, ties as one threshold."""
    df = pd.DataFrame({"y": y, "s": s}).groupby("s", sort=True)["y"].agg(["sum", "count"])
    df = df.iloc[::-1]
    tp = df["sum"].cumsum()
    n = df["count"].cumsum()
    return float((df["sum"] * tp / n).sum() / y.sum())


def pav(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Increasing isotonic fit (pool adjacent violators) on distinct x: (x values, fitted y)."""
    d = pd.DataFrame({"x": x, "y": y}).groupby("x")["y"].agg(["sum", "count"]).sort_index()
    blocks: list[list[float]] = []  # [sum, count, first x index]
    for i, (sm, c) in enumerate(zip(d["sum"], d["count"], strict=True)):
        blocks.append([sm, c, i])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            s2, c2, _ = blocks.pop()
            blocks[-1][0] += s2
            blocks[-1][1] += c2
    fitted = np.empty(len(d))
    bounds = [b[2] for b in blocks] + [len(d)]
    for b, lo, hi in zip(blocks, bounds[:-1], bounds[1:], strict=True):
        fitted[lo:hi] = b[0] / b[1]
    return d.index.to_numpy(dtype=float), fitted


def apply_step(xs: np.ndarray, fitted: np.ndarray, x: np.ndarray) -> np.ndarray:
    """Isotonic prediction: linear interpolation between fitted points, clamped (as MLlib)."""
    return np.interp(x, xs, fitted)


def customer_table(lh: Lakehouse, as_of: dt.date, days: int, prop_days: int) -> pd.DataFrame:
    """Per customer with a sale before as_of: truth after as_of and history before it."""
    o = lh.read(SILVER[N.ORDERS]).filter(F.col(N.CUSTOMER_ID).isNotNull())
    ts, sale = F.col(N.ORDER_TS), ~F.col(N.IS_RETURN)
    t0 = F.lit(as_of).cast("timestamp")

    def at(d: int):
        return F.lit(as_of + dt.timedelta(days=d)).cast("timestamp")

    agg = o.groupBy(N.CUSTOMER_ID).agg(
        F.max(F.when(sale & (ts < t0), 1).otherwise(0)).alias("known"),
        F.max(F.when(sale & (ts >= t0) & (ts < at(days)), 1).otherwise(0)).alias("buy"),
        F.max(F.when(sale & (ts >= t0) & (ts < at(prop_days)), 1).otherwise(0)).alias("buy_p"),
        F.coalesce(F.sum(F.when((ts >= t0) & (ts < at(days)), F.col(N.REVENUE))), F.lit(0.0)).alias(
            "spend"
        ),
        F.coalesce(
            F.sum(F.when((ts >= at(-days)) & (ts < t0), F.col(N.REVENUE))), F.lit(0.0)
        ).alias("spend_prev"),
        # the previous window, for the calibrated recency baseline (all before as_of)
        F.max(F.when(sale & (ts < at(-days)), 1).otherwise(0)).alias("known_prev"),
        F.max(F.when(sale & (ts < at(-days)), ts)).alias("last_prev"),
        F.max(F.when(sale & (ts >= at(-days)) & (ts < t0), 1).otherwise(0)).alias("buy_prev"),
        F.mode(F.when(sale & (ts < t0), F.col(N.COUNTRY)), deterministic=True).alias("country"),
    )
    agg = agg.withColumn(
        "recency_prev", F.datediff(F.lit(as_of - dt.timedelta(days=days)), F.to_date("last_prev"))
    )
    return agg.filter(F.col("known") == 1).drop("last_prev").toPandas()  # customers: small


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", default="/work/lakes/online_retail")
    ap.add_argument("--work", default="/tmp/customers_quality")
    ap.add_argument("--as-of", default="2011-09-10")
    ap.add_argument("--days", type=int, default=90)
    ap.add_argument("--prop-days", type=int, default=30)
    ap.add_argument("--skip-run", action="store_true", help="measure the tables already in --work")
    ap.add_argument("--shuffle-partitions", type=int, default=4)
    ap.add_argument("--set", action="append", default=[], help="config override key=value")
    a = ap.parse_args()
    setup_logging()
    as_of = dt.date.fromisoformat(a.as_of)
    work = Path(a.work)
    if not a.skip_run:
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(a.lake, work)
    cfg = load_config(
        "local",
        overrides=[
            "spark.master=local[2]",
            f"spark.shuffle_partitions={a.shuffle_partitions}",
            f"lakehouse.root={work}",
            f"run.as_of={as_of}",
            "spark.conf.spark.ui.showConsoleProgress=false",
            *a.set,
        ],
    )
    spark = get_spark(cfg)
    lh = Lakehouse(spark, cfg.lakehouse)
    if not a.skip_run:
        t0 = time.perf_counter()
        with tracked_run(lh, "customers", {"bench": "quality"}) as ctx:
            customers_job.build(spark, cfg, lh, ctx, as_of)
        print(f"customers job: {time.perf_counter() - t0:.1f} s")
    truth = customer_table(lh, as_of, a.days, a.prop_days)
    pub = (
        lh.read(CUSTOMER_SCORES)
        .join(
            lh.read(CUSTOMER_SEGMENTS).drop(N.MODEL_VERSION, N.AS_OF, N.GENERATED_AT), N.CUSTOMER_ID
        )
        .toPandas()  # one row per customer
    )
    d = truth.merge(pub, on=N.CUSTOMER_ID, how="left")
    missing = int(d[N.CHURN_PROBABILITY].isna().sum())
    d = d.dropna(subset=[N.CHURN_PROBABILITY])
    churn = (1 - d["buy"]).to_numpy()
    p = d[N.CHURN_PROBABILITY].to_numpy()
    rec = d[N.RECENCY_DAYS].to_numpy(dtype=float)
    freq = d[N.FREQUENCY].to_numpy(dtype=float)
    rfm = (d[N.R_SCORE] + d[N.F_SCORE] + d[N.M_SCORE]).to_numpy(dtype=float)
    prev = truth[truth["known_prev"] == 1]
    xs, fit = pav(prev["recency_prev"].to_numpy(float), (1 - prev["buy_prev"]).to_numpy(float))
    p_rec = apply_step(xs, fit, rec)
    brier = float(np.mean((p - churn) ** 2))
    brier_rec = float(np.mean((p_rec - churn) ** 2))
    spend, clv, base = d["spend"].to_numpy(), d[N.CLV_90D].to_numpy(), d["spend_prev"].to_numpy()
    mae, mae_b = float(np.mean(np.abs(clv - spend))), float(np.mean(np.abs(base - spend)))
    rmse, rmse_b = (
        float(np.sqrt(np.mean((clv - spend) ** 2))),
        float(np.sqrt(np.mean((base - spend) ** 2))),
    )
    prop_auc = auc(d["buy_p"].to_numpy(), d[N.PURCHASE_PROBABILITY_30D].to_numpy())
    prop_auc_rec = auc(d["buy_p"].to_numpy(), -rec)
    print()
    print(
        f"as_of {as_of}  customers {len(d):,} (missing from gold: {missing})  "
        f"churn rate {churn.mean():.3f}  30-day buy rate {d['buy_p'].mean():.3f}"
    )
    print(f"{'metric':<22}{'model':>10}  {'baseline':<22}{'value':>10}")
    rows = [
        ("churn AUC", auc(churn, p), "recency", auc(churn, rec)),
        ("churn AUC", auc(churn, p), "frequency", auc(churn, -freq)),
        ("churn AUC", auc(churn, p), "RFM score", auc(churn, -rfm)),
        ("churn PR-AUC", average_precision(churn, p), "recency", average_precision(churn, rec)),
        ("churn PR-AUC", average_precision(churn, p), "RFM score", average_precision(churn, -rfm)),
        ("churn Brier", brier, "recency calibrated", brier_rec),
        ("CLV MAE", mae, "spend prev 90d", mae_b),
        ("CLV RMSE", rmse, "spend prev 90d", rmse_b),
        ("propensity AUC", prop_auc, "recency", prop_auc_rec),
    ]
    for name, v, b, bv in rows:
        print(f"{name:<22}{v:>10.4f}  {b:<22}{bv:>10.4f}")
    print()
    print(
        f"checks: churn AUC >= 0.76: {auc(churn, p) >= 0.76} | Brier < calibrated recency: "
        f"{brier < brier_rec} | CLV MAE <= 0.85 x baseline ({0.85 * mae_b:.1f}): "
        f"{mae <= 0.85 * mae_b}"
    )
    # per-country breakdown
    counts = d["country"].fillna("other").value_counts()
    big = set(counts[counts >= 50].index)
    d["group"] = [c if c in big else "other" for c in d["country"].fillna("other")]
    print()
    print(
        f"{'country':<20}{'customers':>10}{'AUC':>8}{'recency AUC':>13}{'mean p':>9}{'observed':>10}"
    )
    for g, x in d.groupby("group"):
        y = (1 - x["buy"]).to_numpy()
        a_m = auc(y, x[N.CHURN_PROBABILITY].to_numpy()) if 0 < y.sum() < len(y) else float("nan")
        a_r = auc(y, x[N.RECENCY_DAYS].to_numpy(float)) if 0 < y.sum() < len(y) else float("nan")
        print(
            f"{g:<20}{len(x):>10}{a_m:>8.3f}{a_r:>13.3f}"
            f"{x[N.CHURN_PROBABILITY].mean():>9.3f}{y.mean():>10.3f}"
        )
    spark.stop()


if __name__ == "__main__":
    main()
