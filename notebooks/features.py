# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — features
# MAGIC Builds the feature tables (`features.interactions`, `features.user_features`,
# MAGIC `features.item_features`, `features.item_demand`) as of one decision date, from silver
# MAGIC rows strictly before it. Each run replaces exactly its own `as_of` snapshot. Calls the
# MAGIC same library function as `./spark-submit.sh features`; this notebook has no logic of its
# MAGIC own. Leave `as_of` empty for the day after the latest order/event in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("tables", "")  # noqa: F821  (comma-separated subset; empty: all four)
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import features
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)  # the running session on Databricks
args = argparse.Namespace(tables=w.get("tables").strip() or None)

# COMMAND ----------

with tracked_run(lh, "features", {**vars(args), "as_of": config.run.as_of}) as ctx:
    result = features.run(spark, config, lh, ctx, args)
result

# COMMAND ----------

# MAGIC %md The snapshot just built, and every snapshot side by side.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.features.specs import feature_specs

for spec in feature_specs(config.features).values():
    print(spec.full_name)
    display(lh.read(spec).filter(F.col("as_of") == result["as_of"]).limit(20))  # noqa: F821
    display(lh.read(spec).groupBy("as_of").count().orderBy("as_of"))  # noqa: F821
