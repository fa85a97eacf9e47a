"""The analytics marts as pure ``DataFrame -> DataFrame`` transforms of silver.

Each takes silver frames (or None for an absent entity) and ``as_of`` and returns rows with
the columns of its declaration in :mod:`lakecart.report.specs` (without the common gold
columns). Only rows strictly before midnight UTC of ``as_of`` are read. The counting
rules are in the :mod:`lakecart.report.specs` docstring.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.features.common import before, ratio

# internal column names
OKEY = "_order_key"
SALE = "_sale"
SALE_TS = "_sale_ts"
CELL = "_cell"
CATEGORY_SEPARATOR = " > "


def known(col: Column) -> Column:
    """``col`` trimmed, or ``unknown`` when it is NULL or blank."""
    t = F.trim(col.cast("string"))
    return F.when(t.isNull() | (t == ""), F.lit(N.UNKNOWN)).otherwise(t)


def top_category(col: Column) -> Column:
    """Top level of a category path (``Women > Tops`` -> ``Women``), ``unknown`` when empty."""
    return known(F.split(col, CATEGORY_SEPARATOR, 2).getItem(0))


def item_categories(products: DataFrame | None) -> DataFrame | None:
    """``item_id``, top-level ``category`` and ``title``: one row per item (None without
    products)."""
    if products is None:
        return None
    return products.groupBy(N.ITEM_ID).agg(
        F.max(top_category(F.col(N.CATEGORY))).alias(N.CATEGORY),
        F.max(N.TITLE).alias(N.TITLE),
    )


def order_key(df: DataFrame) -> Column:
    """An order's identity: ``order_id``, qualified by ``_source`` when present (the same id
    from two sources is two orders)."""
    if "_source" in df.columns:
        return F.concat_ws("|", F.col("_source"), F.col(N.ORDER_ID))
    return F.col(N.ORDER_ID)


def order_lines(orders: DataFrame, products: DataFrame | None, as_of: dt.date) -> DataFrame:
    """Silver order lines before ``as_of`` with the mart dimensions and the order key."""
    lines = before(orders, N.ORDER_TS, as_of)
    cats = item_categories(products)
    if cats is not None:
        lines = lines.join(cats.select(N.ITEM_ID, N.CATEGORY), N.ITEM_ID, "left")
    else:
        lines = lines.withColumn(N.CATEGORY, F.lit(None).cast("string"))
    return lines.select(
        order_key(lines).alias(OKEY),
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.ITEM_ID,
        F.to_date(N.ORDER_TS).alias(N.ORDER_DATE),
        known(F.col(N.COUNTRY)).alias(N.COUNTRY),
        known(F.col(N.CATEGORY)).alias(N.CATEGORY),
        known(F.col(N.CHANNEL)).alias(N.CHANNEL),
        (~F.col(N.IS_RETURN)).alias(SALE),
        N.QUANTITY,
        N.REVENUE,
    )


def _sale_sum(col: str) -> Column:
    return F.sum(F.when(F.col(SALE), F.col(col)).otherwise(F.lit(0.0)))


def _return_sum(col: str) -> Column:
    return F.sum(F.when(~F.col(SALE), -F.col(col)).otherwise(F.lit(0.0)))


def sales_daily(orders: DataFrame, products: DataFrame | None, as_of: dt.date) -> DataFrame:
    """``gold.sales_daily`` rows: one per (date, country, category, channel) with a line.

    Args:
        orders: silver.orders (lineage columns optional).
        products: silver.products, or None (every category is then ``unknown``).
        as_of: Only lines strictly before this date are counted.

    Returns:
        The mart's own columns (see :data:`lakecart.report.specs.SALES_DAILY`).
    """
    cell = [N.ORDER_DATE, N.COUNTRY, N.CATEGORY, N.CHANNEL]
    lines = order_lines(orders, products, as_of)
    # one row per order and cell: the distinct counts below then need no distinct aggregate
    per_order = lines.groupBy(OKEY, N.CUSTOMER_ID, *cell).agg(
        F.max(F.col(SALE).cast("int")).alias("_has_sale"),
        F.max((~F.col(SALE)).cast("int")).alias("_has_return"),
        F.min(F.when(F.col(SALE), F.col(N.ORDER_TS))).alias(SALE_TS),
        _sale_sum(N.QUANTITY).alias(N.UNITS),
        _sale_sum(N.REVENUE).alias(N.GROSS_REVENUE),
        _return_sum(N.QUANTITY).alias(N.UNITS_RETURNED),
        _return_sum(N.REVENUE).alias(N.RETURNED_REVENUE),
    )
    cells = per_order.groupBy(*cell).agg(
        F.sum("_has_sale").cast("long").alias(N.ORDER_COUNT),
        F.sum("_has_return").cast("long").alias(N.RETURNS),
        F.count_distinct(F.when(F.col("_has_sale") == 1, F.col(N.CUSTOMER_ID))).alias(
            N.CUSTOMERS_COUNT
        ),
        F.sum(N.UNITS).alias(N.UNITS),
        F.sum(N.GROSS_REVENUE).alias(N.GROSS_REVENUE),
        F.sum(N.UNITS_RETURNED).alias(N.UNITS_RETURNED),
        F.sum(N.RETURNED_REVENUE).alias(N.RETURNED_REVENUE),
    )
    # each order once, in its cell with the largest gross revenue (ties: the last category)
    sales = per_order.filter(F.col("_has_sale") == 1)
    attributed = sales.groupBy(OKEY).agg(
        F.max_by(F.struct(*cell), F.struct(N.GROSS_REVENUE, N.CATEGORY)).alias(CELL),
        F.max(N.CUSTOMER_ID).alias(N.CUSTOMER_ID),
        F.min(SALE_TS).alias(SALE_TS),
    )
    orders_attr = attributed.groupBy(*[F.col(f"{CELL}.{c}").alias(c) for c in cell]).agg(
        F.count(F.lit(1)).alias(N.ORDERS_ATTRIBUTED)
    )
    # each customer once, in the cell of their first order
    first = (
        attributed.filter(F.col(N.CUSTOMER_ID).isNotNull())
        .groupBy(N.CUSTOMER_ID)
        .agg(F.min_by(CELL, F.struct(SALE_TS, OKEY)).alias(CELL))
    )
    new_customers = first.groupBy(*[F.col(f"{CELL}.{c}").alias(c) for c in cell]).agg(
        F.count(F.lit(1)).alias(N.NEW_CUSTOMERS)
    )
    out = cells.join(orders_attr, cell, "left").join(new_customers, cell, "left")
    return out.select(
        *cell,
        N.ORDER_COUNT,
        F.coalesce(N.ORDERS_ATTRIBUTED, F.lit(0)).cast("long").alias(N.ORDERS_ATTRIBUTED),
        N.UNITS,
        N.GROSS_REVENUE,
        N.RETURNS,
        N.UNITS_RETURNED,
        N.RETURNED_REVENUE,
        (F.col(N.GROSS_REVENUE) - F.col(N.RETURNED_REVENUE)).alias(N.REVENUE),
        N.CUSTOMERS_COUNT,
        F.coalesce(N.NEW_CUSTOMERS, F.lit(0)).cast("long").alias(N.NEW_CUSTOMERS),
        ratio(F.col(N.GROSS_REVENUE), F.col(N.ORDER_COUNT)).alias(N.AVG_ORDER_VALUE),
    )


def item_sales_weekly(orders: DataFrame, products: DataFrame | None, as_of: dt.date) -> DataFrame:
    """``gold.item_sales_weekly`` rows: one per (item, ISO week) with a line before as_of."""
    lines = order_lines(orders, products, as_of)
    cats = item_categories(products)
    week = F.date_trunc("week", F.col(N.ORDER_TS)).cast("date")  # Monday
    agg = lines.groupBy(N.ITEM_ID, week.alias(N.PERIOD_START)).agg(
        F.count_distinct(F.when(F.col(SALE), F.col(OKEY))).alias(N.ORDER_COUNT),
        _sale_sum(N.QUANTITY).alias(N.UNITS),
        _return_sum(N.QUANTITY).alias(N.UNITS_RETURNED),
        _sale_sum(N.REVENUE).alias(N.GROSS_REVENUE),
        F.sum(N.REVENUE).alias(N.REVENUE),
    )
    if cats is not None:
        agg = agg.join(cats, N.ITEM_ID, "left")
    else:
        agg = agg.withColumns(
            {N.CATEGORY: F.lit(None).cast("string"), N.TITLE: F.lit(None).cast("string")}
        )
    return agg.select(
        N.ITEM_ID,
        N.PERIOD_START,
        N.TITLE,
        known(F.col(N.CATEGORY)).alias(N.CATEGORY),
        N.ORDER_COUNT,
        N.UNITS,
        N.UNITS_RETURNED,
        N.GROSS_REVENUE,
        N.REVENUE,
    )


def month_start(col: Column) -> Column:
    """First day of the month of a date or timestamp."""
    return F.trunc(F.to_date(col), "month")


def cohort_retention(orders: DataFrame, as_of: dt.date) -> DataFrame:
    """``gold.cohort_retention`` rows: every (cohort month, months since) up to as_of's month.

    A customer's cohort is the month of their first sale line before as_of; a month's active
    customers are those of the cohort with a sale line in it; revenue is net (a return
    counts in the month it happened; returns before the cohort month are not counted).
    """
    lines = before(orders, N.ORDER_TS, as_of).filter(F.col(N.CUSTOMER_ID).isNotNull())
    lines = lines.select(
        N.CUSTOMER_ID,
        order_key(lines).alias(OKEY),
        month_start(F.col(N.ORDER_TS)).alias("_month"),
        (~F.col(N.IS_RETURN)).alias(SALE),
        N.REVENUE,
    )
    monthly = lines.groupBy(N.CUSTOMER_ID, "_month").agg(
        F.count_distinct(F.when(F.col(SALE), F.col(OKEY))).alias(N.ORDER_COUNT),
        F.sum(N.REVENUE).alias(N.REVENUE),
    )
    cohorts = (
        monthly.filter(F.col(N.ORDER_COUNT) > 0)
        .groupBy(N.CUSTOMER_ID)
        .agg(F.min("_month").alias(N.COHORT_MONTH))
    )
    since = F.months_between(F.col("_month"), F.col(N.COHORT_MONTH)).cast("int")
    activity = (
        monthly.join(cohorts, N.CUSTOMER_ID)
        .withColumn(N.MONTHS_SINCE, since)
        .filter(F.col(N.MONTHS_SINCE) >= 0)
        .groupBy(N.COHORT_MONTH, N.MONTHS_SINCE)
        .agg(
            F.sum((F.col(N.ORDER_COUNT) > 0).cast("long")).alias(N.ACTIVE_CUSTOMERS),
            F.sum(N.ORDER_COUNT).cast("long").alias(N.ORDER_COUNT),
            F.sum(N.REVENUE).alias(N.REVENUE),
        )
    )
    last_month = dt.date(as_of.year, as_of.month, 1)
    sizes = cohorts.groupBy(N.COHORT_MONTH).agg(F.count(F.lit(1)).alias(N.COHORT_CUSTOMERS))
    span = F.months_between(F.lit(last_month), F.col(N.COHORT_MONTH)).cast("int")
    # as_of's own month holds data only when as_of is not its first day
    span = span - F.lit(1 if as_of.day == 1 else 0)
    grid = sizes.select(
        "*", F.explode(F.sequence(F.lit(0), F.greatest(span, F.lit(0)))).alias(N.MONTHS_SINCE)
    )
    month = F.add_months(F.col(N.COHORT_MONTH), F.col(N.MONTHS_SINCE))
    out = grid.join(activity, [N.COHORT_MONTH, N.MONTHS_SINCE], "left")
    active = F.coalesce(N.ACTIVE_CUSTOMERS, F.lit(0)).cast("long")
    return out.select(
        N.COHORT_MONTH,
        F.col(N.MONTHS_SINCE).cast("int").alias(N.MONTHS_SINCE),
        F.col(N.COHORT_CUSTOMERS).cast("long").alias(N.COHORT_CUSTOMERS),
        active.alias(N.ACTIVE_CUSTOMERS),
        (active / F.col(N.COHORT_CUSTOMERS)).cast("double").alias(N.RETENTION),
        F.coalesce(N.ORDER_COUNT, F.lit(0)).cast("long").alias(N.ORDER_COUNT),
        F.coalesce(N.REVENUE, F.lit(0.0)).alias(N.REVENUE),
        (F.add_months(month, 1) <= F.lit(as_of)).alias(N.MONTH_COMPLETE),
    )


def main_channels(orders: DataFrame | None, as_of: dt.date) -> DataFrame | None:
    """Each customer's most frequent order channel before as_of (distinct orders; ties:
    alphabetically first): ``user_id``, ``channel``. None without orders."""
    if orders is None:
        return None
    lines = before(orders, N.ORDER_TS, as_of).filter(
        F.col(N.CUSTOMER_ID).isNotNull() & ~F.col(N.IS_RETURN)
    )
    per = lines.groupBy(N.CUSTOMER_ID, known(F.col(N.CHANNEL)).alias(N.CHANNEL)).agg(
        F.count_distinct(order_key(lines)).alias("_n")
    )
    # the smallest (-orders, channel): the most orders, then the alphabetically first
    best = F.min(F.struct((-F.col("_n")).alias("n"), F.col(N.CHANNEL).alias("c")))
    return per.groupBy(F.col(N.CUSTOMER_ID).alias(N.USER_ID)).agg(best["c"].alias(N.CHANNEL))


def funnel_daily(
    events: DataFrame,
    products: DataFrame | None,
    orders: DataFrame | None,
    as_of: dt.date,
) -> DataFrame:
    """``gold.funnel_daily`` rows: one per (session date, channel, entry category).

    Args:
        events: silver.events.
        products: silver.products or None (categories ``unknown``).
        orders: silver.orders or None (channels ``unknown``).
        as_of: Only events strictly before this date are counted.
    """
    ev = before(events, N.EVENT_TS, as_of)
    session = F.coalesce(
        F.col(N.SESSION_ID),
        F.concat_ws("|", F.col(N.USER_ID), F.to_date(N.EVENT_TS).cast("string")),
    )
    ev = ev.select(
        F.concat_ws("|", F.col(N.USER_ID), session).alias("_session"),
        N.USER_ID,
        N.EVENT_TS,
        F.lower(F.trim(F.col(N.EVENT_TYPE))).alias(N.EVENT_TYPE),
        N.ITEM_ID,
    )
    cats = item_categories(products)
    if cats is not None:
        ev = ev.join(cats.select(N.ITEM_ID, N.CATEGORY), N.ITEM_ID, "left")
    else:
        ev = ev.withColumn(N.CATEGORY, F.lit(None).cast("string"))
    with_item = F.col(N.ITEM_ID).isNotNull()

    def has(kind: str) -> Column:
        return F.max((F.col(N.EVENT_TYPE) == kind).cast("int"))

    sessions = ev.groupBy("_session").agg(
        F.first(N.USER_ID).alias(N.USER_ID),
        F.to_date(F.min(N.EVENT_TS)).alias(N.SESSION_DATE),
        # the category of the earliest event on an item (ties: the smallest item id)
        F.min_by(
            F.col(N.CATEGORY),
            F.when(with_item, F.struct(F.col(N.EVENT_TS), F.col(N.ITEM_ID))),
        ).alias(N.CATEGORY),
        has(N.EV_VIEW).alias("_view"),
        has(N.EV_CART).alias("_cart"),
        has(N.EV_PURCHASE).alias("_purchase"),
    )
    channels = main_channels(orders, as_of)
    if channels is not None:
        sessions = sessions.join(channels, N.USER_ID, "left")
    else:
        sessions = sessions.withColumn(N.CHANNEL, F.lit(None).cast("string"))
    cells = sessions.groupBy(
        N.SESSION_DATE,
        known(F.col(N.CHANNEL)).alias(N.CHANNEL),
        known(F.col(N.CATEGORY)).alias(N.CATEGORY),
    ).agg(
        F.count(F.lit(1)).alias(N.SESSIONS),
        F.sum("_view").cast("long").alias(N.VIEW_SESSIONS),
        F.sum("_cart").cast("long").alias(N.CART_SESSIONS),
        F.sum("_purchase").cast("long").alias(N.PURCHASE_SESSIONS),
    )
    return cells.select(
        "*",
        ratio(F.col(N.CART_SESSIONS), F.col(N.VIEW_SESSIONS)).alias(N.VIEW_TO_CART),
        ratio(F.col(N.PURCHASE_SESSIONS), F.col(N.CART_SESSIONS)).alias(N.CART_TO_PURCHASE),
        ratio(F.col(N.PURCHASE_SESSIONS), F.col(N.SESSIONS)).alias(N.CONVERSION_RATE),
    )
