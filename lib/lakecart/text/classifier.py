"""Linear text classifiers in MLlib, shared by ``sentiment`` and ``support``.

The feature pipeline (:func:`feature_pipeline`, an MLlib ``Pipeline`` fitted on training
rows only) turns a document into one sparse vector, the concatenation of L2-normalised
TF-IDF blocks:

* **words**: ``RegexTokenizer`` (:data:`lakecart.text.tokens.TOKEN_PATTERN`, lower case),
  ``StopWordsRemover`` (:data:`~lakecart.text.tokens.STOP_WORDS`: negations kept), word
  1..n-grams (``NGram``), ``CountVectorizer`` (terms in at least ``min_df`` training
  documents; the vocabulary maps the linear model's weights back to terms), ``IDF``;
* **title words** (optional, sentiment): the same on the title alone, so the model can
  weigh a review's title on its own (on Women's reviews a separate title block lifted the
  validation AUC by about 0.002 over the title merged into the text);
* **characters** (optional): the lower-cased text with its whitespace collapsed and a space
  at each end (:func:`~lakecart.text.tokens.char_text_sql`), split into characters
  (``RegexTokenizer``) and joined into character n-grams by ``NGram`` (the characters of a
  gram separated by a space), hashed into ``2^hash_bits`` buckets (``HashingTF``), ``IDF``.
  They make the model robust to misspellings and run-on words. (Cutting the grams with a
  Spark SQL ``transform(sequence(...))`` instead cost 35 ms per review: higher-order
  functions are interpreted, ``NGram`` is compiled Scala.)

Models (:class:`Candidate`): ``LogisticRegression`` or ``LinearSVC`` (one-vs-rest for more
than two classes), L2-regularised, without feature standardisation (the blocks are
already normalised), with class weights ``n / (classes x n_class)`` when balancing. The
strength is given as scikit-learn's ``C``: ``regParam = 1 / (C x sum of weights)``, so the
same grid means the same thing on 500 or 5 million rows. Every candidate is fitted on the
training split and the best on the validation split wins (:func:`choose`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pyspark import StorageLevel
from pyspark.ml import Pipeline, PipelineModel
from pyspark.ml.classification import (
    LinearSVC,
    LogisticRegression,
    OneVsRest,
)
from pyspark.ml.evaluation import BinaryClassificationEvaluator
from pyspark.ml.feature import (
    IDF,
    CountVectorizer,
    HashingTF,
    NGram,
    Normalizer,
    RegexTokenizer,
    SQLTransformer,
    StopWordsRemover,
    VectorAssembler,
)
from pyspark.ml.functions import vector_to_array
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart.ml import without_summary
from lakecart.text.tokens import STOP_WORDS, TOKEN_PATTERN, char_text_sql
from lakecart.threads import map_in_threads

log = logging.getLogger("lakecart")

DOC = "_doc"  # the document a classifier reads (title . text)
TITLE_DOC = "_title_doc"  # the title alone (sentiment's title block)
TERMS = "_terms"  # word 1..n-grams of DOC after stop words (kept: top terms)
FEATURES = "_features"
LABEL = "_label"  # class index (double)
WEIGHT = "_weight"
MARGIN = "_margin"  # binary: the linear model's margin for class 1
SCORES = "_scores"  # multiclass: one score per class (array<double>)
PREDICTION = "_prediction"

LR = "lr"
SVC = "svc"
KINDS = (LR, SVC)


@dataclass(frozen=True)
class FeatureSpec:
    """What the feature pipeline builds.

    Attributes:
        word_ngrams: Largest word n-gram (1 = words only).
        char_ngrams: ``(n_min, n_max)`` of the character n-grams, or None for none.
        min_df: A word n-gram enters the vocabulary when it is in at least this many
            training documents (>= 1), or this share of them (< 1).
        vocab_size: Largest vocabulary (most frequent terms first).
        hash_bits: Character n-grams are hashed into ``2^hash_bits`` buckets.
        title_block: Add the title-only word block (needs :data:`TITLE_DOC`).
    """

    word_ngrams: int = 2
    char_ngrams: tuple[int, int] | None = (2, 5)
    min_df: float = 2.0
    vocab_size: int = 1 << 18
    hash_bits: int = 18
    title_block: bool = False


def _word_stages(src: str, prefix: str, spec: FeatureSpec, terms_col: str) -> list[Any]:
    tok, words = f"_{prefix}_tok", f"_{prefix}_words"
    stages: list[Any] = [
        RegexTokenizer(
            inputCol=src,
            outputCol=tok,
            pattern=TOKEN_PATTERN,
            gaps=False,
            toLowercase=True,
            minTokenLength=1,
        ),
        StopWordsRemover(
            inputCol=tok, outputCol=words, stopWords=list(STOP_WORDS), caseSensitive=False
        ),
    ]
    grams = [words]
    for n in range(2, spec.word_ngrams + 1):
        stages.append(NGram(n=n, inputCol=words, outputCol=f"_{prefix}_ng{n}"))
        grams.append(f"_{prefix}_ng{n}")
    joined = ", ".join(f"`{g}`" for g in grams)
    stages.append(
        SQLTransformer(statement=f"SELECT *, concat({joined}) AS `{terms_col}` FROM __THIS__")
    )
    stages += [
        CountVectorizer(
            inputCol=terms_col,
            outputCol=f"_{prefix}_tf",
            minDF=float(spec.min_df),
            vocabSize=int(spec.vocab_size),
        ),
        IDF(inputCol=f"_{prefix}_tf", outputCol=f"_{prefix}_idf"),
        Normalizer(inputCol=f"_{prefix}_idf", outputCol=f"_{prefix}_vec", p=2.0),
    ]
    return stages


def feature_pipeline(spec: FeatureSpec) -> Pipeline:
    """The unfitted feature pipeline: :data:`DOC` (and :data:`TITLE_DOC`) -> :data:`FEATURES`.

    The word block comes first in the assembled vector, so feature ``i`` for ``i`` below
    the vocabulary size is the word term ``vocabulary[i]`` (see :func:`word_vocabulary`).
    """
    stages = _word_stages(DOC, "w", spec, TERMS)
    blocks = ["_w_vec"]
    if spec.title_block:
        stages += _word_stages(TITLE_DOC, "t", spec, "_t_terms")
        blocks.append("_t_vec")
    if spec.char_ngrams:
        lo, hi = spec.char_ngrams
        stages += [
            SQLTransformer(statement=f"SELECT *, {char_text_sql(DOC)} AS `_c_text` FROM __THIS__"),
            RegexTokenizer(
                inputCol="_c_text",
                outputCol="_c_chars",
                pattern="(?s).",
                gaps=False,
                toLowercase=False,
                minTokenLength=1,
            ),
            *[NGram(n=n, inputCol="_c_chars", outputCol=f"_c_ng{n}") for n in range(lo, hi + 1)],
            SQLTransformer(
                statement="SELECT *, concat("
                + ", ".join(f"`_c_ng{n}`" for n in range(lo, hi + 1))
                + ") AS `_c_grams` FROM __THIS__"
            ),
            HashingTF(inputCol="_c_grams", outputCol="_c_tf", numFeatures=1 << spec.hash_bits),
            IDF(inputCol="_c_tf", outputCol="_c_idf"),
            Normalizer(inputCol="_c_idf", outputCol="_c_vec", p=2.0),
        ]
        blocks.append("_c_vec")
    stages.append(VectorAssembler(inputCols=blocks, outputCol=FEATURES))
    return Pipeline(stages=stages)


def word_vocabulary(model: PipelineModel) -> list[str]:
    """The word block's vocabulary (the first ``CountVectorizer`` of the fitted pipeline)."""
    for stage in model.stages:
        if hasattr(stage, "vocabulary"):
            return list(stage.vocabulary)
    raise ValueError("the feature pipeline has no CountVectorizer")


def featurise(model: PipelineModel, df: DataFrame, keep: Sequence[str]) -> DataFrame:
    """``df``'s ``keep`` columns with :data:`FEATURES` (and :data:`TERMS` when kept)."""
    out = model.transform(df)
    return out.select(*keep, FEATURES)


@dataclass(frozen=True)
class Candidate:
    """One model configuration: ``lr`` or ``svc`` with scikit-learn's ``C``."""

    kind: str
    c: float

    @property
    def name(self) -> str:
        """``lr_C3`` style label (for logs and metrics)."""
        return f"{self.kind}_C{self.c:g}"

    def estimator(self, weight_sum: float, classes: int, max_iter: int) -> Any:
        """The MLlib estimator (``regParam = 1 / (C x weight_sum)``)."""
        reg = 1.0 / (self.c * max(weight_sum, 1.0))
        common = dict(
            featuresCol=FEATURES,
            labelCol=LABEL,
            weightCol=WEIGHT,
            regParam=reg,
            maxIter=max_iter,
            standardization=False,
            fitIntercept=True,
        )
        if self.kind == LR:
            return LogisticRegression(
                family="binomial" if classes == 2 else "multinomial",
                elasticNetParam=0.0,
                tol=1e-6,
                **common,
            )
        if self.kind == SVC:
            svc = LinearSVC(tol=1e-6, **common)
            if classes == 2:
                return svc
            # one-vs-rest: class weights stay as given (the rest is the majority anyway)
            return OneVsRest(classifier=svc, featuresCol=FEATURES, labelCol=LABEL, weightCol=WEIGHT)
        raise ValueError(f"unknown model kind {self.kind!r} (expected {', '.join(KINDS)})")


def candidates(kinds: Sequence[str], cs: Sequence[float]) -> list[Candidate]:
    """Every (kind, C) pair, kinds first."""
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"unknown model kinds {bad} (expected {', '.join(KINDS)})")
    return [Candidate(k, float(c)) for k in kinds for c in cs]


def fit(candidate: Candidate, train: DataFrame, classes: int, max_iter: int) -> Any:
    """Fit one candidate on ``train`` (:data:`FEATURES`, :data:`LABEL`, :data:`WEIGHT`)."""
    weight_sum = float(train.agg(F.sum(WEIGHT)).first()[0] or 0.0)
    model = candidate.estimator(weight_sum, classes, max_iter).fit(train)
    return without_summary(model)


def scored(model: Any, df: DataFrame, classes: int) -> DataFrame:
    """``df`` with :data:`MARGIN` (binary) or :data:`SCORES` (one score per class) and
    :data:`PREDICTION` (class index), model output columns dropped.

    Binary: the margin ``w.x + b`` of class 1 (LR: its log-odds). Multiclass LR: class
    log-probabilities; one-vs-rest SVC: each class's margin.
    """
    out = model.transform(df)
    raw = vector_to_array(F.col("rawPrediction"))
    if classes == 2:
        out = out.withColumn(MARGIN, raw[1])
    elif "probability" in out.columns:
        out = out.withColumn(
            SCORES, F.transform(vector_to_array(F.col("probability")), lambda p: F.log(p))
        )
    else:
        out = out.withColumn(SCORES, raw)
    out = out.withColumn(PREDICTION, F.col("prediction"))
    return out.drop("rawPrediction", "probability", "prediction")


def balanced_weights(df: DataFrame, label: str, balance: bool) -> tuple[DataFrame, dict]:
    """``df`` with :data:`WEIGHT`: ``n / (k x n_class)`` (or 1) and the class counts."""
    counts = {r[0]: int(r[1]) for r in df.groupBy(label).count().collect()}  # classes: small
    n, k = sum(counts.values()), len(counts)
    if not balance or k == 0:
        return df.withColumn(WEIGHT, F.lit(1.0)), counts
    w = F.create_map(*[x for c, m in counts.items() for x in (F.lit(c), F.lit(n / (k * m)))])
    return df.withColumn(WEIGHT, w[F.col(label)]), counts


def binary_auc(df: DataFrame, score: str, label: str = LABEL) -> float:
    """ROC-AUC of ``score`` for ``label`` (0/1) (MLlib's evaluator)."""
    ev = BinaryClassificationEvaluator(
        rawPredictionCol=score, labelCol=label, metricName="areaUnderROC"
    )
    return float(ev.evaluate(df.select(F.col(score).cast("double"), F.col(label).cast("double"))))


def macro_f1(confusion: dict[tuple[Any, Any], int], labels: Sequence[Any] | None = None) -> float:
    """Macro-averaged F1 from ``{(true, predicted): count}`` over ``labels`` (default:
    every class that occurs as a true label). A class never predicted and never true is
    left out; a true class never predicted scores 0."""
    classes = list(labels) if labels is not None else sorted({t for t, _ in confusion})
    f1s = []
    for c in classes:
        tp = confusion.get((c, c), 0)
        fp = sum(v for (t, p), v in confusion.items() if p == c and t != c)
        fn = sum(v for (t, p), v in confusion.items() if t == c and p != c)
        if tp + fp + fn == 0:
            continue
        f1s.append(2 * tp / (2 * tp + fp + fn))
    return float(np.mean(f1s)) if f1s else float("nan")


def confusion(df: DataFrame, truth: Column | str, predicted: Column | str) -> dict:
    """``{(true, predicted): count}`` (one aggregation; classes x classes rows)."""
    t = F.col(truth) if isinstance(truth, str) else truth
    p = F.col(predicted) if isinstance(predicted, str) else predicted
    rows = df.groupBy(t.alias("t"), p.alias("p")).count().collect()
    return {(r["t"], r["p"]): int(r["count"]) for r in rows}


@dataclass
class Choice:
    """The outcome of :func:`choose`: the winner, its fitted model and every score."""

    best: Candidate
    model: Any
    scores: dict[str, float] = field(default_factory=dict)


def choose(
    cands: Sequence[Candidate],
    train: DataFrame,
    valid: DataFrame,
    classes: int,
    max_iter: int,
    score: Callable[[DataFrame], float],
    on_fit: Callable[[Candidate, float], None] | None = None,
    parallelism: int = 1,
) -> Choice:
    """Fit every candidate on ``train`` and keep the one with the highest ``score`` of its
    :func:`scored` validation frame (the first wins ties, so list simpler models first);
    ``parallelism`` candidates are fitted at the same time (driver threads)."""

    def fit_one(cand: Candidate) -> tuple[float, Any]:
        model = fit(cand, train, classes, max_iter)
        s = score(scored(model, valid, classes))
        if on_fit is not None:
            on_fit(cand, s)
        return s, model

    best: tuple[float, Candidate, Any] | None = None
    scores: dict[str, float] = {}
    for cand, (s, model) in zip(
        cands, map_in_threads(fit_one, cands, parallelism, "text-fit"), strict=True
    ):
        scores[cand.name] = s
        if best is None or s > best[0]:
            best = (s, cand, model)
    assert best is not None, "no candidate"
    return Choice(best[1], best[2], scores)


def persisted(df: DataFrame, slots: int, *keys: str) -> DataFrame:
    """``df`` in ``slots`` partitions (hash of ``keys``), persisted and materialised."""
    out = df.repartition(slots, *keys).persist(StorageLevel.MEMORY_AND_DISK)
    out.count()
    return out


def platt(
    df: DataFrame, score: str, label: str, weight: str | None = None, reg: float = 0.0
) -> tuple[float, float]:
    """Platt scaling: ``(a, b)`` of ``P(label = 1) = sigmoid(a x score + b)``, fitted by an
    MLlib logistic regression of ``label`` on the one column ``score`` (L2 ``reg`` on ``a``
    keeps it finite when the validation rows are separable)."""
    data = df.select(
        F.array(F.col(score).cast("double")).alias("_x"),
        F.col(label).cast("double").alias("_y"),
        (F.col(weight) if weight else F.lit(1.0)).cast("double").alias("_w"),
    )
    from pyspark.ml.functions import array_to_vector

    data = data.select(array_to_vector("_x").alias("_x"), "_y", "_w")
    lr = LogisticRegression(
        featuresCol="_x", labelCol="_y", weightCol="_w", regParam=reg, standardization=False
    )
    m = without_summary(lr.fit(data))
    return float(m.coefficients[0]), float(m.intercept)


def sigmoid(col: Column, a: float, b: float) -> Column:
    """``1 / (1 + exp(-(a x col + b)))``."""
    return F.lit(1.0) / (F.lit(1.0) + F.exp(-(F.lit(a) * col + F.lit(b))))
