# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — pipeline
# MAGIC Runs ingest (or the synthetic demo) and every later stage, like
# MAGIC `./spark-submit.sh pipeline`. No logic of its own.

# COMMAND ----------

dbutils.widgets.text("source", "")  # noqa: F821  (empty = synthetic demo)
dbutils.widgets.text("path", "")  # noqa: F821
dbutils.widgets.text("scale", "1")  # noqa: F821
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("as_of", "")  # noqa: F821

# COMMAND ----------

import argparse

from lakecart.config import load_config
from lakecart.jobs import pipeline
from lakecart.runlog import tracked_run
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

w = dbutils.widgets  # noqa: F821
overrides = [f"run.as_of={w.get('as_of')}"] if w.get("as_of") else []
config = load_config(w.get("env"), overrides=overrides)
spark = get_spark(config)
lh = Lakehouse(spark, config.lakehouse)
args = argparse.Namespace(
    source=w.get("source") or None, path=w.get("path") or None, scale=int(w.get("scale")), seed=None
)

with tracked_run(lh, "pipeline", vars(args)) as ctx:
    pipeline.run(spark, config, lh, ctx, args)
