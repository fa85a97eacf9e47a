"""The one SparkSession factory.

It never hard-codes a master: under ``spark-submit`` the master (and Delta's jars) come
from the command line; on Databricks the active session is reused as it is; in tests and
plain ``python`` the master comes from configuration (``spark.master``).
"""

from __future__ import annotations

import logging
import os
import sys

from pyspark.sql import SparkSession

from lakecart.config import Config

log = logging.getLogger(__name__)

DELTA_EXTENSION = "io.delta.sql.DeltaSparkSessionExtension"
DELTA_CATALOG = "org.apache.spark.sql.delta.catalog.DeltaCatalog"


def on_databricks() -> bool:
    """True inside a Databricks runtime."""
    return "DATABRICKS_RUNTIME_VERSION" in os.environ


def get_spark(config: Config) -> SparkSession:
    """Return the active session, or build one from ``config``.

    Args:
        config: The run's configuration (``spark`` section).

    Returns:
        A SparkSession with Delta Lake enabled, UTC session time zone and the configured
        shuffle partitions.
    """
    active = SparkSession.getActiveSession()
    if active is not None:
        _apply_runtime_conf(active, config)
        local_python_workers(active)
        return active

    from pyspark import SparkConf

    launched = SparkConf()  # holds what spark-submit / PYSPARK_SUBMIT_ARGS already set
    builder = SparkSession.builder.appName(config.spark.app_name)
    if not launched.contains("spark.master") and config.spark.master:
        builder = builder.master(config.spark.master)
    master = launched.get("spark.master", None) or config.spark.master or ""
    if (
        master.startswith("local")
        and not launched.contains("spark.pyspark.python")
        and "PYSPARK_PYTHON" not in os.environ
    ):
        # Local Python workers must run this interpreter (it has numpy, pandas, pyarrow and
        # lakecart). PySpark reads PYSPARK_PYTHON when the context starts; the conf alone is
        # not enough when Spark is started from plain Python (tests, notebooks, benches).
        os.environ["PYSPARK_PYTHON"] = sys.executable
        builder = builder.config("spark.pyspark.python", sys.executable)
    for key, value in config.spark.conf.items():
        if not launched.contains(key):
            builder = builder.config(key, value)
    builder = builder.config("spark.sql.extensions", DELTA_EXTENSION).config(
        "spark.sql.catalog.spark_catalog", DELTA_CATALOG
    )
    packages = launched.get("spark.jars.packages", "") or ""
    if config.spark.delta_packages and "delta-spark" not in packages and not on_databricks():
        from delta import configure_spark_with_delta_pip

        builder = configure_spark_with_delta_pip(builder)
    spark = builder.getOrCreate()
    local_python_workers(spark)
    spark.sparkContext.setLogLevel(config.spark.log_level)
    _apply_runtime_conf(spark, config)
    log.info(
        "spark %s master=%s app=%s",
        spark.version,
        spark.sparkContext.master,
        spark.sparkContext.applicationId,
    )
    return spark


def _apply_runtime_conf(spark: SparkSession, config: Config) -> None:
    spark.conf.set("spark.sql.shuffle.partitions", str(config.spark.shuffle_partitions))
    spark.conf.set("spark.sql.session.timeZone", "UTC")


def local_python_workers(spark: SparkSession) -> None:
    """On a local master without PYSPARK_PYTHON, run Python workers with this interpreter
    (also when the session was created elsewhere, e.g. by a test harness).

    PySpark takes the workers' interpreter from ``PYSPARK_PYTHON`` when the context starts
    (default ``python3``), not from ``spark.pyspark.python``; locally the driver's own
    interpreter is the one that has numpy, pandas, pyarrow and lakecart.
    """
    sc = spark.sparkContext
    if sc.master.startswith("local") and "PYSPARK_PYTHON" not in os.environ:
        sc.pythonExec = sys.executable
