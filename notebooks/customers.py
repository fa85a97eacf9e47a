# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — customers
# MAGIC RFM segments and behavioural clusters (`gold.customer_segments`, `gold.customer_clusters`),
# MAGIC churn, CLV and 30-day purchase-propensity scores (`gold.customer_scores`) as of one
# MAGIC decision date, learned only from orders strictly before it. Calls the same library
# MAGIC function as `./spark-submit.sh customers`; this notebook has no logic of its own. Leave
# MAGIC `as_of` empty for the day after the latest order/event in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.dropdown("pseudonymise", "false", ["false", "true"])  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import customers
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get, [f"customers.pseudonymise={w.get('pseudonymise')}"])

# COMMAND ----------

with tracked_run(lh, "customers", {"as_of": config.run.as_of}) as ctx:
    result = customers.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md Segment sizes, and the cluster profiles to name the clusters by.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.customers.specs import CUSTOMER_CLUSTERS, CUSTOMER_SCORES, CUSTOMER_SEGMENTS

segments = lh.read(CUSTOMER_SEGMENTS)
display(  # noqa: F821
    segments.groupBy("rfm_segment")
    .agg(F.count(F.lit(1)).alias("customers"), F.avg("monetary").alias("mean_monetary"))
    .orderBy(F.desc("customers"))
)
if lh.exists(CUSTOMER_CLUSTERS):
    display(lh.read(CUSTOMER_CLUSTERS).orderBy("cluster"))  # noqa: F821

# COMMAND ----------

# MAGIC %md
# MAGIC Validation metrics of this run beside their baselines (measured on the latest complete
# MAGIC label window before as_of), then the churn lift chart of that window: customers grouped
# MAGIC by the validated model's predicted churn (the reliability bins), observed churn per
# MAGIC group divided by the overall churn rate.

# COMMAND ----------

from lakecart.schemas import MODEL_METRICS

metrics = lh.read(MODEL_METRICS).filter(F.col("run_id") == run_id)
display(  # noqa: F821
    metrics.filter(F.col("k").isNull() & ~F.col("dataset").contains("="))
    .select("model", "metric", "value", "baseline", "baseline_value")
    .orderBy("model", "metric", "baseline")
)
display(  # noqa: F821
    metrics.filter(F.col("dataset").contains("=") & (F.col("metric") == "auc"))
    .select("model", "dataset", "value", "baseline", "baseline_value")
    .orderBy("model", "dataset")
)

# COMMAND ----------

rel = (
    metrics.filter((F.col("model") == "churn_gbt") & F.col("metric").startswith("reliability_"))
    .groupBy("k")
    .pivot("metric", ["reliability_count", "reliability_observed", "reliability_predicted"])
    .agg(F.first("value"))
)
base = (
    metrics.filter((F.col("model") == "churn_gbt") & (F.col("metric") == "base_rate"))
    .select(F.col("value").alias("base_rate"))
    .limit(1)
)
lift = rel.crossJoin(base).select(
    F.col("k").alias("risk_bin"),
    F.col("reliability_count").alias("customers"),
    F.col("reliability_predicted").alias("mean_predicted"),
    F.col("reliability_observed").alias("observed"),
    (F.col("reliability_observed") / F.col("base_rate")).alias("lift"),
)
display(lift.orderBy(F.desc("risk_bin")))  # noqa: F821  (choose a bar chart: lift by risk_bin)

# COMMAND ----------

# MAGIC %md Published scores: value tiers and the customers most at risk among the valuable ones.

# COMMAND ----------

scores = lh.read(CUSTOMER_SCORES)
display(scores.groupBy("value_tier").count().orderBy("value_tier"))  # noqa: F821
display(  # noqa: F821
    scores.filter(F.col("value_tier") == "high").orderBy(F.desc("churn_probability")).limit(50)
)
