# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — fraud
# MAGIC Fraud scores of payment transactions (`gold.fraud_scores`): a calibrated probability from
# MAGIC the better of a gradient-boosted-trees model and a class-weighted logistic regression on a
# MAGIC chronological validation window, an unsupervised anomaly score, the decision from the
# MAGIC review budget (approve / review / block) and readable reasons. Every transaction with an
# MAGIC empty label and every transaction on or after `as_of` is scored; models learn only from
# MAGIC labelled transactions before it, and each transaction's features use only transactions at
# MAGIC or before its own time. Calls the same library function as `./spark-submit.sh fraud`;
# MAGIC this notebook has no logic of its own. Leave `as_of` empty for the default.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("review_share", "0.05")  # noqa: F821  (share of scored payments reviewed)
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import fraud
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get, [f"fraud.review_share={w.get('review_share')}"])

# COMMAND ----------

with tracked_run(lh, "fraud", {"as_of": config.run.as_of}) as ctx:
    result = fraud.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md
# MAGIC Validation metrics of this run (the latest labelled transactions before as_of) beside the
# MAGIC two rule baselines: paid within an hour of sign-up, and a device already used by another
# MAGIC account. `k` is the review budget in percent for precision and recall.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

metrics = lh.read(MODEL_METRICS).filter(F.col("run_id") == run_id)
display(  # noqa: F821
    metrics.filter(F.col("baseline").isNotNull())
    .select("model", "metric", "k", "value", "baseline", "baseline_value")
    .orderBy("model", "metric", "k", "baseline")
)

# COMMAND ----------

# MAGIC %md The review queue: decisions, and the riskiest payments with their reasons.

# COMMAND ----------

from lakecart.fraud.specs import FRAUD_SCORES

scores = lh.read(FRAUD_SCORES)
display(scores.groupBy("decision").count().orderBy("decision"))  # noqa: F821
display(  # noqa: F821
    scores.filter(F.col("decision") != "approve")
    .orderBy(F.desc_nulls_last("fraud_probability"), F.desc("anomaly_score"))
    .limit(100)
)
display(  # noqa: F821
    scores.select(F.explode("reasons").alias("reason"))
    .groupBy(F.regexp_replace("reason", "[0-9.]+", "N").alias("signal"))
    .count()
    .orderBy(F.desc("count"))
)
