# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — sentiment
# MAGIC Review sentiment, aspects and complaints (`gold.review_sentiment`) and per-item negative
# MAGIC shares with alerts and driving terms (`gold.item_sentiment`). The model learns only from
# MAGIC rated reviews dated before as_of (or undated); every review is scored. Calls the same
# MAGIC library function as `./spark-submit.sh sentiment`; this notebook has no logic of its own.
# MAGIC Leave `as_of` empty for the day after the latest order/event in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import sentiment
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)

# COMMAND ----------

with tracked_run(lh, "sentiment", {"as_of": config.run.as_of}) as ctx:
    result = sentiment.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md Validation metrics of this run beside the majority class and the VADER lexicon.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

display(  # noqa: F821
    lh.read(MODEL_METRICS)
    .filter(F.col("run_id") == run_id)
    .select("model", "split", "metric", "value", "baseline", "baseline_value")
    .orderBy("split", "metric", "baseline")
)

# COMMAND ----------

# MAGIC %md Sentiment mix, the most mentioned aspects, and the items with an alert.

# COMMAND ----------

from lakecart.text.specs import ITEM_SENTIMENT, REVIEW_SENTIMENT

reviews = lh.read(REVIEW_SENTIMENT)
display(reviews.groupBy("sentiment").count().orderBy("sentiment"))  # noqa: F821
display(  # noqa: F821
    reviews.select(F.explode("aspects").alias("aspect"))
    .groupBy("aspect")
    .count()
    .orderBy(F.desc("count"))
)
display(  # noqa: F821
    lh.read(ITEM_SENTIMENT).filter("alert").orderBy("alert_p_value").limit(100)
)
