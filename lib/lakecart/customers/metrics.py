"""Evaluation metrics as distributed aggregations (optionally per group).

* AUC by the rank formula with ties counted one half:
  ``AUC = sum over score values v of pos(v) x (neg(< v) + neg(v) / 2) / (P x N)``.
* Average precision (PR-AUC): ``sum over score values v (descending) of pos(v) / P x
  precision(>= v)``, ties forming one threshold (scikit-learn's ``average_precision_score``).
* Brier score: ``mean((p - y)^2)``.
* Reliability table: equal-width bins of the predicted probability; per bin the count, the
  mean prediction and the observed rate.
* MAE and RMSE.

Each metric groups by the distinct score values (per group), so only one row per distinct
score is sorted, within its group. Results are small (one row per group or bin) and are
returned to the driver.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

_POS, _NEG = "_pos", "_neg"


def _key(row, by: Sequence[str]) -> tuple:
    return tuple(row[b] for b in by)


def _per_score(df: DataFrame, label: str, score: str, by: Sequence[str]) -> DataFrame:
    y = F.col(label).cast("double")
    return (
        df.filter(F.col(score).isNotNull() & F.col(label).isNotNull())
        .groupBy(*by, F.col(score).alias("_s"))
        .agg(F.sum(y).alias(_POS), F.sum(F.lit(1.0) - y).alias(_NEG))
    )


def auc(df: DataFrame, label: str, score: str, by: Sequence[str] = ()) -> dict[tuple, float | None]:
    """ROC AUC of ``score`` for the 0/1 ``label`` (higher score = more likely 1), per group.

    Returns:
        ``{group key tuple: AUC}`` (``()`` without groups); None when a group has only one
        class.
    """
    g = _per_score(df, label, score, by)
    below = Window.partitionBy(*by).orderBy("_s").rowsBetween(Window.unboundedPreceding, -1)
    g = g.withColumn("_neg_below", F.coalesce(F.sum(_NEG).over(below), F.lit(0.0)))
    rows = (
        g.groupBy(*by)
        .agg(
            F.sum(F.col(_POS) * (F.col("_neg_below") + F.col(_NEG) / 2.0)).alias("_u"),
            F.sum(_POS).alias("_p"),
            F.sum(_NEG).alias("_n"),
        )
        .collect()  # one row per group
    )
    return {
        _key(r, by): (r["_u"] / (r["_p"] * r["_n"]) if r["_p"] > 0 and r["_n"] > 0 else None)
        for r in rows
    }


def average_precision(
    df: DataFrame, label: str, score: str, by: Sequence[str] = ()
) -> dict[tuple, float | None]:
    """Average precision (area under the precision-recall curve), per group.

    Returns:
        ``{group key tuple: AP}``; None when a group has no positive.
    """
    g = _per_score(df, label, score, by)
    upto = Window.partitionBy(*by).orderBy(F.desc("_s")).rowsBetween(Window.unboundedPreceding, 0)
    g = g.withColumns(
        {
            "_tp": F.sum(_POS).over(upto),
            "_all": F.sum(F.col(_POS) + F.col(_NEG)).over(upto),
        }
    )
    rows = (
        g.groupBy(*by)
        .agg(
            F.sum(F.col(_POS) * F.col("_tp") / F.col("_all")).alias("_a"),
            F.sum(_POS).alias("_p"),
        )
        .collect()  # one row per group
    )
    return {_key(r, by): (r["_a"] / r["_p"] if r["_p"] > 0 else None) for r in rows}


def brier(df: DataFrame, label: str, prob: str, by: Sequence[str] = ()) -> dict[tuple, float]:
    """Brier score ``mean((prob - label)^2)`` per group."""
    rows = (
        df.groupBy(*by)
        .agg(F.avg(F.pow(F.col(prob) - F.col(label).cast("double"), 2)).alias("_b"))
        .collect()  # one row per group
    )
    return {_key(r, by): r["_b"] for r in rows}


def reliability(
    df: DataFrame, label: str, prob: str, bins: int = 10, by: Sequence[str] = ()
) -> dict[tuple, list[tuple[int, int, float, float]]]:
    """Reliability table: equal-width bins of ``prob``.

    Returns:
        ``{group key: [(bin 1..bins, count, mean predicted, observed rate), ...]}`` with
        the non-empty bins in order.
    """
    b = F.least(F.floor(F.col(prob) * bins).cast("int"), F.lit(bins - 1)) + 1
    rows = (
        df.groupBy(*by, b.alias("_bin"))
        .agg(
            F.count(F.lit(1)).alias("_c"),
            F.avg(prob).alias("_pred"),
            F.avg(F.col(label).cast("double")).alias("_obs"),
        )
        .collect()  # at most bins rows per group
    )
    out: dict[tuple, list[tuple[int, int, float, float]]] = {}
    for r in rows:
        out.setdefault(_key(r, by), []).append((r["_bin"], r["_c"], r["_pred"], r["_obs"]))
    return {k: sorted(v) for k, v in out.items()}


def regression_errors(df: DataFrame, target: str, pred: str) -> dict[str, float]:
    """``{"mae": ..., "rmse": ..., "count": ...}`` of ``pred`` against ``target``."""
    err: Column = F.col(pred) - F.col(target)
    r = df.agg(
        F.avg(F.abs(err)).alias("mae"),
        F.sqrt(F.avg(err * err)).alias("rmse"),
        F.count(F.lit(1)).alias("count"),
    ).first()
    return {"mae": r["mae"], "rmse": r["rmse"], "count": r["count"]}
