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
    checks={
        "scores_in_range": "r_score BETWEEN 1 AND 5 AND f_score BETWEEN 1 AND 5 AND m_score BETWEEN 1 AND 5"
    },
)
CUSTOMER_SCORES = gold_spec(
    N.CUSTOMER_SCORES,
    "Per-customer model scores as of as_of: churn probability, expected 90-day value, 30-day "
    "purchase probability and value tier.",
    (
        Col(N.CUSTOMER_ID, S, "customer id (pseudonymised when customers.pseudonymise)", False),
        Col(
            N.CHURN_PROBABILITY,
            DBL,
            "calibrated probability of no purchase within customers.churn_days after as_of",
            False,
        ),
        Col(N.CLV_90D, DBL, "expected net spend within customers.clv_days after as_of", False),
        Col(
            N.PURCHASE_PROBABILITY_30D,
            DBL,
            "calibrated probability of a purchase within customers.propensity_days after as_of",
            False,
        ),
        Col(N.VALUE_TIER, S, "high, medium, low or none, from clv_90d", False),
    ),
    keys=(N.CUSTOMER_ID,),
    checks={
        "churn_is_probability": "churn_probability BETWEEN 0 AND 1",
        "propensity_is_probability": "purchase_probability_30d BETWEEN 0 AND 1",
    },
)

CUSTOMER_CLUSTERS = gold_spec(
    N.CUSTOMER_CLUSTERS,
    "Profile of each k-means cluster of gold.customer_segments (k chosen by silhouette): size and "
    "mean behaviour, to name the clusters.",
    (
        Col(N.CLUSTER, INT, "cluster id (gold.customer_segments.cluster)", False),
        Col(N.CUSTOMERS_COUNT, LNG, "customers in the cluster", False),
        Col(N.SHARE, DBL, "share of all customers", False),
        Col(N.MEAN_RECENCY_DAYS, DBL, "mean days since the last order"),
        Col(N.MEAN_FREQUENCY, DBL, "mean distinct orders"),
        Col(N.MEAN_MONETARY, DBL, "mean net revenue"),
        Col(N.MEAN_AVG_ORDER_VALUE, DBL, "mean sales revenue per order"),
        Col(N.MEAN_TENURE_DAYS, DBL, "mean days since the first activity"),
        Col(N.MEAN_DISTINCT_ITEMS, DBL, "mean distinct items bought"),
        Col(N.MEAN_R_SCORE, DBL, "mean recency score (5 = most recent)"),
        Col(N.MEAN_F_SCORE, DBL, "mean frequency score"),
        Col(N.MEAN_M_SCORE, DBL, "mean monetary score"),
        Col(N.TOP_RFM_SEGMENT, S, "most common RFM segment in the cluster"),
        Col(N.SILHOUETTE, DBL, "silhouette of the chosen clustering (same on every row)"),
    ),
    keys=(N.CLUSTER,),
)

CUSTOMER_SPECS = (CUSTOMER_SEGMENTS, CUSTOMER_SCORES, CUSTOMER_CLUSTERS)
