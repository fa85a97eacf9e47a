"""The two supervised fraud models and their calibration.

* MLlib ``GBTClassifier`` and ``LogisticRegression`` (standardised features, L2), both
  with balanced class weights: each class weighs half of the training rows, so the rare
  fraud class is not ignored.
* Missing feature values (no device, first payment of a customer, ...) are filled with
  -1, which trees separate from every real value; every feature is >= 0 or a sine/cosine
  or a z-score, and the ``has_*`` flags tell the linear model which rows were filled.
* Calibration on the chronological validation window: Platt scaling (a logistic
  regression on the logit of the model's score; strictly increasing, so the ranking and
  every ranking metric are unchanged) or isotonic regression (steps, which tie scores).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.regression import IsotonicRegression, IsotonicRegressionModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart.config import FraudConfig
from lakecart.ml import fit_partitions, without_summary

FEATURES_VEC = "_features"
WEIGHT = "_weight"
TARGET = "_target"
MISSING = -1.0
EPS = 1e-6
GBT = "gbt"
LOGISTIC = "logistic"


def filled(df: DataFrame, features: Sequence[str]) -> DataFrame:
    """``df`` with NULL/NaN feature values replaced by -1 (as doubles)."""
    return df.withColumns(
        {
            c: F.coalesce(F.nanvl(F.col(c).cast("double"), F.lit(None)), F.lit(MISSING))
            for c in features
        }
    )


def with_class_weights(df: DataFrame, label: str) -> DataFrame:
    """``df`` with ``_target`` (double) and balanced class weights in ``_weight``:
    ``rows / (2 x rows of the class)``. One aggregation."""
    counts = df.agg(
        F.count(F.lit(1)).alias("n"), F.sum(F.col(label).cast("double")).alias("p")
    ).first()
    n, p = float(counts["n"]), float(counts["p"] or 0.0)
    w_pos = n / (2.0 * p) if p > 0 else 1.0
    w_neg = n / (2.0 * (n - p)) if n > p else 1.0
    y = F.col(label).cast("double")
    return df.withColumns(
        {TARGET: y, WEIGHT: F.when(y == 1.0, F.lit(w_pos)).otherwise(F.lit(w_neg))}
    )


def _assembler(features: Sequence[str]) -> VectorAssembler:
    return VectorAssembler(inputCols=list(features), outputCol=FEATURES_VEC, handleInvalid="keep")


@dataclass
class FraudModel:
    """A fitted pipeline (assembler + classifier) over named features."""

    kind: str
    pipeline: PipelineModel
    features: tuple[str, ...]

    def score(self, df: DataFrame, out: str) -> DataFrame:
        """``df`` with the model's probability of fraud in ``out`` (uncalibrated)."""
        scored = self.pipeline.transform(filled(df, self.features))
        return scored.withColumn(out, vector_to_array(F.col("probability"))[1]).drop(
            FEATURES_VEC, "rawPrediction", "probability", "prediction"
        )


def fit_model(
    kind: str, train: DataFrame, features: Sequence[str], label: str, cfg: FraudConfig, key: str
) -> FraudModel:
    """Fit ``gbt`` or ``logistic`` on the labelled rows with balanced class weights.

    Args:
        kind: :data:`GBT` or :data:`LOGISTIC`.
        train: Labelled rows.
        features: Numeric feature columns.
        label: 0/1 label column.
        cfg: The fraud configuration (hyper-parameters, seed).
        key: Unique row key: training rows are put in a fixed partitioning and order by it
            (the trees' subsampling depends on both), so a re-run fits the same model.

    Returns:
        The fitted model.
    """
    data = fit_partitions(with_class_weights(filled(train, features), label), [key])
    if kind == GBT:
        est = GBTClassifier(
            featuresCol=FEATURES_VEC,
            labelCol=TARGET,
            weightCol=WEIGHT,
            maxIter=cfg.gbt_max_iter,
            maxDepth=cfg.gbt_max_depth,
            stepSize=cfg.gbt_step_size,
            subsamplingRate=cfg.gbt_subsampling_rate,
            minInstancesPerNode=cfg.gbt_min_instances,
            seed=cfg.seed,
        )
        return FraudModel(
            kind, Pipeline(stages=[_assembler(features), est]).fit(data), tuple(features)
        )
    if kind == LOGISTIC:
        est = LogisticRegression(
            featuresCol=FEATURES_VEC,
            labelCol=TARGET,
            weightCol=WEIGHT,
            regParam=cfg.lr_reg,
            maxIter=200,
            standardization=True,
        )
        pipe = without_summary(Pipeline(stages=[_assembler(features), est]).fit(data))
        return FraudModel(kind, pipe, tuple(features))
    raise ValueError(f"unknown model kind {kind!r}")


@dataclass
class Calibration:
    """A map from a model's score to a calibrated probability.

    Platt: ``p = 1 / (1 + exp(-(a * logit(score) + b)))``; isotonic: an MLlib model.
    """

    method: str
    a: float = 1.0
    b: float = 0.0
    isotonic: IsotonicRegressionModel | None = None

    def apply(self, df: DataFrame, score: str, out: str) -> DataFrame:
        """``df`` with the calibrated probability of ``score`` in ``out``."""
        if self.method == "platt":
            return df.withColumn(out, platt(F.col(score), self.a, self.b))
        assert self.isotonic is not None
        iso = self.isotonic.setFeaturesCol(score).setPredictionCol("_iso")
        return (
            iso.transform(df)
            .withColumn(out, F.least(F.greatest(F.col("_iso"), F.lit(0.0)), F.lit(1.0)))
            .drop("_iso")
        )


def logit(score: Column) -> Column:
    """``ln(s / (1 - s))`` with ``s`` clipped to ``[1e-6, 1 - 1e-6]``."""
    s = F.least(F.greatest(score, F.lit(EPS)), F.lit(1.0 - EPS))
    return F.log(s / (F.lit(1.0) - s))


def platt(score: Column, a: float, b: float) -> Column:
    """Platt map of a probability-like score."""
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-(F.lit(a) * logit(score) + F.lit(b))))


def fit_calibration(df: DataFrame, score: str, label: str, method: str) -> Calibration:
    """Fit the calibration of ``score`` on labelled rows (the validation window).

    Platt fits an unweighted, unregularised logistic regression of the label on
    ``logit(score)``; a non-increasing fit (a slope <= 0, a useless model) falls back to
    the constant base rate's logit with slope 1e-3 so the ranking is still kept.
    """
    y = F.col(label).cast("double")
    if method == "isotonic":
        data = df.select(F.col(score).cast("double").alias(score), y.alias(TARGET))
        model = IsotonicRegression(featuresCol=score, labelCol=TARGET, isotonic=True).fit(data)
        return Calibration("isotonic", isotonic=model)
    data = df.select(logit(F.col(score)).alias("_x"), y.alias(TARGET))
    data = VectorAssembler(inputCols=["_x"], outputCol=FEATURES_VEC).transform(data)
    lr = LogisticRegression(
        featuresCol=FEATURES_VEC, labelCol=TARGET, regParam=0.0, maxIter=100, standardization=False
    ).fit(data)
    a, b = float(lr.coefficients[0]), float(lr.intercept)
    if not a > 0 or not math.isfinite(a) or not math.isfinite(b):
        rate = data.agg(F.avg(TARGET)).first()[0] or 0.5
        rate = min(max(rate, EPS), 1 - EPS)
        a, b = 1e-3, math.log(rate / (1 - rate))
    return Calibration("platt", a=a, b=b)
