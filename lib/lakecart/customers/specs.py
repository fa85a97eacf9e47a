"""Declared schemas of the customer tables (SPEC section 4)."""

from __future__ import annotations

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import DBL, INT, LNG, Col, S

CUSTOMER_SEGMENTS = gold_spec(
    N.CUSTOMER_SEGMENTS,
    "RFM scores, the named RFM segment and the behavioural cluster of each customer with an order "
    "before as_of.",
    (
        Col(N.CUSTOMER_ID, S, "customer id (pseudonymised when customers.pseudonymise)", False),
        Col(N.RECENCY_DAYS, INT, "days from the last order's date to as_of", False),
        Col(N.FREQUENCY, LNG, "distinct orders before as_of", False),
        Col(N.MONETARY, DBL, "net revenue before as_of", False),
        Col(N.R_SCORE, INT, "recency quintile score, 5 = most recent", False),
        Col(N.F_SCORE, INT, "frequency quintile score, 5 = most frequent", False),
        Col(N.M_SCORE, INT, "monetary quintile score, 5 = highest spend", False),
        Col(N.RFM_SEGMENT, S, "named RFM segment (see the README's rules)", False),
        Col(N.CLUSTER, INT, "k-means cluster of the scaled behavioural features", False),
    ),
    keys=(N.CUSTOMER_ID,),
    checks={"scores_in_range": "r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5 AND m_score BETWEEN 1 AND 5"},
)
CUSTOMER_SCORES = gold_spec(
    N.CUSTOMER_SCORES,
    "Per-customer model scores as of as_of: churn probability, expected 90-day value, 30-day "
    "purchase probability and value tier.",
    (
        Col(N.CUSTOMER_ID, S, "customer id (pseudonymised when customers.pseudonymise)", False),
        Col(N.CHURN_PROBABILITY, DBL, "calibrated probability of no purchase within customers.churn_days after as_of", False),
        Col(N.CLV_90D, DBL, "expected net spend within customers.clv_days after as_of", False),
        Col(N.PURCHASE_PROBABILITY_30D, DBL, "calibrated probability of a purchase within customers.propensity_days after as_of", False),
        Col(N.VALUE_TIER, S, "high, medium, low or none, from clv_90d", False),
    ),
    keys=(N.CUSTOMER_ID,),
    checks={
        "churn_is_probability": "churn_probability BETWEEN 0 AND 1",
        "propensity_is_probability": "purchase_probability_30d BETWEEN 0 AND 1",
    },
)

CUSTOMER_SPECS = (CUSTOMER_SEGMENTS, CUSTOMER_SCORES)
