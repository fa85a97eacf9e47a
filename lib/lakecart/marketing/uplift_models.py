"""Uplift meta-learners on MLlib base learners.

Each candidate is a (meta-learner, learner) pair fitted on randomised contacts (columns of
:mod:`lakecart.marketing.contacts`: ``_t`` treated, ``_y`` responded, ``_p`` propensity)
with a feature vector column:

* ``two_model`` (T-learner): one classifier on treated rows, one on control rows;
  uplift = P1(x) - P0(x);
* ``s_learner``: one classifier on all rows with the treatment as a feature (the logistic
  learner also gets treatment x feature interactions, without which a linear model could
  not vary the uplift except through its link); uplift = P(x, t=1) - P(x, t=0);
* ``transformed_outcome``: one regressor of ``Z = Y (T - p) / (p (1 - p))``, whose
  expectation given x is the uplift whatever the treated share ``p`` of the campaign
  (Athey & Imbens 2015); the logistic learner is a ridge linear regression here.

Learners: ``logistic`` (LogisticRegression / LinearRegression, L2 ``marketing.lr_reg``) and
``gbt`` (GBTClassifier / GBTRegressor, ``marketing.gbt_*``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pyspark.ml.classification import GBTClassifier, LogisticRegression
from pyspark.ml.feature import Interaction, VectorAssembler
from pyspark.ml.functions import vector_to_array
from pyspark.ml.regression import GBTRegressor, LinearRegression
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import MarketingConfig
from lakecart.marketing.contacts import PROPENSITY, RESPONSE, TREATED
from lakecart.ml import without_summary

UPLIFT_COL = "_uplift"
P1_COL = "_p1"
_TX = "_tx"  # treatment x features (S-learner, logistic)
_S = "_s"  # S-learner input vector


def candidate_name(meta: str, learner: str, pooled: bool = False) -> str:
    """Model name in ops.model_metrics: ``<meta>_<learner>`` (+ ``_pooled``)."""
    return f"{meta}_{learner}" + ("_pooled" if pooled else "")


def classifier(learner: str, cfg: MarketingConfig, features: str, label: str, tag: str) -> Any:
    """An unfitted MLlib classifier writing ``_prob_<tag>``."""
    cols = dict(featuresCol=features, labelCol=label, predictionCol=f"_pred_{tag}")
    if learner == N.LEARNER_LOGISTIC:
        est = LogisticRegression(maxIter=cfg.lr_max_iter, regParam=cfg.lr_reg, **cols)
    else:
        est = GBTClassifier(
            maxIter=cfg.gbt_max_iter,
            maxDepth=cfg.gbt_max_depth,
            stepSize=cfg.gbt_step_size,
            minInstancesPerNode=cfg.gbt_min_instances,
            subsamplingRate=0.8,
            seed=cfg.seed,
            **cols,
        )
    return est.setProbabilityCol(f"_prob_{tag}").setRawPredictionCol(f"_raw_{tag}")


def regressor(learner: str, cfg: MarketingConfig, features: str, label: str, tag: str) -> Any:
    """An unfitted MLlib regressor writing ``_pred_<tag>``."""
    cols = dict(featuresCol=features, labelCol=label, predictionCol=f"_pred_{tag}")
    if learner == N.LEARNER_LOGISTIC:
        return LinearRegression(maxIter=cfg.lr_max_iter, regParam=cfg.lr_reg, **cols)
    return GBTRegressor(
        maxIter=cfg.gbt_max_iter,
        maxDepth=cfg.gbt_max_depth,
        stepSize=cfg.gbt_step_size,
        minInstancesPerNode=cfg.gbt_min_instances,
        subsamplingRate=0.8,
        seed=cfg.seed,
        **cols,
    )


def _p1(tag: str) -> Column:
    return vector_to_array(F.col(f"_prob_{tag}"))[1]


def _drop_model_columns(df: DataFrame, tag: str) -> DataFrame:
    return df.drop(f"_prob_{tag}", f"_raw_{tag}", f"_pred_{tag}")


def s_vector(df: DataFrame, features: str, learner: str, t: Column) -> DataFrame:
    """``_s`` = features, treatment (and treatment x features for the logistic learner)."""
    df = df.withColumn("_ts", t.cast("double"))
    if learner == N.LEARNER_LOGISTIC:
        df = Interaction(inputCols=["_ts", features], outputCol=_TX).transform(df)
        inputs = [features, "_ts", _TX]
    else:
        inputs = [features, "_ts"]
    return VectorAssembler(inputCols=inputs, outputCol=_S).transform(df)


@dataclass
class UpliftModel:
    """A fitted candidate.

    Attributes:
        meta: Meta-learner name.
        learner: Learner name.
        features: Feature vector column it was fitted on.
        parts: Fitted MLlib models by role (``treated``, ``control``, ``s``, ``z``).
    """

    meta: str
    learner: str
    features: str
    parts: dict[str, Any]

    def predict(self, df: DataFrame) -> DataFrame:
        """``df`` with ``_uplift`` (clipped to [-1, 1]) and ``_p1`` (NULL when the
        meta-learner has no response probability: the transformed outcome)."""
        cols = df.columns
        if self.meta == N.META_TWO_MODEL:
            out = self.parts["treated"].transform(df)
            out = self.parts["control"].transform(out)
            p1, p0 = _p1("treated"), _p1("control")
        elif self.meta == N.META_S_LEARNER:
            m = self.parts["s"]
            one = m.transform(s_vector(df, self.features, self.learner, F.lit(1.0)))
            one = one.withColumn("_s1", _p1("s")).select(*cols, "_s1")
            zero = m.transform(s_vector(one, self.features, self.learner, F.lit(0.0)))
            out = zero.withColumn("_s0", _p1("s"))
            p1, p0 = F.col("_s1"), F.col("_s0")
        else:
            out = self.parts["z"].transform(df)
            return out.select(
                *cols,
                F.greatest(F.lit(-1.0), F.least(F.lit(1.0), F.col("_pred_z"))).alias(UPLIFT_COL),
                F.lit(None).cast("double").alias(P1_COL),
            )
        return out.select(
            *cols,
            F.greatest(F.lit(-1.0), F.least(F.lit(1.0), p1 - p0)).alias(UPLIFT_COL),
            p1.alias(P1_COL),
        )


def fit_uplift(
    train: DataFrame, meta: str, learner: str, features: str, cfg: MarketingConfig
) -> UpliftModel:
    """Fit one candidate on training rows (``_t``, ``_y``, ``_p`` and ``features``)."""
    if meta == N.META_TWO_MODEL:
        parts = {
            "treated": without_summary(
                classifier(learner, cfg, features, RESPONSE, "treated").fit(
                    train.filter(F.col(TREATED) == 1.0)
                )
            ),
            "control": without_summary(
                classifier(learner, cfg, features, RESPONSE, "control").fit(
                    train.filter(F.col(TREATED) == 0.0)
                )
            ),
        }
    elif meta == N.META_S_LEARNER:
        rows = s_vector(train, features, learner, F.col(TREATED))
        parts = {"s": without_summary(classifier(learner, cfg, _S, RESPONSE, "s").fit(rows))}
    elif meta == N.META_TRANSFORMED_OUTCOME:
        p = F.col(PROPENSITY)
        z = F.col(RESPONSE) * (F.col(TREATED) - p) / (p * (F.lit(1.0) - p))
        rows = train.withColumn("_z", z)
        parts = {"z": without_summary(regressor(learner, cfg, features, "_z", "z").fit(rows))}
    else:
        raise ValueError(f"unknown meta-learner {meta!r} (known: {', '.join(N.META_LEARNERS)})")
    return UpliftModel(meta, learner, features, parts)


@dataclass
class ResponseModel:
    """P(respond | sent): a logistic classifier on the treated rows only (the "who is
    likely to respond" model that uplift targeting is compared with)."""

    model: Any

    def predict(self, df: DataFrame, out: str) -> DataFrame:
        """``df`` with column ``out`` = the response probability."""
        cols = df.columns
        return self.model.transform(df).select(*cols, _p1("response").alias(out))


def fit_response(train: DataFrame, features: str, cfg: MarketingConfig) -> ResponseModel:
    """Fit the response model on the treated training rows."""
    est = classifier(N.LEARNER_LOGISTIC, cfg, features, RESPONSE, "response")
    return ResponseModel(without_summary(est.fit(train.filter(F.col(TREATED) == 1.0))))
