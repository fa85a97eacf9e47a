"""Sentiment rules without a model: tokens, aspects, thresholds and the item alert."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from lakecart import names as N
from lakecart.text.aspects import Lexicon, analyse
from lakecart.text.sentiment import (
    BEFORE_N,
    BEFORE_NEG,
    CUR_N,
    CUR_NEG,
    PREV_N,
    PREV_NEG,
    alert_table,
    binomial_sf,
    choose_thresholds,
)
from lakecart.text.tokens import STOP_WORDS, words


@pytest.fixture(scope="module")
def lexicon() -> Lexicon:
    return Lexicon.load("aspects.yaml")  # the shipped lexicon (conf/aspects.yaml)


def test_words_keep_negations_and_apostrophes():
    assert words("I DIDN'T like it… not at all! Size 8, fits well.") == [
        "i", "didn't", "like", "it", "not", "at", "all", "size", "8", "fits", "well",
    ]  # fmt: skip
    assert words("It\u2019s ok") == ["it's", "ok"]
    assert words(None) == []
    assert not {"not", "no", "never", "didn't", "but", "very", "too"} & set(STOP_WORDS)


def test_spark_tokeniser_matches_python_words(spark):
    from lakecart.text.classifier import DOC, FeatureSpec, feature_pipeline

    sentences = [
        "Runs SMALL, didn't fit; the colour isn't as pictured.",
        "Love it!!! 10/10 would buy again",
    ]
    sentences.append("Ab   C")
    df = spark.createDataFrame([(s,) for s in sentences], f"{DOC} string")
    spec = FeatureSpec(word_ngrams=2, char_ngrams=(2, 3), min_df=1.0, hash_bits=10)
    model = feature_pipeline(spec).fit(df)
    rows = model.transform(df).select("_w_tok", "_terms", "_c_grams").collect()
    for s, r in zip(sentences, rows, strict=True):
        assert r["_w_tok"] == words(s)
        kept = [w for w in words(s) if w not in STOP_WORDS]
        bigrams = [f"{a} {b}" for a, b in zip(kept, kept[1:], strict=False)]
        assert r["_terms"] == kept + bigrams
    # character grams of " ab c " (lower case, whitespace collapsed, padded): 2- then
    # 3-grams, the characters of a gram joined by a space (NGram)
    chars = list(" ab c ")
    grams = [" ".join(chars[i : i + n]) for n in (2, 3) for i in range(len(chars) - n + 1)]
    assert rows[-1]["_c_grams"] == grams


@pytest.mark.parametrize(
    "text, aspects, complaint",
    [
        ("The fit is not flattering but the fabric is lovely and soft.",
         ["quality:positive", "size_fit:negative"], False),
        ("Runs small, I had to size up. The colour faded after one wash!",
         ["colour:negative", "size_fit:negative"], False),
        ("Arrived late and damaged, I want a refund.", ["delivery:negative", "service:neutral"], True),
        ("Great value for the price.", ["price:positive"], False),
        ("I love this dress.", [], False),
        ("The colour is not dull at all", ["colour:positive"], False),
        ("Fits true to size. Shipping was slow.", ["delivery:negative", "size_fit:positive"], False),
    ],
)  # fmt: skip
def test_aspects_on_hand_made_sentences(lexicon, text, aspects, complaint):
    assert analyse(text, lexicon) == (aspects, complaint)


def test_lexicon_is_configurable():
    lx = Lexicon.from_mapping(
        {
            "aspects": {"battery": {"terms": ["battery"], "negative": ["drains fast"]}},
            "positive_words": ["great"],
            "negative_words": ["bad"],
        }
    )
    assert analyse("Battery drains fast. Screen is great", lx) == (["battery:negative"], False)
    assert analyse("The battery is great", lx) == (["battery:positive"], False)
    with pytest.raises(ValueError, match="terms"):
        Lexicon.from_mapping({"aspects": {"x": {"positive": ["good"]}}})


def _counts(rows):
    return pd.DataFrame(rows, columns=["bin", "cls", "n"])


def test_thresholds_split_classes_at_the_best_macro_f1():
    # negatives in bins 0-39, neutrals 40-59, positives 60-99 (of 100 bins): perfect cuts
    rows = [(b, N.NEGATIVE, 2) for b in range(40)]
    rows += [(b, N.NEUTRAL, 3) for b in range(40, 60)]
    rows += [(b, N.POSITIVE, 5) for b in range(60, 100)]
    lo, hi = choose_thresholds(_counts(rows), bins=100)
    assert (lo, hi) == (0.4, 0.6)
    # without neutral reviews there is no band: the binary cut anywhere in 0.4..0.6
    lo, hi = choose_thresholds(_counts([r for r in rows if r[1] != N.NEUTRAL]), bins=100)
    assert lo == hi and 0.4 <= hi <= 0.6
    assert choose_thresholds(_counts([(3, N.POSITIVE, 4)]), bins=10) == (0.5, 0.5)


def test_thresholds_on_overlapping_classes():
    # bin 0: 10 negatives; bin 1: 10 negatives + 10 positives; bin 2: 10 positives.
    # hi = 1/3 (bins 1-2 positive): TP 20 FP 10 FN 0 -> F1+ 0.8, F1- 2*10/30 = .667
    # hi = 2/3 (bin 2 positive):     TP 10 FP 0 FN 10 -> .667, negatives TP 20 FP 10 -> .8
    # tie: the first (lower) threshold wins
    rows = [(0, N.NEGATIVE, 10), (1, N.NEGATIVE, 10), (1, N.POSITIVE, 10), (2, N.POSITIVE, 10)]
    assert choose_thresholds(_counts(rows), bins=3)[1] == pytest.approx(1 / 3)


def _sf(k, n, p):  # independent: exact sum with math.comb
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in range(k, n + 1))


@pytest.mark.parametrize("k, n, p", [(0, 5, 0.2), (3, 10, 0.1), (10, 10, 0.5), (7, 40, 0.05)])
def test_binomial_tail(k, n, p):
    assert binomial_sf(k, n, p) == pytest.approx(_sf(k, n, p), rel=1e-9)


def test_alert_on_a_constructed_item_history():
    """Item A: 2 negatives of 40 reviews before the window, then 6 of 10 in it: alert.
    Item B: 8 of 40 before, 3 of 10 now: within what 10 reviews make likely. Item C: 3 of 3
    now but fewer than min_reviews. Item D: no review in the window."""
    counts = pd.DataFrame(
        {
            N.ITEM_ID: ["A", "B", "C", "D"],
            CUR_N: [10, 10, 3, 0],
            CUR_NEG: [6, 3, 3, 0],
            PREV_N: [20, 20, 0, 4],
            PREV_NEG: [1, 4, 0, 1],
            BEFORE_N: [40, 40, 0, 4],
            BEFORE_NEG: [2, 8, 0, 1],
        }
    )
    shop, prior = 0.1, 20.0
    out = alert_table(counts, shop, alpha=0.01, min_reviews=5, prior_reviews=prior).set_index(
        N.ITEM_ID
    )
    base_a = (2 + prior * shop) / (40 + prior)  # 4 / 60
    base_b = (8 + prior * shop) / (40 + prior)  # 10 / 60
    assert out.loc["A", N.BASELINE_SHARE_NEGATIVE] == pytest.approx(base_a)
    assert out.loc["A", N.ALERT_P_VALUE] == pytest.approx(_sf(6, 10, base_a))
    assert out.loc["B", N.ALERT_P_VALUE] == pytest.approx(_sf(3, 10, base_b))
    assert out.loc["A", N.SHARE_NEGATIVE] == pytest.approx(0.6)
    assert out.loc["A", N.SHARE_NEGATIVE_PREV] == pytest.approx(0.05)
    assert out[N.ALERT].to_dict() == {"A": True, "B": False, "C": False, "D": False}
    assert out.loc["C", N.ALERT_P_VALUE] < 0.01  # significant, but too few reviews
    assert math.isnan(out.loc["D", N.SHARE_NEGATIVE])
    assert math.isnan(out.loc["C", N.SHARE_NEGATIVE_PREV])
