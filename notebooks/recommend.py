# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — recommend
# MAGIC Trains implicit ALS, item-to-item CF (EASE / co-occurrence), TF-IDF content similarity
# MAGIC and popularity on the interactions before `as_of`, chooses hyperparameters and the hybrid
# MAGIC weights on a validation split, evaluates every model beside the popularity baseline on a
# MAGIC holdout (`ops.model_metrics`), refits on all data before `as_of` and publishes
# MAGIC `gold.recommendations`, `gold.similar_items` and `gold.popular_items`. Set `model_version`
# MAGIC to re-score with a saved model instead of training. Calls the same library function as
# MAGIC `./spark-submit.sh recommend`; this notebook has no logic of its own.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("model_version", "")  # noqa: F821  (empty: train a new model)
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import recommend
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)  # the running session on Databricks
args = argparse.Namespace(model_version=w.get("model_version").strip() or None)

# COMMAND ----------

with tracked_run(lh, "recommend", {**vars(args), "as_of": config.run.as_of}) as ctx:
    result = recommend.run(spark, config, lh, ctx, args)
result

# COMMAND ----------

# MAGIC %md The published tables and this run's metrics beside the popularity baseline.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.recommend.specs import RECOMMEND_SPECS
from lakecart.schemas import MODEL_METRICS

for spec in RECOMMEND_SPECS:
    print(spec.full_name)
    display(lh.read(spec).limit(20))  # noqa: F821
display(  # noqa: F821
    lh.read(MODEL_METRICS).filter(F.col("run_id") == ctx.run_id).orderBy("split", "metric", "model")
)
