"""A logistic model fitted in a session that has used an ``Observation`` must still score:
MLlib keeps the training summary (which references the session) in the model, and the
session's ObservationManager is not serializable (Spark 4.0)."""

from __future__ import annotations

from pyspark.ml import Pipeline
from pyspark.ml.classification import LogisticRegression
from pyspark.ml.feature import VectorAssembler
from pyspark.sql import Observation
from pyspark.sql import functions as F

from lakecart.ml import without_summary


def test_logistic_model_scores_after_an_observation(spark):
    obs = Observation("touch_observation_manager")
    spark.range(3).observe(obs, F.count(F.lit(1)).alias("n")).write.format("noop").mode(
        "overwrite"
    ).save()
    assert obs.get["n"] == 3
    rows = [(float(x), 1.0 if x >= 5 else 0.0) for x in range(10)]
    df = spark.createDataFrame(rows, "x double, label double")
    fitted = Pipeline(
        stages=[
            VectorAssembler(inputCols=["x"], outputCol="features"),
            LogisticRegression(regParam=0.01),
        ]
    ).fit(df)
    model = without_summary(fitted)
    assert not model.stages[-1].hasSummary
    predicted = {r["x"]: r["prediction"] for r in model.transform(df).collect()}  # 10 rows
    assert predicted == {x: y for x, y in rows}  # separable: every label recovered


def test_without_summary_scores_linear_models_after_an_observation(spark):
    """lakecart.ml.without_summary (marketing's uplift models) on the two summary-keeping
    models, in a session that has used an Observation; a tree model passes through."""
    from pyspark.ml.classification import GBTClassifier
    from pyspark.ml.regression import LinearRegression

    from lakecart.ml import without_summary

    obs = Observation("touch_observation_manager_again")
    spark.range(2).observe(obs, F.count(F.lit(1)).alias("n")).write.format("noop").mode(
        "overwrite"
    ).save()
    rows = [(float(x), 1.0 if x >= 5 else 0.0, 2.0 * x + 1.0) for x in range(10)]
    df = VectorAssembler(inputCols=["x"], outputCol="features").transform(
        spark.createDataFrame(rows, "x double, label double, y double")
    )
    logistic = without_summary(LogisticRegression(regParam=0.01).fit(df))
    linear = without_summary(LinearRegression(labelCol="y").fit(df))
    assert not logistic.hasSummary and not linear.hasSummary
    got = {r["x"]: r["prediction"] for r in logistic.transform(df).collect()}  # 10 rows
    assert got == {x: y for x, y, _ in rows}
    fitted = {r["x"]: r["prediction"] for r in linear.transform(df).collect()}
    assert all(abs(fitted[x] - z) < 1e-6 for x, _, z in rows)  # y = 2x + 1 exactly
    tree = GBTClassifier(maxIter=2, seed=1).fit(df)
    assert without_summary(tree) is tree
