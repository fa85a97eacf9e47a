"""Linked accounts: connected components of the account–device–IP graph.

GraphFrames does not ship for Spark 4, so the components come from an iterative label
propagation in DataFrames: every account starts with its own id as label; a round gives
every device / IP address the smallest label of its accounts, then every account the
smallest label of its devices and addresses. Labels only decrease, and after at most
(component diameter) rounds every account carries the smallest account id of its
component. Rounds are bounded (``fraud.graph_max_iterations``) and each round's labels
are materialised with ``localCheckpoint`` so the plan does not grow with the rounds.

Devices and addresses used by more than ``max_key_accounts`` accounts (public
terminals, carrier NAT) are not links: one of them would merge unrelated customers.

Why the components are not a model feature: a component computed over all transactions
links a payment to accounts that appear *after* it, which a payment's features must not
see (SPEC section 5). The models use the point-in-time counts instead (accounts seen so
far on the device and on the address, see ``transaction_features``); the component's size
(the ring) is given as a *reason* on the scored payments, where the reviewer reads it at
decision time, when all those payments are known.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.fraud.transaction_features import ACCOUNT, IP_KEY

log = logging.getLogger("lakecart")

KEY = "_key"
LABEL = "_component"
RING_SIZE = "ring_size"  # accounts in the payment's component (1 = not linked)


def account_links(transactions: DataFrame, max_key_accounts: int) -> DataFrame:
    """Distinct (account, key) edges: ``d:<device>`` and ``i:<address>`` keys shared by at
    most ``max_key_accounts`` accounts.

    Args:
        transactions: Rows with ``_account``, ``device_id`` and ``_ip_key``.
        max_key_accounts: Keys with more accounts are dropped.

    Returns:
        ``_account``, ``_key``.
    """
    device = transactions.select(
        ACCOUNT, F.concat(F.lit("d:"), F.col(N.DEVICE_ID)).alias(KEY)
    ).filter(F.col(KEY).isNotNull())
    ip = transactions.select(ACCOUNT, F.concat(F.lit("i:"), F.col(IP_KEY)).alias(KEY)).filter(
        F.col(KEY).isNotNull()
    )
    edges = device.unionByName(ip).distinct()
    sizes = edges.groupBy(KEY).agg(F.count(F.lit(1)).alias("_n"))
    keep = sizes.filter((F.col("_n") >= 2) & (F.col("_n") <= max_key_accounts)).select(KEY)
    return edges.join(keep, KEY)


@dataclass(frozen=True)
class Components:
    """Result of :func:`components`.

    Attributes:
        labels: ``_account``, ``_component`` (the smallest account id of the component)
            for every account that has at least one link.
        rounds: Label-propagation rounds run.
        converged: False when ``max_iterations`` stopped the propagation early.
    """

    labels: DataFrame
    rounds: int
    converged: bool


def components(links: DataFrame, max_iterations: int) -> Components:
    """Connected components of the bipartite account–key graph by min-label propagation.

    Args:
        links: ``_account``, ``_key`` edges (from :func:`account_links`).
        max_iterations: Most rounds.

    Returns:
        The components (see :class:`Components`).
    """
    links = links.localCheckpoint(eager=True)
    labels = links.select(ACCOUNT).distinct().withColumn(LABEL, F.col(ACCOUNT))
    labels = labels.localCheckpoint(eager=True)
    rounds, converged = 0, False
    while rounds < max_iterations:
        rounds += 1
        key_min = links.join(labels, ACCOUNT).groupBy(KEY).agg(F.min(LABEL).alias("_k"))
        best = links.join(key_min, KEY).groupBy(ACCOUNT).agg(F.min("_k").alias("_best"))
        nxt = (
            labels.join(best, ACCOUNT, "left")
            .select(
                ACCOUNT,
                F.least(F.col(LABEL), F.coalesce(F.col("_best"), F.col(LABEL))).alias(LABEL),
                F.coalesce(F.col("_best") < F.col(LABEL), F.lit(False)).alias("_changed"),
            )
            .localCheckpoint(eager=True)
        )
        changed = nxt.filter("_changed").count()
        labels = nxt.drop("_changed")
        if changed == 0:
            converged = True
            break
    if not converged:
        log.warning(
            "[fraud] linked accounts: label propagation stopped after %d rounds without "
            "converging (fraud.graph_max_iterations); ring sizes may be split",
            rounds,
        )
    return Components(labels, rounds, converged)


def ring_sizes(comps: DataFrame) -> DataFrame:
    """``_account``, ``ring_size`` (accounts in its component) from component labels."""
    size = comps.groupBy(LABEL).agg(F.count(F.lit(1)).alias(RING_SIZE))
    return comps.join(size, LABEL).select(ACCOUNT, F.col(RING_SIZE).cast("double"))
