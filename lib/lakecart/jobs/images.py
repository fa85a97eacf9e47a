"""``images``: categories from product photos, dominant colours and visual neighbours.

Reads the photos named by silver.products.image with Spark's binary file source (on the
executors; the folders holding them are listed once), computes their pixel features in a
pandas UDF (:mod:`lakecart.images.pixels`) and keeps them in features.image_features keyed
by item and the photo's SHA-256, so an unchanged photo is never decoded twice. Photos that
cannot be listed or decoded go to silver.quarantine (``_source`` = images) with a reason.

For each category level (``images.levels``, paths split on ``>``) a classifier learns the
level's prefixes from the photos of categorised products (MLlib multinomial logistic
regression and/or a multilayer perceptron on standardised features, chosen by accuracy on a
seeded validation split and published only when it beats the majority class); a TF-IDF
logistic regression of the title joins the photo for products that have a title. Every
photographed product is tagged with the most probable known path (joint over the levels),
the confidence per level, its colours, and a flag where its own category confidently
disagrees with the photo. Visual neighbours are the exact cosine top-K
(:mod:`lakecart.images.neighbours`) of the standardised pixels joined with the predicted
category probabilities; :func:`lakecart.images.search.similar_items` finds the nearest
catalogue items for new photos with the saved models.

Publishes gold.product_image_tags and gold.visually_similar; writes accuracy and macro-F1
per level beside the majority class, the published decisions, and the precision@K of
same-category neighbours beside chance to ops.model_metrics. Skips (exit 0, a log line)
without products that have an image.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import logging
from contextlib import contextmanager
from pathlib import PurePath
from typing import Any

import numpy as np
from pyspark.ml.classification import LogisticRegression, MultilayerPerceptronClassifier
from pyspark.ml.feature import IDF, HashingTF, RegexTokenizer, StandardScaler
from pyspark.ml.functions import array_to_vector, vector_to_array
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.asof import NoDataError, resolve_as_of
from lakecart.config import Config, ImagesConfig
from lakecart.gold import (
    Metric,
    model_path,
    new_model_version,
    publish,
    utcnow,
    with_gold_columns,
    write_metrics,
)
from lakecart.images import categories as K
from lakecart.images.neighbours import top_k_cosine
from lakecart.images.pixels import FEATURE_OUTPUT_DDL, FeatureSpec, describe_frame
from lakecart.images.specs import IMAGE_FEATURES, PRODUCT_IMAGE_TAGS, VISUALLY_SIMILAR
from lakecart.ml import task_slots, without_summary
from lakecart.runlog import RunContext
from lakecart.schemas import QUARANTINE, SILVER
from lakecart.selection import choose
from lakecart.tables import Lakehouse
from lakecart.text.classifier import confusion, macro_f1

log = logging.getLogger("lakecart")

SOURCE = "images"  # silver.quarantine._source of the photos this job rejects
FEATURES = "_features"
SCALED = "_scaled"
LABEL = "_label"
VALID = "_valid"
PATHS = "_paths"
TITLE_FEATURES = "_title_features"


def feature_spec(cfg: ImagesConfig) -> FeatureSpec:
    """The pixel feature settings of the configuration."""
    return FeatureSpec(size=cfg.size, hog_cells=tuple(cfg.hog_cells), detail=cfg.detail)


def spec_key(spec: FeatureSpec) -> str:
    """A stable text form of the feature settings (a cached vector is reused only when
    it was computed with the same settings)."""
    return json.dumps(dataclasses.asdict(spec), sort_keys=True)


@contextmanager
def arrow_batch_rows(spark: SparkSession, rows: int):
    """Temporarily cap the rows per Arrow batch (photos are large rows)."""
    key = "spark.sql.execution.arrow.maxRecordsPerBatch"
    old = spark.conf.get(key, None)
    spark.conf.set(key, str(rows))
    try:
        yield
    finally:
        if old is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, old)


# ----------------------------------------------------------------------------- photos
def folders(spark: SparkSession, images: DataFrame) -> tuple[list[str], list[str]]:
    """The distinct folders holding the photos (``existing``, ``missing``), outermost
    only (a folder inside another listed one is covered by it). One row per folder reaches
    the driver."""
    dirs = sorted(
        r[0]
        for r in images.select(F.regexp_extract(N.IMAGE, r"^(.*)/[^/]*$", 1).alias("d"))
        .distinct()
        .collect()
        if r[0]
    )
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    existing, missing = [], []
    for d in dirs:
        try:
            hp = jvm.org.apache.hadoop.fs.Path(d)
            ok = hp.getFileSystem(conf).exists(hp)
        except Exception:  # noqa: BLE001 - an unknown scheme or a malformed URI
            ok = False
        (existing if ok else missing).append(d)
    outer: list[str] = []
    for d in existing:
        if not any(d.startswith(o + "/") for o in outer):
            outer.append(d)
    return outer, missing


def read_photos(spark: SparkSession, products: DataFrame) -> DataFrame:
    """``item_id, image, content`` of every product photo found (binary file source on
    the executors); products whose photo is not found are absent."""
    outer, missing = folders(spark, products)
    if missing:
        log.info("[images] %d photo folders do not exist (e.g. %s)", len(missing), missing[0])
    if not outer:
        return products.select(
            N.ITEM_ID, N.IMAGE, F.lit(None).cast("binary").alias("content")
        ).limit(0)
    files = (
        spark.read.format("binaryFile")
        .option("recursiveFileLookup", "true")
        .load(outer)
        .select(F.col("path").alias(N.IMAGE), "content")
    )
    return products.select(N.ITEM_ID, N.IMAGE).join(files, N.IMAGE)


def quarantine_rows(rejected: DataFrame, run_id: str) -> DataFrame:
    """Rejected photos shaped for silver.quarantine (``item_id, image, reason, detail``)."""
    return rejected.select(
        F.lit(run_id).alias(N.RUN_ID),
        F.lit(N.PRODUCTS).alias(N.ENTITY),
        F.col(N.REASON),
        F.col(N.DETAIL),
        F.create_map(F.lit(N.ITEM_ID), F.col(N.ITEM_ID), F.lit(N.IMAGE), F.col(N.IMAGE)).alias(
            N.RAW
        ),
        F.lit(None).cast("string").alias(N.MALFORMED),
        F.lit(SOURCE).alias("_source"),
        F.col(N.IMAGE).alias("_source_file"),
        F.lit(0).cast("long").alias("_row_number"),
        F.lit(utcnow()).cast("timestamp").alias("quarantined_at"),
    )


def update_features(
    spark: SparkSession, lh: Lakehouse, ctx: RunContext, products: DataFrame, cfg: ImagesConfig
) -> tuple[dict[str, int], DataFrame]:
    """Compute the features of new or changed photos into features.image_features and
    quarantine the photos that are missing or do not decode.

    Returns:
        Counts, and ``item_id, image, checksum`` of every photo found now (a cached
        vector counts only for a photo still there with the same bytes)."""
    spec = feature_spec(cfg)
    key = spec_key(spec)
    photos = read_photos(spark, products).withColumn(N.CHECKSUM, F.sha2(F.col("content"), 256))
    current = photos.select(N.ITEM_ID, N.IMAGE, N.CHECKSUM).localCheckpoint(eager=True)
    known = (
        lh.read(IMAGE_FEATURES).filter(F.col("feature_spec") == key).select(N.ITEM_ID, N.CHECKSUM)
    )
    todo = photos.join(known, [N.ITEM_ID, N.CHECKSUM], "left_anti").repartition(
        task_slots(spark) * 2, N.ITEM_ID
    )

    def run(batches):
        for b in batches:
            yield describe_frame(b, spec)

    with arrow_batch_rows(spark, cfg.batch_rows):
        computed = (
            todo.select(N.ITEM_ID, N.IMAGE, N.CHECKSUM, "content")
            .mapInPandas(run, FEATURE_OUTPUT_DDL)
            .localCheckpoint(eager=True)
        )
    good = computed.filter(F.col("error").isNull()).select(
        N.ITEM_ID, N.IMAGE, N.CHECKSUM, N.VECTOR, N.COLOURS, N.WIDTH, N.HEIGHT,
        F.lit(key).alias("feature_spec"), F.lit(utcnow()).cast("timestamp").alias(N.COMPUTED_AT),
    )  # fmt: skip
    n_new = good.count()
    if n_new:
        lh.merge(good, IMAGE_FEATURES)
    unreadable = computed.filter(F.col("error").isNotNull()).select(
        N.ITEM_ID,
        N.IMAGE,
        F.lit(N.R_UNREADABLE_IMAGE).alias(N.REASON),
        F.col("error").alias(N.DETAIL),
    )
    not_found = products.select(N.ITEM_ID, N.IMAGE).join(
        current.select(N.ITEM_ID, N.IMAGE), [N.ITEM_ID, N.IMAGE], "left_anti"
    ).select(
        N.ITEM_ID, N.IMAGE, F.lit(N.R_IMAGE_NOT_FOUND).alias(N.REASON),
        F.lit("no such file").alias(N.DETAIL),
    )  # fmt: skip
    rejected = unreadable.unionByName(not_found).localCheckpoint(eager=True)
    n_rejected = rejected.count()
    # the job's current verdict on every photo replaces its previous one
    lh.replace_where(quarantine_rows(rejected, ctx.run_id), QUARANTINE, f"_source = '{SOURCE}'")
    reasons = {r[0]: int(r[1]) for r in rejected.groupBy(N.REASON).count().collect()}
    counts = {
        "computed": n_new,
        "unreadable": reasons.get(N.R_UNREADABLE_IMAGE, 0),
        "not_found": reasons.get(N.R_IMAGE_NOT_FOUND, 0),
        "rejected": n_rejected,
    }
    return counts, current


# ----------------------------------------------------------------------------- models
def _estimator(kind: str, reg: float, dim: int, classes: int, cfg: ImagesConfig, features: str):
    if kind == "lr":
        return LogisticRegression(
            featuresCol=features, labelCol=LABEL, regParam=reg, elasticNetParam=0.0,
            maxIter=cfg.max_iter, standardization=False, family="multinomial",
        )  # fmt: skip
    return MultilayerPerceptronClassifier(
        featuresCol=features, labelCol=LABEL, layers=[dim, *cfg.mlp_hidden, classes],
        maxIter=cfg.max_iter, seed=cfg.seed,
    )  # fmt: skip


def _accuracy(scored: DataFrame) -> tuple[float, float]:
    conf = confusion(scored, LABEL, "prediction")
    n = sum(conf.values())
    acc = sum(v for (t, p), v in conf.items() if t == p) / n if n else float("nan")
    return acc, macro_f1(conf)


@dataclasses.dataclass
class Level:
    """One learned category level."""

    depth: int
    classes: list[str]
    published: str  # model name or the majority baseline
    model: Any  # fitted classifier, or None when the majority class is published
    majority: int
    accuracy: float
    macro_f1: float
    baseline_accuracy: float
    baseline_macro_f1: float
    valid_model: Any = None  # the chosen classifier as fitted on the training split only
    title_model: Any = None
    title_accuracy: float | None = None
    image_accuracy_titled: float | None = None


def learn_level(data: DataFrame, depth: int, dim: int, cfg: ImagesConfig, on_fit) -> Level | None:
    """Fit and choose the classifier of one level on ``data`` (``item_id, _scaled, _paths,
    _valid``); None when the level has too few photos or classes."""
    rows = data.filter(F.size(PATHS) > depth).withColumn("_class", F.col(PATHS)[depth])
    counts = {r[0]: int(r[1]) for r in rows.groupBy("_class").count().collect()}  # classes
    classes = sorted(c for c, n in counts.items() if n >= cfg.min_class_items)
    if len(classes) < 2 or sum(counts[c] for c in classes) < cfg.min_train_items:
        return None
    index = F.create_map(*[x for i, c in enumerate(classes) for x in (F.lit(c), F.lit(float(i)))])
    rows = rows.filter(F.col("_class").isin(classes)).withColumn(LABEL, index[F.col("_class")])
    train, valid = rows.filter(~F.col(VALID)), rows.filter(F.col(VALID))
    train_counts = {r[0]: int(r[1]) for r in train.groupBy(LABEL).count().collect()}
    if not train_counts or valid.isEmpty():
        return None
    majority = int(max(sorted(train_counts), key=lambda c: train_counts[c]))
    base = valid.select(LABEL, F.lit(float(majority)).alias("prediction"))
    base_acc, base_f1 = _accuracy(base)
    scores: dict[str, tuple[float, float, Any, str, float]] = {}
    for kind in cfg.models:
        for reg in cfg.reg_params if kind == "lr" else [0.0]:
            name = f"{kind}" if kind == "mlp" else f"lr_reg{reg:g}"
            model = without_summary(
                _estimator(kind, reg, dim, len(classes), cfg, SCALED).fit(train)
            )
            acc, f1 = _accuracy(model.transform(valid))
            scores[name] = (acc, f1, model, kind, reg)
            on_fit(depth, name, acc)
    choice = choose(
        f"category level {depth + 1}", "accuracy",
        {n: v[0] for n, v in scores.items()}, {N.B_MAJORITY: base_acc},
    )  # fmt: skip
    if not choice.model_won:
        return Level(
            depth, classes, N.B_MAJORITY, None, majority, base_acc, base_f1, base_acc, base_f1
        )
    acc, f1, model, kind, reg = scores[choice.published]
    valid_model = model
    if cfg.refit:
        model = without_summary(_estimator(kind, reg, dim, len(classes), cfg, SCALED).fit(rows))
    return Level(
        depth, classes, choice.published, model, majority, acc, f1, base_acc, base_f1, valid_model
    )


def level_probabilities(level: Level) -> Any:
    """The level's class probabilities (``_prob<depth>``, or the majority class) as an
    ``array<double>`` column."""
    if level.model is None:
        k = len(level.classes)
        return F.array(*[F.lit(1.0 if i == level.majority else 0.0) for i in range(k)])
    return vector_to_array(F.col(f"_prob{level.depth}"))


def title_pipeline(df: DataFrame, cfg: ImagesConfig):
    """TF-IDF of the title's words (fitted on ``df``)."""
    from pyspark.ml import Pipeline

    return Pipeline(
        stages=[
            RegexTokenizer(
                inputCol=N.TITLE, outputCol="_words", pattern=r"[^\p{L}\p{N}]+", minTokenLength=2
            ),
            HashingTF(inputCol="_words", outputCol="_tf", numFeatures=1 << 16),
            IDF(inputCol="_tf", outputCol=TITLE_FEATURES, minDocFreq=2),
        ]
    ).fit(df)


# ----------------------------------------------------------------------------- the job
def build(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, as_of: dt.date
) -> dict[str, Any]:
    """Photos -> features -> per-level classifiers -> tags, neighbours and metrics."""
    cfg = config.images
    result: dict[str, Any] = {"as_of": as_of.isoformat()}
    version = new_model_version(N.M_IMAGES, as_of)
    result["model_version"] = version
    dataset = PurePath(str(lh.config.root).rstrip("/")).name or "lakehouse"
    products = (
        lh.read(SILVER[N.PRODUCTS])
        .filter(F.col(N.IMAGE).isNotNull())
        .select(N.ITEM_ID, N.IMAGE, N.TITLE, N.CATEGORY)
    )
    with ctx.stage("images: photos -> features") as st:
        counts, current = update_features(spark, lh, ctx, products, cfg)
        st.update(**counts)
    result["photos"] = counts
    key = spec_key(feature_spec(cfg))
    feats = (
        lh.read(IMAGE_FEATURES)
        .filter(F.col("feature_spec") == key)
        .drop(N.IMAGE)
        .join(current, [N.ITEM_ID, N.CHECKSUM])  # only photos still there, same bytes
        .join(products, [N.ITEM_ID, N.IMAGE])
        .select(
            N.ITEM_ID,
            N.TITLE,
            N.CATEGORY,
            N.COLOURS,
            array_to_vector(N.VECTOR).alias(FEATURES),
            K.level_paths(F.col(N.CATEGORY), cfg.levels).alias(PATHS),
            (
                (F.abs(F.xxhash64(F.col(N.ITEM_ID), F.lit(cfg.seed))) % 10000)
                < int(cfg.validation_share * 10000)
            ).alias(VALID),
        )  # fmt: skip
        .repartition(task_slots(spark), N.ITEM_ID)
    )
    with ctx.stage("images: standardise") as st:
        scaler = StandardScaler(
            inputCol=FEATURES, outputCol=SCALED, withMean=True, withStd=True
        ).fit(feats)
        data = scaler.transform(feats).drop(FEATURES).localCheckpoint(eager=True)
        n_photos = data.count()
        dim = len(scaler.mean)
        st.update(photos=n_photos, dims=dim)
    ctx.rows_in += n_photos
    if n_photos == 0:
        result["skipped"] = "no readable photo"
        log.info("[images] skipped: no readable photo")
        return result
    levels: list[Level] = []
    with ctx.stage("images: classifiers") as st:
        for depth in range(cfg.levels):
            lvl = learn_level(
                data, depth, dim, cfg,
                on_fit=lambda d, n, a: log.info("[images]   level %d %-12s validation accuracy %.4f", d + 1, n, a),
            )  # fmt: skip
            if lvl is None:
                break
            levels.append(lvl)
            log.info(
                "[images] level %d: %d classes, published %s (accuracy %.4f, majority %.4f)",
                depth + 1, len(lvl.classes), lvl.published, lvl.accuracy, lvl.baseline_accuracy,
            )  # fmt: skip
        st.update(levels=len(levels))
    scored = data
    for lvl in levels:
        if lvl.model is not None:
            m = lvl.model.copy()
            m.setPredictionCol(f"_pred{lvl.depth}").setProbabilityCol(f"_prob{lvl.depth}")
            m.setRawPredictionCol(f"_raw{lvl.depth}")
            scored = m.transform(scored).drop(f"_pred{lvl.depth}", f"_raw{lvl.depth}")
    probs = {f"p{lvl.depth}": level_probabilities(lvl) for lvl in levels}
    scored = scored.withColumns(probs)
    # the photo's own probabilities, kept before a title joins in: they judge whether
    # the catalogue's category disagrees with the photo
    scored = scored.withColumns({f"i{lvl.depth}": F.col(f"p{lvl.depth}") for lvl in levels})
    if cfg.disagree_folds >= 2 and levels:
        with ctx.stage("images: out-of-fold photo probabilities") as st:
            scored = _out_of_fold(scored, levels, dim, cfg)
            st.update(folds=cfg.disagree_folds)
    if cfg.use_title and levels:
        with ctx.stage("images: titles") as st:
            scored, titled = _with_titles(scored, levels, cfg)
            st.update(titled_levels=titled)
    metrics: list[Metric] = []
    for lvl in levels:
        model = f"{N.M_IMAGES}_level{lvl.depth + 1}"
        where = f"{dataset} level={lvl.depth + 1}"
        metrics += [
            Metric(model, version, "accuracy", lvl.accuracy, where, as_of, N.SPLIT_VALIDATION, None, N.B_MAJORITY, lvl.baseline_accuracy),
            Metric(model, version, "macro_f1", lvl.macro_f1, where, as_of, N.SPLIT_VALIDATION, None, N.B_MAJORITY, lvl.baseline_macro_f1),
        ]  # fmt: skip
        if lvl.title_accuracy is not None:
            metrics.append(
                Metric(f"{model}_image+title", version, "accuracy", lvl.title_accuracy, where, as_of,
                       N.SPLIT_VALIDATION, None, f"{model}_image", lvl.image_accuracy_titled)
            )  # fmt: skip
        choice = choose(
            f"category level {lvl.depth + 1}", "accuracy",
            {lvl.published: lvl.accuracy} if lvl.model is not None else {},
            {N.B_MAJORITY: lvl.baseline_accuracy},
        )  # fmt: skip
        metrics += choice.metrics(version, dataset, as_of, N.SPLIT_VALIDATION)
    table = K.PathTable.build(
        [
            r[0] for r in data.select(PATHS).filter(F.size(PATHS) > 0).distinct().collect()
        ],  # paths: small
        [lvl.classes for lvl in levels],
    )
    with ctx.stage("images: tag + publish") as st:
        tags = _tags(scored, levels, table, cfg).localCheckpoint(eager=True)
        given = _given_probability(scored, levels)
        out = tags.join(given, N.ITEM_ID, "left").select(
            N.ITEM_ID,
            N.CATEGORY,
            N.LEVEL_CONFIDENCES,
            N.COLOURS,
            F.col("_given").alias(N.GIVEN_CATEGORY),
            (
                F.col("_given_path").isNotNull()
                & ~F.col("_photo_agrees")
                & (F.col("_photo_top") >= cfg.disagree_confidence)
                & (F.coalesce(F.col("_given_p"), F.lit(0.0)) < cfg.disagree_given_max)
            ).alias(N.CATEGORY_DISAGREES),
            F.when(F.col("_titled"), F.lit("image+title"))
            .otherwise(F.lit("image"))
            .alias(N.CATEGORY_SOURCE),
        )
        n_tags = publish(lh, with_gold_columns(out, version, as_of), PRODUCT_IMAGE_TAGS)
        disagree = lh.read(PRODUCT_IMAGE_TAGS).filter(N.CATEGORY_DISAGREES).count()
        st.update(rows=n_tags, disagreements=disagree)
    with ctx.stage("images: neighbours") as st:
        nb = top_k_cosine(
            tags.select(N.ITEM_ID, "embedding"),
            cfg.top_k,
            vector_col="embedding",
            block_rows=cfg.block_rows,
        )
        n_nb = publish(lh, with_gold_columns(nb, version, as_of), VISUALLY_SIMILAR)
        st.update(rows=n_nb)
    if levels:
        p_at_k, chance = _neighbour_precision(lh, data, levels[-1].depth)
        metrics.append(
            Metric(f"{N.M_IMAGES}_neighbours", version, "precision", p_at_k, f"{dataset} level={levels[-1].depth + 1}",
                   as_of, N.SPLIT_VALIDATION, cfg.top_k, "same_category_chance", chance)
        )  # fmt: skip
    path = model_path(lh, N.M_IMAGES, version)
    scaler.write().overwrite().save(f"{path}/scaler")
    for lvl in levels:
        if lvl.model is not None:
            lvl.model.write().overwrite().save(f"{path}/level{lvl.depth + 1}")
    tags.select(N.ITEM_ID, "embedding").write.format("delta").mode("overwrite").save(
        f"{path}/embeddings"
    )
    with open_text(spark, f"{path}/paths.json") as write:
        write(json.dumps({"names": table.names, "index": table.index.tolist(),
                          "classes": [lvl.classes for lvl in levels],
                          "majority": [lvl.majority for lvl in levels],
                          "published": [lvl.published for lvl in levels],
                          "probability_weight": cfg.probability_weight,
                          "feature_spec": key}))  # fmt: skip
    write_metrics(lh, ctx.run_id, metrics)
    ctx.rows_out += n_tags + n_nb
    result.update(
        tags=n_tags,
        neighbours=n_nb,
        disagreements=disagree,
        levels={lvl.depth + 1: {"classes": len(lvl.classes), "published": lvl.published,
                                "accuracy": round(lvl.accuracy, 4), "majority": round(lvl.baseline_accuracy, 4)}
                for lvl in levels},
    )  # fmt: skip
    if levels:
        result["neighbour_precision"] = round(p_at_k, 4)
    return result


@contextmanager
def open_text(spark: SparkSession, path: str):
    """Write one small text file through Hadoop's file system (any URI)."""
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    hp = jvm.org.apache.hadoop.fs.Path(path)
    out = hp.getFileSystem(conf).create(hp, True)
    try:
        yield lambda text: out.write(bytearray(text.encode()))
    finally:
        out.close()


def _with_titles(
    scored: DataFrame, levels: list[Level], cfg: ImagesConfig
) -> tuple[DataFrame, int]:
    """Products with a title: each level's photo probabilities times a title model's
    (renormalised), where the title model beats the photo alone on the validation split's
    titled products. Adds ``_titled``."""
    has_title = F.col(N.TITLE).isNotNull() & (F.length(F.trim(N.TITLE)) > 0)
    titled = scored.filter(has_title)
    if titled.isEmpty():
        return scored.withColumn("_titled", F.lit(False)), 0
    tf = title_pipeline(titled, cfg)
    scored = tf.transform(scored.withColumn(N.TITLE, F.coalesce(F.col(N.TITLE), F.lit(""))))
    used = 0
    for lvl in levels:
        d = lvl.depth
        index = F.create_map(
            *[x for i, c in enumerate(lvl.classes) for x in (F.lit(c), F.lit(float(i)))]
        )
        rows = (
            scored.filter(has_title & (F.size(PATHS) > d))
            .withColumn(LABEL, index[F.col(PATHS)[d]])
            .filter(F.col(LABEL).isNotNull())
        )
        train, valid = rows.filter(~F.col(VALID)), rows.filter(F.col(VALID))
        if lvl.valid_model is None or train.isEmpty() or valid.isEmpty():
            continue
        lr = LogisticRegression(
            featuresCol=TITLE_FEATURES, labelCol=LABEL, regParam=0.001, maxIter=cfg.title_max_iter, family="multinomial",
            probabilityCol="_tprob", predictionCol="_tpred", rawPredictionCol="_traw",
        )  # fmt: skip
        # the title model is judged on photos it and the photo model did not train on
        tm = without_summary(lr.fit(train))
        k = len(lvl.classes)
        # the photo's probabilities from the model fitted without the validation split
        vm = lvl.valid_model.copy()
        vm.setProbabilityCol("_vprob").setPredictionCol("_vpred").setRawPredictionCol("_vraw")
        v = vm.transform(tm.transform(valid)).withColumn("_img", vector_to_array("_vprob"))
        prod = F.zip_with(F.col("_img"), _padded(vector_to_array("_tprob"), k), lambda a, b: a * b)
        v = v.withColumn("_c", prod)
        hit = lambda c: (F.array_position(c, F.array_max(c)) - 1 == F.col(LABEL)).cast("double")  # noqa: E731
        img_acc, both_acc = v.agg(F.avg(hit("_img")), F.avg(hit("_c"))).first()
        lvl.image_accuracy_titled, lvl.title_accuracy = float(img_acc), float(both_acc)
        log.info(
            "[images]   level %d titled validation: photo %.4f, photo+title %.4f",
            d + 1,
            img_acc,
            both_acc,
        )
        if both_acc <= img_acc:
            continue
        tm = without_summary(lr.fit(rows)) if cfg.refit else tm
        lvl.title_model = tm
        used += 1
        scored = tm.transform(scored).drop("_tpred", "_traw")
        prod = F.zip_with(F.col(f"p{d}"), _padded(vector_to_array("_tprob"), k), lambda a, b: a * b)
        scored = scored.withColumn(
            f"p{d}", F.when(has_title, _normalised(prod)).otherwise(F.col(f"p{d}"))
        )
        scored = scored.drop("_tprob")
    return scored.withColumn("_titled", has_title & F.lit(used > 0)), used


def _out_of_fold(scored: DataFrame, levels: list[Level], dim: int, cfg: ImagesConfig) -> DataFrame:
    """Each categorised product's photo probabilities (``o<d>``) from a model of the same
    kind fitted without its fold (``images.disagree_folds`` folds by a seeded hash): the
    refitted model has seen the product with its given category, so only these can say
    that the photo disagrees with it."""
    folds = cfg.disagree_folds
    fold = F.abs(F.xxhash64(F.col(N.ITEM_ID), F.lit(cfg.seed + 1))) % folds
    scored = scored.withColumn("_fold", fold)
    for lvl in levels:
        d = lvl.depth
        if lvl.model is None:
            scored = scored.withColumn(f"o{d}", F.col(f"i{d}"))
            continue
        kind = "mlp" if lvl.published.startswith("mlp") else "lr"
        reg = float(lvl.published[len("lr_reg") :]) if kind == "lr" else 0.0
        index = F.create_map(
            *[x for i, c in enumerate(lvl.classes) for x in (F.lit(c), F.lit(float(i)))]
        )
        rows = scored.filter(F.size(PATHS) > d).withColumn(LABEL, index[F.col(PATHS)[d]])
        rows = rows.filter(F.col(LABEL).isNotNull())
        parts = []
        for f in range(folds):
            model = _estimator(kind, reg, dim, len(lvl.classes), cfg, SCALED)
            model = without_summary(model.fit(rows.filter(F.col("_fold") != f)))
            model = (
                model.setProbabilityCol("_oprob")
                .setPredictionCol("_opred")
                .setRawPredictionCol("_oraw")
            )
            held = model.transform(scored.filter(F.col("_fold") == f).select(N.ITEM_ID, SCALED))
            parts.append(
                held.select(
                    N.ITEM_ID, _padded(vector_to_array("_oprob"), len(lvl.classes)).alias(f"o{d}")
                )
            )
        oof = parts[0]
        for p in parts[1:]:
            oof = oof.unionByName(p)
        scored = scored.join(oof, N.ITEM_ID, "left")
    return scored.drop("_fold")


def _normalised(arr):
    """Probabilities rescaled to sum to one (unchanged when they sum to zero)."""
    total = F.aggregate(arr, F.lit(0.0), lambda acc, x: acc + x)
    return F.when(total > 0, F.transform(arr, lambda x: x / total)).otherwise(arr)


def _padded(arr, k: int):
    """A probability array padded with zeros to ``k`` classes (a title model's label space
    may be shorter when the last classes have no titled product)."""
    return F.concat(arr, F.array_repeat(F.lit(0.0), F.greatest(F.lit(0), F.lit(k) - F.size(arr))))


def _tags(
    scored: DataFrame, levels: list[Level], table: K.PathTable, cfg: ImagesConfig
) -> DataFrame:
    n_levels = len(levels)
    weight = cfg.probability_weight
    cols = [
        N.ITEM_ID,
        vector_to_array(SCALED).alias("scaled"),
        *[f"p{lvl.depth}" for lvl in levels],
    ]
    if levels:  # neighbours look at the photo alone, never at the title
        cols.append(F.col(f"i{levels[-1].depth}").alias("photo_p"))
    if not levels:  # nothing learned: pixels only

        def run0(batches):
            for b in batches:
                emb = K.unit(np.stack(b["scaled"].to_numpy())).astype(np.float32)
                yield b.assign(
                    category=None,
                    level_confidences=[[] for _ in range(len(b))],
                    embedding=list(emb),
                )[["item_id", "category", "level_confidences", "embedding"]]

        tags = scored.select(*cols).mapInPandas(run0, K.TAG_OUTPUT_DDL)
    else:

        def run(batches):
            for b in batches:
                yield K.tag_frame(b, table, n_levels, weight)

        tags = scored.select(*cols).mapInPandas(run, K.TAG_OUTPUT_DDL)
    return tags.join(
        scored.select(
            N.ITEM_ID,
            N.COLOURS,
            "_titled" if "_titled" in scored.columns else F.lit(False).alias("_titled"),
        ),
        N.ITEM_ID,
    )


def _given_probability(scored: DataFrame, levels: list[Level]) -> DataFrame:
    """``item_id, _given, _given_path, _given_p, _photo_top, _photo_agrees``: the product's
    own category, its deepest learned prefix, that prefix's probability from the photo
    alone (the title left out), the photo's top probability at that level and whether the
    photo's top class is the given one (NULL / true when no level of it is learned)."""
    path = F.lit(None).cast("string")
    given_p = F.lit(None).cast("double")
    top = F.lit(None).cast("double")
    agrees = F.lit(True)
    for lvl in levels:  # the deepest level whose class is learned wins
        d = lvl.depth
        index = F.create_map(
            *[x for i, c in enumerate(lvl.classes) for x in (F.lit(c), F.lit(i + 1))]
        )
        pos = index[F.col(PATHS)[d]]
        known = (F.size(PATHS) > d) & pos.isNotNull()
        photo = F.col(f"o{d}") if f"o{d}" in scored.columns else F.col(f"i{d}")
        path = F.when(known, F.col(PATHS)[d]).otherwise(path)
        given_p = F.when(known, F.element_at(photo, pos)).otherwise(given_p)
        top = F.when(known, F.array_max(photo)).otherwise(top)
        agrees = F.when(known, F.array_position(photo, F.array_max(photo)) == pos).otherwise(agrees)
    return scored.select(
        N.ITEM_ID,
        F.col(N.CATEGORY).alias("_given"),
        path.alias("_given_path"),
        given_p.alias("_given_p"),
        top.alias("_photo_top"),
        agrees.alias("_photo_agrees"),
    )


def _neighbour_precision(lh: Lakehouse, data: DataFrame, depth: int) -> tuple[float, float]:
    """Share of neighbours with the item's own category at ``depth`` (items and
    neighbours with a category there), and the same share for random pairs."""
    cat = data.filter(F.size(PATHS) > depth).select(N.ITEM_ID, F.col(PATHS)[depth].alias("_c"))
    nb = lh.read(VISUALLY_SIMILAR).select(N.ITEM_ID, N.SIMILAR_ITEM_ID)
    pairs = nb.join(cat, N.ITEM_ID).join(
        cat.select(F.col(N.ITEM_ID).alias(N.SIMILAR_ITEM_ID), F.col("_c").alias("_s")),
        N.SIMILAR_ITEM_ID,
    )
    p = pairs.agg(F.avg((F.col("_c") == F.col("_s")).cast("double"))).first()[0]
    shares = cat.groupBy("_c").count()
    total = cat.count()
    chance = shares.agg(F.sum((F.col("count") / F.lit(max(total, 1))) ** 2)).first()[0]
    return float(p if p is not None else float("nan")), float(chance or 0.0)


def resolve(lh: Lakehouse, config: Config) -> dt.date:
    """``resolve_as_of``; a catalogue without any dated fact: today (UTC)."""
    try:
        return resolve_as_of(lh, config)
    except NoDataError:
        return utcnow().date()


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the images job (everything else is in the ``images`` config)."""


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    if not lh.exists(SILVER[N.PRODUCTS]):
        log.info("[images] skipped: silver has no products")
        return {"skipped": "silver has no products"}
    if lh.read(SILVER[N.PRODUCTS]).filter(F.col(N.IMAGE).isNotNull()).isEmpty():
        log.info("[images] skipped: no product has an image")
        return {"skipped": "no product has an image"}
    as_of = resolve(lh, config)
    result = build(spark, config, lh, ctx, as_of)
    log.info("[images] %s", {k: v for k, v in result.items() if k != "model_version"})
    return result


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("images", __doc__, add_arguments, run, argv)
