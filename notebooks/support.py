# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — support
# MAGIC Customer-service messages: predicted intent and its confidence, queue, priority,
# MAGIC entities (order numbers, e-mail addresses, amounts) and a suggested answer
# MAGIC (`gold.support_tickets`). The classifier learns from the labelled messages; every
# MAGIC message is scored. Calls the same library function as `./spark-submit.sh support`; this
# MAGIC notebook has no logic of its own.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import support
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)

# COMMAND ----------

with tracked_run(lh, "support", {"as_of": config.run.as_of}) as ctx:
    result = support.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md Validation accuracy and macro-F1 beside the keyword baseline.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

display(  # noqa: F821
    lh.read(MODEL_METRICS)
    .filter(F.col("run_id") == run_id)
    .select("model", "split", "metric", "value", "baseline", "baseline_value")
)

# COMMAND ----------

# MAGIC %md Tickets per queue and priority, then the most urgent open tickets.

# COMMAND ----------

from lakecart.text.specs import SUPPORT_TICKETS

tickets = lh.read(SUPPORT_TICKETS)
display(tickets.groupBy("queue", "priority").count().orderBy("queue", "priority"))  # noqa: F821
display(  # noqa: F821
    tickets.orderBy(F.desc("priority"), "confidence").limit(100)
)
