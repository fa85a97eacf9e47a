"""Declared schemas of the feature tables (layer ``features``).

Every feature table holds point-in-time snapshots: each row carries the ``as_of`` date
it was computed for, from rows with timestamps strictly before ``as_of``, and the tables
are partitioned by ``as_of`` so that rebuilding one snapshot replaces exactly that
partition. Several snapshots live side by side (models train on features as of several
past dates).

Columns named ``<x>_<w>d`` are computed over the ``w`` days before as_of, for each of
``features.windows``; the module-level specs use the default windows (7, 30, 90, 365) and
:func:`feature_specs` builds them for a configuration's windows.

Conventions: a column fed by an optional entity (events, ratings, reviews, campaigns,
products) is NULL on every row when that entity is absent from silver, and 0 (counts) when
it is present but has nothing for the row. Units sold exclude returns and cancellations
(SPEC section 5); returned units are a separate column.
"""

from __future__ import annotations

from collections.abc import Sequence

from lakecart import names as N
from lakecart.config import FeaturesConfig
from lakecart.schemas import BOOL, DBL, INT, LNG, TS, Col, D, S, TableSpec

DEFAULT_WINDOWS: tuple[int, ...] = tuple(FeaturesConfig().windows)

AS_OF_COL = Col(
    N.AS_OF,
    D,
    "decision date of the snapshot: only rows with timestamps strictly before it were used",
    False,
)


def _windows(windows: Sequence[int]) -> tuple[int, ...]:
    return tuple(sorted(set(int(w) for w in windows)))


def interactions_spec() -> TableSpec:
    """``features.interactions``: one row per (user_id, item_id, as_of)."""
    return TableSpec(
        N.FEATURES,
        N.INTERACTIONS,
        "User x item interactions before as_of: purchases, units and net revenue from orders (returns "
        "reduce them), views and carts from events, the explicit rating, and a confidence weight for "
        "implicit-feedback models (features.event_weights, log_scaling, decay_half_life_days). "
        "Guest orders are excluded.",
        (
            Col(N.USER_ID, S, "user (customer) id", False),
            Col(N.ITEM_ID, S, "item id", False),
            Col(N.PURCHASES, LNG, "distinct orders (not returns) of the item by the user", False),
            Col(
                N.RETURNS,
                LNG,
                "distinct return or cancellation orders of the item by the user",
                False,
            ),
            Col(N.UNITS, DBL, "net units: units bought minus units returned", False),
            Col(N.NET_REVENUE, DBL, "net revenue: sales minus returns", False),
            Col(N.VIEWS, LNG, "view events; NULL when silver has no events"),
            Col(N.CARTS, LNG, "add-to-cart events; NULL when silver has no events"),
            Col(
                N.RATING,
                DBL,
                "the explicit rating (ratings, else the latest review's stars); NULL when none",
            ),
            Col(
                N.FIRST_INTERACTION_TS,
                TS,
                "first order line, event, rating or review of the pair (UTC)",
                False,
            ),
            Col(
                N.LAST_INTERACTION_TS,
                TS,
                "last order line, event, rating or review of the pair (UTC)",
                False,
            ),
            Col(
                N.WEIGHT,
                DBL,
                "implicit-feedback confidence: sum over interactions of event weight x 0.5^(age days / "
                "half-life), floored at 0, then ln(1 + x) when log_scaling",
                False,
            ),
            AS_OF_COL,
        ),
        keys=(N.AS_OF, N.USER_ID, N.ITEM_ID),
        partition_by=(N.AS_OF,),
    )


def user_features_spec(windows: Sequence[int] = DEFAULT_WINDOWS) -> TableSpec:
    """``features.user_features``: one row per (customer_id, as_of)."""
    win: list[Col] = []
    for w in _windows(windows):
        win.append(
            Col(
                N.windowed(N.ORDER_COUNT, w),
                LNG,
                f"distinct orders (not returns) in the {w} days before as_of",
                False,
            )
        )
        win.append(
            Col(N.windowed(N.REVENUE, w), DBL, f"net revenue in the {w} days before as_of", False)
        )
    return TableSpec(
        N.FEATURES,
        N.USER_FEATURES,
        "Customer features before as_of: recency, frequency and monetary value, order habits, windowed "
        "activity, and clickstream and review behaviour when those entities exist. One row per customer "
        "with an order, event, rating or review before as_of, or a sign-up before as_of.",
        (
            Col(N.CUSTOMER_ID, S, "customer id", False),
            Col(N.FIRST_ORDER_TS, TS, "first order (not a return) (UTC); NULL without orders"),
            Col(N.LAST_ORDER_TS, TS, "last order (not a return) (UTC); NULL without orders"),
            Col(
                N.RECENCY_DAYS, INT, "days from the last order's date to as_of; NULL without orders"
            ),
            Col(N.FREQUENCY, LNG, "distinct orders (not returns)", False),
            Col(N.MONETARY, DBL, "net revenue: sales minus returns", False),
            Col(
                N.TENURE_DAYS,
                INT,
                "days from sign-up (or the first activity when earlier or unknown) to as_of",
                False,
            ),
            Col(N.AVG_ORDER_VALUE, DBL, "sales revenue per order; NULL without orders"),
            Col(N.ITEMS_PER_ORDER, DBL, "units bought per order; NULL without orders"),
            Col(N.UNITS_RETURNED, DBL, "units returned or cancelled", False),
            Col(N.RETURN_RATE, DBL, "units returned / units bought; NULL when nothing was bought"),
            Col(N.DISTINCT_ITEMS, LNG, "distinct items bought", False),
            Col(
                N.DISTINCT_CATEGORIES,
                LNG,
                "distinct categories of the items bought; NULL when silver has no products",
            ),
            Col(
                N.DAYS_BETWEEN_ORDERS_MEAN,
                DBL,
                "mean days between consecutive orders; NULL with fewer than 2 orders",
            ),
            Col(
                N.DAYS_BETWEEN_ORDERS_STD,
                DBL,
                "sample standard deviation of the days between orders; NULL with fewer than 3 orders",
            ),
            *win,
            Col(N.VIEWS, LNG, "view events; NULL when silver has no events"),
            Col(N.CARTS, LNG, "add-to-cart events; NULL when silver has no events"),
            Col(N.SESSIONS, LNG, "distinct sessions; NULL when silver has no events"),
            Col(
                N.VIEW_TO_PURCHASE,
                DBL,
                "share of the distinct items viewed that the customer bought; NULL without events or views",
            ),
            Col(N.REVIEW_COUNT, LNG, "reviews written; NULL when silver has no reviews"),
            Col(N.REVIEW_MEAN_RATING, DBL, "mean stars of the reviews written; NULL when none"),
            Col(
                N.MAIN_COUNTRY,
                S,
                "most frequent country of the orders (ties: the smallest), else the customer's country",
            ),
            Col(N.MAIN_CHANNEL, S, "most frequent channel of the orders (ties: the smallest)"),
            AS_OF_COL,
        ),
        keys=(N.AS_OF, N.CUSTOMER_ID),
        partition_by=(N.AS_OF,),
    )


def item_features_spec(windows: Sequence[int] = DEFAULT_WINDOWS) -> TableSpec:
    """``features.item_features``: one row per (item_id, as_of)."""
    win: list[Col] = []
    for w in _windows(windows):
        win.append(
            Col(
                N.windowed(N.ORDER_COUNT, w),
                LNG,
                f"distinct orders in the {w} days before as_of",
                False,
            )
        )
        win.append(
            Col(
                N.windowed(N.BUYERS, w),
                LNG,
                f"distinct customers who bought in the {w} days before as_of",
                False,
            )
        )
        win.append(
            Col(
                N.windowed(N.UNITS, w),
                DBL,
                f"units sold in the {w} days before as_of (returns excluded)",
                False,
            )
        )
        win.append(
            Col(N.windowed(N.REVENUE, w), DBL, f"sales revenue in the {w} days before as_of", False)
        )
    return TableSpec(
        N.FEATURES,
        N.ITEM_FEATURES,
        "Item features before as_of: sales, buyers, prices, returns, ratings and reviews, and the "
        "catalogue attributes and cleaned text that content models use. One row per item with an order "
        "line, event, rating or review before as_of (catalogue-only items are not included: their "
        "existence may not have been known at as_of).",
        (
            Col(N.ITEM_ID, S, "item id", False),
            Col(N.ORDER_COUNT, LNG, "distinct orders (not returns)", False),
            Col(N.BUYERS, LNG, "distinct customers who bought (guests excluded)", False),
            Col(N.UNITS, DBL, "units sold (returns and cancellations excluded)", False),
            Col(N.UNITS_RETURNED, DBL, "units returned or cancelled (a positive number)", False),
            Col(N.REVENUE, DBL, "sales revenue (returns excluded)", False),
            *win,
            Col(N.PRICE_MEAN, DBL, "mean unit price over sale lines"),
            Col(N.PRICE_MIN, DBL, "lowest unit price over sale lines"),
            Col(N.PRICE_MAX, DBL, "highest unit price over sale lines"),
            Col(N.PRICE_LAST, DBL, "highest unit price in the latest sale (by second)"),
            Col(
                N.PRICE_CHANGE,
                DBL,
                "price_last / (last unit price at least features.price_change_days before as_of) - 1; NULL "
                "when there is no such earlier price or it was 0",
            ),
            Col(N.RETURN_RATE, DBL, "units_returned / units; NULL when nothing was sold"),
            Col(N.FIRST_SALE_TS, TS, "first sale line (UTC)"),
            Col(N.LAST_SALE_TS, TS, "last sale line (UTC)"),
            Col(N.DAYS_SINCE_FIRST_SALE, INT, "days from the first sale's date to as_of"),
            Col(N.DAYS_SINCE_LAST_SALE, INT, "days from the last sale's date to as_of"),
            Col(N.VIEWS, LNG, "view events; NULL when silver has no events"),
            Col(N.CARTS, LNG, "add-to-cart events; NULL when silver has no events"),
            Col(N.RATING_COUNT, LNG, "explicit ratings; NULL when silver has no ratings"),
            Col(N.RATING_MEAN, DBL, "mean explicit rating; NULL when none"),
            Col(N.REVIEW_COUNT, LNG, "reviews; NULL when silver has no reviews"),
            Col(N.REVIEW_MEAN_RATING, DBL, "mean stars of the reviews; NULL when none"),
            Col(N.TITLE, S, "catalogue title; NULL when silver has no products"),
            Col(N.CATEGORY, S, "catalogue category"),
            Col(N.BRAND, S, "catalogue brand"),
            Col(
                N.CONTENT_TEXT,
                S,
                "title, description and category, lower-cased, punctuation removed and whitespace collapsed; "
                "NULL when there is no text",
            ),
            AS_OF_COL,
        ),
        keys=(N.AS_OF, N.ITEM_ID),
        partition_by=(N.AS_OF,),
    )


def item_demand_spec() -> TableSpec:
    """``features.item_demand``: one row per (item_id, grain, period_start, as_of)."""
    return TableSpec(
        N.FEATURES,
        N.ITEM_DEMAND,
        "Demand per item and period (day, and ISO week starting Monday) before as_of, zero-filled from "
        "the period of the item's first order line up to the period holding the day before as_of, with "
        "calendar attributes and campaign flags. Units sold exclude returns and cancellations.",
        (
            Col(N.ITEM_ID, S, "item id", False),
            Col(N.GRAIN, S, "day or week", False),
            Col(N.PERIOD_START, D, "the day, or the Monday starting the ISO week", False),
            Col(N.UNITS, DBL, "units sold (returns and cancellations excluded)", False),
            Col(N.UNITS_RETURNED, DBL, "units returned or cancelled (a positive number)", False),
            Col(N.ORDER_COUNT, LNG, "distinct orders (not returns)", False),
            Col(N.BUYERS, LNG, "distinct customers who bought (guests excluded)", False),
            Col(N.REVENUE, DBL, "sales revenue (returns excluded)", False),
            Col(N.AVG_PRICE, DBL, "revenue / units; NULL when nothing was sold"),
            Col(
                N.DAYS_OBSERVED,
                INT,
                "days of the period before as_of: 1 for a day, 7 for a full week, fewer for the last week",
                False,
            ),
            Col(N.DAY_OF_WEEK, INT, "ISO day of week, 1 = Monday .. 7 = Sunday; NULL for weeks"),
            Col(N.WEEK_OF_YEAR, INT, "ISO week number of period_start", False),
            Col(N.MONTH, INT, "month of period_start", False),
            Col(N.YEAR, INT, "calendar year of period_start", False),
            Col(N.IS_HOLIDAY, BOOL, "the period contains a date of features.holidays", False),
            Col(N.HOLIDAY_DAYS, INT, "dates of features.holidays in the period", False),
            Col(
                N.CAMPAIGN_CONTACTS,
                LNG,
                "campaign contacts sent in the period; NULL when silver has no campaigns",
            ),
            Col(
                N.CAMPAIGNS_ACTIVE,
                LNG,
                "distinct campaigns sending in the period; NULL when silver has no campaigns",
            ),
            Col(
                N.PROMO_ACTIVE,
                BOOL,
                "a contact with an offer was sent in the period; NULL when silver has no campaigns",
            ),
            AS_OF_COL,
        ),
        keys=(N.AS_OF, N.ITEM_ID, N.GRAIN, N.PERIOD_START),
        partition_by=(N.AS_OF,),
    )


def feature_specs(config: FeaturesConfig | None = None) -> dict[str, TableSpec]:
    """The four feature table specs for a configuration's windows, by table name."""
    windows = config.windows if config is not None else DEFAULT_WINDOWS
    return {
        N.INTERACTIONS: interactions_spec(),
        N.USER_FEATURES: user_features_spec(windows),
        N.ITEM_FEATURES: item_features_spec(windows),
        N.ITEM_DEMAND: item_demand_spec(),
    }


FEATURES = feature_specs()
INTERACTIONS = FEATURES[N.INTERACTIONS]
USER_FEATURES = FEATURES[N.USER_FEATURES]
ITEM_FEATURES = FEATURES[N.ITEM_FEATURES]
ITEM_DEMAND = FEATURES[N.ITEM_DEMAND]
FEATURE_SPECS: tuple[TableSpec, ...] = tuple(FEATURES.values())
