"""Declared schemas of the basket tables (SPEC section 4)."""

from __future__ import annotations

from pyspark.sql import types as T

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import DBL, INT, LNG, Col, S

BASKET_RULES = gold_spec(
    N.BASKET_RULES,
    "Association rules mined with FP-growth from the baskets (orders, distinct merchandise "
    "items) before as_of: antecedent => consequent with support, confidence and lift.",
    (
        Col(
            N.ANTECEDENT,
            T.ArrayType(T.StringType(), True),
            "item ids of the rule's left-hand side, sorted",
            False,
        ),
        Col(N.CONSEQUENT, S, "item id the rule predicts", False),
        Col(N.SUPPORT, DBL, "share of baskets holding the antecedent and the consequent", False),
        Col(
            N.CONFIDENCE,
            DBL,
            "share of the baskets holding the antecedent that also hold the consequent",
            False,
        ),
        Col(N.LIFT, DBL, "confidence / share of baskets holding the consequent", False),
        Col(N.BASKETS, LNG, "baskets holding the antecedent and the consequent", False),
    ),
    keys=(N.ANTECEDENT, N.CONSEQUENT),
    checks={
        "support_is_share": "support > 0 AND support <= 1",
        "confidence_is_share": "confidence > 0 AND confidence <= 1",
        "lift_positive": "lift > 0",
    },
)

BOUGHT_TOGETHER = gold_spec(
    N.BOUGHT_TOGETHER,
    "Per item, the other items most often bought with it (top basket.top_k), ranked by a score "
    "comparable across items: a basket's completions are ranked by the max score over its "
    "items. The score's shape is chosen by hide-one validation before as_of.",
    (
        Col(N.ITEM_ID, S, "item in the basket", False),
        Col(N.RANK, INT, "1 = the best completion of item_id", False),
        Col(N.OTHER_ITEM_ID, S, "item suggested with it", False),
        Col(
            N.SCORE,
            DBL,
            "(co(a,b) + beta p(b)) / (n(a) + beta) / p(b)^gamma on time-weighted baskets, the "
            "shape chosen on validation (model_version and ops.model_metrics name it)",
            False,
        ),
        Col(N.BASKETS, LNG, "baskets holding both items (unweighted)", False),
        Col(N.LIFT, DBL, "P(other | item) / P(other) over the baskets (unweighted)", False),
    ),
    keys=(N.ITEM_ID, N.RANK),
    checks={"rank_positive": "rank >= 1", "score_positive": "score > 0"},
)

CART_COMPLETIONS = gold_spec(
    N.CART_COMPLETIONS,
    "Completions of open carts: sessions before as_of whose cart additions were not followed "
    "by a purchase in the session, with the items most often bought with the cart's items.",
    (
        Col(N.USER_ID, S, "user of the session", False),
        Col(N.SESSION_ID, S, "session holding the open cart", False),
        Col(N.RANK, INT, "1 = the best completion", False),
        Col(N.ITEM_ID, S, "suggested item (not in the cart)", False),
        Col(N.SCORE, DBL, "max gold.bought_together score over the cart's items", False),
        Col(N.REASON, S, "often bought with <title of the cart item giving the score>", False),
    ),
    keys=(N.USER_ID, N.SESSION_ID, N.RANK),
    checks={"rank_positive": "rank >= 1"},
)

BASKET_SPECS = (BASKET_RULES, BOUGHT_TOGETHER, CART_COMPLETIONS)
