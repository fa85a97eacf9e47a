"""Point-in-time features of payment transactions, computed with Spark window functions.

Every feature of a transaction is computed from the transactions **at or before its own
time** (SPEC section 5): windows are ``RANGE`` frames over the transaction time in
microseconds that end at the current row's time. Transactions with the *same* timestamp
therefore see each other (they are peers of a RANGE frame): at the data's resolution
their order is unknown (the fraud sample stores minutes), and a burst of payments inside
one second or minute is exactly what velocity features must catch. A transaction never
sees one with a later timestamp. Features that describe *earlier* history (the
customer's previous average amount, the time since a device's previous payment) use the
strictly earlier rows, and the shop's amount history uses the previous
``shop_history_days`` whole days.

Accounts: a transaction's account is its ``customer_id``; a guest payment (no customer)
is an account of its own. ``accounts so far`` on a device (IP address) counts the
distinct accounts whose first payment from that device is at or before the transaction
(the first row of each device-account pair, then a running sum), so it needs no
distinct count over a window.

The IP country comes from ``silver.ip_ranges`` by a bucketed equi-join (see
:func:`ip_countries`), never a cross join.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N

# internal columns (not published)
T_US = "_t"  # txn_ts in microseconds since the epoch: the order and range of every window
ACCOUNT = "_account"  # customer_id, or "guest:<transaction_id>"
IP_NUM = "_ip"  # the IPv4 address as an integer (NULL when it does not parse)
IP_KEY = "_ip_key"  # the address used to group payments: the integer, else the raw text
SIGNUP_GAP = "signup_gap_s"  # seconds from sign-up to the payment (NULL without sign-up)

SECOND = 1_000_000
HOUR = 3600 * SECOND
DAY = 24 * HOUR
WINDOWS = {"1h": HOUR, "24h": DAY, "7d": 7 * DAY}
"""Velocity windows: name -> length in microseconds."""
ENTITIES = {"customer": ACCOUNT, "device": N.DEVICE_ID, "ip": IP_KEY}
"""Velocity is counted per customer (account), device and IP address."""

# feature names
LOG_SIGNUP_GAP = "log_signup_gap"
SIGNUP_WITHIN_1MIN = "signup_within_1min"
SIGNUP_WITHIN_1H = "signup_within_1h"
SIGNUP_WITHIN_1D = "signup_within_1d"
HOUR_OF_DAY = "hour"
WEEKDAY = "weekday"  # 0 = Monday
HOUR_SIN = "hour_sin"
HOUR_COS = "hour_cos"
LOG_AMOUNT = "log_amount"
CUSTOMER_PRIOR_TXNS = "customer_prior_txns"
AMOUNT_VS_CUSTOMER = "amount_vs_customer"  # amount / mean of the customer's earlier amounts
AMOUNT_Z_SHOP = "amount_z_shop"  # z of log amount against the shop's previous days
DEVICE_ACCOUNTS = "device_accounts"  # accounts seen so far on the device
IP_ACCOUNTS = "ip_accounts"
DEVICE_ACCOUNTS_24H = "device_accounts_24h"
IP_ACCOUNTS_24H = "ip_accounts_24h"
LINKED_ACCOUNTS = "linked_accounts"  # device_accounts + ip_accounts - 1 (point in time)
DEVICE_PREV_GAP = "device_prev_gap_s"  # seconds since the device's previous payment
IP_PREV_GAP = "ip_prev_gap_s"
CUSTOMER_AMOUNT_24H = "customer_amount_24h"
HAS_DEVICE = "has_device"
HAS_IP = "has_ip"
HAS_SIGNUP = "has_signup"
COUNTRY_KNOWN = "country_known"


def velocity(entity: str, window: str) -> str:
    """Name of the payment count of ``entity`` (customer, device, ip) in ``window``."""
    return f"{entity}_txns_{window}"


VELOCITY = tuple(velocity(e, w) for e in ENTITIES for w in WINDOWS)
BASE_FEATURES: tuple[str, ...] = (
    LOG_SIGNUP_GAP,
    SIGNUP_WITHIN_1MIN,
    SIGNUP_WITHIN_1H,
    SIGNUP_WITHIN_1D,
    HOUR_OF_DAY,
    WEEKDAY,
    HOUR_SIN,
    HOUR_COS,
    LOG_AMOUNT,
    CUSTOMER_PRIOR_TXNS,
    AMOUNT_VS_CUSTOMER,
    AMOUNT_Z_SHOP,
    CUSTOMER_AMOUNT_24H,
    *VELOCITY,
    DEVICE_ACCOUNTS,
    IP_ACCOUNTS,
    DEVICE_ACCOUNTS_24H,
    IP_ACCOUNTS_24H,
    LINKED_ACCOUNTS,
    DEVICE_PREV_GAP,
    IP_PREV_GAP,
    HAS_DEVICE,
    HAS_IP,
    HAS_SIGNUP,
)
"""Numeric features every shop gets (one-hot category columns are added per shop)."""

_DOTTED = r"^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\s*$"
_NUMERIC = r"^\s*\d+(\.\d*)?\s*$"
IPV4_MAX = 2**32 - 1


def ip_number(raw: Column) -> Column:
    """An IPv4 address as an integer: from ``a.b.c.d`` or from a number written as text
    (the fraud sample writes ``732758368.8``: the integer part is the address).

    NULL when the text is neither, or the value is outside ``0 .. 2^32 - 1``.
    """
    parts = [F.regexp_extract(raw, _DOTTED, i).try_cast("long") for i in range(1, 5)]
    dotted = F.when(
        raw.rlike(_DOTTED) & F.greatest(*parts).between(0, 255),
        parts[0] * 16_777_216 + parts[1] * 65_536 + parts[2] * 256 + parts[3],
    )
    numeric = F.when(raw.rlike(_NUMERIC), F.floor(F.trim(raw).try_cast("double")).try_cast("long"))
    value = F.coalesce(dotted, numeric)
    return F.when(value.between(0, IPV4_MAX), value)


def prepared(transactions: DataFrame) -> DataFrame:
    """silver.transactions reduced to what the features need, with the internal keys.

    Returns:
        transaction_id, customer_id, txn_ts, amount, signup_ts, device_id, ip_address,
        source, browser, label and ``_t``, ``_account``, ``_ip``, ``_ip_key``.
    """
    ip_raw = F.trim(F.col(N.IP_ADDRESS))
    device = F.trim(F.col(N.DEVICE_ID))
    return (
        transactions.select(
            N.TRANSACTION_ID,
            N.CUSTOMER_ID,
            N.TXN_TS,
            N.AMOUNT,
            N.SIGNUP_TS,
            F.when(device != "", device).alias(N.DEVICE_ID),
            F.when(ip_raw != "", ip_raw).alias(N.IP_ADDRESS),
            N.SOURCE,
            N.BROWSER,
            N.LABEL,
        )
        .withColumns(
            {
                T_US: F.unix_micros(F.col(N.TXN_TS)),
                ACCOUNT: F.coalesce(
                    F.col(N.CUSTOMER_ID), F.concat(F.lit("guest:"), F.col(N.TRANSACTION_ID))
                ),
                IP_NUM: ip_number(F.col(N.IP_ADDRESS)),
            }
        )
        .withColumn(IP_KEY, F.coalesce(F.col(IP_NUM).cast("string"), F.col(N.IP_ADDRESS)))
    )


def _upto(key: str, length: int | None) -> Window:
    """RANGE frame of ``key``'s payments from ``length`` µs before the row's time up to and
    including its time (ties included); unbounded when ``length`` is None."""
    w = Window.partitionBy(key).orderBy(T_US)
    return w.rangeBetween(Window.unboundedPreceding if length is None else -length, 0)


def _earlier(key: str) -> Window:
    """RANGE frame of ``key``'s payments strictly before the row's time."""
    return Window.partitionBy(key).orderBy(T_US).rangeBetween(Window.unboundedPreceding, -1)


def _same_time(key: str) -> Window:
    return Window.partitionBy(key).orderBy(T_US).rangeBetween(0, 0)


def _if_key(key: str, value: Column) -> Column:
    """``value`` where the grouping key is present (payments without a device are not one
    device's payments)."""
    return F.when(F.col(key).isNotNull(), value)


def _key_features(df: DataFrame, name: str, key: str) -> DataFrame:
    """Accounts so far / in 24 h and the gap to the previous payment of a device or IP."""
    pair_first = F.lag(ACCOUNT).over(
        Window.partitionBy(key).orderBy(ACCOUNT, T_US, N.TRANSACTION_ID)
    )
    df = df.withColumn(
        f"_first_{name}", (pair_first.isNull() | (pair_first != F.col(ACCOUNT))).cast("int")
    )
    prev = F.max(T_US).over(_earlier(key))
    ties = F.count(F.lit(1)).over(_same_time(key))
    gap = F.when(ties > 1, F.lit(0.0)).otherwise((F.col(T_US) - prev) / SECOND)
    accounts = {"device": DEVICE_ACCOUNTS, "ip": IP_ACCOUNTS}[name]
    accounts_24h = {"device": DEVICE_ACCOUNTS_24H, "ip": IP_ACCOUNTS_24H}[name]
    prev_gap = {"device": DEVICE_PREV_GAP, "ip": IP_PREV_GAP}[name]
    return df.withColumns(
        {
            accounts: _if_key(key, F.sum(f"_first_{name}").over(_upto(key, None))),
            accounts_24h: _if_key(key, F.size(F.collect_set(ACCOUNT).over(_upto(key, DAY)))),
            prev_gap: _if_key(key, gap),
        }
    ).drop(f"_first_{name}")


def shop_amount_history(df: DataFrame, days: int) -> DataFrame:
    """Per day, mean and standard deviation of ``ln(1 + amount)`` over the shop's payments
    of the previous ``days`` whole days (the day itself excluded).

    Returns:
        ``_day`` (date), ``_shop_mean``, ``_shop_std`` (one row per day with payments).
    """
    la = F.log1p(F.greatest(F.col(N.AMOUNT), F.lit(0.0)))
    daily = df.groupBy(F.to_date(N.TXN_TS).alias("_day")).agg(
        F.count(F.lit(1)).alias("_n"), F.sum(la).alias("_s"), F.sum(la * la).alias("_ss")
    )
    w = Window.orderBy(F.unix_date("_day")).rangeBetween(-days, -1)  # one row per day: small
    n, s, ss = (F.sum(c).over(w) for c in ("_n", "_s", "_ss"))
    mean = s / n
    var = F.greatest(ss / n - mean * mean, F.lit(0.0)) * n / F.greatest(n - 1, F.lit(1))
    return daily.select("_day", mean.alias("_shop_mean"), F.sqrt(var).alias("_shop_std"))


def transaction_features(df: DataFrame, shop_history_days: int = 30) -> DataFrame:
    """Add the point-in-time features of :data:`BASE_FEATURES` to :func:`prepared` rows.

    Args:
        df: Output of :func:`prepared` (all transactions: features look only backwards, so
            scored rows may be included).
        shop_history_days: Whole days of the shop's history the amount is compared to.

    Returns:
        ``df`` with one column per name in :data:`BASE_FEATURES`.
    """
    gap = (F.col(T_US) - F.unix_micros(F.col(N.SIGNUP_TS))) / SECOND
    hour = F.hour(N.TXN_TS)
    out = df.withColumns(
        {
            SIGNUP_GAP: gap,
            LOG_SIGNUP_GAP: F.log1p(F.greatest(gap, F.lit(0.0))),
            SIGNUP_WITHIN_1MIN: (gap <= 60).cast("double"),
            SIGNUP_WITHIN_1H: (gap < 3600).cast("double"),
            SIGNUP_WITHIN_1D: (gap < 86_400).cast("double"),
            HOUR_OF_DAY: hour.cast("double"),
            WEEKDAY: ((F.dayofweek(N.TXN_TS) + 5) % 7).cast("double"),
            HOUR_SIN: F.sin(hour * (2 * math.pi / 24)),
            HOUR_COS: F.cos(hour * (2 * math.pi / 24)),
            LOG_AMOUNT: F.log1p(F.greatest(F.col(N.AMOUNT), F.lit(0.0))),
            HAS_DEVICE: F.col(N.DEVICE_ID).isNotNull().cast("double"),
            HAS_IP: F.col(IP_KEY).isNotNull().cast("double"),
            HAS_SIGNUP: F.col(N.SIGNUP_TS).isNotNull().cast("double"),
        }
    )
    # per customer (account): earlier history and velocity
    prior_n = F.count(F.lit(1)).over(_earlier(ACCOUNT))
    prior_mean = F.avg(N.AMOUNT).over(_earlier(ACCOUNT))
    out = out.withColumns(
        {
            CUSTOMER_PRIOR_TXNS: prior_n.cast("double"),
            AMOUNT_VS_CUSTOMER: F.when(prior_mean > 0, F.col(N.AMOUNT) / prior_mean),
            CUSTOMER_AMOUNT_24H: F.sum(N.AMOUNT).over(_upto(ACCOUNT, DAY)),
            **{
                velocity("customer", w): F.count(F.lit(1))
                .over(_upto(ACCOUNT, length))
                .cast("double")
                for w, length in WINDOWS.items()
            },
        }
    )
    # per device and IP address: velocity, accounts, gap to the previous payment
    for name in ("device", "ip"):
        key = ENTITIES[name]
        out = out.withColumns(
            {
                velocity(name, w): _if_key(
                    key, F.count(F.lit(1)).over(_upto(key, length)).cast("double")
                )
                for w, length in WINDOWS.items()
            }
        )
        out = _key_features(out, name, key)
    out = out.withColumn(
        LINKED_ACCOUNTS,
        F.coalesce(F.col(DEVICE_ACCOUNTS), F.lit(1)) + F.coalesce(F.col(IP_ACCOUNTS), F.lit(1)) - 1,
    ).withColumns(
        {
            c: F.col(c).cast("double")
            for c in (
                DEVICE_ACCOUNTS,
                IP_ACCOUNTS,
                DEVICE_ACCOUNTS_24H,
                IP_ACCOUNTS_24H,
                LINKED_ACCOUNTS,
            )
        }
    )
    # the shop's amount history (previous whole days), joined by day
    hist = shop_amount_history(df, shop_history_days)
    out = out.withColumn("_day", F.to_date(N.TXN_TS)).join(F.broadcast(hist), "_day", "left")
    z = (F.col(LOG_AMOUNT) - F.col("_shop_mean")) / F.col("_shop_std")
    return out.withColumn(AMOUNT_Z_SHOP, F.when(F.col("_shop_std") > 0, z)).drop(
        "_day", "_shop_mean", "_shop_std"
    )


# ---------------------------------------------------------------- country (range join)
BUCKET_BITS = 16
"""Addresses are bucketed by their top 16 bits (at most 65,536 buckets); a range is
listed under every bucket it overlaps, so the lookup is an equi-join on the bucket plus a
``BETWEEN`` filter inside it."""


def ip_countries(ips: DataFrame, ranges: DataFrame) -> DataFrame:
    """The country of each distinct IPv4 integer, from inclusive ``[lower, upper]`` ranges.

    A bucketed equi-join: ranges are exploded over the 2^16-address buckets they overlap
    (the sample's 103,895 ranges give ~170k rows), addresses join their bucket, and the
    ``BETWEEN`` condition keeps the matching range. Where ranges overlap, the narrowest
    one wins (then the lowest ``lower``, then the country name).

    Args:
        ips: Column ``_ip`` (long); duplicates and NULLs are dropped.
        ranges: ``lower``, ``upper``, ``country`` (silver.ip_ranges).

    Returns:
        ``_ip``, ``country`` for the addresses inside some range.
    """
    lo, up = F.col(N.IP_LOWER), F.col(N.IP_UPPER)
    buckets = ranges.filter(lo.isNotNull() & up.isNotNull() & (lo <= up)).select(
        lo.alias("_lo"),
        up.alias("_up"),
        F.col(N.COUNTRY).alias("_country"),
        F.explode(F.sequence(F.shiftright(lo, BUCKET_BITS), F.shiftright(up, BUCKET_BITS))).alias(
            "_b"
        ),
    )
    addresses = (
        ips.select(IP_NUM)
        .filter(F.col(IP_NUM).isNotNull())
        .distinct()
        .withColumn("_b", F.shiftright(F.col(IP_NUM), BUCKET_BITS))
    )
    hits = addresses.join(buckets, "_b").filter(F.col(IP_NUM).between(F.col("_lo"), F.col("_up")))
    best = F.min(F.struct((F.col("_up") - F.col("_lo")).alias("w"), "_lo", "_country"))
    return (
        hits.groupBy(IP_NUM)
        .agg(best.alias("_best"))
        .select(IP_NUM, F.col("_best._country").alias(N.COUNTRY))
    )


def with_country(df: DataFrame, ranges: DataFrame | None) -> DataFrame:
    """``df`` with ``country`` (NULL when unknown or no range table) and ``country_known``."""
    if ranges is None:
        out = df.withColumn(N.COUNTRY, F.lit(None).cast("string"))
    else:
        out = df.join(ip_countries(df, ranges), IP_NUM, "left")
    return out.withColumn(COUNTRY_KNOWN, F.col(N.COUNTRY).isNotNull().cast("double"))


# ---------------------------------------------------------------- categories (one-hot)
CATEGORICAL = (N.SOURCE, N.BROWSER, N.COUNTRY)


def category_column(column: str, value: str) -> str:
    """Name of the one-hot column of ``column == value`` (e.g. ``browser_is_chrome``)."""
    return f"{column}_is_{re.sub(r'[^0-9a-z]+', '_', value.lower()).strip('_') or 'x'}"


def top_categories(
    df: DataFrame, columns: Sequence[str], max_categories: int, min_rows: int
) -> dict[str, list[str]]:
    """The most frequent values of each column (at most ``max_categories``, each in at
    least ``min_rows`` rows; ties broken by value). One small aggregate per column."""
    out: dict[str, list[str]] = {}
    for c in columns:
        if max_categories <= 0:
            out[c] = []
            continue
        rows = (
            df.filter(F.col(c).isNotNull())
            .groupBy(c)
            .count()
            .filter(F.col("count") >= min_rows)
            .orderBy(F.desc("count"), F.asc(c))
            .limit(max_categories)
            .collect()  # at most max_categories rows
        )
        out[c] = [r[c] for r in rows]
    return out


def one_hot(df: DataFrame, categories: dict[str, list[str]]) -> tuple[DataFrame, list[str]]:
    """0/1 columns for the given values of each column.

    Returns:
        The frame and the new column names (in a stable order); values that map to the
        same column name are merged.
    """
    cols: dict[str, Column] = {}
    for c, values in categories.items():
        for v in values:
            name = category_column(c, v)
            hit = F.coalesce(F.col(c) == v, F.lit(False))
            cols[name] = (cols[name] | hit) if name in cols else hit
    return df.withColumns({k: v.cast("double") for k, v in cols.items()}), list(cols)
