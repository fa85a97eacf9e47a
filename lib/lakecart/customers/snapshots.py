"""Training snapshots: customer features as of past decision dates, and their labels.

A *snapshot* ``s`` is a past decision date. Its features use only orders strictly before
``s`` (the RFM and order-habit columns of ``features.user_features``, same names and
definitions, plus the extra columns below); its labels use only orders in ``[s, s + h)``: an order exactly at
midnight of ``s`` counts in the label, never in the features. A model with horizon ``h``
trains on snapshots whose label window ends on or before the run's as_of (``s + h <=
as_of``), so nothing on or after as_of is ever read.

Snapshots are ``as_of - h - k x step`` for ``k = 0 .. max_snapshots - 1`` (the first is the
latest complete label window), kept when at least ``min_history_days`` of orders precede
them. All snapshots of all horizons are computed in one pass: the customer-level order
table is crossed with the (few) snapshot dates.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Sequence

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.build import FeatureInputs
from lakecart.features.common import MICROS_PER_DAY, ratio

SNAPSHOT = "snapshot"  # the snapshot's decision date (a column of the training frames)
SPEND = "spend"  # net revenue in the label window
BOUGHT = "bought"  # 1.0 when a sale (not a return) falls in the label window

# extra features (computed strictly before the snapshot)
ORDERS_180D = "orders_180d"
REVENUE_180D = "revenue_180d"
ORDERS_PREV_90D = "orders_prev_90d"  # orders in [s-180, s-90)
REVENUE_PREV_90D = "revenue_prev_90d"
ORDER_TREND = "order_trend_90d"  # orders_90d - orders_prev_90d
ACTIVE_MONTHS_365D = "active_months_365d"  # distinct 30-day blocks with an order in the year
RETURN_ORDERS = "return_orders"
RECENCY_OVER_GAP = "recency_over_gap"  # recency / mean gap between orders (or tenure)
ORDERS_PER_30D = "orders_per_30d"  # frequency / tenure x 30
FIRST_ORDER_AGE = "first_order_age_days"
SPEND_PREV = "spend_prev_window"  # net revenue in the spend_days before the snapshot

RANK_PREFIX = "rank_"  # within-snapshot percent_rank of a feature
RANKED = (N.RECENCY_DAYS, N.FREQUENCY, N.MONETARY, SPEND_PREV, ORDERS_180D, REVENUE_180D)
RFM_SUM = "rfm_score"  # r_score + f_score + m_score (quintiles within the snapshot)

EXTRA_FEATURES = (
    SPEND_PREV,
    ORDERS_180D,
    REVENUE_180D,
    ORDERS_PREV_90D,
    REVENUE_PREV_90D,
    ORDER_TREND,
    ACTIVE_MONTHS_365D,
    RETURN_ORDERS,
    RECENCY_OVER_GAP,
    ORDERS_PER_30D,
    FIRST_ORDER_AGE,
)

#: user_features columns that are not model inputs (ids, times, text attributes)
NON_FEATURES = (
    N.CUSTOMER_ID,
    N.FIRST_ORDER_TS,
    N.LAST_ORDER_TS,
    N.MAIN_COUNTRY,
    N.MAIN_CHANNEL,
    N.AS_OF,
    SNAPSHOT,
)


def bought_col(h: int) -> str:
    """Label column: 1.0 when the customer bought within ``h`` days after the snapshot."""
    return f"{BOUGHT}_{h}d"


def spend_col(h: int) -> str:
    """Label column: net revenue within ``h`` days after the snapshot."""
    return f"{SPEND}_{h}d"


def snapshot_dates(
    as_of: dt.date,
    horizon: int,
    step: int,
    count: int,
    first_order: dt.date | None,
    min_history_days: int,
) -> list[dt.date]:
    """Training snapshots of a model with label window ``horizon`` days, latest first.

    Args:
        as_of: The run's decision date; every label window ends on or before it.
        horizon: Label window in days.
        step: Days between snapshots.
        count: Snapshots wanted at most.
        first_order: Date of the first order in the data (None: no orders, no snapshot).
        min_history_days: Days of history a snapshot needs after ``first_order``.

    Returns:
        ``as_of - horizon - k x step`` for ``k = 0 .. count-1``, those with enough history.
    """
    if first_order is None:
        return []
    earliest = first_order + dt.timedelta(days=min_history_days)
    dates = [as_of - dt.timedelta(days=horizon + k * step) for k in range(count)]
    return [d for d in dates if d >= earliest]


def customer_orders(orders: DataFrame) -> DataFrame:
    """One row per (customer, order, is_return): time, net revenue, units and country.

    Args:
        orders: silver.orders rows or prepared orders (any as_of cut already applied).
    """
    return (
        orders.filter(F.col(N.CUSTOMER_ID).isNotNull())
        .groupBy(N.CUSTOMER_ID, N.ORDER_ID, N.IS_RETURN)
        .agg(
            F.min(N.ORDER_TS).alias(N.ORDER_TS),
            F.sum(N.REVENUE).alias(N.REVENUE),
            F.sum(N.QUANTITY).alias(N.QUANTITY),
            F.max(N.COUNTRY).alias(N.COUNTRY),
        )
    )


def first_purchases(orders: DataFrame) -> DataFrame:
    """One row per (customer, item bought): the time of the first purchase."""
    return (
        orders.filter(F.col(N.CUSTOMER_ID).isNotNull() & ~F.col(N.IS_RETURN))
        .groupBy(N.CUSTOMER_ID, N.ITEM_ID)
        .agg(F.min(N.ORDER_TS).alias(N.ORDER_TS))
    )


def _dates_frame(spark: SparkSession, dates: Iterable[dt.date]) -> DataFrame:
    rows = [(d,) for d in sorted(set(dates))]
    return spark.createDataFrame(rows, f"{SNAPSHOT} date")


def _start(days: int) -> F.Column:
    """Midnight of ``snapshot - days`` as a timestamp."""
    return F.date_sub(F.col(SNAPSHOT), days).cast("timestamp")


def _days(start: F.Column, end: F.Column) -> F.Column:
    return (F.unix_micros(end) - F.unix_micros(start)) / F.lit(float(MICROS_PER_DAY))


def snapshot_features(
    inputs: FeatureInputs,
    dates: Sequence[dt.date],
    windows: Sequence[int],
    spend_days: int = 90,
) -> DataFrame:
    """Features of every customer with a sale before each snapshot, one row per pair.

    The columns that share a name with ``features.user_features`` have its definitions
    (orders = distinct orders that are not returns, monetary = net revenue, recency in
    whole days from the last order's date, ...), computed from orders strictly before each
    snapshot; all snapshots come from one aggregation over the customer-level orders
    crossed with the (few) snapshot dates, instead of one feature-table build per date.
    Tenure counts from the first order (sign-ups are not used).

    Args:
        inputs: Silver entities (orders required; the others are not used).
        dates: Snapshot dates (the run's as_of included when it is to be scored).
        windows: ``features.windows`` (``orders_<w>d``, ``revenue_<w>d``).
        spend_days: Window of ``spend_prev_window`` (the CLV baseline).

    Returns:
        ``customer_id``, ``snapshot``, ``main_country`` and numeric feature columns.
    """
    if inputs.orders is None:
        raise ValueError("snapshot_features needs orders")
    co = customer_orders(inputs.orders)
    snaps = F.broadcast(_dates_frame(co.sparkSession, dates))
    ts, sale, rev = F.col(N.ORDER_TS), ~F.col(N.IS_RETURN), F.col(N.REVENUE)
    x = co.crossJoin(snaps).filter(ts < F.col(SNAPSHOT).cast("timestamp"))
    in_90, in_180 = ts >= _start(90), ts >= _start(180)
    prev_90 = in_180 & ~in_90
    block = F.floor(_days(ts, F.col(SNAPSHOT).cast("timestamp")) / F.lit(30.0))
    aggs = [
        F.min(F.when(sale, ts)).alias(N.FIRST_ORDER_TS),
        F.max(F.when(sale, ts)).alias(N.LAST_ORDER_TS),
        F.min(ts).alias("_first_any"),
        F.count(F.when(sale, 1)).alias(N.FREQUENCY),
        F.sum(rev).alias(N.MONETARY),
        F.sum(F.when(sale, rev)).alias("_sales"),
        F.sum(F.when(sale, F.col(N.QUANTITY))).alias("_units"),
        F.coalesce(-F.sum(F.when(~sale, F.col(N.QUANTITY))), F.lit(0.0)).alias(N.UNITS_RETURNED),
        F.mode(F.when(sale, F.col(N.COUNTRY)), deterministic=True).alias(N.MAIN_COUNTRY),
        F.coalesce(F.sum(F.when(ts >= _start(spend_days), rev)), F.lit(0.0)).alias(SPEND_PREV),
        F.count(F.when(sale & in_180, 1)).alias(ORDERS_180D),
        F.coalesce(F.sum(F.when(in_180, rev)), F.lit(0.0)).alias(REVENUE_180D),
        F.count(F.when(sale & prev_90, 1)).alias(ORDERS_PREV_90D),
        F.coalesce(F.sum(F.when(prev_90, rev)), F.lit(0.0)).alias(REVENUE_PREV_90D),
        (F.count(F.when(sale & in_90, 1)) - F.count(F.when(sale & prev_90, 1))).alias(ORDER_TREND),
        F.count_distinct(F.when(sale & (ts >= _start(365)), block)).alias(ACTIVE_MONTHS_365D),
        F.count(F.when(~sale, 1)).alias(RETURN_ORDERS),
    ]
    windows = sorted(set(windows) - {180})  # orders_180d/revenue_180d are always there
    for w in windows:
        recent = ts >= _start(w)
        aggs.append(F.count(F.when(sale & recent, 1)).alias(N.windowed(N.ORDER_COUNT, w)))
        aggs.append(
            F.coalesce(F.sum(F.when(recent, rev)), F.lit(0.0)).alias(N.windowed(N.REVENUE, w))
        )
    per = x.groupBy(N.CUSTOMER_ID, SNAPSHOT).agg(*aggs).filter(F.col(N.LAST_ORDER_TS).isNotNull())
    items = (
        first_purchases(inputs.orders)
        .crossJoin(snaps)
        .filter(ts < F.col(SNAPSHOT).cast("timestamp"))
        .groupBy(N.CUSTOMER_ID, SNAPSHOT)
        .agg(F.count(F.lit(1)).alias(N.DISTINCT_ITEMS))
    )
    out = per.join(items, [N.CUSTOMER_ID, SNAPSHOT], "left")
    freq = F.col(N.FREQUENCY)
    span = _days(F.col(N.FIRST_ORDER_TS), F.col(N.LAST_ORDER_TS))
    gap = F.when(freq >= 2, span / (freq - 1).cast("double"))  # mean of consecutive gaps
    tenure = F.datediff(F.col(SNAPSHOT), F.to_date("_first_any"))
    recency = F.datediff(F.col(SNAPSHOT), F.to_date(N.LAST_ORDER_TS))
    out = out.select(
        N.CUSTOMER_ID,
        SNAPSHOT,
        N.MAIN_COUNTRY,
        N.FIRST_ORDER_TS,
        N.LAST_ORDER_TS,
        recency.alias(N.RECENCY_DAYS),
        freq.cast("long").alias(N.FREQUENCY),
        F.col(N.MONETARY).cast("double").alias(N.MONETARY),
        tenure.alias(N.TENURE_DAYS),
        ratio(F.col("_sales"), freq).alias(N.AVG_ORDER_VALUE),
        ratio(F.col("_units"), freq).alias(N.ITEMS_PER_ORDER),
        F.col(N.UNITS_RETURNED).cast("double").alias(N.UNITS_RETURNED),
        ratio(F.col(N.UNITS_RETURNED), F.col("_units")).alias(N.RETURN_RATE),
        F.coalesce(F.col(N.DISTINCT_ITEMS), F.lit(0)).cast("long").alias(N.DISTINCT_ITEMS),
        gap.alias(N.DAYS_BETWEEN_ORDERS_MEAN),
        *[c for w in windows for c in (N.windowed(N.ORDER_COUNT, w), N.windowed(N.REVENUE, w))],
        *[
            c
            for c in EXTRA_FEATURES
            if c not in (RECENCY_OVER_GAP, ORDERS_PER_30D, FIRST_ORDER_AGE)
        ],
        ratio(recency, F.greatest(F.coalesce(gap, tenure.cast("double")), F.lit(1.0))).alias(
            RECENCY_OVER_GAP
        ),
        ratio(freq * F.lit(30.0), F.greatest(tenure, F.lit(1))).alias(ORDERS_PER_30D),
        F.datediff(F.col(SNAPSHOT), F.to_date(N.FIRST_ORDER_TS)).alias(FIRST_ORDER_AGE),
    )
    return with_ranks(out)


def with_ranks(df: DataFrame) -> DataFrame:
    """Add the within-snapshot ranks of :data:`RANKED` (``percent_rank`` in [0, 1], higher =
    more recent / more orders / more spend) and the RFM quintile score sum.

    Raw counts and sums grow with the history a snapshot has behind it (early snapshots of
    a young shop have little), so the same value means different things at different
    snapshots; a customer's rank among the snapshot's customers does not.
    """
    ranked = {
        f"{RANK_PREFIX}{c}": F.percent_rank().over(
            Window.partitionBy(SNAPSHOT).orderBy(
                F.col(c).desc() if c == N.RECENCY_DAYS else F.col(c)
            )
        )
        for c in RANKED
    }
    out = df.withColumns(ranked)
    score = sum(
        (
            F.least(F.lit(5), F.floor(F.col(f"{RANK_PREFIX}{c}") * 5).cast("int") + 1)
            for c in (N.RECENCY_DAYS, N.FREQUENCY, N.MONETARY)
        ),
        F.lit(0),
    )
    return out.withColumn(RFM_SUM, score)


def labels(co: DataFrame, dates: Sequence[dt.date], horizons: Iterable[int]) -> DataFrame:
    """Per (customer, snapshot): bought / net spend within each horizon after the snapshot.

    Only orders in ``[snapshot, snapshot + h)`` are read for horizon ``h``.

    Args:
        co: :func:`customer_orders` rows.
        dates: Snapshot dates.
        horizons: Label windows in days.

    Returns:
        ``customer_id, snapshot``, ``bought_<h>d`` (0/1 double) and ``spend_<h>d`` for each
        horizon; only pairs with at least one order in the longest window (join it to the
        snapshot population and fill 0).
    """
    hs = sorted(set(horizons))
    snaps = F.broadcast(_dates_frame(co.sparkSession, dates))
    ts, sale = F.col(N.ORDER_TS), ~F.col(N.IS_RETURN)
    start = F.col(SNAPSHOT).cast("timestamp")

    def end(h: int) -> F.Column:
        return F.date_add(F.col(SNAPSHOT), h).cast("timestamp")

    x = co.crossJoin(snaps).filter((ts >= start) & (ts < end(max(hs))))
    aggs = []
    for h in hs:
        inside = ts < end(h)
        aggs.append(F.max(F.when(sale & inside, 1.0).otherwise(0.0)).alias(bought_col(h)))
        aggs.append(
            F.coalesce(F.sum(F.when(inside, F.col(N.REVENUE))), F.lit(0.0)).alias(spend_col(h))
        )
    return x.groupBy(N.CUSTOMER_ID, SNAPSHOT).agg(*aggs)


def with_labels(features: DataFrame, label_rows: DataFrame, horizons: Iterable[int]) -> DataFrame:
    """``features`` with the label columns of :func:`labels` (0 without orders in the window)."""
    fill = {}
    for h in sorted(set(horizons)):
        fill[bought_col(h)] = 0.0
        fill[spend_col(h)] = 0.0
    return features.join(label_rows, [N.CUSTOMER_ID, SNAPSHOT], "left").fillna(fill)


#: Sums over the whole history: they grow with the history behind a snapshot (early
#: snapshots of a young shop have little), so the models use their within-snapshot ranks
#: and fixed-window counterparts instead.
CUMULATIVE = (
    N.FREQUENCY,
    N.MONETARY,
    N.TENURE_DAYS,
    N.UNITS_RETURNED,
    N.DISTINCT_ITEMS,
    FIRST_ORDER_AGE,
    RETURN_ORDERS,
    ORDERS_180D,
    REVENUE_180D,
)
LONGEST_WINDOW = 179  # fixed windows longer than this are treated as cumulative


def _window_days(name: str) -> int | None:
    """``90`` for ``orders_90d``; None for a name that is not a windowed column."""
    head, _, tail = name.rpartition("_")
    if head and tail.endswith("d") and tail[:-1].isdigit():
        return int(tail[:-1])
    return None


def feature_columns(df: DataFrame) -> list[str]:
    """Numeric model inputs of a snapshot frame: everything but ids, times, text, labels,
    the cumulative sums (:data:`CUMULATIVE`) and windows longer than 179 days (their
    ranks stay)."""
    skip = set(NON_FEATURES) | set(CUMULATIVE)
    out = []
    for f in df.schema.fields:
        name = f.name
        if name in skip or name.startswith(f"{BOUGHT}_") or name.startswith(f"{SPEND}_"):
            continue
        w = _window_days(name)
        long_window = w is not None and w > LONGEST_WINDOW
        if long_window and name != ACTIVE_MONTHS_365D and not name.startswith(RANK_PREFIX):
            continue
        if f.dataType.typeName() in ("integer", "long", "double", "float", "short"):
            out.append(name)
    return out


@dataclasses.dataclass(frozen=True)
class SnapshotPlan:
    """Snapshot dates of one model: validation snapshot, its training snapshots, final ones.

    Attributes:
        horizon: Label window in days.
        final: Training snapshots of the published model (latest first).
        validation: The latest complete window (``final[0]``), or None.
        validation_train: The snapshots the published model would have used with as_of =
            ``validation``: their label windows end on or before it.
    """

    horizon: int
    final: tuple[dt.date, ...]
    validation: dt.date | None
    validation_train: tuple[dt.date, ...]

    @staticmethod
    def make(
        as_of: dt.date,
        horizon: int,
        step: int,
        count: int,
        first_order: dt.date | None,
        min_history_days: int,
    ) -> SnapshotPlan:
        """The plan for a model with label window ``horizon`` (see :func:`snapshot_dates`)."""
        final = snapshot_dates(as_of, horizon, step, count, first_order, min_history_days)
        if not final:
            return SnapshotPlan(horizon, (), None, ())
        val = final[0]
        # trained exactly as the published model would have been with as_of = val
        vtrain = snapshot_dates(val, horizon, step, count, first_order, min_history_days)
        return SnapshotPlan(horizon, tuple(final), val, tuple(vtrain))

    @property
    def dates(self) -> set[dt.date]:
        """Every snapshot this plan reads."""
        return set(self.final) | set(self.validation_train)
