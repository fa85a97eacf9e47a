"""Declared schemas of the fraud tables (SPEC section 4)."""

from __future__ import annotations

from pyspark.sql import types as T

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import DBL, TS, Col, S

FRAUD_SCORES = gold_spec(
    N.FRAUD_SCORES,
    "Fraud scores of the scored payment transactions (every transaction with an empty label and "
    "every transaction on or after as_of): calibrated probability, anomaly score, the decision "
    "from the review budget and the strongest readable reasons.",
    (
        Col(N.TRANSACTION_ID, S, "transaction id (silver.transactions)", False),
        Col(N.CUSTOMER_ID, S, "customer id (NULL for a guest payment)"),
        Col(N.TXN_TS, TS, "transaction time (UTC)", False),
        Col(N.AMOUNT, DBL, "amount", False),
        Col(
            N.FRAUD_PROBABILITY,
            DBL,
            "calibrated probability of fraud (published model, calibrated on the chronological "
            "validation window); NULL when the shop has too few fraud labels for a model",
        ),
        Col(
            N.ANOMALY_SCORE,
            DBL,
            "unsupervised anomaly score in [0, 1]: rank of the summed one-sided robust z-scores "
            "of the risk features among the scored transactions (1 = most unusual)",
            False,
        ),
        Col(
            N.DECISION,
            S,
            "approve, review (the review budget fraud.review_share) or block (the riskiest "
            "fraud.block_share with fraud_probability >= fraud.block_min_probability)",
            False,
        ),
        Col(
            N.FRAUD_REASONS,
            T.ArrayType(T.StringType(), True),
            "readable risk signals, strongest first (empty when nothing stands out)",
            False,
        ),
    ),
    keys=(N.TRANSACTION_ID,),
    checks={
        "probability_in_range": "fraud_probability IS NULL OR fraud_probability BETWEEN 0 AND 1",
        "anomaly_in_range": "anomaly_score BETWEEN 0 AND 1",
        "decision_known": "decision IN ('approve', 'review', 'block')",
    },
)

FRAUD_SPECS = (FRAUD_SCORES,)
