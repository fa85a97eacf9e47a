"""Table schemas, column comments, keys and constraints: declared once, here.

Tables are created from these declarations (:mod:`lakecart.tables`) and every write is
checked against them before it lands. The README's table catalogue is generated from
this module (``python -m lakecart.catalog``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pyspark.sql import types as T

from lakecart import names as N

S = T.StringType()
TS = T.TimestampType()
D = T.DateType()
DBL = T.DoubleType()
LNG = T.LongType()
INT = T.IntegerType()
BOOL = T.BooleanType()
RAWMAP = T.MapType(T.StringType(), T.StringType())


@dataclass(frozen=True)
class Col:
    """One declared column."""

    name: str
    dtype: T.DataType
    comment: str
    nullable: bool = True


@dataclass(frozen=True)
class TableSpec:
    """A declared Delta table.

    Attributes:
        layer: bronze, silver, features, gold or ops.
        name: Table name inside its layer.
        comment: What the table holds (becomes the Delta table comment).
        columns: Declared columns in order.
        keys: Columns that identify a row (used by MERGE writes and uniqueness checks).
        partition_by: Partition columns.
        checks: Named SQL CHECK constraints added to the table.
    """

    layer: str
    name: str
    comment: str
    columns: tuple[Col, ...]
    keys: tuple[str, ...] = ()
    partition_by: tuple[str, ...] = ()
    checks: dict[str, str] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        """``layer.name``, as the SPEC writes it."""
        return f"{self.layer}.{self.name}"

    @property
    def schema(self) -> T.StructType:
        """The Spark schema with comments in the field metadata."""
        return T.StructType(
            [
                T.StructField(c.name, c.dtype, c.nullable, {"comment": c.comment})
                for c in self.columns
            ]
        )

    @property
    def column_names(self) -> list[str]:
        """Declared column names in order."""
        return [c.name for c in self.columns]


# ---------------------------------------------------------------- lineage
LINEAGE = (
    Col("_source", S, "ingest source that produced the row (online_retail, canonical, ...)", False),
    Col("_source_file", S, "file the row was read from", False),
    Col("_row_number", LNG, "1-based data row number inside _source_file (header excluded)", False),
    Col("_run_id", S, "ops.runs.run_id of the ingest run that wrote the row", False),
    Col("_ingested_at", TS, "when the row was ingested (UTC)", False),
)


def _bronze(entity: str) -> TableSpec:
    return TableSpec(
        N.BRONZE,
        entity,
        f"Raw {entity} records exactly as read, one row per source record, with lineage.",
        (
            *LINEAGE,
            Col("_file_size", LNG, "size in bytes of _source_file when it was ingested", False),
            Col("_file_mtime", TS, "modification time of _source_file when it was ingested", False),
            Col(
                N.RAW,
                RAWMAP,
                "every field of the record as text, keyed by the source's column name",
                False,
            ),
            Col(
                N.MALFORMED,
                S,
                "the raw line when the record could not be split into the expected fields",
            ),
        ),
        keys=("_source_file", "_row_number"),
    )


def _silver(
    entity: str, comment: str, cols: tuple[Col, ...], keys: tuple[str, ...] = (), checks=None
) -> TableSpec:
    return TableSpec(N.SILVER, entity, comment, (*cols, *LINEAGE), keys=keys, checks=checks or {})


SILVER_ORDERS = _silver(
    N.ORDERS,
    "Order lines, typed and cleaned. Returns and cancellations are kept with is_return = true and "
    "negative quantity; guest orders are kept with a NULL customer_id.",
    (
        Col(N.ORDER_ID, S, "order (invoice) id", False),
        Col(N.CUSTOMER_ID, S, "customer id; NULL for a guest order"),
        Col(N.ORDER_TS, TS, "order time (UTC)", False),
        Col(N.ITEM_ID, S, "item (stock code) id", False),
        Col(N.QUANTITY, DBL, "units; negative for a return or cancellation", False),
        Col(N.UNIT_PRICE, DBL, "price per unit, >= 0", False),
        Col(N.REVENUE, DBL, "quantity x unit_price (negative for returns)", False),
        Col(N.IS_RETURN, BOOL, "true for a return or cancellation line", False),
        Col(N.COUNTRY, S, "customer country as given"),
        Col(N.CHANNEL, S, "sales channel"),
        Col(N.STATUS, S, "order status (completed, cancelled, returned, ...)"),
    ),
    checks={"unit_price_non_negative": "unit_price >= 0", "quantity_non_zero": "quantity <> 0"},
)
SILVER_PRODUCTS = _silver(
    N.PRODUCTS,
    "Catalogue: one row per item.",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.TITLE, S, "product title"),
        Col(N.DESCRIPTION, S, "longer description"),
        Col(N.CATEGORY, S, "category; levels may be joined by ' > ' (Women > Tops > Blouses)"),
        Col(N.BRAND, S, "brand"),
        Col(N.PRICE, DBL, "list price"),
        Col(
            N.IMAGE,
            S,
            "product photo: a URI Spark reads (a relative path in the landing file is resolved "
            "against the landing folder)",
        ),
    ),
    keys=(N.ITEM_ID,),
)
SILVER_CUSTOMERS = _silver(
    N.CUSTOMERS,
    "Customers: one row per customer id.",
    (
        Col(N.CUSTOMER_ID, S, "customer id", False),
        Col(N.SIGNUP_TS, TS, "sign-up time (UTC)"),
        Col(N.COUNTRY, S, "country"),
        Col(N.BIRTH_YEAR, INT, "year of birth"),
        Col(N.GENDER, S, "gender as given"),
        Col(
            N.ATTRIBUTES,
            RAWMAP,
            "further landed columns (CRM attributes) as text, keyed by column name; models may "
            "use them as features (numeric text as numbers, other values as categories)",
        ),
    ),
    keys=(N.CUSTOMER_ID,),
)
SILVER_EVENTS = _silver(
    N.EVENTS,
    "Clickstream events.",
    (
        Col(N.EVENT_TS, TS, "event time (UTC)", False),
        Col(N.USER_ID, S, "user (customer) id", False),
        Col(N.SESSION_ID, S, "session id"),
        Col(N.EVENT_TYPE, S, "view, cart, purchase, search, ... (lower case)", False),
        Col(N.ITEM_ID, S, "item id, when the event concerns one"),
    ),
)
SILVER_RATINGS = _silver(
    N.RATINGS,
    "Explicit feedback: the latest rating per (user_id, item_id).",
    (
        Col(N.USER_ID, S, "user id", False),
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.RATING, DBL, "rating within [ingest.rating_min, ingest.rating_max]", False),
        Col(N.RATING_TS, TS, "rating time (UTC)"),
    ),
    keys=(N.USER_ID, N.ITEM_ID),
)
SILVER_REVIEWS = _silver(
    N.REVIEWS,
    "Product reviews with text.",
    (
        Col(N.REVIEW_ID, S, "review id", False),
        Col(N.ITEM_ID, S, "item id"),
        Col(N.CUSTOMER_ID, S, "reviewer id"),
        Col(N.RATING, DBL, "star rating; NULL for an unrated review (scored, not learned from)"),
        Col(N.TITLE, S, "review title"),
        Col(N.TEXT, S, "review text, trimmed", False),
        Col(N.REVIEW_TS, TS, "review time (UTC)"),
    ),
    keys=(N.REVIEW_ID,),
)
SILVER_TRANSACTIONS = _silver(
    N.TRANSACTIONS,
    "Payment transactions (for fraud scoring).",
    (
        Col(N.TRANSACTION_ID, S, "transaction id", False),
        Col(N.CUSTOMER_ID, S, "customer id"),
        Col(N.TXN_TS, TS, "transaction time (UTC)", False),
        Col(N.AMOUNT, DBL, "amount", False),
        Col(N.SIGNUP_TS, TS, "customer sign-up time (UTC)"),
        Col(N.DEVICE_ID, S, "device id"),
        Col(N.IP_ADDRESS, S, "IP address (personal data: never published in gold)"),
        Col(N.SOURCE, S, "acquisition source (SEO, Ads, Direct, ...)"),
        Col(N.BROWSER, S, "browser"),
        Col(N.LABEL, INT, "1 fraud, 0 genuine, NULL unknown"),
    ),
    keys=(N.TRANSACTION_ID,),
    checks={"label_binary": "label IS NULL OR label IN (0, 1)"},
)
SILVER_INVENTORY = _silver(
    N.INVENTORY,
    "Stock snapshots: one row per (item_id, snapshot_date).",
    (
        Col(N.ITEM_ID, S, "item id", False),
        Col(N.SNAPSHOT_DATE, D, "snapshot date", False),
        Col(N.ON_HAND, DBL, "units on hand, >= 0", False),
        Col(N.LEAD_TIME_DAYS, DBL, "supplier lead time in days"),
        Col(N.LEAD_TIME_STD_DAYS, DBL, "standard deviation of the lead time in days"),
        Col(N.UNIT_COST, DBL, "cost per unit"),
        Col(N.ORDER_COST, DBL, "fixed cost per replenishment order"),
    ),
    keys=(N.ITEM_ID, N.SNAPSHOT_DATE),
)
SILVER_CAMPAIGNS = _silver(
    N.CAMPAIGNS,
    "Marketing contacts and their responses.",
    (
        Col(N.CAMPAIGN_ID, S, "campaign id", False),
        Col(N.CUSTOMER_ID, S, "contacted customer", False),
        Col(N.SENT_TS, TS, "contact time (UTC)", False),
        Col(N.CHANNEL, S, "email, sms, push, ..."),
        Col(N.OFFER, S, "offer"),
        Col(N.COST, DBL, "cost of the contact"),
        Col(N.RESPONDED, BOOL, "whether the customer responded"),
        Col(N.RESPONSE_TS, TS, "response time (UTC)"),
        Col(N.REVENUE, DBL, "revenue attributed to the response"),
    ),
    keys=(N.CAMPAIGN_ID, N.CUSTOMER_ID),
)

SILVER_MESSAGES = _silver(
    N.MESSAGES,
    "Customer-service messages (e-mail, chat, form), with the intent where a label is known.",
    (
        Col(N.MESSAGE_ID, S, "message id", False),
        Col(N.CUSTOMER_ID, S, "customer id; NULL when unknown"),
        Col(N.SENT_TS, TS, "when the message was sent (UTC)", False),
        Col(N.CHANNEL, S, "email, chat, form, ... (lower case)"),
        Col(N.TEXT, S, "message text, trimmed", False),
        Col(N.INTENT, S, "intent label where known (lower case); NULL = unlabelled"),
        Col(N.ORDER_ID, S, "order the message refers to, when given"),
    ),
    keys=(N.MESSAGE_ID,),
)
SILVER_IP_RANGES = _silver(
    N.IP_RANGES,
    "Reference: IPv4 address ranges (as integers, inclusive) and their country.",
    (
        Col(N.IP_LOWER, LNG, "first IPv4 address of the range, as an integer", False),
        Col(N.IP_UPPER, LNG, "last IPv4 address of the range, as an integer", False),
        Col(N.COUNTRY, S, "country of the range", False),
    ),
    keys=(N.IP_LOWER, N.IP_UPPER),
    checks={"range_ordered": "lower <= upper"},
)

SILVER = {
    s.name: s
    for s in (
        SILVER_ORDERS,
        SILVER_PRODUCTS,
        SILVER_CUSTOMERS,
        SILVER_EVENTS,
        SILVER_RATINGS,
        SILVER_REVIEWS,
        SILVER_TRANSACTIONS,
        SILVER_INVENTORY,
        SILVER_CAMPAIGNS,
        SILVER_MESSAGES,
        SILVER_IP_RANGES,
    )
}
BRONZE = {e: _bronze(e) for e in N.ENTITIES}

QUARANTINE = TableSpec(
    N.SILVER,
    N.QUARANTINE,
    "Rejected records, each with a reason code; nothing is dropped silently.",
    (
        Col(N.RUN_ID, S, "ingest run that rejected the record", False),
        Col(N.ENTITY, S, "entity the record was meant for", False),
        Col(N.REASON, S, "reason code (see the README's list)", False),
        Col(N.DETAIL, S, "which field failed and its value"),
        Col(N.RAW, RAWMAP, "the raw record as read", False),
        Col(N.MALFORMED, S, "the raw line when the record could not be split into fields"),
        Col("_source", S, "ingest source", False),
        Col("_source_file", S, "file the record came from", False),
        Col("_row_number", LNG, "1-based data row number in _source_file", False),
        Col("quarantined_at", TS, "when the record was rejected (UTC)", False),
    ),
    keys=("_source_file", "_row_number", N.ENTITY),
)

RUNS = TableSpec(
    N.OPS,
    N.RUNS,
    "One row per job run, failed runs included.",
    (
        Col(N.RUN_ID, S, "run id", False),
        Col(N.JOB, S, "job name", False),
        Col(N.ARGS, S, "command-line arguments and effective config (JSON)"),
        Col(
            N.STATUS,
            S,
            "running, succeeded, failed or abandoned (its driver died while running)",
            False,
        ),
        Col(N.STARTED_AT, TS, "start time (UTC)", False),
        Col(N.FINISHED_AT, TS, "end time (UTC); NULL while running"),
        Col(N.ROWS_IN, LNG, "rows read"),
        Col(N.ROWS_OUT, LNG, "rows written"),
        Col(N.ERROR, S, "one-line error for a failed run"),
    ),
    keys=(N.RUN_ID,),
)
DATA_QUALITY = TableSpec(
    N.OPS,
    N.DATA_QUALITY,
    "Data-quality checks per run and table.",
    (
        Col(N.RUN_ID, S, "run id", False),
        Col(N.TABLE, S, "table checked (layer.name)", False),
        Col(N.CHECK, S, "check name", False),
        Col(N.PASSED, BOOL, "whether the check passed", False),
        Col(N.FAILED_ROWS, LNG, "rows that failed the check"),
        Col(N.DETAIL, S, "counts and context"),
    ),
    keys=(N.RUN_ID, N.TABLE, N.CHECK),
)
MODEL_METRICS = TableSpec(
    N.OPS,
    N.MODEL_METRICS,
    "Model evaluation metrics with the baseline's value beside each.",
    (
        Col(N.RUN_ID, S, "run id", False),
        Col(N.MODEL, S, "model name", False),
        Col(N.MODEL_VERSION, S, "model version id", False),
        Col(N.DATASET, S, "dataset / source evaluated"),
        Col(N.AS_OF, D, "decision date of the evaluation"),
        Col(N.SPLIT, S, "validation, holdout, backtest, ..."),
        Col(N.METRIC, S, "metric name", False),
        Col(N.K, INT, "cut-off or horizon when the metric has one"),
        Col(N.VALUE, DBL, "metric value"),
        Col(N.BASELINE, S, "baseline model name"),
        Col(N.BASELINE_VALUE, DBL, "the baseline's value of the same metric"),
    ),
)

OPS = {s.name: s for s in (RUNS, DATA_QUALITY, MODEL_METRICS)}


def all_specs() -> list[TableSpec]:
    """Every declared table, in catalogue order."""
    # lazy: those modules import this one
    from lakecart.basket.specs import BASKET_SPECS
    from lakecart.customers.specs import CUSTOMER_SPECS
    from lakecart.features.specs import FEATURE_SPECS
    from lakecart.forecast.specs import FORECAST_SPECS
    from lakecart.fraud.specs import FRAUD_SPECS
    from lakecart.images.specs import IMAGE_SPECS
    from lakecart.marketing.specs import MARKETING_SPECS
    from lakecart.recommend.specs import RECOMMEND_SPECS
    from lakecart.report.specs import REPORT_SPECS
    from lakecart.text.specs import TEXT_SPECS

    return [
        *BRONZE.values(),
        *SILVER.values(),
        QUARANTINE,
        *FEATURE_SPECS,
        *RECOMMEND_SPECS,
        *FORECAST_SPECS,
        *CUSTOMER_SPECS,
        *BASKET_SPECS,
        *FRAUD_SPECS,
        *TEXT_SPECS,
        *MARKETING_SPECS,
        *IMAGE_SPECS,
        *REPORT_SPECS,
        *OPS.values(),
    ]
