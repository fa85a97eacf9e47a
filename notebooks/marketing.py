# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — marketing
# MAGIC Uplift targeting on randomised campaigns (`gold.campaign_targets`: every known customer x
# MAGIC offer with uplift, response probability, expected incremental revenue and profit, rank
# MAGIC and `send`) and promotion lift per category (`gold.promotion_effects`), as of one
# MAGIC decision date. Calls the same library function as `./spark-submit.sh marketing`; this
# MAGIC notebook has no logic of its own. Leave `as_of` empty for the default (the day after
# MAGIC the latest order/event, else the latest timestamp of any entity).

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("budget", "")  # noqa: F821  (most customers sent to; empty: no cap)
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import marketing
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
extra = [f"marketing.budget={w.get('budget')}"] if w.get("budget") else []
config, spark, lh = open_lakehouse(w.get, extra)

# COMMAND ----------

with tracked_run(lh, "marketing", {"as_of": config.run.as_of}) as ctx:
    result = marketing.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md
# MAGIC Per offer: the chosen uplift model beside random targeting and the response model
# MAGIC ("likely to respond if sent") on the validation split, with bootstrap intervals
# MAGIC (`_lo` / `_hi`). `within_noise_of_random` = 1 when the share captured's interval holds
# MAGIC random targeting's share.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

metrics = lh.read(MODEL_METRICS).filter(F.col("run_id") == run_id)
display(  # noqa: F821
    metrics.filter(F.col("model").isin("uplift", "response_model"))
    .select("dataset", "model", "metric", "k", "value", "baseline", "baseline_value")
    .orderBy("dataset", "model", "metric", "baseline")
)
display(  # noqa: F821
    metrics.filter(F.col("metric") == "share_captured")
    .filter(~F.col("model").isin("uplift", "response_model"))
    .select("dataset", "model", "value", "baseline_value")
    .orderBy("dataset", F.desc("value"))
)

# COMMAND ----------

# MAGIC %md Who to send what: the decision per offer, and the most profitable sends.

# COMMAND ----------

from lakecart.marketing.specs import CAMPAIGN_TARGETS, PROMOTION_EFFECTS

targets = lh.read(CAMPAIGN_TARGETS)
display(  # noqa: F821
    targets.groupBy("offer").agg(
        F.count(F.lit(1)).alias("customers"),
        F.sum(F.col("send").cast("int")).alias("sends"),
        F.avg("uplift").alias("mean_uplift"),
        F.sum(F.when(F.col("send"), F.col("expected_profit"))).alias("expected_profit_of_sends"),
    )
)
display(targets.filter("send").orderBy(F.desc("expected_profit")).limit(100))  # noqa: F821
if lh.exists(PROMOTION_EFFECTS):
    display(lh.read(PROMOTION_EFFECTS).orderBy(F.desc("lift")))  # noqa: F821
