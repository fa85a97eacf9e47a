"""Declared schemas of the recommendation tables (SPEC section 4)."""

from __future__ import annotations

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import DBL, INT, Col, S

RECOMMENDATIONS = gold_spec(
    N.RECOMMENDATIONS,
    "Top-N recommendations per known user, best first. Items the user already bought are "
    "excluded by default (recommend.exclude_purchased) and so are items not sold for "
    "recommend.inactive_item_days; users without history get the popular list of their country.",
    (
        Col(N.USER_ID, S, "user (customer) id", False),
        Col(N.RANK, INT, "1 = best", False),
        Col(N.ITEM_ID, S, "recommended item id", False),
        Col(
            N.SCORE,
            DBL,
            "score of the producing source (higher is better; comparable within a user)",
            False,
        ),
        Col(
            N.SOURCE,
            S,
            "source that produced the row: als, item_cf (co-occurrence in histories, or in"
            " the same order when the reason says 'often bought with'), content, popular or"
            " hybrid",
            False,
        ),
        Col(
            N.REASON,
            S,
            "human-readable reason, e.g. 'bought together with <title>', 'popular in <country>'",
            False,
        ),
    ),
    keys=(N.USER_ID, N.RANK),
    checks={"rank_positive": "rank >= 1"},
)
SIMILAR_ITEMS = gold_spec(
    N.SIMILAR_ITEMS,
    "Top-K similar items per item and method, best first.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.RANK, INT, "1 = most similar, per item and method", False),
        Col(N.SIMILAR_ITEM_ID, S, "similar item id", False),
        Col(N.SCORE, DBL, "similarity (cosine or jaccard, by method)", False),
        Col(
            N.METHOD,
            S,
            "als (factor cosine), item_cf (co-occurrence) or content (TF-IDF cosine)",
            False,
        ),
    ),
    keys=(N.ITEM_ID, N.METHOD, N.RANK),
    checks={"rank_positive": "rank >= 1"},
)
POPULAR_ITEMS = gold_spec(
    N.POPULAR_ITEMS,
    "Cold-start lists: the most popular items in a recent window, overall ('all'), per "
    "country ('country:<name>') and per category ('category:<name>').",
    (
        Col(N.SEGMENT, S, "'all', 'country:<country>' or 'category:<category>'", False),
        Col(N.RANK, INT, "1 = most popular in the segment", False),
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.SCORE, DBL, "popularity: distinct buyers (or users) in the window", False),
    ),
    keys=(N.SEGMENT, N.RANK),
    checks={"rank_positive": "rank >= 1"},
)

RECOMMEND_SPECS = (RECOMMENDATIONS, SIMILAR_ITEMS, POPULAR_ITEMS)
