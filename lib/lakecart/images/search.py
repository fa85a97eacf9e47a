"""Image search: the catalogue products that look most like new photos, with the models the
``images`` job saved (no retraining).

The query photos get the same pixel features (:func:`lakecart.images.pixels.describe_frame`,
on the executors), the saved standardisation and the deepest level's saved classifier, and
so the same embedding as the catalogue's (:func:`lakecart.images.categories.tag_frame`); the
neighbours are the exact cosine top-K among the catalogue embeddings the job saved.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
from pyspark.ml.classification import (
    LogisticRegressionModel,
    MultilayerPerceptronClassificationModel,
)
from pyspark.ml.feature import StandardScalerModel
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.gold import model_path
from lakecart.images.categories import unit
from lakecart.images.neighbours import top_k_cosine
from lakecart.images.pixels import FEATURE_OUTPUT_DDL, FeatureSpec, describe_frame
from lakecart.images.specs import PRODUCT_IMAGE_TAGS
from lakecart.tables import Lakehouse

QUERY_ID = "query_id"


def read_text(spark: SparkSession, path: str) -> str:
    """One small text file through Hadoop's file system (any URI)."""
    return "\n".join(r[0] for r in spark.read.text(path, wholetext=True).collect())


def latest_version(lh: Lakehouse) -> str:
    """The model version of the published gold.product_image_tags."""
    row = lh.read(PRODUCT_IMAGE_TAGS).select(N.MODEL_VERSION).limit(1).collect()
    if not row:
        raise ValueError("gold.product_image_tags is empty: run the images job first")
    return str(row[0][0])


def _classifier(path: str, published: str) -> Any:
    if published.startswith("mlp"):
        return MultilayerPerceptronClassificationModel.load(path)
    return LogisticRegressionModel.load(path)


def similar_items(
    spark: SparkSession,
    lh: Lakehouse,
    photos: DataFrame,
    k: int = 10,
    model_version: str | None = None,
) -> DataFrame:
    """The ``k`` catalogue products most like each photo.

    Args:
        spark: The session.
        lh: The lakehouse the ``images`` job published to.
        photos: ``query_id`` and ``content`` (the photo file's bytes, e.g. from
            ``spark.read.format("binaryFile")``).
        k: Neighbours per photo.
        model_version: The saved models to use (default: those of the published tags).

    Returns:
        ``query_id, rank, similar_item_id, score`` (cosine); a photo that does not decode
        gets no rows.
    """
    version = model_version or latest_version(lh)
    root = model_path(lh, N.M_IMAGES, version)
    meta = json.loads(read_text(spark, f"{root}/paths.json"))
    spec = FeatureSpec(
        **{
            k_: tuple(v) if isinstance(v, list) else v
            for k_, v in json.loads(meta["feature_spec"]).items()
        }
    )
    depth = len(meta["classes"])
    weight = float(meta["probability_weight"])
    query = photos.select(
        F.col(QUERY_ID).cast("string").alias(N.ITEM_ID),
        F.lit(None).cast("string").alias(N.IMAGE),
        F.sha2(F.col("content"), 256).alias(N.CHECKSUM),
        F.col("content"),
    )

    def features(batches):
        for b in batches:
            yield describe_frame(b, spec)

    feats = query.mapInPandas(features, FEATURE_OUTPUT_DDL).filter(F.col("error").isNull())
    scaled = StandardScalerModel.load(f"{root}/scaler").transform(
        feats.select(N.ITEM_ID, array_to_vector(N.VECTOR).alias("_features"))
    )
    cols = [N.ITEM_ID, vector_to_array("_scaled").alias("scaled")]
    if depth and weight > 0 and meta["published"][-1] != N.B_MAJORITY:
        model = _classifier(f"{root}/level{depth}", meta["published"][-1])
        model = model.copy().setProbabilityCol("_prob").setPredictionCol("_pred")
        model = model.setRawPredictionCol("_raw")
        scaled = model.transform(scaled)
        cols.append(vector_to_array("_prob").alias("photo_p"))

    def embed(batches):
        for b in batches:
            parts = [unit(np.stack(b["scaled"].to_numpy()).astype(np.float64))]
            if "photo_p" in b.columns:
                parts.append(weight * unit(np.stack(b["photo_p"].to_numpy()).astype(np.float64)))
            emb = np.hstack(parts).astype(np.float32)
            yield pd.DataFrame({N.ITEM_ID: b[N.ITEM_ID].to_numpy(), "embedding": list(emb)})

    queries = scaled.select(*cols).mapInPandas(embed, "item_id string, embedding array<float>")
    catalogue = spark.read.format("delta").load(f"{root}/embeddings")
    out = top_k_cosine(catalogue, k, vector_col="embedding", queries=queries)
    return out.withColumnRenamed(N.ITEM_ID, QUERY_ID)
