# Databricks notebook source
# MAGIC %md
# MAGIC # lakecart — report
# MAGIC The analytics marts (`gold.sales_daily`, `gold.item_sales_weekly`, `gold.cohort_retention`,
# MAGIC `gold.funnel_daily`) built from silver strictly before one decision date, then one
# MAGIC self-contained HTML report of every published gold and ops table, written to
# MAGIC `<lakehouse>/_reports/<as_of>/index.html` and `_reports/latest/index.html`. Calls the same
# MAGIC library function as `./spark-submit.sh report`; this notebook has no logic of its own.
# MAGIC Leave `as_of` empty for the day after the latest order/event in silver.

# COMMAND ----------

dbutils.widgets.text("lakehouse", "")  # noqa: F821  (empty: lakehouse.root of the env config)
dbutils.widgets.text("as_of", "")  # noqa: F821  (YYYY-MM-DD; empty: derived from silver)
dbutils.widgets.text("env", "databricks")  # noqa: F821
dbutils.widgets.dropdown("marts", "true", ["true", "false"])  # noqa: F821
dbutils.widgets.text("overrides", "")  # noqa: F821  (comma-separated key=value)

# COMMAND ----------

import argparse

from lakecart.jobs import report
from lakecart.notebook import open_lakehouse
from lakecart.runlog import tracked_run

w = dbutils.widgets  # noqa: F821
config, spark, lh = open_lakehouse(w.get, [f"report.marts={w.get('marts')}"])

# COMMAND ----------

with tracked_run(lh, "report", {"as_of": config.run.as_of}) as ctx:
    result = report.run(spark, config, lh, ctx, argparse.Namespace())
result

# COMMAND ----------

# MAGIC %md The marts, as a BI tool reads them: monthly sales by country, and the funnel by channel.

# COMMAND ----------

from pyspark.sql import functions as F

from lakecart.report.specs import FUNNEL_DAILY, SALES_DAILY

if lh.exists(SALES_DAILY):
    display(  # noqa: F821
        lh.read(SALES_DAILY)
        .groupBy(F.trunc("order_date", "month").alias("month"), "country")
        .agg(
            F.sum("revenue").alias("net_revenue"),
            F.sum("orders_attributed").alias("orders"),
            F.sum("new_customers").alias("new_customers"),
        )
        .orderBy("month", F.desc("net_revenue"))
    )
if lh.exists(FUNNEL_DAILY):
    display(  # noqa: F821
        lh.read(FUNNEL_DAILY)
        .groupBy("channel")
        .agg(
            *[
                F.sum(c).alias(c)
                for c in ("sessions", "view_sessions", "cart_sessions", "purchase_sessions")
            ]
        )
        .withColumn("conversion_rate", F.col("purchase_sessions") / F.col("sessions"))
    )

# COMMAND ----------

# MAGIC %md The report itself, shown inline (the same file opens offline in any browser).

# COMMAND ----------

if "report" in result:
    with open(
        result["report"].removeprefix("file:").replace("dbfs:/", "/dbfs/"), encoding="utf-8"
    ) as f:
        displayHTML(f.read())  # noqa: F821
