"""Bronze -> silver: typing, normalisation, checks, de-duplication and quarantine.

All functions here are pure ``DataFrame -> DataFrame`` transforms. The input is a
"landing-shaped" frame: the canonical columns of one entity as *strings* (mapped from the
raw record by a source adapter) plus the lineage columns. The output of
:func:`classify` adds ``_outcome`` (silver, quarantine or duplicate), ``_reason`` and
``_detail`` to every row, so that each raw row is accounted for exactly once.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import LINEAGE, SILVER, TableSpec
from lakecart.schemas import QUARANTINE as QSPEC

OUT_SILVER = "silver"
OUT_QUARANTINE = "quarantine"
OUT_DUPLICATE = "duplicate"

# How each canonical column is parsed. Columns not listed are trimmed text.
IDS = {
    N.ORDER_ID,
    N.CUSTOMER_ID,
    N.ITEM_ID,
    N.USER_ID,
    N.SESSION_ID,
    N.REVIEW_ID,
    N.TRANSACTION_ID,
    N.DEVICE_ID,
    N.CAMPAIGN_ID,
    N.MESSAGE_ID,
}
TIMESTAMPS = {
    N.ORDER_TS,
    N.SIGNUP_TS,
    N.EVENT_TS,
    N.RATING_TS,
    N.REVIEW_TS,
    N.TXN_TS,
    N.SENT_TS,
    N.RESPONSE_TS,
}
DATES = {N.SNAPSHOT_DATE}
NUMBERS = {
    N.QUANTITY,
    N.UNIT_PRICE,
    N.PRICE,
    N.RATING,
    N.AMOUNT,
    N.ON_HAND,
    N.LEAD_TIME_DAYS,
    N.LEAD_TIME_STD_DAYS,
    N.UNIT_COST,
    N.ORDER_COST,
    N.COST,
    N.REVENUE,
}
INTEGERS = {N.BIRTH_YEAR, N.LABEL}
LONGS = {N.IP_LOWER, N.IP_UPPER}  # whole numbers that may be written as floats (16777216.0)
BOOLEANS = {N.RESPONDED}
LOWER = {N.EVENT_TYPE, N.STATUS, N.CHANNEL, N.INTENT}
PATHS = {N.IMAGE}  # trimmed only: whitespace inside a path is part of it
# Columns computed in silver rather than landed.
DERIVED = {N.ORDERS: {N.REVENUE, N.IS_RETURN}}
# Map columns an adapter computes from the record itself (lakecart.ingest.sources):
# customers keep their further landed columns as attributes.
MAPS = {N.CUSTOMERS: {N.ATTRIBUTES}}

# Columns whose value decides which of two rows with the same key is the latest.
LATEST_BY = {
    N.RATINGS: N.RATING_TS,
    N.REVIEWS: N.REVIEW_TS,
    N.TRANSACTIONS: N.TXN_TS,
    N.CAMPAIGNS: N.SENT_TS,
    N.CUSTOMERS: N.SIGNUP_TS,
    N.MESSAGES: N.SENT_TS,
}


@dataclass(frozen=True)
class Rules:
    """Data-quality rules (from ``config.ingest``)."""

    timestamp_formats: tuple[str, ...]
    rating_min: float = 0.5
    rating_max: float = 5.0


def landed_columns(entity: str) -> list[str]:
    """Canonical columns of ``entity`` that a landing file may carry."""
    spec = SILVER[entity]
    lineage = {c.name for c in LINEAGE}
    skip = DERIVED.get(entity, set()) | MAPS.get(entity, set())
    return [c.name for c in spec.columns if c.name not in lineage and c.name not in skip]


def required_columns(entity: str) -> list[str]:
    """Landed columns that must be present and non-empty (NOT NULL in silver)."""
    spec = SILVER[entity]
    landed = set(landed_columns(entity))
    return [c.name for c in spec.columns if not c.nullable and c.name in landed]


# ------------------------------------------------------------------ parsing helpers
def norm_id(c: Column) -> Column:
    """Trim an identifier and drop a float artefact: ``'17850.0'`` -> ``'17850'``; empty -> NULL."""
    t = F.trim(c)
    t = F.regexp_replace(t, r"^(-?\d+)\.0+$", "$1")
    return F.when(t == "", None).otherwise(t)


def norm_text(c: Column) -> Column:
    """Trim and collapse internal whitespace; empty -> NULL."""
    t = F.trim(F.regexp_replace(c, r"\s+", " "))
    return F.when(t == "", None).otherwise(t)


def resolve_path(c: Column, root: str) -> Column:
    """A file reference made absolute: a URI (``scheme:...``) is kept (``file:///x`` becomes
    ``file:/x``, as Hadoop spells it), ``/x`` is taken on the landing folder's file system and
    anything else is relative to ``root`` (the landing folder's qualified URI)."""
    root = root.rstrip("/")
    m = re.match(r"^([A-Za-z][A-Za-z0-9+.-]*:(//[^/]*)?)", root)
    base = m.group(1) if m else ""
    rel = F.regexp_replace(c, r"^(\./)+", "")
    return (
        F.when(
            c.rlike(r"^[A-Za-z][A-Za-z0-9+.-]+:"), F.regexp_replace(c, r"^file://(?=/)", "file:")
        )
        .when(c.startswith("/"), F.concat(F.lit(base), c))
        .otherwise(F.concat(F.lit(root + "/"), rel))
    )


def parse_number(c: Column) -> Column:
    """String -> double; NULL when it is not a plain decimal number (thousands commas allowed)."""
    t = F.regexp_replace(F.trim(c), ",", "")
    return F.when(t.rlike(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"), t.cast("double"))


def parse_timestamp(c: Column, formats: Sequence[str]) -> Column:
    """String -> timestamp trying each format in turn; all-digit strings are epoch seconds."""
    t = F.trim(c)
    epoch = F.when(t.rlike(r"^\d{9,11}$"), F.timestamp_seconds(t.cast("long")))
    parsed = [F.try_to_timestamp(t, F.lit(fmt)) for fmt in formats]
    return F.coalesce(epoch, *parsed)


def parse_bool(c: Column) -> Column:
    """Common spellings of true/false -> boolean."""
    t = F.lower(F.trim(c))
    return (
        F.when(t.isin("1", "true", "t", "yes", "y", "1.0"), F.lit(True))
        .when(t.isin("0", "false", "f", "no", "n", "0.0"), F.lit(False))
        .otherwise(F.lit(None).cast("boolean"))
    )


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


# ------------------------------------------------------------------ the transform
def classify(landed: DataFrame, entity: str, rules: Rules, dedupe: bool = True) -> DataFrame:
    """Type, check and de-duplicate one entity's landed rows.

    Args:
        landed: Canonical columns of ``entity`` as strings (missing optional columns may be
            absent), plus the lineage columns, ``raw`` and ``malformed``.
        entity: Entity name (``orders``, ``ratings``...).
        rules: Parsing and range rules.
        dedupe: Treat a repeated raw record as a duplicate. False for sources whose rows
            are distinct records even when every field repeats (a file whose row number is
            the id, such as Hillstrom's customers).

    Returns:
        The typed silver columns plus ``raw``, ``malformed``, ``_outcome`` (silver,
        quarantine, duplicate), ``_reason`` and ``_detail``. Exactly one output row per
        input row.
    """
    cols = landed_columns(entity)
    required = required_columns(entity)
    df = landed
    for c in cols:
        if c not in df.columns:
            df = df.withColumn(c, F.lit(None).cast("string"))
    # typed values next to the raw text they came from (raw as __r_<col>)
    exprs: dict[str, Column] = {}
    for c in cols:
        r = F.col(c)
        if c in IDS:
            exprs[c] = norm_id(r)
        elif c in TIMESTAMPS:
            exprs[c] = parse_timestamp(r, rules.timestamp_formats)
        elif c in DATES:
            exprs[c] = F.to_date(parse_timestamp(r, rules.timestamp_formats))
        elif c in NUMBERS:
            exprs[c] = parse_number(r)
        elif c in INTEGERS:
            exprs[c] = parse_number(r).cast("int")
        elif c in LONGS:
            exprs[c] = parse_number(r).cast("long")
        elif c in BOOLEANS:
            exprs[c] = parse_bool(r)
        elif c in LOWER:
            exprs[c] = F.lower(norm_text(r))
        elif c in PATHS:
            exprs[c] = F.when(F.trim(r) == "", None).otherwise(F.trim(r))
        else:
            exprs[c] = norm_text(r)
    keep = [c.name for c in LINEAGE] + [N.RAW, N.MALFORMED]
    for m in sorted(MAPS.get(entity, set())):
        if m not in df.columns:
            df = df.withColumn(m, F.lit(None).cast("map<string,string>"))
        keep.append(m)
    df = df.select(
        *keep, *[F.col(c).alias(f"__r_{c}") for c in cols], *[e.alias(c) for c, e in exprs.items()]
    )
    raw = {c: F.col(f"__r_{c}") for c in cols}
    typed = {c: F.col(c) for c in cols}

    # checks, in priority order: the first that fails is the reason
    checks: list[tuple[Column, str, Column]] = [
        (F.col(N.MALFORMED).isNotNull(), N.R_MALFORMED, F.lit("wrong number of fields")),
    ]
    bad_text = F.filter(F.map_entries(N.RAW), lambda e: e["value"].contains("\ufffd"))
    checks.append(
        (
            F.coalesce(F.size(bad_text) > 0, F.lit(False)),
            N.R_UNDECODABLE,
            F.concat(F.lit("field "), bad_text[0]["key"]),
        )
    )
    for c in required:
        checks.append((_blank(raw[c]), N.R_MISSING, F.lit(c)))
    for c in cols:
        if c in TIMESTAMPS or c in DATES or c in NUMBERS or c in INTEGERS or c in LONGS:
            reason = N.R_BAD_TS if (c in TIMESTAMPS or c in DATES) else N.R_NON_NUMERIC
            checks.append(
                (~_blank(raw[c]) & typed[c].isNull(), reason, F.concat(F.lit(f"{c}="), raw[c]))
            )
        if c in BOOLEANS:
            checks.append(
                (
                    ~_blank(raw[c]) & typed[c].isNull(),
                    N.R_BAD_VALUE,
                    F.concat(F.lit(f"{c}="), raw[c]),
                )
            )
    checks += _domain_checks(entity, typed, rules)

    reason = F.lit(None).cast("string")
    detail = F.lit(None).cast("string")
    for cond, code, det in reversed(checks):
        reason = F.when(cond, F.lit(code)).otherwise(reason)
        detail = F.when(cond, det).otherwise(detail)

    out = df.select(*keep, *cols, reason.alias("_reason"), detail.alias("_detail"))
    if entity == N.ORDERS:
        out = out.withColumn(
            N.REVENUE, F.round(F.col(N.QUANTITY) * F.col(N.UNIT_PRICE), 4)
        ).withColumn(N.IS_RETURN, F.coalesce(F.col(N.QUANTITY) < 0, F.lit(False)))

    # exact duplicates among valid rows: the same raw record (every field, as read) seen
    # again; keep the first occurrence (file, row order)
    order = [F.col("_source_file"), F.col("_row_number")]
    record = F.sha2(
        F.concat_ws(
            "\u0001",
            F.array_join(F.map_keys(N.RAW), "\u0002"),
            F.array_join(F.map_values(N.RAW), "\u0002", "\u0003"),
        ),
        256,
    )
    out = out.withColumn("_record", record)
    valid = F.col("_reason").isNull()
    # Only (hash, file, row) is shuffled to find repeated records; the few repeated hashes
    # are broadcast back, so the wide rows never move.
    first_seen = (
        out.filter(valid & F.lit(dedupe))
        .groupBy("_record")
        .agg(F.count(F.lit(1)).alias("_n"), F.min(F.struct(*order)).alias("_first"))
        .filter("_n > 1")
        .select(
            "_record",
            F.col("_first._source_file").alias("_f_file"),
            F.col("_first._row_number").alias("_f_row"),
        )
    )
    out = (
        out.join(F.broadcast(first_seen), "_record", "left")
        .withColumn(
            "_dup_rank",
            F.when(
                valid
                & F.col("_f_file").isNotNull()
                & ~(
                    (F.col("_source_file") == F.col("_f_file"))
                    & (F.col("_row_number") == F.col("_f_row"))
                ),
                2,
            ).otherwise(1),
        )
        .drop("_f_file", "_f_row")
    )
    is_dup = valid & (F.col("_dup_rank") > 1)

    spec = SILVER[entity]
    outcome = F.when(~valid, F.lit(OUT_QUARANTINE)).when(is_dup, F.lit(OUT_DUPLICATE))
    if spec.keys:
        latest = LATEST_BY.get(entity)
        key_order = ([F.col(latest).desc_nulls_last()] if latest else []) + [
            F.col("_source_file").desc(),
            F.col("_row_number").desc(),
        ]
        key_w = Window.partitionBy(F.col("_key_group"), *[F.col(k) for k in spec.keys]).orderBy(
            *key_order
        )
        # only valid first occurrences compete for a key
        out = out.withColumn("_key_group", valid & ~is_dup)
        out = out.withColumn("_key_rank", F.row_number().over(key_w))
        collision = valid & ~is_dup & (F.col("_key_rank") > 1)
        out = out.withColumn(
            "_reason", F.when(collision, F.lit(N.R_KEY_COLLISION)).otherwise(F.col("_reason"))
        ).withColumn(
            "_detail",
            F.when(
                collision,
                F.concat(
                    F.lit("key "),
                    F.concat_ws("|", *[F.col(k) for k in spec.keys]),
                    F.lit(" seen again"),
                ),
            ).otherwise(F.col("_detail")),
        )
        outcome = outcome.when(collision, F.lit(OUT_QUARANTINE))
    out = out.withColumn("_outcome", outcome.otherwise(F.lit(OUT_SILVER)))
    return out.drop("_dup_rank", "_key_group", "_key_rank", "_record")
    return out


def _domain_checks(
    entity: str, t: dict[str, Column], rules: Rules
) -> list[tuple[Column, str, Column]]:
    c: list[tuple[Column, str, Column]] = []
    if entity == N.ORDERS:
        c.append(
            (
                F.coalesce(t[N.STATUS] == "adjustment", F.lit(False)),
                N.R_ADJUSTMENT,
                F.lit("status=adjustment"),
            )
        )
        c.append(
            (
                (t[N.UNIT_PRICE] < 0) | ((t[N.UNIT_PRICE] == 0) & (t[N.QUANTITY] < 0)),
                N.R_BAD_PRICE,
                F.format_string("unit_price=%s quantity=%s", t[N.UNIT_PRICE], t[N.QUANTITY]),
            )
        )
        c.append((t[N.QUANTITY] == 0, N.R_BAD_QUANTITY, F.lit("quantity=0")))
    if entity in (N.RATINGS, N.REVIEWS):
        c.append(
            (
                (t[N.RATING] < rules.rating_min) | (t[N.RATING] > rules.rating_max),
                N.R_RATING_RANGE,
                F.format_string(
                    f"rating=%s not in [{rules.rating_min}, {rules.rating_max}]", t[N.RATING]
                ),
            )
        )
    if entity == N.TRANSACTIONS:
        c.append((t[N.AMOUNT] < 0, N.R_BAD_VALUE, F.format_string("amount=%s", t[N.AMOUNT])))
        c.append((~t[N.LABEL].isin(0, 1), N.R_BAD_VALUE, F.format_string("label=%s", t[N.LABEL])))
    if entity == N.IP_RANGES:
        c.append(
            (
                t[N.IP_LOWER] > t[N.IP_UPPER],
                N.R_BAD_VALUE,
                F.format_string("lower=%s > upper=%s", t[N.IP_LOWER], t[N.IP_UPPER]),
            )
        )
    if entity == N.INVENTORY:
        c.append((t[N.ON_HAND] < 0, N.R_BAD_VALUE, F.format_string("on_hand=%s", t[N.ON_HAND])))
    if entity == N.PRODUCTS:
        c.append((t[N.PRICE] < 0, N.R_BAD_PRICE, F.format_string("price=%s", t[N.PRICE])))
    # a NULL comparison means "not checked"
    return [(F.coalesce(cond, F.lit(False)), code, det) for cond, code, det in c]


def silver_rows(classified: DataFrame, spec: TableSpec) -> DataFrame:
    """The rows of a classified frame that belong in silver, in the declared columns."""
    return classified.filter(F.col("_outcome") == OUT_SILVER).select(*spec.column_names)


def quarantine_rows(classified: DataFrame, entity: str, run_id: str) -> DataFrame:
    """The rejected rows of a classified frame, shaped for ``silver.quarantine``."""
    return (
        classified.filter(F.col("_outcome") == OUT_QUARANTINE)
        .select(
            F.lit(run_id).alias(N.RUN_ID),
            F.lit(entity).alias(N.ENTITY),
            F.col("_reason").alias(N.REASON),
            F.col("_detail").alias(N.DETAIL),
            N.RAW,
            N.MALFORMED,
            "_source",
            "_source_file",
            "_row_number",
            F.col("_ingested_at").alias("quarantined_at"),
        )
        .select(*QSPEC.column_names)
    )


def outcome_counts(classified: DataFrame) -> DataFrame:
    """Rows per (file, outcome, reason), with the last row number seen and the last
    malformed row number (a file whose last row is malformed is truncated)."""
    return classified.groupBy("_source_file", "_outcome", "_reason").agg(
        F.count(F.lit(1)).alias("rows"),
        F.max("_row_number").alias("last_row"),
        F.max(F.when(F.col("_reason") == N.R_MALFORMED, F.col("_row_number"))).alias(
            "last_malformed"
        ),
    )


def truncated_files(counts: list) -> list[str]:
    """Files whose last record is malformed, from collected :func:`outcome_counts` rows."""
    last: dict[str, int] = {}
    bad: dict[str, int] = {}
    for r in counts:
        f = r["_source_file"]
        last[f] = max(last.get(f, 0), r["last_row"])
        if r["last_malformed"] is not None:
            bad[f] = max(bad.get(f, 0), r["last_malformed"])
    return sorted(f for f, n in bad.items() if n == last[f])
