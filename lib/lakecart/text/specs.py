"""Declared schemas of the text tables (SPEC section 4)."""

from __future__ import annotations

from pyspark.sql import types as T

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import BOOL, DBL, INT, LNG, RAWMAP, Col, S

STRINGS = T.ArrayType(T.StringType())

REVIEW_SENTIMENT = gold_spec(
    N.REVIEW_SENTIMENT,
    "Sentiment of every review (rated or not, before or after as_of) from a TF-IDF linear model "
    "trained only on rated reviews dated before as_of (or undated), with the aspects it mentions "
    "and a complaint flag.",
    (
        Col(N.REVIEW_ID, S, "review id", False),
        Col(N.ITEM_ID, S, "item reviewed"),
        Col(N.CUSTOMER_ID, S, "reviewer"),
        Col(
            N.SENTIMENT,
            S,
            "negative (p_positive below the negative threshold), positive (at or above the "
            "positive threshold) or neutral (between); thresholds chosen on the validation split",
            False,
        ),
        Col(
            N.P_POSITIVE,
            DBL,
            "calibrated probability that the reviewer would rate it positive (4-5 stars rather "
            "than 1-2): Platt scaling of the model's margin on the validation split",
            False,
        ),
        Col(
            N.ASPECTS,
            STRINGS,
            "aspects mentioned, each as 'aspect:polarity' (aspect from the sentiment.aspects_file "
            "lexicon: size_fit, quality, price, delivery, colour, service; polarity positive, "
            "negative or neutral from the cue words of the same clause), sorted",
            False,
        ),
        Col(
            N.COMPLAINT,
            BOOL,
            "true when the review is negative, or not positive and it names a negative aspect "
            "or a complaint term of the lexicon (refund, broken, never arrived, ...)",
            False,
        ),
    ),
    keys=(N.REVIEW_ID,),
    checks={
        "p_positive_is_probability": "p_positive BETWEEN 0 AND 1",
        "sentiment_domain": "sentiment IN ('negative', 'neutral', 'positive')",
    },
)

ITEM_SENTIMENT = gold_spec(
    N.ITEM_SENTIMENT,
    "Per item with a review before as_of (or undated): reviews and negative share in the current "
    "window and the previous one, an alert when the current share is higher than the item's "
    "history makes likely (one-sided binomial test), and the terms that drive its positive and "
    "negative reviews.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(
            N.REVIEWS_COUNT,
            LNG,
            "reviews in the current window: the sentiment.window_days days before as_of, plus "
            "undated reviews",
            False,
        ),
        Col(N.SHARE_NEGATIVE, DBL, "share of the current window's reviews scored negative"),
        Col(
            N.SHARE_NEGATIVE_PREV,
            DBL,
            "share of the previous window's reviews scored negative (NULL when it had none)",
        ),
        Col(
            N.ALERT,
            BOOL,
            "true when the current window has at least sentiment.alert_min_reviews reviews and "
            "P(X >= negatives | Binomial(reviews, baseline)) < sentiment.alert_alpha, the "
            "baseline being the item's negative share before the current window shrunk towards "
            "the shop's (sentiment.alert_prior_reviews pseudo-reviews)",
            False,
        ),
        Col(N.ALERT_P_VALUE, DBL, "that binomial tail probability (NULL without reviews)"),
        Col(
            N.BASELINE_SHARE_NEGATIVE,
            DBL,
            "the baseline negative share the current window is tested against",
            False,
        ),
        Col(
            N.TOP_POSITIVE_TERMS,
            STRINGS,
            "word n-grams with the largest positive drive in the item's reviews (sum over its "
            "reviews of the model weight x IDF of each term present), best first",
            False,
        ),
        Col(
            N.TOP_NEGATIVE_TERMS,
            STRINGS,
            "word n-grams with the largest negative drive, worst first",
            False,
        ),
    ),
    keys=(N.ITEM_ID,),
    checks={"shares_are_shares": "share_negative IS NULL OR share_negative BETWEEN 0 AND 1"},
)

SUPPORT_TICKETS = gold_spec(
    N.SUPPORT_TICKETS,
    "Every customer-service message with its predicted intent, the confidence of that "
    "prediction, the queue it is routed to, a priority, the entities found in its text and a "
    "suggested answer.",
    (
        Col(N.MESSAGE_ID, S, "message id", False),
        Col(N.CUSTOMER_ID, S, "customer id (NULL when unknown)"),
        Col(
            N.INTENT,
            S,
            "intent predicted by the classifier (the label set of the training messages)",
            False,
        ),
        Col(
            N.CONFIDENCE,
            DBL,
            "calibrated probability that the intent is right (Platt scaling of the top class "
            "score on the validation split)",
            False,
        ),
        Col(
            N.QUEUE,
            S,
            "queue from the support.routing_file intent -> queue map (its default queue for "
            "other intents); 'human' when confidence < support.human_threshold",
            False,
        ),
        Col(
            N.PRIORITY,
            INT,
            "1 (lowest) .. 5 (most urgent): the intent's base priority, +1 negative tone, +1 "
            "urgent words, + the customer's value tier (gold.customer_scores) bonus",
            False,
        ),
        Col(
            N.ENTITIES_MAP,
            RAWMAP,
            "entities found: order_id (the text's order number, else the message's order_id), "
            "email, amount (a currency amount as written)",
            False,
        ),
        Col(
            N.SUGGESTED_ANSWER,
            S,
            "the intent's template from support.answers_file with the entities filled in (NULL "
            "when the intent has no template)",
        ),
    ),
    keys=(N.MESSAGE_ID,),
    checks={
        "confidence_is_probability": "confidence BETWEEN 0 AND 1",
        "priority_range": "priority BETWEEN 1 AND 5",
    },
)

TEXT_SPECS = (REVIEW_SENTIMENT, ITEM_SENTIMENT, SUPPORT_TICKETS)
