"""Decisions from the review budget, and the readable reasons.

Decision (over the scored transactions, riskiest first by ``risk``, ties broken by a
seeded hash of the transaction id):

* ``block``: the top ``block_share``, where the calibrated fraud probability is at least
  ``block_min_probability`` (nothing is blocked without a probability, i.e. without a
  model);
* ``review``: the next ``review_share`` of the scored transactions (the review budget:
  the queue a team can work through);
* ``approve``: the rest.

The cut-offs are approximate quantiles of the risk (relative error 1e-4 of the scored
rows), so the budget holds to about 0.01 % of the rows without a global sort.

Reasons: each candidate signal has a readability floor (a device shared by at least two
accounts, a payment within a day of sign-up, ...) and a strength (its one-sided robust
z-score from :mod:`lakecart.fraud.anomaly`, or for the ring its size); the
``max_reasons`` strongest are listed, strongest first, one per family (sign-up, device,
IP address, customer, amount, ring).
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.fraud import transaction_features as X
from lakecart.fraud.anomaly import z_name
from lakecart.fraud.linked_accounts import RING_SIZE

RISK = "_risk"
TIE = "_tie"
REL_ERROR = 1e-4


def duration_text(seconds: Column) -> Column:
    """``12 s``, ``5 min``, ``3 h`` or ``2 days`` (rounded down)."""
    s = F.greatest(seconds, F.lit(0.0))
    return (
        F.when(s < 60, F.format_string("%d s", F.floor(s).cast("int")))
        .when(s < 3600, F.format_string("%d min", F.floor(s / 60).cast("int")))
        .when(s < 86_400, F.format_string("%d h", F.floor(s / 3600).cast("int")))
        .otherwise(F.format_string("%d days", F.floor(s / 86_400).cast("int")))
    )


def _count(c: str) -> Column:
    return F.coalesce(F.col(c), F.lit(0.0)).cast("long")


def _z(c: str) -> Column:
    return F.coalesce(F.col(z_name(c)), F.lit(0.0))


def _candidate(family: str, fires: Column, strength: Column, text: Column) -> Column:
    return F.when(
        fires,
        F.struct(F.lit(family).alias("f"), strength.cast("double").alias("s"), text.alias("t")),
    )


def reason_candidates(rule_signup_seconds: int, clip: float = 10.0) -> list[Column]:
    """The candidate reasons of a transaction (NULL when a signal does not fire), each
    with its family (signup, device, ip, customer, amount, ring).

    Needs the feature columns, their ``_z_*`` columns (capped at ``clip``) and
    ``ring_size``.
    """
    gap = F.col(X.SIGNUP_GAP)
    c = []
    c.append(
        _candidate(
            "signup",
            gap.isNotNull() & (gap < 86_400),
            # beating the rule's threshold is the strongest readable signal there is
            F.when(gap < rule_signup_seconds, F.lit(clip + 2.5)).otherwise(_z(X.LOG_SIGNUP_GAP)),
            F.concat(F.lit("paid "), duration_text(gap), F.lit(" after signup")),
        )
    )
    for name, label in (("device", "device"), ("ip", "IP address")):
        acc24 = X.DEVICE_ACCOUNTS_24H if name == "device" else X.IP_ACCOUNTS_24H
        acc = X.DEVICE_ACCOUNTS if name == "device" else X.IP_ACCOUNTS
        c.append(
            _candidate(
                name,
                _count(acc24) >= 2,
                2.0 + _z(acc24),
                F.format_string(f"{label} used by %d accounts in 24 h", _count(acc24)),
            )
        )
        c.append(
            _candidate(
                name,
                (_count(acc) >= 2) & (_count(acc24) < 2),
                1.0 + _z(acc),
                F.format_string(f"{label} used by %d accounts so far", _count(acc)),
            )
        )
    for entity, label in (
        ("customer", "this customer"),
        ("device", "this device"),
        ("ip", "this IP address"),
    ):
        v1, v24 = X.velocity(entity, "1h"), X.velocity(entity, "24h")
        c.append(
            _candidate(
                entity,
                _count(v1) >= 3,
                1.0 + _z(v1),
                F.format_string(f"%d payments from {label} in 1 h", _count(v1)),
            )
        )
        c.append(
            _candidate(
                entity,
                (_count(v24) >= 5) & (_count(v1) < 3),
                _z(v24),
                F.format_string(f"%d payments from {label} in 24 h", _count(v24)),
            )
        )
    ratio = F.col(X.AMOUNT_VS_CUSTOMER)
    c.append(
        _candidate(
            "amount",
            ratio >= 3,
            _z(X.AMOUNT_VS_CUSTOMER),
            F.format_string("amount %.1f x the customer's earlier average", ratio),
        )
    )
    c.append(
        _candidate(
            "amount",
            F.col(X.AMOUNT_Z_SHOP) >= 3,
            _z(X.AMOUNT_Z_SHOP),
            F.lit("amount among the highest in the shop's last days"),
        )
    )
    ring = F.coalesce(F.col(RING_SIZE), F.lit(1.0))
    c.append(
        _candidate(
            "ring",
            ring >= 3,
            F.log2(ring) * 2,
            F.format_string(
                "linked to %d other accounts by shared devices or IP addresses",
                (ring - 1).cast("long"),
            ),
        )
    )
    return c


def with_reasons(
    df: DataFrame, rule_signup_seconds: int, max_reasons: int, clip: float = 10.0
) -> DataFrame:
    """``df`` with ``reasons`` (array<string>): the strongest firing candidates first, one
    per family (a device seen with 8 accounts and 8 payments in an hour is one reason)."""
    cands = F.filter(
        F.array(*reason_candidates(rule_signup_seconds, clip)), lambda x: x.isNotNull()
    )
    ordered = F.array_sort(
        cands,
        lambda a, b: (
            F.when(a["s"] > b["s"], -1)
            .when(a["s"] < b["s"], 1)
            .when(a["t"] < b["t"], -1)
            .when(a["t"] > b["t"], 1)
            .otherwise(0)
        ),
    )
    best = F.filter(
        ordered,
        lambda x, i: ~F.exists(F.slice(ordered, 1, i), lambda y: y["f"] == x["f"]),
    )
    texts = F.transform(F.slice(best, 1, max_reasons), lambda x: x["t"])
    return df.withColumn(N.FRAUD_REASONS, texts.cast("array<string>"))


def tie_breaker(seed: int) -> Column:
    """A value in [0, 1) from a seeded hash of the transaction id (orders equal risks)."""
    h = F.pmod(F.xxhash64(F.col(N.TRANSACTION_ID), F.lit(f"fraud-tie-{seed}")), F.lit(1 << 30))
    return h.cast("double") / float(1 << 30)


def with_decisions(
    df: DataFrame,
    risk: str,
    probability: str,
    review_share: float,
    block_share: float,
    block_min_probability: float,
    seed: int,
) -> DataFrame:
    """``df`` (the scored transactions) with ``decision``.

    Args:
        df: Scored rows with a ``risk`` column (higher = riskier) and ``probability``
            (calibrated, NULL without a model; increasing in ``risk`` when present).
        risk: Ranking column.
        probability: Calibrated probability column.
        review_share: Share of the rows sent to review after the blocked ones.
        block_share: Share of the riskiest rows that may be blocked.
        block_min_probability: Smallest probability that is blocked.
        seed: Seed of the tie-breaking hash.

    Returns:
        ``df`` with ``decision`` and the internal ``_risk`` rank key.
    """
    # risk in [0, 1] after ranking would lose ties; instead order (risk, hash) through one
    # double: risk's rank among the distinct values is not needed, a tiny hash offset
    # below the smallest gap between risks keeps equal risks apart
    key = F.col(risk).cast("double")
    scored = df.withColumn(RISK, key).withColumn(TIE, tie_breaker(seed))
    scored = scored.withColumn(RISK, F.col(RISK) + F.col(TIE) * F.lit(_tie_scale(scored)))
    n = scored.count()
    if n == 0:
        return scored.withColumn(N.DECISION, F.lit(N.DECISION_APPROVE)).drop(TIE)

    def cut(top_share: float) -> float:
        # the (1 - share) quantile q: (1 - share) x n risks are <= q, the rest are > q
        if top_share <= 0:
            return float("inf")
        if top_share >= 1:
            return float("-inf")
        return scored.approxQuantile(RISK, [1.0 - top_share], REL_ERROR)[0]

    block = (F.col(RISK) > F.lit(cut(block_share))) & (
        F.coalesce(F.col(probability), F.lit(-1.0)) >= F.lit(block_min_probability)
    )
    scored = scored.withColumn("_block", block)
    n_block = scored.filter("_block").count()
    review = F.col(RISK) > F.lit(cut(n_block / n + review_share))
    decision = (
        F.when(F.col("_block"), F.lit(N.DECISION_BLOCK))
        .when(review, F.lit(N.DECISION_REVIEW))
        .otherwise(F.lit(N.DECISION_APPROVE))
    )
    return scored.withColumn(N.DECISION, decision).drop("_block", TIE)


def _tie_scale(df: DataFrame) -> float:
    """A hash offset scale below the smallest positive gap between distinct risks (one
    aggregation over the distinct values' neighbours is avoided: the risks are doubles
    whose resolution is ~1e-12 of their range, so 1e-13 of the range never reorders
    distinct risks that matter)."""
    row = df.agg(F.min(RISK).alias("lo"), F.max(RISK).alias("hi")).first()
    lo, hi = row["lo"], row["hi"]
    span = (hi - lo) if lo is not None and hi is not None and hi > lo else 1.0
    return span * 1e-13
