# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — images
# MAGIC Product photos: the category each photo shows with a confidence per level, dominant
# MAGIC colours, products whose catalogue category disagrees with their photo
# MAGIC (`gold.product_image_tags`), and visually similar products (`gold.visually_similar`).
# MAGIC Calls the same library function as `./spark-submit.sh images`; this notebook has no
# MAGIC logic of its own.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import images
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)

# COMMAND ----------

with tracked_run(lh, "images", {"as_of": config.run.as_of}) as ctx:
    result = images.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md Accuracy and macro-F1 per category level beside the majority class, and the
# MAGIC precision of same-category neighbours beside chance.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

display(  # noqa: F821
    lh.read(MODEL_METRICS)
    .filter(F.col("run_id") == run_id)
    .select("model", "dataset", "metric", "k", "value", "baseline", "baseline_value")
)

# COMMAND ----------

# MAGIC %md Catalogue categories the photos confidently disagree with, then look-alikes.

# COMMAND ----------

from lakecart.images.specs import PRODUCT_IMAGE_TAGS, VISUALLY_SIMILAR

tags = lh.read(PRODUCT_IMAGE_TAGS)
display(tags.filter("category_disagrees").limit(100))  # noqa: F821
display(lh.read(VISUALLY_SIMILAR).orderBy("item_id", "rank").limit(100))  # noqa: F821
