"""Behavioural clusters: MLlib k-means on scaled, log-transformed customer features, k chosen
by silhouette, and a per-cluster profile an analyst can name the clusters from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.clustering import KMeans, KMeansModel
from pyspark.ml.evaluation import ClusteringEvaluator
from pyspark.ml.feature import StandardScaler, VectorAssembler
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.threads import map_in_threads

VEC, SCALED = "_cluster_vec", "_cluster_scaled"


def log1p_pos(c: Column) -> Column:
    """``ln(1 + max(c, 0))`` (NULL -> 0): tames the long tails of counts and money."""
    return F.log1p(F.greatest(F.coalesce(c.cast("double"), F.lit(0.0)), F.lit(0.0)))


def cluster_inputs(df: DataFrame) -> dict[str, Column]:
    """The clustering features (all log-transformed, then standardised by the pipeline)."""
    return {
        "_c_recency": log1p_pos(F.col(N.RECENCY_DAYS)),
        "_c_frequency": log1p_pos(F.col(N.FREQUENCY)),
        "_c_monetary": log1p_pos(F.col(N.MONETARY)),
        "_c_aov": log1p_pos(F.col(N.AVG_ORDER_VALUE)),
        "_c_tenure": log1p_pos(F.col(N.TENURE_DAYS)),
        "_c_items": log1p_pos(F.col(N.DISTINCT_ITEMS)),
    }


@dataclass
class Clustering:
    """The chosen k-means pipeline, its k and the silhouette of every k tried."""

    model: PipelineModel
    k: int
    silhouettes: dict[int, float]


def fit_clusters(
    df: DataFrame, k_min: int, k_max: int, seed: int, parallelism: int = 1
) -> Clustering | None:
    """Fit k-means for every k in ``[k_min, k_max]`` and keep the best silhouette.

    Args:
        df: One row per customer with the columns :func:`cluster_inputs` reads.
        k_min: Smallest k.
        k_max: Largest k.
        seed: k-means seed.
        parallelism: Candidates fitted at the same time (driver threads sharing the
            session; each fit is a few dozen small Spark jobs).

    Returns:
        The chosen clustering (the scaler and the winning candidate's fitted k-means, with
        its prediction in ``cluster``), or None when there are fewer customers than
        ``k_min``.
    """
    inputs = cluster_inputs(df)
    cols = list(inputs)
    df = df.select(*[v.alias(k) for k, v in inputs.items()]).localCheckpoint(eager=True)
    n = df.count()
    if n <= k_min:
        return None
    prep = Pipeline(
        stages=[
            VectorAssembler(inputCols=cols, outputCol=VEC),
            StandardScaler(inputCol=VEC, outputCol=SCALED, withMean=True, withStd=True),
        ]
    ).fit(df)
    scaled = prep.transform(df).select(SCALED).cache()
    evaluator = ClusteringEvaluator(featuresCol=SCALED, predictionCol="_k")

    def candidate(k: int) -> tuple[float, KMeansModel]:
        km = KMeans(featuresCol=SCALED, predictionCol="_k", k=k, seed=seed, maxIter=30)
        fitted = km.fit(scaled)
        return float(evaluator.evaluate(fitted.transform(scaled))), fitted

    ks = list(range(k_min, min(k_max, n - 1) + 1))  # a handful of candidates
    try:
        fits = map_in_threads(candidate, ks, parallelism, "clusters-fit")
    finally:
        scaled.unpersist()
    sil = {k: s for k, (s, _) in zip(ks, fits, strict=True)}
    k = max(ks, key=lambda x: (sil[x], -x))  # the best silhouette; a tie goes to the smaller k
    best = fits[ks.index(k)][1].setPredictionCol(N.CLUSTER)
    return Clustering(PipelineModel(stages=[*prep.stages, best]), k, sil)


def assign(model: PipelineModel, df: DataFrame) -> DataFrame:
    """``df`` with ``cluster`` (int) from a fitted clustering pipeline."""
    inputs = cluster_inputs(df)
    return (
        model.transform(df.withColumns(inputs))
        .withColumn(N.CLUSTER, F.col(N.CLUSTER).cast("int"))
        .drop(VEC, SCALED, *inputs)
    )


PROFILE_MEANS: Sequence[tuple[str, str]] = (
    (N.MEAN_RECENCY_DAYS, N.RECENCY_DAYS),
    (N.MEAN_FREQUENCY, N.FREQUENCY),
    (N.MEAN_MONETARY, N.MONETARY),
    (N.MEAN_AVG_ORDER_VALUE, N.AVG_ORDER_VALUE),
    (N.MEAN_TENURE_DAYS, N.TENURE_DAYS),
    (N.MEAN_DISTINCT_ITEMS, N.DISTINCT_ITEMS),
    (N.MEAN_R_SCORE, N.R_SCORE),
    (N.MEAN_F_SCORE, N.F_SCORE),
    (N.MEAN_M_SCORE, N.M_SCORE),
)


def cluster_profile(df: DataFrame) -> DataFrame:
    """Per cluster: size, share, the mean behaviour and the most common RFM segment.

    Args:
        df: Customers with ``cluster``, the RFM columns and the behavioural features.
    """
    total = F.sum(F.col(N.CUSTOMERS_COUNT)).over(_all())
    sizes = df.groupBy(N.CLUSTER).agg(
        F.count(F.lit(1)).alias(N.CUSTOMERS_COUNT),
        *[F.avg(F.col(src).cast("double")).alias(name) for name, src in PROFILE_MEANS],
        F.mode(N.RFM_SEGMENT, deterministic=True).alias(N.TOP_RFM_SEGMENT),
    )
    return sizes.withColumn(N.SHARE, F.col(N.CUSTOMERS_COUNT) / total)


def _all():
    from pyspark.sql import Window

    return Window.partitionBy()
