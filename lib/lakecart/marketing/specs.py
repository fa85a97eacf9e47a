"""Declared schemas of the marketing tables (SPEC section 4)."""

from __future__ import annotations

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import BOOL, DBL, INT, LNG, Col, S

CAMPAIGN_TARGETS = gold_spec(
    N.CAMPAIGN_TARGETS,
    "Uplift targeting: every known customer x every offer seen in the campaigns, with the "
    "modelled effect of sending the offer, its expected incremental revenue and profit, and "
    "whether to send it (the customer's best offer when its expected profit is positive, "
    "within marketing.budget).",
    (
        Col(N.CUSTOMER_ID, S, "customer id", False),
        Col(N.OFFER, S, "offer, as written in silver.campaigns", False),
        Col(
            N.UPLIFT,
            DBL,
            "P(respond | sent) - P(respond | not sent), from the model chosen for the offer on "
            "randomised contacts (clipped to [-1, 1])",
            False,
        ),
        Col(
            N.P_RESPONSE,
            DBL,
            "P(respond | sent): the response model fitted on the offer's contacted customers",
            False,
        ),
        Col(
            N.EXPECTED_INCREMENTAL_REVENUE,
            DBL,
            "uplift x expected revenue per response (modelled on responders); NULL when the "
            "campaigns carry no revenue and marketing.response_value is unset",
        ),
        Col(
            N.COST,
            DBL,
            "cost of one contact: the offer's mean campaigns.cost, else marketing.contact_cost",
            False,
        ),
        Col(
            N.EXPECTED_PROFIT,
            DBL,
            "marketing.margin x expected_incremental_revenue - cost; NULL with the revenue",
        ),
        Col(
            N.RANK,
            INT,
            "rank within the offer, 1 = best: by expected_profit (by uplift when it is NULL), "
            "ties by uplift then customer_id",
            False,
        ),
        Col(
            N.SEND,
            BOOL,
            "true on the customer's best offer (highest expected_profit, else uplift) when it is "
            "positive and the customer is within marketing.budget",
            False,
        ),
    ),
    keys=(N.CUSTOMER_ID, N.OFFER),
    checks={
        "uplift_in_range": "uplift BETWEEN -1 AND 1",
        "p_response_is_probability": "p_response BETWEEN 0 AND 1",
        "rank_positive": "rank >= 1",
    },
)

PROMOTION_EFFECTS = gold_spec(
    N.PROMOTION_EFFECTS,
    "Promotion lift per product category: units sold in promotion weeks (features.item_demand "
    "promo_active) against each item's own level in the non-promotion weeks around them.",
    (
        Col(N.CATEGORY, S, "product category (silver.products; 'unknown' without one)", False),
        Col(N.PE_ITEMS, LNG, "items with a sale in a promotion week and a baseline", False),
        Col(N.PE_PROMO_PERIODS, LNG, "distinct promotion weeks counted", False),
        Col(N.PE_ITEM_PROMO_WEEKS, LNG, "item x promotion-week pairs counted", False),
        Col(
            N.PE_BASELINE_UNITS,
            DBL,
            "units expected in those item-weeks at each item's non-promotion level (mean of "
            "its non-promotion weeks within marketing.promo_window_weeks)",
            False,
        ),
        Col(N.PE_PROMO_UNITS, DBL, "units sold in those item-weeks", False),
        Col(N.PE_INCREMENTAL_UNITS, DBL, "promo_units - baseline_units", False),
        Col(N.PE_LIFT, DBL, "promo_units / baseline_units; NULL when the baseline is 0"),
    ),
    keys=(N.CATEGORY,),
    checks={"units_non_negative": "promo_units >= 0 AND baseline_units >= 0"},
)

MARKETING_SPECS: tuple = (CAMPAIGN_TARGETS, PROMOTION_EFFECTS)
