"""The ``sentiment`` job end to end on a small hand-built silver.reviews table."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re

import numpy as np
import pytest
from pyspark.ml import PipelineModel
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import synth_text as TX
from lakecart.gold import model_path
from lakecart.runlog import RunContext, tracked_run
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.tables import Lakehouse
from lakecart.text.classifier import word_vocabulary
from lakecart.text.specs import ITEM_SENTIMENT, REVIEW_SENTIMENT

AS_OF = dt.date(2024, 7, 1)
MARKER = "zqxvorp"  # only in reviews the model must not learn from
START = dt.datetime(2024, 1, 1)
WINDOW_START = dt.datetime.combine(AS_OF - dt.timedelta(days=90), dt.time())


def _text(rng: np.random.Generator, stars: int) -> tuple[str, str]:
    """A review whose words agree with its stars (the synthetic shop's templates)."""
    pool = {
        "POS": TX.POSITIVE_ADJECTIVES, "NEG": TX.NEGATIVE_ADJECTIVES, "NEU": TX.NEUTRAL_WORDS,
        "INT": TX.INTENSIFIERS, "PERSON": TX.PEOPLE, "WHEN": TX.WHEN, "NOUN": ("dress", "coat"),
    }  # fmt: skip
    if stars >= 4:
        templates, titles = TX.POSITIVE_TEMPLATES, TX.POSITIVE_TITLES
    elif stars <= 2:
        templates, titles = TX.NEGATIVE_TEMPLATES, TX.NEGATIVE_TITLES
    else:
        templates, titles = TX.NEUTRAL_TEMPLATES, TX.NEUTRAL_TITLES
    sentences = []
    for _ in range(2):
        t = templates[int(rng.integers(len(templates)))]
        sentences.append(
            re.sub(r"\{(\w+)\}", lambda m: pool[m.group(1)][int(rng.integers(len(pool[m.group(1)])))], t)
        )  # fmt: skip
    return titles[int(rng.integers(len(titles)))], " ".join(sentences)


def _reviews() -> list[tuple]:
    """(review_id, item_id, customer_id, rating, title, text, review_ts) rows."""
    rng = np.random.default_rng(7)
    rows = []

    def add(item, stars, ts, text=None, title=None, rated=True):
        t, x = _text(rng, stars)
        rows.append(
            (f"R{len(rows):04d}", item, f"C{len(rows) % 37}", float(stars) if rated else None,
             title if title is not None else t, text or x, ts)
        )  # fmt: skip

    def day(lo: dt.datetime, hi: dt.datetime) -> dt.datetime:
        return lo + dt.timedelta(seconds=int(rng.integers(0, int((hi - lo).total_seconds()))))

    # I1: a good history, then a burst of negative reviews in the current window -> alert
    for _ in range(30):
        add("I1", int(rng.choice([4, 5, 5, 5, 2])), day(START, WINDOW_START))
    for s in (1, 1, 2, 1, 2, 1, 5, 1, 4, 2):
        add("I1", s, day(WINDOW_START, dt.datetime(2024, 6, 30)))
    # I2..I5: steady mixes over the whole period; some undated (learnable) reviews
    for item in ("I2", "I3", "I4", "I5"):
        for _ in range(35):
            add(
                item,
                int(rng.choice([1, 2, 3, 4, 5, 5, 4, 5])),
                day(START, dt.datetime(2024, 6, 30)),
            )
        add(item, 5, None)
    # never learned from: unrated reviews, and rated ones on/after as_of, with a marker
    for i in range(4):
        add("I2", 1, dt.datetime(2024, 6, 20), text=f"{MARKER} awful {MARKER}", rated=False)
        add("I3", 1, dt.datetime(2024, 7, 2 + i), text=f"{MARKER} is the worst thing", title="")
        add("I3", 5, dt.datetime(2024, 7, 2 + i))
    add("I5", 4, None, text="The fit is not flattering but the fabric is lovely.", title="Hmm",
        rated=False)  # fmt: skip
    return rows


@pytest.fixture(scope="module")
def sentiment_lake(spark, base_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("sentiment") / "lake"
    lake_cfg = dataclasses.replace(base_config.lakehouse, root=str(root))
    cfg = dataclasses.replace(
        base_config,
        lakehouse=lake_cfg,
        run=dataclasses.replace(base_config.run, as_of=AS_OF.isoformat()),
        sentiment=dataclasses.replace(
            base_config.sentiment,
            models=["svc"],  # the support test covers lr (and the refit)
            c_values=[3.0],
            max_iter=30,
            refit=False,
            char_ngrams=[2, 3],
            hash_bits=12,
            alert_min_reviews=5,
        ),
    )
    lh = Lakehouse(spark, cfg.lakehouse)
    rows = _reviews()
    df = spark.createDataFrame(
        rows,
        "review_id string, item_id string, customer_id string, rating double, title string, "
        "text string, review_ts timestamp",
    ).withColumns(
        {
            "_source": F.lit("test"),
            "_source_file": F.lit("reviews.csv"),
            "_row_number": F.monotonically_increasing_id(),
            "_run_id": F.lit("test"),
            "_ingested_at": F.current_timestamp(),
        }
    )
    lh.append(df, SILVER[N.REVIEWS])
    from lakecart.jobs import sentiment

    with tracked_run(lh, "sentiment", {}) as ctx:
        result = sentiment.run(spark, cfg, lh, ctx, argparse.Namespace())
    return cfg, lh, rows, result, ctx.run_id


def test_every_review_is_scored(sentiment_lake):
    _, lh, rows, result, _ = sentiment_lake
    assert "skipped" not in result, result
    out = lh.read(REVIEW_SENTIMENT)
    got = out.select(N.REVIEW_ID).toPandas()[N.REVIEW_ID]
    assert sorted(got) == sorted(r[0] for r in rows)
    bad = out.filter(
        ~F.col(N.SENTIMENT).isin(N.POSITIVE, N.NEUTRAL, N.NEGATIVE)
        | (F.col(N.P_POSITIVE) < 0)
        | (F.col(N.P_POSITIVE) > 1)
    )
    assert bad.count() == 0
    lo, hi = result["thresholds"]
    assert 0 <= lo <= hi <= 1


def test_model_beats_the_baselines(sentiment_lake):
    _, lh, _, result, run_id = sentiment_lake
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == run_id).toPandas()
    val = m[m[N.SPLIT] == N.SPLIT_VALIDATION]
    auc = val[(val[N.METRIC] == "auc") & (val[N.BASELINE] == N.B_MAJORITY)]
    assert len(auc) == 1 and auc[N.VALUE].iloc[0] > 0.9 and auc[N.BASELINE_VALUE].iloc[0] == 0.5
    assert set(val[N.BASELINE]) == {N.B_MAJORITY, N.B_VADER}
    assert set(val[N.METRIC]) == {"auc", "macro_f1"}
    assert set(val[N.MODEL]) == {"sentiment_svc"}
    # rated reviews after as_of are an out-of-time holdout beside VADER
    hold = m[m[N.SPLIT] == N.SPLIT_HOLDOUT]
    assert set(hold[N.METRIC]) == {"auc", "macro_f1"} and set(hold[N.BASELINE]) == {N.B_VADER}


def test_no_rating_of_a_test_review_reaches_training(sentiment_lake):
    """The marker word occurs only in unrated reviews and in reviews rated after as_of: had
    any of them been learned from, the fitted vocabulary (terms in >= 2 training reviews)
    would hold it, and it would drive an item's terms."""
    _, lh, _, result, _ = sentiment_lake
    fmodel = PipelineModel.load(
        f"{model_path(lh, N.M_SENTIMENT, result['model_version'])}/features"
    )
    vocab = word_vocabulary(fmodel)
    assert "awful" in vocab and not any(MARKER in t for t in vocab)
    terms = lh.read(ITEM_SENTIMENT).select(
        F.explode(F.concat(N.TOP_POSITIVE_TERMS, N.TOP_NEGATIVE_TERMS)).alias("t")
    )
    assert terms.filter(F.col("t").contains(MARKER)).count() == 0


def test_item_alert_and_windows(sentiment_lake):
    _, lh, rows, _, _ = sentiment_lake
    items = lh.read(ITEM_SENTIMENT).toPandas().set_index(N.ITEM_ID)
    assert items[N.ALERT].to_dict() == {f"I{i}": i == 1 for i in range(1, 6)}
    # current window: reviews in [as_of - 90 d, as_of) plus undated ones
    end = dt.datetime.combine(AS_OF, dt.time())
    for item in items.index:
        expected = sum(
            1 for r in rows if r[1] == item and (r[6] is None or WINDOW_START <= r[6] < end)
        )
        assert items.loc[item, N.REVIEWS_COUNT] == expected
    scored = lh.read(REVIEW_SENTIMENT).toPandas().set_index(N.REVIEW_ID)
    cur = [r[0] for r in rows if r[1] == "I1" and WINDOW_START <= r[6] < end]
    share = (scored.loc[cur, N.SENTIMENT] == N.NEGATIVE).mean()
    assert items.loc["I1", N.SHARE_NEGATIVE] == pytest.approx(share)
    assert share >= 0.5
    assert len(items.loc["I1", N.TOP_NEGATIVE_TERMS]) > 0


def test_aspects_and_complaints(sentiment_lake):
    _, lh, rows, _, _ = sentiment_lake
    scored = lh.read(REVIEW_SENTIMENT).toPandas().set_index(N.REVIEW_ID)
    hand = [r[0] for r in rows if r[5].startswith("The fit is not flattering")][0]
    assert list(scored.loc[hand, N.ASPECTS]) == ["quality:positive", "size_fit:negative"]
    neg = scored[scored[N.SENTIMENT] == N.NEGATIVE]
    assert len(neg) > 0 and neg[N.COMPLAINT].all()
    pos = scored[scored[N.SENTIMENT] == N.POSITIVE]
    assert not pos[N.COMPLAINT].any()


def test_skips_without_reviews(spark, lake):
    from lakecart.jobs import sentiment

    cfg, lh = lake
    ctx = RunContext("test", "sentiment", {}, dt.datetime(2024, 1, 1))
    out = sentiment.run(spark, cfg, lh, ctx, argparse.Namespace())
    assert out["skipped"] == "silver has no reviews"
    assert not lh.exists(REVIEW_SENTIMENT)
