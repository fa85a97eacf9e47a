# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — ingest
# MAGIC Lands raw files as bronze, cleans them into silver and quarantines rejected rows with a
# MAGIC reason. Calls the same library function as `./spark-submit.sh ingest`; this notebook has
# MAGIC no logic of its own. Install the project on the cluster first (wheel or `%pip install -e`).

# COMMAND ----------

dbutils.widgets.dropdown(  # noqa: F821
    "source",
    "online_retail",
    ["online_retail", "movielens", "womens_reviews", "fraud_ecommerce", "canonical"],
)
dbutils.widgets.text("path", "/Volumes/main/lakecart/landing/online_retail")  # noqa: F821
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.config import load_config
from lakecart.jobs import ingest
from lakecart.runlog import tracked_run
from lakecart.session import get_spark
from lakecart.tables import Lakehouse

w = dbutils.widgets  # noqa: F821
overrides = [x.strip() for x in w.get("overrides").split(",") if x.strip()]
config = load_config(w.get("env"), overrides=overrides)
spark = get_spark(config)  # reuses the Databricks session and its built-in Delta
lh = Lakehouse(spark, config.lakehouse)
args = argparse.Namespace(source=w.get("source"), path=w.get("path"))

# COMMAND ----------

with tracked_run(lh, "ingest", vars(args)) as ctx:
    result = ingest.run(spark, config, lh, ctx, args)
result

# COMMAND ----------

# MAGIC %md Data-quality record of this run, and the quarantine by reason.

# COMMAND ----------

from lakecart.schemas import DATA_QUALITY, QUARANTINE

display(lh.read(DATA_QUALITY).filter(f"run_id = '{ctx.run_id}'"))  # noqa: F821
display(lh.read(QUARANTINE).groupBy("entity", "reason").count().orderBy("entity", "reason"))  # noqa: F821
