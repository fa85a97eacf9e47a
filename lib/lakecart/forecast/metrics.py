"""Forecast accuracy metrics, in numpy (for tests, notebooks and small frames) and as one
Spark aggregation (for backtests of any size).

Definitions (sums over the evaluated item x period rows):

* WAPE = sum |y - yhat| / sum y
* MAE = mean |y - yhat|
* bias = (sum yhat - sum y) / sum y (positive: over-forecast)
* coverage = share of rows with yhat_p10 <= y <= yhat_p90
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

WAPE = "wape"
MAE = "mae"
BIAS = "bias"
COVERAGE = "coverage"
ROWS = "rows"


def wape(y: Sequence[float], yhat: Sequence[float]) -> float:
    """Weighted absolute percentage error (NaN when the actuals sum to 0)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    total = y.sum()
    return float(np.abs(y - yhat).sum() / total) if total else float("nan")


def mae(y: Sequence[float], yhat: Sequence[float]) -> float:
    """Mean absolute error."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    return float(np.abs(y - yhat).mean()) if len(y) else float("nan")


def bias(y: Sequence[float], yhat: Sequence[float]) -> float:
    """Relative bias: (sum yhat - sum y) / sum y."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    total = y.sum()
    return float((yhat.sum() - total) / total) if total else float("nan")


def coverage(y: Sequence[float], low: Sequence[float], high: Sequence[float]) -> float:
    """Share of actuals inside [low, high]."""
    y, low, high = np.asarray(y, float), np.asarray(low, float), np.asarray(high, float)
    return float(((low <= y) & (y <= high)).mean()) if len(y) else float("nan")


def scores(
    df: DataFrame, by: Sequence[str], y: str, pred: str, low: str | None, high: str | None
) -> DataFrame:
    """WAPE, MAE, bias, coverage (NULL without an interval) and rows per group of ``by``."""
    err = F.abs(F.col(y) - F.col(pred))
    total = F.sum(y)
    cov = (
        F.avg(((F.col(low) <= F.col(y)) & (F.col(y) <= F.col(high))).cast("double"))
        if low and high
        else F.lit(None).cast("double")
    )
    return df.groupBy(*by).agg(
        F.try_divide(F.sum(err), total).alias(WAPE),
        F.avg(err).alias(MAE),
        F.try_divide(F.sum(pred) - total, total).alias(BIAS),
        cov.alias(COVERAGE),
        F.count(F.lit(1)).alias(ROWS),
    )
