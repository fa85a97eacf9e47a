# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — forecast
# MAGIC Demand forecast per active item (one global gradient-boosted model, baselines and a
# MAGIC rolling-origin backtest, calibrated P10-P90) published to `gold.demand_forecast`, and the
# MAGIC inventory plan it drives in `gold.inventory_plan`. Calls the same library function as
# MAGIC `./spark-submit.sh forecast`; this notebook has no logic of its own. Leave `as_of` empty
# MAGIC for the day after the latest order in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.dropdown("grain", "week", ["week", "day"])  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value, e.g. forecast.max_iter=40)
dbutils.widgets.text("plot_items", "5")  # noqa: F821  (items shown in the plot)

# COMMAND ----------

import argparse

from lakecart.jobs import forecast
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get, [f"forecast.grain={w.get('grain')}"])
args = argparse.Namespace(grain=None)

# COMMAND ----------

with tracked_run(lh, "forecast", {"as_of": config.run.as_of, "grain": w.get("grain")}) as ctx:
    result = forecast.run(spark, config, lh, ctx, args)
{k: v for k, v in result.items() if k != "backtest"}

# COMMAND ----------

# MAGIC %md Backtest: model and baselines per horizon (cutoffs before as_of).

# COMMAND ----------

import pandas as pd

pd.DataFrame(result.get("backtest", [])).sort_values(["method", "horizon"], na_position="last")

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.forecast.specs import DEMAND_FORECAST, INVENTORY_PLAN

display(lh.read(DEMAND_FORECAST).limit(50))  # noqa: F821
display(lh.read(INVENTORY_PLAN).orderBy(F.desc("reorder_now"), "abc_class").limit(50))  # noqa: F821

# COMMAND ----------

# MAGIC %md Actuals (the last periods before as_of) and the forecast band for a few of the
# MAGIC largest items.

# COMMAND ----------

from lakecart.jobs.forecast import load_demand

n_items = int(w.get("plot_items") or 5)
fc = lh.read(DEMAND_FORECAST)
top = [
    r["item_id"]
    for r in fc.groupBy("item_id")
    .agg(F.sum("yhat").alias("s"))
    .orderBy(F.desc("s"))
    .limit(n_items)
    .collect()
]
as_of = pd.Timestamp(result["as_of"]).date()
demand, _ = load_demand(lh, config, as_of)
hist = (
    demand.filter(F.col("item_id").isin(top) & (F.col("grain") == config.forecast.grain))
    .select("item_id", "period_start", "units")
    .toPandas()  # a few items x periods
)
fut = fc.filter(F.col("item_id").isin(top)).toPandas()
try:
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(len(top), 1, figsize=(10, 2.6 * len(top)), sharex=False)
    for ax, item in zip(axes if len(top) > 1 else [axes], top, strict=True):
        h = hist[hist.item_id == item].sort_values("period_start").tail(26)
        f = fut[fut.item_id == item].sort_values("period_start")
        ax.plot(h.period_start, h.units, marker="o", label="actual")
        ax.plot(f.period_start, f.yhat, marker="o", label="forecast")
        ax.fill_between(f.period_start, f.yhat_p10, f.yhat_p90, alpha=0.3, label="P10-P90")
        ax.set_title(str(item))
        ax.legend(loc="upper left")
    plt.tight_layout()
    display(fig)  # noqa: F821
except ImportError:  # no matplotlib on this runtime: show the numbers
    display(fut)  # noqa: F821
