"""Unsupervised anomaly score: for shops without fraud labels, and as a second opinion.

Each risk feature has a direction (a short sign-up gap is risky, many accounts on a device
are risky); its one-sided robust z-score is ``max(0, direction x (x - median) / scale)``
capped at ``clip``, where ``scale`` is the interquartile range / 1.349 (the normal
sigma), or the mean absolute deviation from the median when the quartiles coincide (a
count that is usually 1), or 1. Medians and quartiles come from all transactions (the
shop's normal behaviour; no label is read). The raw score is the sum of the z-scores;
the published ``anomaly_score`` is its rank among the scored transactions mapped to
[0, 1] through 1,000 approximate quantiles (:func:`rank_normalised`).

The same z-scores rank the readable reasons (:mod:`lakecart.fraud.decisions`).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.ml.feature import Bucketizer
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart.fraud import transaction_features as X

RISK_DIRECTIONS: dict[str, float] = {
    X.LOG_SIGNUP_GAP: -1.0,
    X.AMOUNT_Z_SHOP: 1.0,
    X.AMOUNT_VS_CUSTOMER: 1.0,
    X.velocity("customer", "1h"): 1.0,
    X.velocity("customer", "24h"): 1.0,
    X.velocity("device", "1h"): 1.0,
    X.velocity("device", "24h"): 1.0,
    X.velocity("ip", "1h"): 1.0,
    X.velocity("ip", "24h"): 1.0,
    X.DEVICE_ACCOUNTS: 1.0,
    X.IP_ACCOUNTS: 1.0,
    X.DEVICE_ACCOUNTS_24H: 1.0,
    X.IP_ACCOUNTS_24H: 1.0,
}
"""Risk features of the anomaly score and the direction in which they are risky."""
RAW = "_anomaly_raw"
PROBES = 1000


def z_name(feature: str) -> str:
    """Column of a feature's one-sided robust z-score."""
    return f"_z_{feature}"


def robust_scales(df: DataFrame, features: Mapping[str, float]) -> dict[str, tuple[float, float]]:
    """``{feature: (median, scale)}`` over the non-NULL values of ``df`` (two passes:
    approximate quartiles, then the mean absolute deviation from the median)."""
    cols = list(features)
    qs = df.approxQuantile(cols, [0.25, 0.5, 0.75], 0.001)
    med = {c: (q[1] if q else 0.0) for c, q in zip(cols, qs, strict=True)}
    mad_row = df.agg(*[F.avg(F.abs(F.col(c) - F.lit(med[c]))).alias(c) for c in cols]).first()
    out = {}
    for c, q in zip(cols, qs, strict=True):
        iqr = (q[2] - q[0]) if q else 0.0
        mad = mad_row[c] or 0.0
        scale = iqr / 1.349 if iqr > 0 else (mad if mad > 0 else 1.0)
        out[c] = (med[c], scale)
    return out


def z_scores(
    df: DataFrame,
    scales: Mapping[str, tuple[float, float]],
    directions: Mapping[str, float],
    clip: float,
) -> DataFrame:
    """``df`` with the capped one-sided z-score of every feature (0 where NULL) and their
    sum in ``_anomaly_raw``."""
    zs: dict[str, Column] = {}
    for c, (med, scale) in scales.items():
        z = F.lit(directions[c]) * (F.col(c) - F.lit(med)) / F.lit(scale)
        zs[z_name(c)] = F.coalesce(F.least(F.greatest(z, F.lit(0.0)), F.lit(clip)), F.lit(0.0))
    out = df.withColumns(zs)
    total = sum((F.col(k) for k in zs), F.lit(0.0))
    return out.withColumn(RAW, total)


def rank_normalised(df: DataFrame, column: str, out: str, probes: int = PROBES) -> DataFrame:
    """``column`` mapped to [0, 1] by its rank among ``df``'s rows: the share of
    ``probes`` approximate quantiles at or below the value (ties share one value)."""
    qs = df.approxQuantile(column, [i / probes for i in range(1, probes)], 1.0 / (10 * probes))
    cuts = sorted(set(qs))
    if not cuts:
        return df.withColumn(out, F.lit(0.0))
    splits = [float("-inf"), *cuts, float("inf")]
    # bucket b holds values in [cuts[b-1], cuts[b]): b / len(cuts) is the share of cut
    # points at or below the value
    b = Bucketizer(splits=splits, inputCol=column, outputCol="_bucket", handleInvalid="keep")
    scored = b.transform(df.withColumn(column, F.col(column).cast("double")))
    return scored.withColumn(out, F.col("_bucket") / F.lit(float(len(cuts)))).drop("_bucket")
