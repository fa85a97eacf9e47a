"""What the Databricks notebooks share: the common widgets turned into a configuration, a
session and the lakehouse. The notebooks keep no logic of their own; they call this and
then the job's ``run``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from pyspark.sql import SparkSession

from lakecart.config import Config, load_config
from lakecart.session import get_spark
from lakecart.tables import Lakehouse


def widget_overrides(get: Callable[[str], str], extra: Iterable[str] = ()) -> list[str]:
    """``--set`` style overrides from the common widgets.

    Args:
        get: Reads a widget by name (``dbutils.widgets.get``).
        extra: Overrides the notebook adds from its own widgets; applied last.

    Returns:
        The comma-separated ``overrides`` widget's items, then ``lakehouse.root`` and
        ``run.as_of`` when those widgets are not empty, then ``extra``.
    """
    out = [x.strip() for x in get("overrides").split(",") if x.strip()]
    if get("lakehouse").strip():
        out.append(f"lakehouse.root={get('lakehouse').strip()}")
    if get("as_of").strip():
        out.append(f"run.as_of={get('as_of').strip()}")
    return [*out, *extra]


def open_lakehouse(
    get: Callable[[str], str], extra: Iterable[str] = ()
) -> tuple[Config, SparkSession, Lakehouse]:
    """The configuration of the ``env`` widget with :func:`widget_overrides`, the session
    (on Databricks the running one, with its built-in Delta) and the lakehouse."""
    config = load_config(get("env"), overrides=widget_overrides(get, extra))
    spark = get_spark(config)
    return config, spark, Lakehouse(spark, config.lakehouse)
