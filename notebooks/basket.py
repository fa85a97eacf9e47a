# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — basket
# MAGIC Association rules mined with FP-growth (`gold.basket_rules`), bought-together lists
# MAGIC (`gold.bought_together`) whose score shape is chosen by hide-one validation, and
# MAGIC completions of open carts (`gold.cart_completions`), from the baskets (orders, distinct
# MAGIC merchandise items) strictly before one decision date. Calls the same library function
# MAGIC as `./spark-submit.sh basket`; this notebook has no logic of its own. Leave `as_of`
# MAGIC empty for the day after the latest order/event in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import basket
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get)

# COMMAND ----------

with tracked_run(lh, "basket", {"as_of": config.run.as_of}) as ctx:
    result = basket.run(spark, config, lh, ctx, argparse.Namespace())
run_id = ctx.run_id
result

# COMMAND ----------

# MAGIC %md
# MAGIC Hide-one basket completion on the validation window (the last `basket.validation_days`
# MAGIC before as_of): hit rate and MRR of the published score, the FP-growth rules and raw
# MAGIC co-occurrence beside popularity, then every candidate score shape.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.schemas import MODEL_METRICS

metrics = lh.read(MODEL_METRICS).filter(F.col("run_id") == run_id)
display(  # noqa: F821
    metrics.filter(~F.col("model").contains(":"))
    .select("model", "metric", "k", "value", "baseline", "baseline_value")
    .orderBy("metric", F.desc("value"))
)
display(  # noqa: F821
    metrics.filter(F.col("model").contains(":") & (F.col("metric") == "hit_rate"))
    .select("model", "value", "baseline_value")
    .orderBy(F.desc("value"))
)

# COMMAND ----------

# MAGIC %md The strongest rules, and a few bought-together lists with titles.

# COMMAND ----------

from lakecart.basket.specs import BASKET_RULES, BOUGHT_TOGETHER, CART_COMPLETIONS
from lakecart.schemas import SILVER

display(lh.read(BASKET_RULES).orderBy(F.desc("lift"), F.desc("support")).limit(50))  # noqa: F821
bt = lh.read(BOUGHT_TOGETHER)
if lh.exists(SILVER["products"]):
    titles = lh.read(SILVER["products"]).select("item_id", "title")
    bt = bt.join(titles, "item_id", "left").join(
        titles.withColumnRenamed("item_id", "other_item_id").withColumnRenamed("title", "other"),
        "other_item_id",
        "left",
    )
display(bt.filter(F.col("rank") <= 5).orderBy(F.desc("baskets"), "item_id", "rank").limit(100))  # noqa: F821

# COMMAND ----------

# MAGIC %md Open carts and their completions.

# COMMAND ----------

if lh.exists(CART_COMPLETIONS):
    display(lh.read(CART_COMPLETIONS).orderBy("user_id", "session_id", "rank").limit(100))  # noqa: F821
