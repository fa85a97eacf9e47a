"""The decision date (``--as-of``) of a run.

SPEC section 2: ``--as-of`` defaults to the day after the latest order or event in
silver. Explicit ratings count too (a MovieLens-only lakehouse has neither orders nor
events). A lakehouse with none of these (only payments, reviews, messages or campaigns,
say) takes the day after the latest timestamp of any entity present.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import Config
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse

# entity -> its timestamp column, for the default as_of
FACT_TIMES = {N.ORDERS: N.ORDER_TS, N.EVENTS: N.EVENT_TS, N.RATINGS: N.RATING_TS}
# the other dated entities, used only when there is no order, event or rating
OTHER_TIMES = {
    N.TRANSACTIONS: N.TXN_TS,
    N.REVIEWS: N.REVIEW_TS,
    N.MESSAGES: N.SENT_TS,
    N.CAMPAIGNS: N.SENT_TS,
    N.INVENTORY: N.SNAPSHOT_DATE,
    N.CUSTOMERS: N.SIGNUP_TS,
}


class NoDataError(ValueError):
    """Silver has nothing to derive the decision date from."""


def latest_fact_date(lh: Lakehouse, times: dict[str, str] = FACT_TIMES) -> dt.date | None:
    """The UTC date of the latest order, event or rating in silver (None when there is none).

    Args:
        lh: The lakehouse.
        times: Entity -> timestamp column to look at (default: orders, events, ratings).

    One aggregate per existing table (a scan of one column); absent tables are not created.
    """
    latest: dt.date | None = None
    for entity, ts in times.items():
        spec = SILVER[entity]
        if not lh.exists(spec):
            continue
        value = lh.read(spec).agg(F.to_date(F.max(ts)).alias("d")).first()["d"]  # one row
        if value is not None and (latest is None or value > latest):
            latest = value
    return latest


def resolve_as_of(lh: Lakehouse, config: Config) -> dt.date:
    """``run.as_of`` when set, else the day after the latest order/event/rating in silver,
    else the day after the latest timestamp of any other dated entity.

    Raises:
        NoDataError: when ``run.as_of`` is unset and silver has no dated rows at all.
    """
    explicit = config.as_of_date()
    if explicit is not None:
        return explicit
    latest = latest_fact_date(lh) or latest_fact_date(lh, OTHER_TIMES)
    if latest is None:
        raise NoDataError(
            "silver has no dated rows to derive --as-of from: ingest data first or pass --as-of"
        )
    return latest + dt.timedelta(days=1)
