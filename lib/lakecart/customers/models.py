"""Gradient-boosted classifiers with isotonic calibration, and the CLV regressors.

A classifier is the average of the probabilities of an MLlib ``GBTClassifier`` and an
L2-regularised ``LogisticRegression`` on the same features (the trees catch interactions,
the linear model extrapolates smoothly; their average ranked better than either on the
validation windows), fitted on the training rows of customers outside a calibration slice (a
seeded hash of the customer id picks ``calibration_share`` of the customers, the same ones
in every snapshot, so the slice is never seen by the trees); MLlib's
``IsotonicRegression`` then maps the trees' raw probability to the observed rate on the
slice. Missing feature values (e.g. the gap between orders of a one-order customer) are
filled with -1, which trees separate from every real value.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.regression import GBTRegressor, IsotonicRegression, IsotonicRegressionModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart.config import CustomersConfig
from lakecart.ml import without_summary

FEATURES_VEC = "_features"
RAW = "_raw"
MISSING = -1.0


def calibration_slice(customer_col: str, share: float, seed: int) -> Column:
    """True for the customers (``share`` of them, by a seeded hash) held out for calibration."""
    bucket = F.pmod(F.xxhash64(F.col(customer_col), F.lit(f"calibration-{seed}")), F.lit(10_000))
    return bucket < F.lit(int(round(share * 10_000)))


def filled(df: DataFrame, features: Sequence[str]) -> DataFrame:
    """``df`` with NULL/NaN feature values replaced by -1 (as doubles)."""
    return df.withColumns(
        {
            c: F.coalesce(F.nanvl(F.col(c).cast("double"), F.lit(None)), F.lit(MISSING))
            for c in features
        }
    )


def _assembler(features: Sequence[str]) -> VectorAssembler:
    return VectorAssembler(inputCols=list(features), outputCol=FEATURES_VEC, handleInvalid="keep")


@dataclass
class CalibratedClassifier:
    """Fitted GBT and logistic pipelines and the isotonic map of their mean probability."""

    trees: PipelineModel
    linear: PipelineModel
    isotonic: IsotonicRegressionModel
    features: tuple[str, ...]

    def raw(self, df: DataFrame) -> DataFrame:
        """``df`` with the uncalibrated probability of class 1 in ``_raw``."""
        out = self.trees.transform(filled(df, self.features))
        out = out.withColumn("_p_trees", vector_to_array(F.col("probability"))[1]).drop(
            FEATURES_VEC, "rawPrediction", "probability", "prediction"
        )
        out = self.linear.transform(out)
        out = out.withColumn(
            RAW, (F.col("_p_trees") + vector_to_array(F.col("probability"))[1]) / 2.0
        )
        return out.drop(FEATURES_VEC, "rawPrediction", "probability", "prediction", "_p_trees")

    def predict(self, df: DataFrame, out: str) -> DataFrame:
        """``df`` with the calibrated probability of class 1 in ``out``."""
        scored = self.isotonic.transform(self.raw(df))
        return scored.withColumn(
            out, F.least(F.greatest(F.col("prediction"), F.lit(0.0)), F.lit(1.0))
        ).drop("prediction", RAW)


def fit_isotonic(
    df: DataFrame, x: str, label: str, increasing: bool = True
) -> IsotonicRegressionModel:
    """MLlib isotonic regression of ``label`` on the double column ``x``."""
    data = df.select(F.col(x).cast("double").alias(x), F.col(label).cast("double").alias(label))
    return IsotonicRegression(
        featuresCol=x, labelCol=label, predictionCol="prediction", isotonic=increasing
    ).fit(data)


def fit_classifier(
    train: DataFrame,
    features: Sequence[str],
    label: str,
    cfg: CustomersConfig,
    customer_col: str,
) -> CalibratedClassifier:
    """Fit a GBT classifier on ``label`` (0/1) and calibrate it on a held-out customer slice.

    Args:
        train: Training rows (several snapshots).
        features: Numeric feature columns.
        label: 0/1 label column.
        cfg: The customers configuration (GBT parameters, calibration share, seed).
        customer_col: Customer id column (the calibration slice is per customer).

    Returns:
        The calibrated classifier.
    """
    held = calibration_slice(customer_col, cfg.calibration_share, cfg.seed)
    data = filled(train, features).withColumn(label, F.col(label).cast("double"))
    gbt = GBTClassifier(
        featuresCol=FEATURES_VEC,
        labelCol=label,
        maxIter=cfg.gbt_max_iter,
        maxDepth=cfg.gbt_max_depth,
        stepSize=cfg.gbt_step_size,
        subsamplingRate=cfg.gbt_subsampling_rate,
        minInstancesPerNode=cfg.gbt_min_instances,
        seed=cfg.seed,
    )
    lr = LogisticRegression(featuresCol=FEATURES_VEC, labelCol=label, regParam=cfg.linear_reg)
    fit_rows = data.filter(~held)
    trees = Pipeline(stages=[_assembler(features), gbt]).fit(fit_rows)
    linear = without_summary(Pipeline(stages=[_assembler(features), lr]).fit(fit_rows))
    model = CalibratedClassifier(trees, linear, None, tuple(features))  # type: ignore[arg-type]
    model.isotonic = fit_isotonic(model.raw(data.filter(held)), RAW, label)
    return model


@dataclass
class Regressor:
    """A fitted GBT regressor; with ``log_target`` it models ``ln(1 + max(y, 0))``."""

    model: PipelineModel
    log_target: bool
    features: tuple[str, ...]

    def predict(self, df: DataFrame, out: str) -> DataFrame:
        """``df`` with the estimate (back on the original scale, floored at 0) in ``out``."""
        scored = self.model.transform(filled(df, self.features))
        y = F.col("prediction")
        y = F.expm1(y) if self.log_target else y
        return scored.withColumn(out, F.greatest(y, F.lit(0.0))).drop(FEATURES_VEC, "prediction")


def fit_regressor(
    train: DataFrame,
    features: Sequence[str],
    target: str,
    cfg: CustomersConfig,
    loss: str = "squared",
    cap: float | None = None,
    log_target: bool = False,
) -> Regressor:
    """Fit a GBT regressor of ``target`` (capped at ``cap`` when given).

    Args:
        train: Training rows.
        features: Numeric feature columns.
        target: Target column.
        cfg: The customers configuration (GBT parameters, seed).
        loss: ``squared`` (a mean) or ``absolute`` (a median; use it with ``log_target``,
            where the boosting steps are on the scale of the log).
        cap: Upper cap of the training target (None: uncapped).
        log_target: Model ``ln(1 + max(target, 0))``; predictions are mapped back.

    Returns:
        The fitted regressor.
    """
    y = F.col(target).cast("double")
    if cap is not None:
        y = F.least(y, F.lit(float(cap)))
    if log_target:
        y = F.log1p(F.greatest(y, F.lit(0.0)))
    data = filled(train, features).withColumn("_target", y)
    gbt = GBTRegressor(
        featuresCol=FEATURES_VEC,
        labelCol="_target",
        lossType=loss,
        maxIter=cfg.gbt_max_iter,
        maxDepth=cfg.gbt_max_depth,
        stepSize=cfg.gbt_step_size,
        subsamplingRate=cfg.gbt_subsampling_rate,
        minInstancesPerNode=cfg.gbt_min_instances,
        seed=cfg.seed,
    )
    model = Pipeline(stages=[_assembler(features), gbt]).fit(data)
    return Regressor(model, log_target, tuple(features))


def spend_cap(df: DataFrame, target: str, quantile: float) -> float | None:
    """The ``quantile`` of the positive values of ``target`` (None when there are none or
    ``quantile`` is 1)."""
    if quantile >= 1.0:
        return None
    q = df.filter(F.col(target) > 0).approxQuantile(target, [quantile], 0.001)
    return float(q[0]) if q else None
