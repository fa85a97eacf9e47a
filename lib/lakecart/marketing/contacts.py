"""Randomised campaign contacts, as training rows for uplift models.

A campaign is *randomised* when, before the cut-off, it has both contacted customers and a
held-out control group (``offer`` NULL, empty or ``control``: SPEC section 3). Each offer
is compared with the control group of the campaigns that sent it: a treated row is a
contact with that offer, a control row a held-out customer of the same campaign (repeated
once per offer the campaign sent, flagged ``treated = 0``: a control row is never a treated
row). The propensity ``p`` of an (offer, campaign) is its treated share, so campaigns with
unequal splits are weighted correctly by the transformed outcome.

Responses are taken as recorded on the contact (``responded``, ``revenue``): a campaign's
outcome window is part of its record, and ``response_ts`` is often absent (Hillstrom) or
just after the default as_of (the day after the latest send). For back-tests with an
explicit past as_of, ``marketing.response_days`` leaves out the contacts whose responses
could still have been coming in at as_of.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

TREATED = "_t"  # 1.0 for a contact with the offer, 0.0 for a control row
RESPONSE = "_y"  # 1.0 when the customer responded (before as_of)
VALUE = "_rev"  # revenue attributed to the response (0 without one)
PROPENSITY = "_p"  # treated share of the (offer, campaign)
VALIDATION = "_validation"
CONTACT_KEYS = (N.OFFER, N.CAMPAIGN_ID, N.CUSTOMER_ID)


def is_control(offer: Column) -> Column:
    """True for the held-out control group: offer NULL, empty or ``control`` (any case)."""
    o = F.lower(F.trim(offer))
    return offer.isNull() | (o == "") | (o == F.lit(N.CONTROL_OFFER))


def cutoff(as_of: dt.date, response_days: int) -> dt.datetime:
    """Contacts sent before this time are learned from."""
    return dt.datetime.combine(as_of, dt.time()) - dt.timedelta(days=response_days)


def campaign_contacts(campaigns: DataFrame, as_of: dt.date, response_days: int = 0) -> DataFrame:
    """Contacts of randomised campaigns sent before the cut-off, typed for the models.

    Args:
        campaigns: silver.campaigns rows.
        as_of: Decision date.
        response_days: Contacts sent within this many days before as_of are left out.

    Returns:
        ``campaign_id, customer_id, sent_ts, offer`` (NULL for control rows), ``cost``,
        ``_t`` (1.0 contacted / 0.0 control), ``_y`` (responded) and ``_rev``.
    """
    limit = F.lit(cutoff(as_of, response_days)).cast("timestamp")
    control = is_control(F.col(N.OFFER))
    responded = F.coalesce(F.col(N.RESPONDED), F.lit(False))
    c = campaigns.filter(F.col(N.SENT_TS) < limit).select(
        N.CAMPAIGN_ID,
        N.CUSTOMER_ID,
        N.SENT_TS,
        F.when(control, F.lit(None).cast("string"))
        .otherwise(F.trim(F.col(N.OFFER)))
        .alias(N.OFFER),
        F.col(N.COST).cast("double").alias(N.COST),
        F.when(control, 0.0).otherwise(1.0).alias(TREATED),
        F.when(responded, 1.0).otherwise(0.0).alias(RESPONSE),
        F.when(responded, F.coalesce(F.col(N.REVENUE), F.lit(0.0))).otherwise(0.0).alias(VALUE),
    )
    per = Window.partitionBy(N.CAMPAIGN_ID)
    return (
        c.withColumn("_nt", F.sum(TREATED).over(per))
        .withColumn("_n", F.count(F.lit(1)).over(per))
        .filter((F.col("_nt") > 0) & (F.col("_nt") < F.col("_n")))
        .drop("_nt", "_n")
    )


def offer_rows(contacts: DataFrame) -> DataFrame:
    """Per-offer training rows: each offer's contacts plus its campaigns' control rows.

    Returns:
        ``offer, campaign_id, customer_id, sent_ts, _t, _y, _rev, _p``.
    """
    treated = contacts.filter(F.col(TREATED) == 1.0)
    control = contacts.filter(F.col(TREATED) == 0.0).drop(N.OFFER)
    sent = treated.select(N.CAMPAIGN_ID, N.OFFER).distinct()
    rows = treated.drop(N.COST).unionByName(
        control.drop(N.COST).join(sent, N.CAMPAIGN_ID)  # control repeated per offer sent
    )
    per = Window.partitionBy(N.OFFER, N.CAMPAIGN_ID)
    return rows.withColumn(PROPENSITY, F.avg(TREATED).over(per)).select(
        N.OFFER, N.CAMPAIGN_ID, N.CUSTOMER_ID, N.SENT_TS, TREATED, RESPONSE, VALUE, PROPENSITY
    )


def with_validation(rows: DataFrame, share: float, seed: int) -> DataFrame:
    """Flag an exact ``share`` of each (offer, treated, responded) stratum as validation.

    Rows are ordered within their stratum by a seeded hash of the contact; every
    ``1/share``-th one (by cumulative count) is held out, so each stratum keeps its share.
    """
    h = F.xxhash64(F.lit(int(seed)), *[F.col(k).cast("string") for k in CONTACT_KEYS])
    w = Window.partitionBy(N.OFFER, TREATED, RESPONSE).orderBy(h, *CONTACT_KEYS)
    rn = F.row_number().over(w)
    return rows.withColumn(
        VALIDATION, F.floor(rn * F.lit(share)) > F.floor((rn - 1) * F.lit(share))
    )


def offer_costs(campaigns: DataFrame, as_of: dt.date) -> dict[str, float | None]:
    """Every offer sent before as_of -> its mean contact cost (None when no cost is known).

    The result has one entry per distinct offer (a short list), collected to the driver.
    """
    asof_ts = F.lit(dt.datetime.combine(as_of, dt.time())).cast("timestamp")
    rows = (
        campaigns.filter((F.col(N.SENT_TS) < asof_ts) & ~is_control(F.col(N.OFFER)))
        .groupBy(F.trim(F.col(N.OFFER)).alias(N.OFFER))
        .agg(F.avg(F.col(N.COST).cast("double")).alias(N.COST))
        .collect()
    )
    return {r[N.OFFER]: (None if r[N.COST] is None else float(r[N.COST])) for r in rows}


def offer_counts(rows: DataFrame) -> dict[str, tuple[int, int]]:
    """Offer -> (treated, control) training rows (validation excluded); a short list."""
    got = (
        rows.filter(~F.col(VALIDATION))
        .groupBy(N.OFFER)
        .agg(F.sum(TREATED).alias("t"), F.sum(1.0 - F.col(TREATED)).alias("c"))
        .collect()
    )
    return {r[N.OFFER]: (int(r["t"]), int(r["c"])) for r in got}
