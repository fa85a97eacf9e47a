"""Declared schemas of the image tables: the photo feature cache and the two gold tables."""

from __future__ import annotations

from pyspark.sql import types as T

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import DBL, INT, TS, Col, S, TableSpec

STRINGS = T.ArrayType(T.StringType())
FLOATS = T.ArrayType(T.FloatType())
DOUBLES = T.ArrayType(T.DoubleType())

IMAGE_FEATURES = TableSpec(
    N.FEATURES,
    N.IMAGE_FEATURES,
    "Pixel features of each product's photo (lakecart.images.pixels), keyed by item and the "
    "photo's SHA-256: an unchanged photo is never decoded again.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.IMAGE, S, "the photo's URI as read", False),
        Col(N.CHECKSUM, S, "SHA-256 of the photo's bytes (hex)", False),
        Col(
            N.VECTOR,
            FLOATS,
            "HOG at each images.hog_cells, foreground hue x saturation x value histogram with "
            "cover and aspect, uniform LBP histogram, and with images.detail the detail blocks "
            "(lakecart.images.pixels.detail_blocks); each block L2-normalised",
            False,
        ),
        Col(
            N.COLOURS, STRINGS, "dominant colour names of the foreground, most common first", False
        ),
        Col(N.WIDTH, INT, "photo width in pixels", False),
        Col(N.HEIGHT, INT, "photo height in pixels", False),
        Col("feature_spec", S, "the feature settings the vector was computed with", False),
        Col(N.COMPUTED_AT, TS, "when the features were computed (UTC)", False),
    ),
    keys=(N.ITEM_ID,),
)

PRODUCT_IMAGE_TAGS = gold_spec(
    N.PRODUCT_IMAGE_TAGS,
    "Every product with a readable photo, tagged from its pixels: the category path the photo "
    "shows (MLlib classifiers per category level, the title's words joining in when the "
    "product has a title), the confidence at each level, the dominant colours, and a flag "
    "where the catalogue's own category confidently disagrees with the photo.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(
            N.CATEGORY,
            S,
            "category path predicted from the photo (levels joined by ' > '); the catalogue's "
            "known path with the highest joint probability over the levels",
        ),
        Col(
            N.LEVEL_CONFIDENCES,
            DOUBLES,
            "probability of the predicted path's prefix at each level, top level first",
            False,
        ),
        Col(N.COLOURS, STRINGS, "dominant colour names of the product (most common first)", False),
        Col(N.GIVEN_CATEGORY, S, "the catalogue's category (NULL when the product has none)"),
        Col(
            N.CATEGORY_DISAGREES,
            T.BooleanType(),
            "true when the product has a category and its photo alone (the title left out, read by models fitted without the product: images.disagree_folds) "
            "confidently shows another: at the deepest learned level of the given path the "
            "photo's top class is another one, with probability at least "
            "images.disagree_confidence, and the given class gets less than "
            "images.disagree_given_max",
            False,
        ),
        Col(
            N.CATEGORY_SOURCE,
            S,
            "image (photo only) or image+title (the title's words joined the photo)",
            False,
        ),
    ),
    keys=(N.ITEM_ID,),
    checks={"source_domain": "category_source IN ('image', 'image+title')"},
)

VISUALLY_SIMILAR = gold_spec(
    N.VISUALLY_SIMILAR,
    "For every photographed product, the images.top_k catalogue products whose photos look "
    "most alike: cosine similarity of the standardised pixel features joined with the "
    "photo's predicted category probabilities (exact top-K, computed in blocks).",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.RANK, INT, "1 = most similar", False),
        Col(N.SIMILAR_ITEM_ID, S, "a visually similar item", False),
        Col(N.SCORE, DBL, "cosine similarity in [-1, 1]", False),
    ),
    keys=(N.ITEM_ID, N.RANK),
    checks={"score_is_cosine": "score BETWEEN -1.000001 AND 1.000001"},
)

IMAGE_SPECS = (IMAGE_FEATURES, PRODUCT_IMAGE_TAGS, VISUALLY_SIMILAR)
