"""Intent classification helpers in Spark: label indexing, top-class scores and the keyword
baseline.

* Intents (lower-case strings) are indexed alphabetically (:func:`intent_index`), a small
  driver-side list (one entry per intent).
* :func:`top_two` reads the best and second-best class scores of a scored frame;
  ``confidence`` is a Platt map of their gap fitted on the validation split (the
  probability that the top intent is right), see ``lakecart.jobs.support``.
* **Keyword baseline** (:func:`keyword_rules`, :func:`keyword_predict`): from the training
  messages, each intent's ``k`` most specific words (highest share of the word's messages
  that carry the intent, then most messages; words in fewer than 3 messages are ignored);
  a message gets the intent with the most keyword hits, ties and messages without a hit
  going to the most frequent intent. Stop words are not keywords.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart.text.tokens import STOP_WORDS, TOKEN_PATTERN

MIN_KEYWORD_MESSAGES = 3


def intent_index(intents: list[str]) -> Column:
    """A map literal intent -> index (double), intents sorted."""
    pairs = [x for i, name in enumerate(sorted(intents)) for x in (F.lit(name), F.lit(float(i)))]
    return F.create_map(*pairs)


def index_intent(intents: list[str]) -> Column:
    """A map literal index (double) -> intent, intents sorted."""
    pairs = [x for i, name in enumerate(sorted(intents)) for x in (F.lit(float(i)), F.lit(name))]
    return F.create_map(*pairs)


def top_two(scores: Column) -> tuple[Column, Column]:
    """The largest and second-largest values of an array<double> column."""
    s = F.sort_array(scores, asc=False)
    return s[0], F.coalesce(s[1], s[0])


def distinct_words(text: Column) -> Column:
    """Distinct lower-case tokens of ``text`` that are not stop words."""
    toks = F.regexp_extract_all(F.lower(text), F.lit(TOKEN_PATTERN), 0)
    stop = F.array(*[F.lit(w) for w in STOP_WORDS])
    return F.array_distinct(F.filter(toks, lambda t: ~F.array_contains(stop, t)))


def keyword_rules(train: DataFrame, text: str, intent: str, k: int) -> DataFrame:
    """``word, intent`` rows: each intent's ``k`` most specific words (module docstring)."""
    words = train.select(F.col(intent), F.explode(distinct_words(F.col(text))).alias("word"))
    per = words.groupBy("word", intent).agg(F.count(F.lit(1)).alias("n"))
    total = Window.partitionBy("word")
    ranked = per.withColumn("_total", F.sum("n").over(total)).filter(
        F.col("_total") >= MIN_KEYWORD_MESSAGES
    )
    ranked = ranked.withColumn("_precision", F.col("n") / F.col("_total"))
    w = Window.partitionBy(intent).orderBy(F.desc("_precision"), F.desc("n"), F.asc("word"))
    return (
        ranked.withColumn("_rank", F.row_number().over(w))
        .filter(F.col("_rank") <= k)
        .select("word", intent)
    )


def keyword_predict(
    df: DataFrame, id_col: str, text: str, rules: DataFrame, intent: str, fallback: str
) -> DataFrame:
    """``id_col, keyword_intent``: the intent with the most keyword hits per message
    (``fallback`` when none; ties to ``fallback`` when it is among them, else the
    alphabetically first)."""
    hits = (
        df.select(id_col, F.explode(distinct_words(F.col(text))).alias("word"))
        .join(F.broadcast(rules), "word")
        .groupBy(id_col, intent)
        .agg(F.count(F.lit(1)).alias("_hits"))
    )
    w = Window.partitionBy(id_col).orderBy(
        F.desc("_hits"), F.desc(F.col(intent) == F.lit(fallback)), F.asc(intent)
    )
    best = (
        hits.withColumn("_r", F.row_number().over(w))
        .filter(F.col("_r") == 1)
        .select(id_col, F.col(intent).alias("keyword_intent"))
    )
    return (
        df.select(id_col)
        .join(best, id_col, "left")
        .select(id_col, F.coalesce("keyword_intent", F.lit(fallback)).alias("keyword_intent"))
    )


def most_frequent(df: DataFrame, intent: str) -> str:
    """The most frequent intent (ties: alphabetical)."""
    r = df.groupBy(intent).count().orderBy(F.desc("count"), F.asc(intent)).first()
    return str(r[intent]) if r else ""
