"""Declared schemas of the analytics marts (SPEC section 4: declared by the ``report`` job).

The marts are small aggregates for BI tools, republished whole by every run (one atomic
commit, so a re-run for the same as_of replaces them; older publications stay readable
through Delta time travel). They are not partitioned: Delta's guidance is not to partition
tables far below a terabyte, and a mart of a few years of a shop is megabytes. Rows are
written range-ordered by their date column instead, so that each file covers a date range
and a BI query filtering on dates skips files by their min/max statistics.

Counting rules (they make the totals reconcile with silver, see ``bench/report.py``):

* a *sale* line has ``is_return = false``; a return or cancellation line ``is_return = true``
  (negative quantity and revenue);
* ``revenue`` is net (sales minus returns and cancellations: the sum of silver's
  ``revenue``), ``gross_revenue`` sales only, ``returned_revenue`` the returned value as a
  positive number;
* an order is a distinct ``(source, order_id)`` with at least one sale line; a return is a
  distinct ``(source, order_id)`` with a return line;
* a customer is a non-NULL ``customer_id`` with at least one sale line (guests count in
  orders and revenue, not in customers).
"""

from __future__ import annotations

from lakecart import names as N
from lakecart.gold import gold_spec
from lakecart.schemas import BOOL, DBL, INT, LNG, Col, D, S

_DIMENSIONS = (
    Col(N.COUNTRY, S, f"order country; '{N.UNKNOWN}' when the order has none", False),
    Col(
        N.CATEGORY,
        S,
        f"top level of the item's category (before the first ' > '); '{N.UNKNOWN}' when the item "
        "has none or is not in silver.products",
        False,
    ),
    Col(N.CHANNEL, S, f"sales channel of the order; '{N.UNKNOWN}' when it has none", False),
)

SALES_DAILY = gold_spec(
    N.SALES_DAILY,
    "Daily sales by country, category and channel from silver order lines strictly before as_of. "
    "Sums (units, revenues, orders_attributed, new_customers) add up over any dimension; the "
    "distinct counts (orders, returns, customers) add up over dates, countries and channels but "
    "count an order once per category it contains.",
    (
        Col(N.ORDER_DATE, D, "order date (UTC)", False),
        *_DIMENSIONS,
        Col(N.ORDER_COUNT, LNG, "distinct orders with a sale line in the cell", False),
        Col(
            N.ORDERS_ATTRIBUTED,
            LNG,
            "orders counted once, in the cell with the largest share of the order's gross revenue "
            "(ties: the alphabetically last category); sums to the distinct orders",
            False,
        ),
        Col(N.UNITS, DBL, "units sold (sale lines; returns excluded)", False),
        Col(N.GROSS_REVENUE, DBL, "revenue of the sale lines", False),
        Col(N.RETURNS, LNG, "distinct return/cancellation orders with a line in the cell", False),
        Col(N.UNITS_RETURNED, DBL, "units returned or cancelled (positive)", False),
        Col(N.RETURNED_REVENUE, DBL, "value returned or cancelled (positive)", False),
        Col(N.REVENUE, DBL, "net revenue: gross_revenue - returned_revenue", False),
        Col(N.CUSTOMERS_COUNT, LNG, "distinct customers with a sale line in the cell", False),
        Col(
            N.NEW_CUSTOMERS,
            LNG,
            "customers whose first order (earliest sale line; ties: smallest order id) is "
            "attributed to the cell as in orders_attributed; sums to the distinct customers",
            False,
        ),
        Col(
            N.AVG_ORDER_VALUE,
            DBL,
            "gross_revenue / orders (NULL in a cell with returns only)",
        ),
    ),
    keys=(N.ORDER_DATE, N.COUNTRY, N.CATEGORY, N.CHANNEL),
    checks={
        "counts_non_negative": "orders >= 0 AND returns >= 0 AND customers >= 0 "
        "AND orders_attributed BETWEEN 0 AND orders AND new_customers BETWEEN 0 AND customers",
        "amounts_non_negative": "units >= 0 AND units_returned >= 0 AND returned_revenue >= 0",
    },
)

ITEM_SALES_WEEKLY = gold_spec(
    N.ITEM_SALES_WEEKLY,
    "Weekly sales per item (ISO weeks starting Monday, as gold.demand_forecast) from silver order "
    "lines strictly before as_of; only weeks with a line of the item. The last week may be "
    "partial: it ends at as_of.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.PERIOD_START, D, "Monday of the ISO week", False),
        Col(N.TITLE, S, "product title from silver.products, when known"),
        Col(N.CATEGORY, S, _DIMENSIONS[1].comment, False),
        Col(N.ORDER_COUNT, LNG, "distinct orders with a sale line of the item", False),
        Col(N.UNITS, DBL, "units sold (returns excluded)", False),
        Col(N.UNITS_RETURNED, DBL, "units returned or cancelled (positive)", False),
        Col(N.GROSS_REVENUE, DBL, "revenue of the sale lines", False),
        Col(N.REVENUE, DBL, "net revenue (returns subtracted)", False),
    ),
    keys=(N.ITEM_ID, N.PERIOD_START),
    checks={
        "period_is_monday": "dayofweek(period_start) = 2",
        "amounts_non_negative": "units >= 0 AND units_returned >= 0 AND orders >= 0",
    },
)

COHORT_RETENTION = gold_spec(
    N.COHORT_RETENTION,
    "Monthly retention of customer cohorts: customers grouped by the calendar month of their first "
    "order before as_of, and for every month since (0 = the first month) how many ordered and what "
    "they spent. Every (cohort, month) up to as_of's month has a row, zeros included.",
    (
        Col(N.COHORT_MONTH, D, "first day of the month of the customer's first order", False),
        Col(N.MONTHS_SINCE, INT, "calendar months after the cohort month (0 = same month)", False),
        Col(N.COHORT_CUSTOMERS, LNG, "customers in the cohort", False),
        Col(N.ACTIVE_CUSTOMERS, LNG, "cohort customers with an order in the month", False),
        Col(N.RETENTION, DBL, "active_customers / cohort_customers", False),
        Col(N.ORDER_COUNT, LNG, "orders of the cohort's customers in the month", False),
        Col(
            N.REVENUE,
            DBL,
            "net revenue of the cohort's customers in the month (returns subtracted)",
            False,
        ),
        Col(
            N.MONTH_COMPLETE,
            BOOL,
            "whether the calendar month ended before as_of (false: a partial month)",
            False,
        ),
    ),
    keys=(N.COHORT_MONTH, N.MONTHS_SINCE),
    checks={
        "retention_is_share": "retention BETWEEN 0 AND 1",
        "active_within_cohort": "active_customers BETWEEN 0 AND cohort_customers",
        "months_since_non_negative": "months_since >= 0",
    },
)

FUNNEL_DAILY = gold_spec(
    N.FUNNEL_DAILY,
    "Daily shopping funnel from silver.events strictly before as_of: sessions, and sessions with "
    "a view, a cart and a purchase event, by channel and entry category. Each session is counted "
    "once (on its first event's date, in its entry category and its user's channel), so every "
    "count adds up over any dimension; compute rates from the sums.",
    (
        Col(N.SESSION_DATE, D, "date of the session's first event (UTC)", False),
        Col(
            N.CHANNEL,
            S,
            "the user's most frequent order channel before as_of (ties: alphabetically first); "
            f"'{N.UNKNOWN}' for users without orders (events carry no channel)",
            False,
        ),
        Col(
            N.CATEGORY,
            S,
            "entry category: top level of the category of the session's first event on an item; "
            f"'{N.UNKNOWN}' when none is known",
            False,
        ),
        Col(
            N.SESSIONS,
            LNG,
            "sessions (session_id; user and day when it is empty)",
            False,
        ),
        Col(N.VIEW_SESSIONS, LNG, "sessions with a view event", False),
        Col(N.CART_SESSIONS, LNG, "sessions with a cart event", False),
        Col(N.PURCHASE_SESSIONS, LNG, "sessions with a purchase event", False),
        Col(N.VIEW_TO_CART, DBL, "cart_sessions / view_sessions (NULL without views)"),
        Col(N.CART_TO_PURCHASE, DBL, "purchase_sessions / cart_sessions (NULL without carts)"),
        Col(N.CONVERSION_RATE, DBL, "purchase_sessions / sessions", False),
    ),
    keys=(N.SESSION_DATE, N.CHANNEL, N.CATEGORY),
    checks={
        "steps_within_sessions": "view_sessions <= sessions AND cart_sessions <= sessions "
        "AND purchase_sessions <= sessions AND view_sessions >= 0 AND cart_sessions >= 0 "
        "AND purchase_sessions >= 0",
        "conversion_is_share": "conversion_rate BETWEEN 0 AND 1",
    },
)

REPORT_SPECS: tuple = (SALES_DAILY, ITEM_SALES_WEEKLY, COHORT_RETENTION, FUNNEL_DAILY)
