"""A synthetic online shop, generated in Spark and written in the canonical landing format.

:func:`generate_landing` writes all nine entities of SPEC section 3 (orders, products,
customers, events, ratings, reviews, transactions, inventory, campaigns) under
``<out_dir>/<entity>/part-*.<fmt>``, ready for ``ingest --source canonical``.

How it is built:

* **Randomness is a hash, not a stream.** Every random number is
  ``xxhash64(seed, tag, key...)`` mapped to (0, 1) (:func:`uniform`), so a value depends only
  on the seed and the row's own keys, never on partitioning, row order or the number of
  executors. The same seed gives byte-identical files; a different seed a different shop.
* **Everything that grows with scale is a Spark DataFrame** built from ``spark.range``,
  column expressions, ``explode`` and joins. Only fixed-size tables live on the driver:
  ten categories, six taste segments, word lists, the calendar (one row per day) and the
  campaign plan (one row per campaign).
* **Items are functions of their index.** An item's category, price history, promotions,
  trend and quality are column expressions of ``item`` (and the week), so order lines,
  products and inventory agree without joining an item table.

The structure that models can learn:

* customers belong to latent taste segments with preferences over categories (plus a
  personal favourite category); items are picked mostly from preferred categories and,
  within a category, by a Zipf-like popularity law;
* orders follow a Poisson process per customer between sign-up and churn (an
  exponential lifetime), thinned by a calendar with a weekend effect, a Q4 peak, Black
  Friday and Christmas; categories have their own seasons (garden in spring, toys in
  December);
* items have growing or declining trends, launch dates, price changes and promotion
  weeks (random, or driven by a campaign's category offer) whose discount lifts demand;
* a few percent of lines are returned later (negative quantity, status ``returned``,
  order id prefixed ``R``); a few percent of orders are guest orders (no customer id);
* campaign contacts raise the contacted customer's order rate for 14 days (a real
  uplift, heterogeneous by segment and channel); ``responded`` and ``revenue`` come from
  the orders actually placed in that window;
* ratings are higher in the customer's preferred categories and for better items,
  lower for returned ones; review words agree with the stars;
* ~2-4 % of payment transactions are fraud: brand-new accounts buying within hours of
  sign-up and account take-overs, with high amounts, odd hours, shared devices and an
  unusual source/browser mix;
* weekly stock snapshots follow an order-up-to policy, so stock runs low after demand
  spikes;
* a few messy rows (an empty item id, exact duplicate lines, an impossible timestamp) give
  ingest's quarantine something to do, far below its reject threshold.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
from pyspark import StorageLevel
from pyspark.sql import Column, DataFrame, Observation, SparkSession, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import synth_text as TX

DAY = 86_400
"""Seconds per day; times are seconds since midnight UTC of ``start_date``."""
FORMATS = ("csv", "parquet", "json")

# ---------------------------------------------------------------- fixed world tables


@dataclass(frozen=True)
class Category:
    """A product category.

    Attributes:
        name: Category name as written to ``products.category``.
        share: Share of the catalogue's items.
        price: Median list price.
        qty: Mean extra units per order line (quantity is 1 + geometric).
        returns: Probability that a sold line is returned.
        lead_days: Typical supplier lead time in days.
        months: Relative demand per calendar month (Jan..Dec) within the category.
    """

    name: str
    share: float
    price: float
    qty: float
    returns: float
    lead_days: float
    months: tuple[float, ...]


CATEGORIES: tuple[Category, ...] = (
    Category("Apparel", 0.18, 35.0, 0.4, 0.09, 14, (1.0, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.1, 1.1, 1.2, 1.3)),
    Category("Shoes", 0.08, 70.0, 0.1, 0.08, 21, (0.9, 0.9, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.1, 1.0, 1.0, 1.1)),
    Category("Electronics", 0.10, 120.0, 0.1, 0.04, 28, (0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 0.9, 1.0, 1.8, 1.9)),
    Category("Home & Kitchen", 0.14, 30.0, 0.6, 0.03, 10, (1.1, 1.0, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.0, 1.1, 1.3)),
    Category("Beauty", 0.10, 18.0, 0.8, 0.02, 7, (0.9, 1.1, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2, 1.6)),
    Category("Sports & Outdoors", 0.08, 45.0, 0.3, 0.04, 14, (1.5, 1.1, 1.0, 1.1, 1.3, 1.3, 1.3, 1.2, 0.9, 0.8, 0.8, 0.8)),
    Category("Toys & Games", 0.09, 25.0, 0.5, 0.03, 21, (0.7, 0.7, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 1.1, 1.8, 2.4)),
    Category("Books", 0.12, 14.0, 0.5, 0.01, 5, (1.2, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 1.1, 1.0, 1.0, 1.0, 1.3)),
    Category("Garden", 0.06, 40.0, 0.6, 0.03, 10, (0.4, 0.5, 1.1, 1.8, 2.0, 1.8, 1.5, 1.1, 0.8, 0.6, 0.5, 0.6)),
    Category("Jewellery", 0.05, 90.0, 0.05, 0.05, 30, (0.9, 1.6, 0.9, 0.9, 1.0, 0.9, 0.9, 0.9, 0.9, 1.0, 1.2, 1.9)),
)
CAT_NAMES = tuple(c.name for c in CATEGORIES)
FRAUD_CATEGORY_WEIGHTS = {"Electronics": 0.5, "Jewellery": 0.3, "Shoes": 0.1, "Apparel": 0.05, "Beauty": 0.05}


@dataclass(frozen=True)
class Segment:
    """A latent customer taste segment (never written; tests and docs use it).

    Attributes:
        name: Label for humans.
        share: Share of customers.
        activity: Multiplier of the base order rate.
        lifetime_days: Mean customer lifetime (exponential; churn hazard = 1 / this).
        response: Multiplier of campaign uplift (how persuadable the segment is).
        prefs: Relative preference per category name (absent = 0.3).
    """

    name: str
    share: float
    activity: float
    lifetime_days: float
    response: float
    prefs: dict[str, float]


SEGMENTS: tuple[Segment, ...] = (
    Segment("fashion", 0.22, 1.1, 420, 1.3, {"Apparel": 5, "Shoes": 3, "Beauty": 3, "Jewellery": 2}),
    Segment("tech", 0.16, 0.9, 520, 0.6, {"Electronics": 5, "Books": 2, "Toys & Games": 1.5, "Sports & Outdoors": 1}),
    Segment("home", 0.20, 1.0, 600, 1.0, {"Home & Kitchen": 5, "Garden": 3, "Books": 1, "Beauty": 1}),
    Segment("family", 0.16, 1.2, 480, 1.5, {"Toys & Games": 5, "Apparel": 2.5, "Books": 2, "Home & Kitchen": 1.5}),
    Segment("outdoor", 0.12, 0.9, 450, 0.8, {"Sports & Outdoors": 5, "Shoes": 2.5, "Garden": 2, "Apparel": 1.5}),
    Segment("reader", 0.14, 0.8, 650, 0.5, {"Books": 5, "Home & Kitchen": 1.5, "Electronics": 1, "Toys & Games": 1}),
)

COUNTRIES = {
    "United Kingdom": 0.55, "Germany": 0.10, "France": 0.09, "Netherlands": 0.06, "Ireland": 0.05,
    "Spain": 0.05, "Belgium": 0.04, "Sweden": 0.03, "Italy": 0.03,
}  # fmt: skip
ORDER_CHANNELS = {"web": 0.55, "app": 0.38, "phone": 0.07}
SOURCES_GENUINE = {"SEO": 0.42, "Ads": 0.40, "Direct": 0.18}
SOURCES_FRAUD = {"SEO": 0.15, "Ads": 0.35, "Direct": 0.50}
BROWSERS_GENUINE = {"Chrome": 0.46, "Safari": 0.26, "Firefox": 0.12, "Edge": 0.11, "Opera": 0.03, "IE": 0.02}
BROWSERS_FRAUD = {"Chrome": 0.30, "Safari": 0.05, "Firefox": 0.20, "Edge": 0.05, "Opera": 0.20, "IE": 0.20}
GENDERS = {"F": 0.52, "M": 0.44, "X": 0.02, "": 0.02}
CONTACT_CHANNELS = {"email": (0.6, 0.02, 1.0), "sms": (0.25, 0.08, 1.3), "push": (0.15, 0.01, 0.7)}
"""channel -> (share of campaigns, cost per contact, uplift multiplier)."""

# Orders per hour of day (UTC) for genuine orders.
HOUR_WEIGHTS = (
    0.35, 0.2, 0.12, 0.08, 0.08, 0.15, 0.4, 0.9, 1.4, 1.8, 2.1, 2.3,
    2.6, 2.4, 2.2, 2.1, 2.1, 2.3, 2.7, 3.1, 3.3, 2.9, 2.0, 1.0,
)  # fmt: skip
DOW_FACTORS = (0.95, 0.92, 0.93, 0.97, 1.02, 1.22, 1.30)  # Monday .. Sunday
MONTH_FACTORS = (0.90, 0.85, 0.92, 0.95, 0.95, 0.92, 0.90, 0.90, 0.97, 1.05, 1.30, 1.45)

# ---------------------------------------------------------------- behaviour constants
BASE_ORDER_RATE = 0.03  # orders per active customer-day before modifiers
MAX_ORDER_RATE = 0.3
PRE_START_SIGNUPS = 0.4  # share of customers who signed up before start_date
FRAUD_ACCOUNT_SHARE = 0.025  # customers that are fraud accounts
TAKEOVER_SHARE = 0.018  # genuine orders paid fraudulently (account take-over)
GUEST_SHARE = 0.03  # orders without a customer id
CLICKSTREAM_SHARE = 0.5  # customers whose clickstream is recorded
RATE_SHARE = 0.35  # first purchases that get an explicit rating
REVIEW_SHARE = 0.4  # ratings that come with a review text
CAMPAIGN_WINDOW = 14  # days a contact lifts the order rate
RANDOM_PROMO_SHARE = 0.03  # item-weeks on a random promotion
ZIPF_S = 0.9  # popularity exponent within a category
LINE_OVERSAMPLE = 10  # candidate lines per wanted line (thinned by the item multiplier)
LINE_MULT_CAP = 3.0  # item multiplier that is accepted with certainty
MESS_MISSING_ITEM = 0.001
MESS_DUPLICATE = 0.0005
MESS_BAD_TS = 0.0002
MESS_EVENT_DUPLICATE = 0.0005


# ---------------------------------------------------------------- column helpers
def uniform(seed: int, tag: str, *keys: Column | str) -> Column:
    """A deterministic uniform in (0, 1) from the seed, a tag and the row's keys.

    Args:
        seed: The generator seed.
        tag: Names the random quantity, so different quantities are independent.
        *keys: Columns that identify the row (e.g. customer index, order number).

    Returns:
        A double column, a pure function of ``(seed, tag, keys)``.
    """
    h = F.xxhash64(F.lit(seed), F.lit(tag), *keys)
    return (h.bitwiseAND(F.lit((1 << 53) - 1)).cast("double") + 0.5) / float(1 << 53)


def normal(seed: int, tag: str, *keys: Column | str) -> Column:
    """A deterministic standard normal (Box-Muller on two :func:`uniform` draws)."""
    u1 = uniform(seed, tag + ".1", *keys)
    u2 = uniform(seed, tag + ".2", *keys)
    return F.sqrt(-2.0 * F.log(u1)) * F.cos(2.0 * math.pi * u2)


def _cum(weights: Sequence[float]) -> list[float]:
    w = np.asarray(weights, dtype=float)
    return [float(x) for x in np.cumsum(w / w.sum())[:-1]]


CHOICE_RESOLUTION = 4096
"""Buckets of the uniform in :func:`choice` (category weights are exact to 1/4096)."""


def _bucket_table(weights: Sequence[float]) -> list[int]:
    cum = np.concatenate([_cum(weights), [1.0]])
    mids = (np.arange(CHOICE_RESOLUTION) + 0.5) / CHOICE_RESOLUTION
    return [int(x) for x in np.searchsorted(cum, mids, side="right")]


def _int_table(values: Sequence[int]) -> Column:
    # one string literal, split once by constant folding: a compact plan and compact code
    return F.split(F.lit(",".join(str(v) for v in values)), ",")


def choice(u: Column, weights: Sequence[float]) -> Column:
    """Index 0..K-1 drawn with the given weights, by inverse CDF of the uniform ``u``.

    ``u`` is evaluated once and looked up in a table of :data:`CHOICE_RESOLUTION`
    buckets, which keeps generated code small (a ``CASE`` chain would repeat ``u``).
    """
    bucket = F.floor(u * CHOICE_RESOLUTION).cast("int") + 1
    return F.element_at(_int_table(_bucket_table(weights)), bucket).cast("int")


def choice_by(u: Column, row: Column, weight_rows: Sequence[Sequence[float]]) -> Column:
    """Like :func:`choice`, with the weights of row ``row`` (0-based) of ``weight_rows``."""
    table = [k for w in weight_rows for k in _bucket_table(w)]
    bucket = row.cast("int") * CHOICE_RESOLUTION + F.floor(u * CHOICE_RESOLUTION).cast("int") + 1
    return F.element_at(_int_table(table), bucket).cast("int")


def pick(values: Sequence[str], u: Column) -> Column:
    """The element of ``values`` at ``floor(u * len)``."""
    arr = F.array(*[F.lit(v) for v in values])
    return F.element_at(arr, (F.floor(u * len(values)) + 1).cast("int"))


def lookup(values: Sequence[float | int | str], idx: Column) -> Column:
    """``values[idx]`` for a 0-based index column."""
    return F.element_at(F.array(*[F.lit(v) for v in values]), (idx + 1).cast("int"))


def poisson_small(u: Column, mu: float) -> Column:
    """A Poisson count with a small constant mean ``mu`` (inverse CDF of ``u``)."""
    pmf = [math.exp(-mu)]
    while sum(pmf) < 1 - 1e-7:
        pmf.append(pmf[-1] * mu / len(pmf))
    return choice(u, pmf)


def explode_poisson(df: DataFrame, mu: Column, name: str, keep: Callable[[Column], Column], cap: int) -> DataFrame:
    """One row per event of a Poisson(``mu``) count, numbered 1.. in column ``name``.

    ``ceil(mu + 5 sqrt(mu) + 5)`` numbered slots are exploded and each is kept with
    probability ``mu / slots`` (a binomial, close to Poisson for these slot counts), so no
    per-row loop is needed. Slot numbers are stable, so they can serve as ids.

    Args:
        df: Input rows (one per process, e.g. per customer).
        mu: Expected number of events of the row.
        name: Column for the slot number.
        keep: ``keep(slot)`` returns the uniform used to keep the slot (a :func:`uniform`
            keyed on the row's keys and the slot).
        cap: Upper bound of slots per row.
    """
    slots = F.least(F.lit(cap), F.ceil(mu + 5.0 * F.sqrt(mu) + 5.0)).cast("int")
    out = df.withColumn("_mu", mu.cast("double")).withColumn("_slots", slots)
    out = out.filter(F.col("_mu") > 0).withColumn(name, F.explode(F.sequence(F.lit(1), F.col("_slots"))))
    return out.filter(keep(F.col(name)) < F.col("_mu") / F.col("_slots")).drop("_mu", "_slots")


def local_table(spark: SparkSession, rows: Sequence[tuple], schema: str) -> DataFrame:
    """A small driver-built table as a cheap constant plan (no RDD, no Python worker).

    Each column is one string literal split by row, so the plan stays a handful of
    expressions however many rows there are (a literal array of structs makes the
    analyzer and optimizer slow).

    Args:
        spark: The session.
        rows: The rows, as tuples in schema order (values must not contain U+0001).
        schema: Column names and types, e.g. ``"day INT, factor DOUBLE"``.

    Returns:
        A one-partition DataFrame with exactly the declared column types.
    """
    fields = [tuple(part.split()) for part in schema.split(",")]
    row = (F.col("id") + 1).cast("int")
    cols = []
    for k, (name, typ) in enumerate(fields):
        text = "\u0001".join("" if r[k] is None else str(r[k]) for r in rows)
        value = F.element_at(F.split(F.lit(text), "\u0001"), row)
        cols.append(F.when(value != "", value).cast(typ).alias(name))
    return spark.range(0, len(rows), 1, 1).select(*cols)


def _dist(d: dict[str, float]) -> tuple[list[str], list[float]]:
    return list(d), list(d.values())


def _render(template: str, slots: _Slots) -> Column:
    """A template such as ``"The {NOUN} is {POS}."`` as a concat of literals and slot columns."""
    parts: list[Column] = []
    for i, piece in enumerate(re.split(r"\{(\w+)\}", template)):
        if i % 2:
            parts.append(slots[piece])
        elif piece:
            parts.append(F.lit(piece))
    return F.concat(*parts)


def _capitalise(c: Column) -> Column:
    return F.concat(F.upper(F.substring(c, 1, 1)), F.substring(c, 2, 10_000))


# ---------------------------------------------------------------- the shop
@dataclass(frozen=True)
class Campaign:
    """One marketing campaign of the plan (driver side; one row per campaign)."""

    k: int
    campaign_id: str
    day: int
    channel: str
    offer: str
    discount: float
    category: int | None
    target_share: float
    uplift: float
    cost: float


class Shop:
    """The synthetic shop: fixed world tables on the driver, every large table in Spark.

    Latent frames (with hidden columns such as ``seg`` or ``fraud``) are exposed for
    tests and documentation; :meth:`landing` gives the nine landing-shaped frames.

    Args:
        spark: The session.
        scale: Multiplies the number of customers and items (1 = ~3,000 / ~1,000).
        seed: Seed of every random quantity.
        start_date: First day of orders (``YYYY-MM-DD``, UTC).
        days: Number of days of orders.
        customers: Override of the number of customers (default ``3000 * scale``).
        items: Override of the number of items (default ``1000 * scale``).
    """

    def __init__(
        self,
        spark: SparkSession,
        scale: int = 1,
        seed: int = 42,
        start_date: str = "2023-01-02",
        days: int = 730,
        customers: int | None = None,
        items: int | None = None,
    ) -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        if days < 7:
            raise ValueError(f"days must be >= 7, got {days}")
        self.spark = spark
        self.scale = scale
        self.seed = int(seed)
        self.start = dt.date.fromisoformat(start_date)
        self.days = int(days)
        self.n_customers = int(customers if customers is not None else 3000 * scale)
        self.n_items = int(items if items is not None else 1000 * scale)
        if self.n_customers < 10 or self.n_items < 4 * len(CATEGORIES):
            raise ValueError("need at least 10 customers and 40 items")
        self.partitions = max(2, min(200, 2 * scale))
        self.week_offset = self.start.weekday()  # days since the Monday of the first week
        self.weeks = (self.days + self.week_offset + 6) // 7
        self._persisted: list[DataFrame] = []
        self._world_tables()

    # ------------------------------------------------------------ driver-side tables
    def _world_tables(self) -> None:
        rng = np.random.default_rng([self.seed, 7])
        n_cat = len(CATEGORIES)
        shares = np.array([c.share for c in CATEGORIES])
        counts = np.maximum(2, np.floor(shares / shares.sum() * self.n_items)).astype(int)
        counts[0] += self.n_items - counts.sum()
        self.cat_counts = [int(x) for x in counts]
        self.cat_offsets = [int(x) for x in np.concatenate([[0], np.cumsum(counts)[:-1]])]
        # segment preferences, perturbed by the seed
        prefs = []
        for s in SEGMENTS:
            w = np.array([s.prefs.get(name, 0.3) for name in CAT_NAMES]) * rng.lognormal(0, 0.15, n_cat)
            prefs.append(list(w / w.sum()))
        self.seg_prefs = prefs
        self.seg_top3 = [sorted(np.argsort(w)[::-1][:3].tolist()) for w in prefs]
        # item number = a bijection of the item index, so ids do not reveal category or rank
        a = 7919
        while math.gcd(a, self.n_items) != 1:
            a += 2
        self.perm_a, self.perm_b = a, int(rng.integers(0, self.n_items))
        # months: mean-1 category seasonality
        self.cat_months = [[m / np.mean(c.months) for m in c.months] for c in CATEGORIES]
        self.calendar_rows = self._calendar()
        self.cal_max = max(r[4] for r in self.calendar_rows)
        self.campaigns = self._campaign_plan(rng)
        promo: dict[str, float] = {}
        for c in self.campaigns:
            if c.category is None:
                continue
            for d in range(c.day, min(self.days, c.day + CAMPAIGN_WINDOW)):
                promo[f"{c.category}:{(d + self.week_offset) // 7}"] = c.discount
        self.campaign_promos = promo

    def _calendar(self) -> list[tuple[int, str, int, int, float]]:
        """One row per day: (day, date, week, month, order-rate factor)."""
        rows = []
        for d in range(self.days):
            date = self.start + dt.timedelta(days=d)
            f = DOW_FACTORS[date.weekday()] * MONTH_FACTORS[date.month - 1]
            thanksgiving = 22 + (3 - dt.date(date.year, 11, 1).weekday()) % 7
            black_friday = dt.date(date.year, 11, thanksgiving + 1)
            if date == black_friday:
                f *= 2.2
            elif date == black_friday + dt.timedelta(days=3):  # cyber monday
                f *= 1.7
            elif date.month == 12 and date.day <= 20:
                f *= 1.15
            elif date.month == 12 and date.day in (24, 25, 26):
                f *= {24: 0.7, 25: 0.35, 26: 0.8}[date.day]
            elif date.month == 1 and date.day == 1:
                f *= 0.6
            rows.append((d, date.isoformat(), (d + self.week_offset) // 7, date.month, float(f)))
        return rows

    def _campaign_plan(self, rng: np.random.Generator) -> list[Campaign]:
        names, shares = _dist({k: v[0] for k, v in CONTACT_CHANNELS.items()})
        out: list[Campaign] = []
        day = int(rng.integers(7, 21))
        k = 0
        while day < self.days - 3:
            channel = names[int(rng.choice(len(names), p=np.array(shares) / sum(shares)))]
            kind = int(rng.integers(0, 5))
            cat: int | None = None
            if kind == 0:
                offer, disc = "10% off everything", 0.10
            elif kind == 1:
                offer, disc = "free shipping", 0.0
            elif kind == 2:
                offer, disc = "double loyalty points", 0.0
            else:
                cat = int(rng.integers(0, len(CATEGORIES)))
                disc = 0.15 if kind == 3 else 0.20
                offer = f"{int(disc * 100)}% off {CAT_NAMES[cat]}"
            _, cost, mult = CONTACT_CHANNELS[channel]
            out.append(
                Campaign(
                    k=k,
                    campaign_id=f"CMP{k + 1:03d}",
                    day=day,
                    channel=channel,
                    offer=offer,
                    discount=disc,
                    category=cat,
                    target_share=float(rng.uniform(0.15, 0.35)),
                    uplift=float(rng.uniform(0.7, 1.5) * mult),
                    cost=cost,
                )
            )
            k += 1
            day += int(rng.integers(21, 36))
        return out

    # ------------------------------------------------------------ small helpers
    def u(self, tag: str, *keys: Column | str) -> Column:
        """:func:`uniform` with this shop's seed."""
        return uniform(self.seed, tag, *keys)

    def n(self, tag: str, *keys: Column | str) -> Column:
        """:func:`normal` with this shop's seed."""
        return normal(self.seed, tag, *keys)

    def _persist(self, df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._persisted.append(df)
        return df

    def unpersist(self) -> None:
        """Release every cached intermediate frame."""
        for df in self._persisted:
            df.unpersist()
        self._persisted.clear()

    def ts(self, t: Column) -> Column:
        """Seconds since start midnight -> ``'yyyy-MM-dd HH:mm:ss'`` (UTC, time-zone free)."""
        d = F.floor(t / DAY)
        sod = (t - d * DAY).cast("int")
        date = F.date_add(F.lit(self.start.isoformat()).cast("date"), d.cast("int")).cast("string")
        return F.format_string(
            "%s %02d:%02d:%02d",
            date,
            F.floor(sod / 3600).cast("int"),
            F.floor(F.pmod(sod, F.lit(3600)) / 60).cast("int"),
            F.pmod(sod, F.lit(60)).cast("int"),
        )

    def date(self, d: Column) -> Column:
        """Day index -> ``'yyyy-MM-dd'``."""
        return F.date_add(F.lit(self.start.isoformat()).cast("date"), d.cast("int")).cast("string")

    def time_of_day(self, u_hour: Column, u_sec: Column) -> Column:
        """Seconds after midnight following :data:`HOUR_WEIGHTS`."""
        return choice(u_hour, HOUR_WEIGHTS) * 3600 + F.floor(u_sec * 3600).cast("int")

    def customer_id(self, c: Column) -> Column:
        """``C000123`` from the customer index."""
        return F.format_string("C%06d", (c + 1).cast("long"))

    def item_id(self, i: Column) -> Column:
        """``I00042`` from the item index (through a fixed bijection)."""
        num = F.pmod(i.cast("long") * self.perm_a + self.perm_b, F.lit(self.n_items).cast("long")) + 1
        return F.format_string("I%05d", num)

    def order_id(self, c: Column, j: Column) -> Column:
        """``O`` + customer index + order number: unique per (customer, order)."""
        return F.format_string("O%07d%05d", c.cast("long"), j.cast("long"))

    # ------------------------------------------------------------ items
    def item_cat(self, i: Column) -> Column:
        """Category index of item ``i`` (items are laid out in category blocks)."""
        out = F.when(i < self.cat_offsets[1], F.lit(0))
        for k, off in enumerate(self.cat_offsets[2:], start=1):
            out = out.when(i < off, F.lit(k))
        return out.otherwise(F.lit(len(self.cat_offsets) - 1))

    @cached_property
    def items_latent(self) -> DataFrame:
        """One row per item with its hidden traits.

        Columns: ``item`` (index), ``item_id``, ``cat``, ``base_cents`` (list price in
        cents, ending in .99), ``quality`` (standard normal), ``slope`` (log-demand trend
        per year), ``launch_day`` (-1: on sale before the start), ``launch_week``,
        ``pc1w/pc1s/pc2w/pc2s`` (weeks and sizes of two price changes), ``lead`` (lead
        time in days).
        """
        i = F.col("item")
        df = self.spark.range(0, self.n_items, 1, self.partitions).select(F.col("id").alias("item"))
        df = df.select("item", self.item_cat(i).alias("cat"))
        cat = F.col("cat")
        med = lookup([math.log(c.price) for c in CATEGORIES], cat)
        euros = F.greatest(F.lit(1.0), F.floor(F.exp(med + 0.55 * self.n("price", i))))
        launch = F.when(self.u("launch", i) < 0.2, F.floor(self.u("launch_day", i) * self.days * 0.85)).otherwise(-1)
        lead = F.round(lookup([c.lead_days for c in CATEGORIES], cat) * F.exp(0.35 * self.n("lead", i)))
        df = df.select(
            "item",
            self.item_id(i).alias("item_id"),
            "cat",
            (euros * 100 + 99).cast("long").alias("base_cents"),
            self.n("quality", i).alias("quality"),
            F.greatest(F.lit(-0.8), F.least(F.lit(0.8), 0.35 * self.n("slope", i))).alias("slope"),
            launch.cast("int").alias("launch_day"),
            F.floor(self.u("pc1w", i) * self.weeks).cast("int").alias("pc1w"),
            F.when(self.u("pc1", i) < 0.6, self.u("pc1s", i) * 0.35 - 0.15).otherwise(0.0).alias("pc1s"),
            F.floor(self.u("pc2w", i) * self.weeks).cast("int").alias("pc2w"),
            F.when(self.u("pc2", i) < 0.3, self.u("pc2s", i) * 0.3 - 0.1).otherwise(0.0).alias("pc2s"),
            F.least(F.lit(60.0), F.greatest(F.lit(2.0), lead)).alias("lead"),
        )
        df = df.withColumn(
            "launch_week", F.greatest(F.lit(0), F.floor((F.col("launch_day") + self.week_offset) / 7)).cast("int")
        )
        return self._persist(df)

    @cached_property
    def week_table(self) -> DataFrame:
        """One row per week: ``week, monday`` (day index), ``mid`` (Thursday), ``month`` of the Thursday."""
        rows = []
        for w in range(self.weeks):
            monday = 7 * w - self.week_offset
            mid = monday + 3
            rows.append((w, monday, mid, (self.start + dt.timedelta(days=mid)).month))
        return local_table(self.spark, rows, "week INT, monday INT, mid INT, month INT")

    @cached_property
    def item_weeks(self) -> DataFrame:
        """One row per item and week on sale (from its launch week): prices, promotion, demand.

        Columns: ``item, week, cat, monday, regular_cents, disc`` (0 = no promotion),
        ``unit_cents`` (price paid), ``mult`` (relative demand: trend x promotion x price
        x category season).
        """
        it = self.items_latent
        g = it.select(
            "item", "cat", "base_cents", "slope", "pc1w", "pc1s", "pc2w", "pc2s",
            F.explode(F.sequence(F.col("launch_week"), F.lit(self.weeks - 1))).alias("week"),
        )  # fmt: skip
        g = g.join(F.broadcast(self.week_table), "week")
        promos = [(int(k.split(":")[0]), int(k.split(":")[1]), v) for k, v in self.campaign_promos.items()]
        camp = local_table(self.spark, promos, "cat INT, week INT, camp_disc DOUBLE")
        g = g.join(F.broadcast(camp), ["cat", "week"], "left")
        i, week = F.col("item"), F.col("week")
        pf = (
            (1.0 + 0.03 * week / 52.0)
            * (1.0 + F.when(week >= F.col("pc1w"), F.col("pc1s")).otherwise(0.0))
            * (1.0 + F.when(week >= F.col("pc2w"), F.col("pc2s")).otherwise(0.0))
        )
        rand = F.when(
            self.u("promo", i, week) < RANDOM_PROMO_SHARE, 0.10 + 0.05 * F.floor(self.u("promo_d", i, week) * 5)
        ).otherwise(0.0)
        g = g.select(
            "item", "week", "cat", "monday", "mid", "month", "base_cents", "slope",
            pf.alias("pf"),
            F.greatest(rand, F.coalesce(F.col("camp_disc"), F.lit(0.0))).alias("disc"),
        )  # fmt: skip
        regular = (F.greatest(F.lit(0.0), F.floor(F.col("base_cents") * F.col("pf") / 100.0) - 1) * 100 + 99).cast("long")
        g = g.withColumn("regular_cents", regular)
        months = F.array(*[F.array(*[F.lit(x) for x in row]) for row in self.cat_months])
        season = F.element_at(F.element_at(months, F.col("cat") + 1), F.col("month"))
        trend = F.exp(F.col("slope") * (F.col("mid") - self.days / 2.0) / 365.0)
        mult = trend * (1.0 + 6.0 * F.col("disc")) * F.pow(F.col("pf"), -1.5) * season
        return self._persist(
            g.select(
                "item",
                "week",
                "cat",
                "monday",
                "regular_cents",
                "disc",
                F.round(F.col("regular_cents") * (1.0 - F.col("disc"))).cast("long").alias("unit_cents"),
                mult.alias("mult"),
            )
        )

    def pick_item(self, seg: Column, fav: Column, fraud: Column, *keys: Column, tag: str = "line") -> Column:
        """An item index chosen by taste: favourite / segment / global category, then Zipf rank."""
        mode = self.u(tag + ".mode", *keys)
        uc = self.u(tag + ".cat", *keys)
        seg_cat = choice_by(uc, seg, self.seg_prefs)
        glob = choice(uc, [c.share for c in CATEGORIES])
        fraud_cat = choice(uc, [FRAUD_CATEGORY_WEIGHTS.get(n, 0.0) for n in CAT_NAMES])
        cat = (
            F.when(fraud, fraud_cat)
            .when(mode < 0.3, fav)
            .when(mode < 0.9, seg_cat)
            .otherwise(glob)
        )
        n = lookup(self.cat_counts, cat).cast("double")
        a = 1.0 - ZIPF_S
        x = F.pow(1.0 + self.u(tag + ".rank", *keys) * (F.pow(n + 1.0, a) - 1.0), 1.0 / a)
        rank = F.least(n - 1, F.greatest(F.lit(0.0), F.floor(x) - 1))
        return (lookup(self.cat_offsets, cat) + rank).cast("long")

    # ------------------------------------------------------------ latent frames
    @cached_property
    def calendar(self) -> DataFrame:
        """One row per day: ``day, date, week, month, factor`` (driver-built, ``days`` rows)."""
        schema = "day INT, date STRING, week INT, month INT, factor DOUBLE"
        return local_table(self.spark, self.calendar_rows, schema)

    @cached_property
    def customers_latent(self) -> DataFrame:
        """Customers with their hidden traits.

        Columns: ``c`` (index), ``customer_id``, ``seg``, ``fav`` (favourite category),
        ``fraud_acct``, ``signup_t`` (seconds from start), ``a``/``b`` (first/last active
        day; a > b means never active in the window), ``lam`` (orders per day), ``country``,
        ``birth_year``, ``gender``, ``channel``, ``source``, ``browser``, ``device_id``,
        ``ip``, ``clicks`` (clickstream recorded), ``user_bias``, ``resp``.
        """
        c = F.col("c")
        u = lambda tag: self.u(tag, c)  # noqa: E731
        df = self.spark.range(0, self.n_customers, 1, self.partitions).select(F.col("id").alias("c"))
        seg = choice(u("seg"), [s.share for s in SEGMENTS])
        df = df.select("c", seg.alias("seg"), (u("fraud_acct") < FRAUD_ACCOUNT_SHARE).alias("fraud_acct"))
        seg_c = F.col("seg")
        fraud = F.col("fraud_acct")
        sday = (
            F.when(fraud, F.floor(u("sday") * (self.days - 1)))
            .when(u("pre") < PRE_START_SIGNUPS, -1 - F.floor(u("sday") * 730))
            .otherwise(F.floor(u("sday") * self.days))
        ).cast("long")
        df = df.withColumn("sday", sday)
        sday = F.col("sday")
        ssod = F.when(fraud & (u("odd") < 0.6), F.floor(u("ssod") * 5 * 3600)).otherwise(
            self.time_of_day(u("sh"), u("ss"))
        )
        life = -F.log(u("life")) * lookup([s.lifetime_days for s in SEGMENTS], seg_c) * F.exp(0.3 * self.n("life", c))
        lam = F.least(
            F.lit(MAX_ORDER_RATE),
            BASE_ORDER_RATE * lookup([s.activity for s in SEGMENTS], seg_c) * F.exp(0.9 * self.n("lam", c) - 0.405),
        )
        countries, cw = _dist(COUNTRIES)
        genders, gw = _dist(GENDERS)
        chans, chw = _dist(ORDER_CHANNELS)
        srcs, sw = _dist(SOURCES_GENUINE)
        brs, bw = _dist(BROWSERS_GENUINE)
        df = df.select(
            "c",
            self.customer_id(c).alias("customer_id"),
            "seg",
            choice_by(u("fav"), seg_c, self.seg_prefs).alias("fav"),
            "fraud_acct",
            (sday * DAY + ssod).alias("signup_t"),
            F.when(fraud, F.lit(1)).otherwise(F.greatest(F.lit(0), sday + 1)).cast("int").alias("a"),
            F.when(fraud, F.lit(0))
            .otherwise(F.least(F.lit(self.days - 1), F.floor(sday + life)))
            .cast("int")
            .alias("b"),
            lam.alias("lam"),
            lookup(countries, choice(u("country"), cw)).alias("country"),
            (1950 + F.floor(F.pow(u("age"), 0.8) * 56)).cast("int").alias("birth_year"),
            lookup(genders, choice(u("gender"), gw)).alias("gender"),
            lookup(chans, choice(u("chan"), chw)).alias("channel"),
            lookup(srcs, choice(u("src"), sw)).alias("source"),
            lookup(brs, choice(u("browser"), bw)).alias("browser"),
            F.format_string("DV%010d", F.pmod(F.xxhash64(F.lit(self.seed), F.lit("dev"), c), F.lit(10**10))).alias(
                "device_id"
            ),
            F.format_string(
                "%d.%d.%d.%d",
                (2 + F.floor(u("ip1") * 220)).cast("int"),
                F.floor(u("ip2") * 256).cast("int"),
                F.floor(u("ip3") * 256).cast("int"),
                (1 + F.floor(u("ip4") * 254)).cast("int"),
            ).alias("ip"),
            (~fraud & (u("clicks") < CLICKSTREAM_SHARE)).alias("clicks"),
            (0.4 * self.n("bias", c)).alias("user_bias"),
            (lookup([s.response for s in SEGMENTS], seg_c) * F.exp(0.5 * self.n("resp", c) - 0.125)).alias("resp"),
        )
        return self._persist(df)

    @cached_property
    def campaign_plan(self) -> DataFrame:
        """One row per campaign (driver-built)."""
        rows = [
            (c.k, c.campaign_id, c.day, c.channel, c.offer, c.discount, c.target_share, c.uplift, c.cost)
            for c in self.campaigns
        ]
        schema = (
            "k INT, campaign_id STRING, d0 INT, contact_channel STRING, offer STRING, discount DOUBLE, "
            "target_share DOUBLE, uplift DOUBLE, cost DOUBLE"
        )
        return local_table(self.spark, rows, schema)

    @cached_property
    def contacts(self) -> DataFrame:
        """Campaign contacts: customers picked at random among those signed up before the send.

        Columns: ``c, k, campaign_id, d0, sent_t, contact_channel, offer, cost, up`` (the
        contact's uplift of the order rate) and the customer's ``a, b, lam, seg, fav``.
        """
        cust = self.customers_latent.select("c", "a", "b", "lam", "seg", "fav", "fraud_acct", "signup_t", "resp")
        c, k = F.col("c"), F.col("k")
        df = cust.crossJoin(F.broadcast(self.campaign_plan))
        sent_t = F.col("d0") * DAY + 9 * 3600 + F.floor(self.u("sent", c, k) * 9 * 3600)
        df = df.withColumn("sent_t", sent_t.cast("long")).filter(
            (self.u("contact", c, k) < F.col("target_share")) & ~F.col("fraud_acct") & (F.col("signup_t") < F.col("sent_t"))
        )
        return self._persist(
            df.select(
                "c",
                "k",
                "campaign_id",
                "d0",
                "sent_t",
                "contact_channel",
                "offer",
                "cost",
                (F.col("uplift") * F.col("resp")).alias("up"),
                "a",
                "b",
                "lam",
                "seg",
                "fav",
            )
        )

    @cached_property
    def orders_latent(self) -> DataFrame:
        """Orders (one row each) with hidden flags.

        Columns: ``c, j`` (order number per customer), ``order_id``, ``day``, ``t``
        (seconds from start), ``week``, ``month``, ``fraud``, ``guest``, ``channel``,
        ``n_lines`` and the customer's traits needed downstream.
        """
        cust = self.customers_latent
        cal = F.broadcast(self.calendar.select("day", "week", "month", "factor"))
        c, j = F.col("c"), F.col("j")
        # 1. base process between sign-up and churn, thinned by the calendar
        base = cust.filter(F.col("b") >= F.col("a")).select("c", "a", "b", "lam")
        length = F.col("b") - F.col("a") + 1
        base = explode_poisson(base, F.col("lam") * self.cal_max * length, "j", lambda x: self.u("nb", c, x), 9999)
        base = base.withColumn("day", (F.col("a") + F.floor(self.u("bday", c, j) * (F.col("b") - F.col("a") + 1))).cast("int"))
        base = base.select("c", "j", "day")
        # 2. campaign uplift: an extra Poisson process inside each contact's window
        con = self.contacts
        lo = F.greatest(F.col("d0"), F.col("a"))
        hi = F.least(F.col("d0") + CAMPAIGN_WINDOW - 1, F.col("b"), F.lit(self.days - 1))
        ext = con.select("c", "k", lo.alias("lo"), hi.alias("hi"), "lam", "up").filter(F.col("hi") >= F.col("lo"))
        mu = F.col("lam") * F.col("up") * self.cal_max * (F.col("hi") - F.col("lo") + 1)
        ext = explode_poisson(ext, mu, "m", lambda x: self.u("ne", c, F.col("k"), x), 99)
        ext = ext.select(
            "c",
            (10000 + F.col("k") * 100 + F.col("m")).cast("int").alias("j"),
            (F.col("lo") + F.floor(self.u("eday", c, F.col("k"), F.col("m")) * (F.col("hi") - F.col("lo") + 1)))
            .cast("int")
            .alias("day"),
        )
        genuine = base.unionByName(ext).join(cal, "day").filter(self.u("thin", c, j) < F.col("factor") / self.cal_max)
        takeover = self.u("takeover", c, j) < TAKEOVER_SHARE
        odd = self.u("odd", c, j) < 0.65
        sod = F.when(takeover & odd, F.floor(self.u("osod", c, j) * 5 * 3600)).otherwise(
            self.time_of_day(self.u("h", c, j), self.u("s", c, j))
        )
        genuine = genuine.select("c", "j", "day", (F.col("day").cast("long") * DAY + sod).alias("t"), takeover.alias("fraud"))
        # 3. fraud accounts: a burst of orders within hours of sign-up
        fa = cust.filter("fraud_acct").select("c", "signup_t")
        fa = fa.withColumn("nf", 1 + poisson_small(self.u("nf", c), 1.6))
        fa = fa.select("c", "signup_t", F.explode(F.sequence(F.lit(1), F.col("nf"))).alias("j"))
        t = F.col("signup_t") + 120 + F.floor(-F.log(self.u("fgap", c, j)) * 8 * 3600)
        fa = fa.select("c", "j", t.cast("long").alias("t")).withColumn("day", F.floor(F.col("t") / DAY).cast("int"))
        fa = fa.filter(F.col("day") < self.days).select("c", "j", "day", "t", F.lit(True).alias("fraud"))
        orders = genuine.unionByName(fa).join(cal.select("day", "week", "month"), "day")
        # 4. order attributes
        chans, chw = _dist(ORDER_CHANNELS)
        cattrs = cust.select(
            "c", "customer_id", "seg", "fav", "fraud_acct", "signup_t", "country", "source", "browser",
            "device_id", "ip", "clicks", F.col("channel").alias("cust_channel"),
        )  # fmt: skip
        fraud = F.col("fraud")
        orders = orders.join(cattrs, "c").select(
            "c",
            "j",
            self.order_id(c, j).alias("order_id"),
            "day",
            "t",
            "week",
            "month",
            "fraud",
            (~fraud & (self.u("guest", c, j) < GUEST_SHARE)).alias("guest"),
            F.when(self.u("ochan", c, j) < 0.85, F.col("cust_channel"))
            .otherwise(lookup(chans, choice(self.u("ochan2", c, j), chw)))
            .alias("channel"),
            F.when(fraud, 2 + poisson_small(self.u("nl", c, j), 2.0))
            .otherwise(1 + poisson_small(self.u("nl", c, j), 1.5))
            .alias("n_lines"),
            "customer_id",
            "seg",
            "fav",
            "fraud_acct",
            "signup_t",
            "country",
            "source",
            "browser",
            "device_id",
            "ip",
            "clicks",
        )
        return self._persist(orders)

    @cached_property
    def lines_latent(self) -> DataFrame:
        """Sold order lines with hidden columns.

        Columns: the order's columns plus ``item``, ``cat``, ``k`` (line rank), ``qty``,
        ``cents`` (unit price paid), ``promo`` (discount > 0), ``returned``, ``ret_t``,
        ``ret_qty``.
        """
        o = self.orders_latent
        c, j, k = F.col("c"), F.col("j"), F.col("k")
        cand = o.select(
            "c", "j", "day", "week", "month", "fraud", "seg", "fav", "n_lines",
            F.explode(F.sequence(F.lit(1), F.col("n_lines") * LINE_OVERSAMPLE)).alias("k"),
        )  # fmt: skip
        cand = cand.select("c", "j", "week", "n_lines", "k", self.pick_item(F.col("seg"), F.col("fav"), F.col("fraud"), c, j, k).alias("item"))
        # thinning: keep a candidate with probability mult / cap (items not yet launched have no row)
        iw = self.item_weeks.select("item", "week", "mult")
        cand = cand.join(iw, ["item", "week"]).filter(self.u("accept", c, j, k) < F.col("mult") / LINE_MULT_CAP)
        first = Window.partitionBy("c", "j", "item").orderBy("k")
        cand = cand.withColumn("_r", F.row_number().over(first)).filter("_r = 1")
        rank = Window.partitionBy("c", "j").orderBy("k")
        cand = cand.withColumn("_r", F.row_number().over(rank)).filter(F.col("_r") <= F.col("n_lines"))
        picked = cand.select("c", "j", "item", F.col("_r").alias("line"))
        prices = self.item_weeks.select("item", "week", "cat", F.col("unit_cents").alias("cents"), "disc")
        lines = o.join(picked, ["c", "j"]).join(prices, ["item", "week"])
        i = F.col("item")
        cat = F.col("cat")
        qty_mean = lookup([c_.qty for c_ in CATEGORIES], cat)
        q = 1 + F.floor(-F.log(self.u("qty", c, j, i)) * qty_mean)
        q = q + F.when(F.col("disc") > 0, F.floor(-F.log(self.u("qpromo", c, j, i)) * 0.6)).otherwise(0)
        q = F.when(F.col("fraud"), q * (2 + F.floor(self.u("qfraud", c, j, i) * 4))).otherwise(q)
        ret_rate = lookup([c_.returns for c_ in CATEGORIES], cat) * F.when(F.col("fraud"), 0.3).otherwise(1.0)
        ret_t = F.col("t") + (3 + F.floor(self.u("ret_d", c, j, i) * 28)) * DAY + F.floor(self.u("ret_s", c, j, i) * 10 * 3600)
        lines = lines.select(
            "*",
            q.cast("long").alias("qty"),
            (F.col("disc") > 0).alias("promo"),
            (self.u("ret", c, j, i) < ret_rate).alias("_ret"),
            ret_t.cast("long").alias("ret_t"),
        )
        lines = lines.withColumn("returned", F.col("_ret") & (F.col("ret_t") < self.days * DAY)).withColumn(
            "ret_qty", (1 + F.floor(self.u("ret_q", c, j, i) * F.col("qty"))).cast("long")
        )
        return self._persist(lines.drop("_ret"))

    @cached_property
    def order_totals(self) -> DataFrame:
        """Per order: ``c, j, cents`` = sum of quantity x unit price of its sold lines."""
        return self._persist(
            self.lines_latent.groupBy("c", "j").agg(F.sum(F.col("qty") * F.col("cents")).alias("total_cents"))
        )

    # ------------------------------------------------------------ landing frames
    def orders(self) -> DataFrame:
        """Order lines (sales, later returns, and a few messy rows) as landing strings."""
        ln = self.lines_latent
        c, j, i = F.col("c"), F.col("j"), F.col("item")
        cust = F.when(F.col("guest"), F.lit(None).cast("string")).otherwise(F.col("customer_id"))
        price = (F.col("cents") / 100.0).cast("double")
        missing = self.u("mess_item", c, j, i) < MESS_MISSING_ITEM
        bad_ts = self.u("mess_ts", c, j, i) < MESS_BAD_TS
        order_ts = F.when(bad_ts, F.format_string("%d-02-30 %02d:00:00", F.year(self.date(F.col("day"))), F.lit(12))).otherwise(
            self.ts(F.col("t"))
        )
        sales = ln.select(
            F.col("order_id").alias(N.ORDER_ID),
            cust.alias(N.CUSTOMER_ID),
            order_ts.alias(N.ORDER_TS),
            F.when(missing, F.lit(None).cast("string")).otherwise(self.item_id(i)).alias(N.ITEM_ID),
            F.col("qty").alias(N.QUANTITY),
            price.alias(N.UNIT_PRICE),
            F.col("country").alias(N.COUNTRY),
            F.col("channel").alias(N.CHANNEL),
            F.lit("completed").alias(N.STATUS),
            (self.u("mess_dup", c, j, i) < MESS_DUPLICATE).alias("_dup"),
        )
        returns = ln.filter("returned").select(
            F.concat(F.lit("R"), F.col("order_id")).alias(N.ORDER_ID),
            cust.alias(N.CUSTOMER_ID),
            self.ts(F.col("ret_t")).alias(N.ORDER_TS),
            self.item_id(i).alias(N.ITEM_ID),
            (-F.col("ret_qty")).alias(N.QUANTITY),
            price.alias(N.UNIT_PRICE),
            F.col("country").alias(N.COUNTRY),
            F.col("channel").alias(N.CHANNEL),
            F.lit("returned").alias(N.STATUS),
            F.lit(False).alias("_dup"),
        )
        allrows = sales.unionByName(returns)
        dups = allrows.filter("_dup")
        return allrows.unionByName(dups).drop("_dup")

    def products(self) -> DataFrame:
        """The catalogue: one row per item (``price`` is the list price at the start)."""
        i, cat = F.col("item"), F.col("cat")
        nouns = F.array(*[F.array(*[F.lit(x) for x in TX.CATEGORY_NOUNS[n]]) for n in CAT_NAMES])
        brands = F.array(*[F.array(*[F.lit(x) for x in TX.CATEGORY_BRANDS[n]]) for n in CAT_NAMES])

        def dyn(arr: Column, u: Column) -> Column:
            inner = F.element_at(arr, cat + 1)
            return F.element_at(inner, (F.floor(u * F.size(inner)) + 1).cast("int"))

        df = self.items_latent.select(
            "item",
            "item_id",
            "cat",
            "base_cents",
            dyn(nouns, self.u("noun", i)).alias("noun"),
            dyn(brands, self.u("brand", i)).alias("brand"),
        )
        model = F.format_string(
            "%s%d", pick("ABCDEFGHKLMNPRSTVX", self.u("m1", i)), (F.floor(self.u("m2", i) * 900) + 100).cast("int")
        )
        adj = pick(TX.PRODUCT_ADJECTIVES, self.u("adj", i))
        adj2 = pick(TX.PRODUCT_ADJECTIVES, self.u("adj2", i))
        feature = pick(TX.PRODUCT_FEATURES, self.u("feat", i))
        return df.select(
            F.col("item_id").alias(N.ITEM_ID),
            F.format_string("%s %s %s %s", F.col("brand"), adj, F.col("noun"), model).alias(N.TITLE),
            F.format_string("%s %s by %s. %s.", adj2, F.col("noun"), F.col("brand"), feature).alias(N.DESCRIPTION),
            lookup(CAT_NAMES, cat).alias(N.CATEGORY),
            F.col("brand").alias(N.BRAND),
            (F.col("base_cents") / 100.0).alias(N.PRICE),
        )

    def customers(self) -> DataFrame:
        """Customers: one row per customer id (dormant and fraud accounts included)."""
        return self.customers_latent.select(
            F.col("customer_id").alias(N.CUSTOMER_ID),
            self.ts(F.col("signup_t")).alias(N.SIGNUP_TS),
            F.col("country").alias(N.COUNTRY),
            F.col("birth_year").alias(N.BIRTH_YEAR),
            F.when(F.col("gender") == "", F.lit(None).cast("string")).otherwise(F.col("gender")).alias(N.GENDER),
        )

    def transactions(self) -> DataFrame:
        """One payment per order; ``label`` 1 for fraud."""
        o = self.orders_latent.join(self.order_totals, ["c", "j"])
        c, j = F.col("c"), F.col("j")
        fraud, guest = F.col("fraud"), F.col("guest")
        pool = max(8, 12 * self.scale)
        fdev = F.format_string("DV%010d", (F.lit(7_000_000_000) + F.floor(self.u("fdev", c, j) * pool)).cast("long"))
        gdev = F.format_string("DV%010d", F.pmod(F.xxhash64(F.lit(self.seed), F.lit("gdev"), c, j), F.lit(10**10)))
        second = F.format_string("DV%010d", F.pmod(F.xxhash64(F.lit(self.seed), F.lit("dev2"), c), F.lit(10**10)))
        device = (
            F.when(fraud & (self.u("fdevp", c, j) < 0.75), fdev)
            .when(guest, gdev)
            .when(self.u("dev2p", c, j) < 0.15, second)
            .otherwise(F.col("device_id"))
        )
        fip = F.format_string("185.220.%d.%d", F.floor(self.u("fip1", c, j) * 4).cast("int"), (1 + F.floor(self.u("fip2", c, j) * 254)).cast("int"))
        gip = F.format_string(
            "%d.%d.%d.%d",
            (2 + F.floor(self.u("gip1", c, j) * 220)).cast("int"),
            F.floor(self.u("gip2", c, j) * 256).cast("int"),
            F.floor(self.u("gip3", c, j) * 256).cast("int"),
            (1 + F.floor(self.u("gip4", c, j) * 254)).cast("int"),
        )
        ip = F.when(fraud & (self.u("fipp", c, j) < 0.7), fip).when(guest, gip).otherwise(F.col("ip"))
        fs, fsw = _dist(SOURCES_FRAUD)
        fb, fbw = _dist(BROWSERS_FRAUD)
        gs, gsw = _dist(SOURCES_GENUINE)
        gb, gbw = _dist(BROWSERS_GENUINE)
        source = (
            F.when(fraud, lookup(fs, choice(self.u("fsrc", c, j), fsw)))
            .when(guest, lookup(gs, choice(self.u("gsrc", c, j), gsw)))
            .otherwise(F.col("source"))
        )
        browser = (
            F.when(fraud, lookup(fb, choice(self.u("fbr", c, j), fbw)))
            .when(guest, lookup(gb, choice(self.u("gbr", c, j), gbw)))
            .otherwise(F.col("browser"))
        )
        return o.select(
            F.format_string("T%07d%05d", c.cast("long"), j.cast("long")).alias(N.TRANSACTION_ID),
            F.when(guest, F.lit(None).cast("string")).otherwise(F.col("customer_id")).alias(N.CUSTOMER_ID),
            self.ts(F.col("t") + F.floor(self.u("txn_s", c, j) * 30).cast("long")).alias(N.TXN_TS),
            (F.col("total_cents") / 100.0).alias(N.AMOUNT),
            F.when(guest, F.lit(None).cast("string")).otherwise(self.ts(F.col("signup_t"))).alias(N.SIGNUP_TS),
            device.alias(N.DEVICE_ID),
            ip.alias(N.IP_ADDRESS),
            source.alias(N.SOURCE),
            browser.alias(N.BROWSER),
            fraud.cast("int").alias(N.LABEL),
        )

    @cached_property
    def ratings_latent(self) -> DataFrame:
        """Explicit ratings of first purchases (registered, genuine orders only).

        Columns: ``c, item, cat, rating, rating_t, customer_id, returned``.
        """
        ln = self.lines_latent.filter(~F.col("guest") & ~F.col("fraud"))
        first = ln.groupBy("c", "item").agg(
            F.min(F.struct("t", "j")).alias("_first"),
            F.max(F.col("returned").cast("int")).alias("returned"),
            F.min("customer_id").alias("customer_id"),  # one value per c
            F.min("seg").alias("seg"),
            F.min("fav").alias("fav"),
            F.min("cat").alias("cat"),
        )
        c, i, cat = F.col("c"), F.col("item"), F.col("cat")
        first = first.filter(self.u("rate", c, i) < RATE_SHARE)
        top3 = F.array(*[F.array(*[F.lit(x) for x in t]) for t in self.seg_top3])
        aff = (
            F.when(cat == F.col("fav"), 1.1)
            .when(F.array_contains(F.element_at(top3, F.col("seg") + 1), cat), 0.7)
            .otherwise(-0.5)
        )
        first = first.withColumn("aff", aff)
        quality = self.n("quality", i)  # the same draw as items_latent.quality
        bias = 0.4 * self.n("bias", c)  # the same draw as customers_latent.user_bias
        z = F.col("aff") + 0.6 * quality + bias + 0.8 * self.n("rating", c, i) - 1.4 * F.col("returned")
        first = first.withColumn("z", z)
        rating = 1 + sum((F.col("z") > thr).cast("int") for thr in (-1.3, -0.6, 0.1, 0.9))
        delay = (1 + F.floor(self.u("rdelay", c, i) * 20)) * DAY + F.floor(self.u("rsec", c, i) * 12 * 3600)
        out = first.select(
            "c", "item", "cat", rating.cast("int").alias("rating"), (F.col("_first.t") + delay).cast("long").alias("rating_t"),
            "customer_id", F.col("returned").cast("boolean").alias("returned"), "aff",
        )  # fmt: skip
        return self._persist(out.filter(F.col("rating_t") < self.days * DAY))

    def ratings(self) -> DataFrame:
        """Explicit 1-5 ratings."""
        return self.ratings_latent.select(
            F.col("customer_id").alias(N.USER_ID),
            self.item_id(F.col("item")).alias(N.ITEM_ID),
            F.col("rating").alias(N.RATING),
            self.ts(F.col("rating_t")).alias(N.RATING_TS),
        )

    def reviews(self) -> DataFrame:
        """Reviews of a share of the ratings; words agree with the stars.

        Each review has 2-4 sentences; a sentence is positive, negative or neutral with
        probabilities set by the stars, and built from a template of that polarity.
        """
        r = self.ratings_latent
        c, i, s = F.col("c"), F.col("item"), F.col("s")
        r = r.filter(self.u("review", c, i) < REVIEW_SHARE)
        rating = F.col("rating")
        n_sent = (2 + F.floor(self.u("rv.n", c, i) * 3)).cast("int")
        sent = r.select("c", "item", "cat", "rating", F.explode(F.sequence(F.lit(1), n_sent)).alias("s"))
        p_pos = lookup([0.03, 0.10, 0.35, 0.75, 0.88], rating - 1)
        p_neg = lookup([0.85, 0.70, 0.30, 0.07, 0.02], rating - 1)
        up = self.u("rv.pol", c, i, s)
        polarity = F.when(up < p_pos, 0).when(up < p_pos + p_neg, 1).otherwise(2)
        sent = sent.select("c", "item", "cat", "s", polarity.alias("pol"), self.u("rv.tpl", c, i, s).alias("ut"))
        nouns = F.array(*[F.array(*[F.lit(x) for x in TX.CATEGORY_NOUNS[n]]) for n in CAT_NAMES])
        cat_nouns = F.element_at(nouns, F.col("cat") + 1)
        vocab = {
            "POS": TX.POSITIVE_WORDS,
            "NEG": TX.NEGATIVE_WORDS,
            "NEU": TX.NEUTRAL_WORDS,
            "INT": TX.INTENSIFIERS,
            "PERSON": TX.PEOPLE,
            "WHEN": TX.WHEN,
        }
        draws: dict[tuple[str, int], Column] = {}

        def slot(name: str, n: int) -> Column:
            if (name, n) not in draws:
                u = self.u(f"rv.{name}.{n}", c, i, s)
                if name == "NOUN":
                    draws[name, n] = F.element_at(cat_nouns, (F.floor(u * F.size(cat_nouns)) + 1).cast("int"))
                else:
                    draws[name, n] = pick(vocab[name], u)
            return draws[name, n]

        text: Column | None = None
        for pol, templates in enumerate((TX.POSITIVE_TEMPLATES, TX.NEGATIVE_TEMPLATES, TX.NEUTRAL_TEMPLATES)):
            for n_, tpl in enumerate(templates):
                hit = (F.col("pol") == pol) & (F.col("ut") < (n_ + 1) / len(templates))
                rendered = _render(tpl, _Slots(slot))
                text = F.when(hit, rendered) if text is None else text.when(hit, rendered)
        assert text is not None
        sent = sent.select("c", "item", "s", _capitalise(text).alias("sentence"))
        body = sent.groupBy("c", "item").agg(F.array_sort(F.collect_list(F.struct("s", "sentence"))).alias("_s"))
        body = body.select("c", "item", F.array_join(F.transform("_s", lambda x: x["sentence"]), " ").alias("body"))
        ut = self.u("rv.title", c, i)
        title = (
            F.when(self.u("rv.notitle", c, i) < 0.1, F.lit(None).cast("string"))
            .when(rating >= 4, pick(TX.POSITIVE_TITLES, ut))
            .when(rating <= 2, pick(TX.NEGATIVE_TITLES, ut))
            .otherwise(pick(TX.NEUTRAL_TITLES, ut))
        )
        return r.join(body, ["c", "item"]).select(
            F.format_string("RV%07d%06d", c.cast("long"), i.cast("long")).alias(N.REVIEW_ID),
            self.item_id(i).alias(N.ITEM_ID),
            F.col("customer_id").alias(N.CUSTOMER_ID),
            rating.alias(N.RATING),
            title.alias(N.TITLE),
            F.col("body").alias(N.TEXT),
            self.ts(F.col("rating_t") + 60 + F.floor(self.u("rv.t", c, i) * 600).cast("long")).alias(N.REVIEW_TS),
        )

    def events(self) -> DataFrame:
        """Clickstream of a sample of customers: purchase sessions and browse-only sessions."""
        c, j = F.col("c"), F.col("j")
        # purchase sessions: one per registered genuine order of a tracked customer
        o = self.orders_latent.filter(F.col("clicks") & ~F.col("guest") & ~F.col("fraud"))
        dur = (300 + F.floor(self.u("ev.dur", c, j) * 2400)).cast("long")
        o = o.select("c", "j", "t", "customer_id", "seg", "fav", dur.alias("dur"), F.concat(F.lit("S"), F.col("order_id")).alias("sid"))
        start = F.col("t") - F.col("dur")
        ln = self.lines_latent.filter(F.col("clicks") & ~F.col("guest") & ~F.col("fraud")).select("c", "j", "item", "line")
        sess_lines = o.join(ln, ["c", "j"])
        i = F.col("item")
        view_t = start + F.floor(self.u("ev.vt", c, j, i) * 0.5 * F.col("dur"))
        cart_t = start + F.floor((0.6 + 0.35 * self.u("ev.ct", c, j, i)) * F.col("dur"))
        ev_line = sess_lines.select(
            "customer_id", "sid", "item",
            F.explode(
                F.array(
                    F.struct(F.lit("view").alias("type"), view_t.cast("long").alias("et")),
                    F.struct(F.lit("cart").alias("type"), cart_t.cast("long").alias("et")),
                    F.struct(F.lit("purchase").alias("type"), F.col("t").alias("et")),
                )
            ).alias("e"),
        ).select("customer_id", "sid", "item", F.col("e.type").alias("type"), F.col("e.et").alias("et"))  # fmt: skip
        extra = o.withColumn("nv", poisson_small(self.u("ev.nv", c, j), 2.0)).filter("nv > 0")
        extra = extra.select("c", "j", "t", "dur", "customer_id", "seg", "fav", "sid", F.explode(F.sequence(F.lit(1), F.col("nv"))).alias("v"))
        v = F.col("v")
        ev_extra = extra.select(
            "customer_id",
            "sid",
            self.pick_item(F.col("seg"), F.col("fav"), F.lit(False), c, j, v, tag="ev.x").alias("item"),
            F.lit("view").alias("type"),
            (start + F.floor(self.u("ev.xt", c, j, v) * 0.8 * F.col("dur"))).cast("long").alias("et"),
        )
        ev_search = o.filter(self.u("ev.search", c, j) < 0.5).select(
            "customer_id", "sid", F.lit(None).cast("long").alias("item"), F.lit("search").alias("type"), start.cast("long").alias("et")
        )
        # browse-only sessions
        cal = F.broadcast(self.calendar.select("day", "factor"))
        cust = self.customers_latent.filter(F.col("clicks") & (F.col("b") >= F.col("a")))
        length = F.col("b") - F.col("a") + 1
        cust = cust.select("c", "a", "b", "lam", "customer_id", "seg", "fav")
        bs = explode_poisson(cust, 2.0 * F.col("lam") * self.cal_max * length, "s", lambda x: self.u("ev.ns", c, x), 99999)
        s = F.col("s")
        bs = bs.withColumn("day", (F.col("a") + F.floor(self.u("ev.bday", c, s) * (F.col("b") - F.col("a") + 1))).cast("int"))
        bs = bs.join(cal, "day").filter(self.u("ev.bthin", c, s) < F.col("factor") / self.cal_max)
        bstart = F.col("day").cast("long") * DAY + self.time_of_day(self.u("ev.bh", c, s), self.u("ev.bs", c, s))
        bs = bs.select("c", "s", "customer_id", "seg", "fav", bstart.alias("bt"), F.format_string("B%07d%05d", c.cast("long"), s.cast("long")).alias("sid"))
        bs = bs.withColumn("nv", 1 + poisson_small(self.u("ev.bnv", c, s), 2.5))
        bv = bs.select("c", "s", "customer_id", "seg", "fav", "bt", "sid", F.explode(F.sequence(F.lit(1), F.col("nv"))).alias("v"))
        vt = F.col("bt") + (v - 1) * 40 + F.floor(self.u("ev.bvt", c, s, v) * 90 * v)
        bv = bv.select(
            "c", "s", "v", "customer_id", "sid", "bt",
            self.pick_item(F.col("seg"), F.col("fav"), F.lit(False), c, s, v, tag="ev.b").alias("item"),
            vt.cast("long").alias("et"),
        )  # fmt: skip
        ev_bview = bv.select("customer_id", "sid", "item", F.lit("view").alias("type"), "et")
        ev_bcart = bv.filter(self.u("ev.bcart", c, s, v) < 0.12).select(
            "customer_id", "sid", "item", F.lit("cart").alias("type"),
            (F.col("et") + 20 + F.floor(self.u("ev.bct", c, s, v) * 100)).cast("long").alias("et"),
        )  # fmt: skip
        ev_bsearch = bs.filter(self.u("ev.bsearch", c, s) < 0.4).select(
            "customer_id", "sid", F.lit(None).cast("long").alias("item"), F.lit("search").alias("type"), (F.col("bt") - 15).alias("et")
        )
        ev = ev_line.unionByName(ev_extra).unionByName(ev_search).unionByName(ev_bview).unionByName(ev_bcart).unionByName(ev_bsearch)
        ev = ev.filter((F.col("et") >= 0) & (F.col("et") < self.days * DAY))
        out = ev.select(
            self.ts(F.col("et")).alias(N.EVENT_TS),
            F.col("customer_id").alias(N.USER_ID),
            F.col("sid").alias(N.SESSION_ID),
            F.col("type").alias(N.EVENT_TYPE),
            F.when(F.col("item").isNull(), F.lit(None).cast("string")).otherwise(self.item_id(F.col("item"))).alias(N.ITEM_ID),
        )
        dup = self.u("ev.dup", F.col(N.SESSION_ID), F.col(N.EVENT_TS), F.col(N.EVENT_TYPE), F.coalesce(F.col(N.ITEM_ID), F.lit(""))) < MESS_EVENT_DUPLICATE
        return out.unionByName(out.filter(dup))

    def inventory(self) -> DataFrame:
        """Weekly stock snapshots (Mondays) under an order-up-to policy, from the launch week on."""
        grid = self.item_weeks.select("item", "week", "monday")
        sold = self.lines_latent.groupBy("item", "week").agg(F.sum("qty").alias("sold"))
        g = grid.join(sold, ["item", "week"], "left").fillna({"sold": 0})
        g = g.join(self.items_latent.select("item", "item_id", "lead", "base_cents"), "item")
        w = Window.partitionBy("item").orderBy("week")
        for lag in range(1, 5):
            g = g.withColumn(f"s{lag}", F.coalesce(F.sum("sold").over(w.rowsBetween(-lag, -1)), F.lit(0)))
        g = g.withColumn("lw", F.least(F.lit(4), F.greatest(F.lit(1), F.ceil(F.col("lead") / 7))).cast("int"))
        g = g.withColumn("mean", F.avg("sold").over(Window.partitionBy("item")))
        cover = F.col("mean") * (F.col("lw") + 1)
        g = g.withColumn("level", F.ceil(cover * 1.2 + 1.65 * F.sqrt(cover) + 2))
        recent = F.element_at(F.array("s1", "s2", "s3", "s4"), F.col("lw"))
        i = F.col("item")
        noise = F.round(self.n("shrink", i, F.col("week")) * 0.05 * F.col("level"))
        on_hand = F.greatest(F.lit(0), F.col("level") - recent + noise)
        return g.select(
            F.col("item_id").alias(N.ITEM_ID),
            self.date(F.greatest(F.lit(0), F.col("monday"))).alias(N.SNAPSHOT_DATE),
            on_hand.cast("double").alias(N.ON_HAND),
            F.col("lead").alias(N.LEAD_TIME_DAYS),
            F.round(F.col("lead") * (0.1 + 0.3 * self.u("lead_sd", i)), 1).alias(N.LEAD_TIME_STD_DAYS),
            F.round(F.col("base_cents") / 100.0 * (0.4 + 0.25 * self.u("cost", i)), 2).alias(N.UNIT_COST),
            F.round(20 + 100 * self.u("order_cost", i), 2).alias(N.ORDER_COST),
        )

    @cached_property
    def campaigns_latent(self) -> DataFrame:
        """Contacts with the response observed in the orders of the following window."""
        con = self.contacts
        o = self.orders_latent.filter(~F.col("guest")).join(self.order_totals, ["c", "j"]).select("c", F.col("t").alias("ot"), "total_cents")
        hits = con.select("c", "k", "sent_t").join(o, "c").filter(
            (F.col("ot") >= F.col("sent_t")) & (F.col("ot") < F.col("sent_t") + CAMPAIGN_WINDOW * DAY)
        )
        resp = hits.groupBy("c", "k").agg(F.min("ot").alias("resp_t"), F.sum("total_cents").alias("resp_cents"))
        out = con.join(resp, ["c", "k"], "left").join(self.customers_latent.select("c", "customer_id"), "c")
        return self._persist(out)

    def campaign_contacts(self) -> DataFrame:
        """Campaign contacts as landing strings."""
        df = self.campaigns_latent
        responded = F.col("resp_t").isNotNull()
        return df.select(
            F.col("campaign_id").alias(N.CAMPAIGN_ID),
            F.col("customer_id").alias(N.CUSTOMER_ID),
            self.ts(F.col("sent_t")).alias(N.SENT_TS),
            F.col("contact_channel").alias(N.CHANNEL),
            F.col("offer").alias(N.OFFER),
            F.col("cost").alias(N.COST),
            responded.alias(N.RESPONDED),
            F.when(responded, self.ts(F.col("resp_t"))).alias(N.RESPONSE_TS),
            F.when(responded, F.col("resp_cents") / 100.0).otherwise(F.lit(0.0)).alias(N.REVENUE),
        )

    def landing(self) -> dict[str, DataFrame]:
        """The nine entities in landing shape (canonical column names, SPEC section 3)."""
        return {
            N.ORDERS: self.orders(),
            N.PRODUCTS: self.products(),
            N.CUSTOMERS: self.customers(),
            N.EVENTS: self.events(),
            N.RATINGS: self.ratings(),
            N.REVIEWS: self.reviews(),
            N.TRANSACTIONS: self.transactions(),
            N.INVENTORY: self.inventory(),
            N.CAMPAIGNS: self.campaign_contacts(),
        }

    def files(self, entity: str) -> int:
        """Number of files written for ``entity`` (fixed by scale, so output is reproducible)."""
        per_scale = {N.ORDERS: 2, N.EVENTS: 4, N.INVENTORY: 2}.get(entity, 1)
        return max(1, min(200, per_scale * self.scale))


class _Slots:
    """Template slots: the n-th occurrence of a slot name gets draw ``make(name, n)``."""

    def __init__(self, make: Callable[[str, int], Column]) -> None:
        self._make = make
        self._seen: dict[str, int] = {}

    def __getitem__(self, key: str) -> Column:
        n = self._seen.get(key, 0)
        self._seen[key] = n + 1
        return self._make(key, n)


SORT_KEYS = {
    N.ORDERS: [N.ORDER_TS, N.ORDER_ID, N.ITEM_ID],
    N.PRODUCTS: [N.ITEM_ID],
    N.CUSTOMERS: [N.CUSTOMER_ID],
    N.EVENTS: [N.EVENT_TS, N.USER_ID, N.SESSION_ID],
    N.RATINGS: [N.RATING_TS, N.USER_ID, N.ITEM_ID],
    N.REVIEWS: [N.REVIEW_TS, N.REVIEW_ID],
    N.TRANSACTIONS: [N.TXN_TS, N.TRANSACTION_ID],
    N.INVENTORY: [N.SNAPSHOT_DATE, N.ITEM_ID],
    N.CAMPAIGNS: [N.SENT_TS, N.CAMPAIGN_ID, N.CUSTOMER_ID],
}
"""Row order inside each written file (then every other column, for a total order)."""
PARTITION_KEYS = {
    N.ORDERS: [N.ORDER_ID],
    N.EVENTS: [N.SESSION_ID],
    N.INVENTORY: [N.ITEM_ID],
}


def write_entity(df: DataFrame, path: str, fmt: str, files: int, entity: str) -> None:
    """Write one entity deterministically: fixed file count, hash-partitioned, sorted rows.

    Args:
        df: Landing-shaped frame.
        path: Folder to (over)write.
        fmt: csv, parquet or json.
        files: Number of part files.
        entity: Entity name (chooses partition and sort keys).
    """
    keys = SORT_KEYS[entity]
    order = keys + [c for c in df.columns if c not in keys]
    if files > 1:
        part = PARTITION_KEYS.get(entity, keys[-1:])
        df = df.repartition(files, *part)
    else:
        df = df.repartition(1)
    df = df.sortWithinPartitions(*[F.col(c).asc_nulls_first() for c in order])
    writer = df.write.mode("overwrite")
    if fmt == "csv":
        writer.options(header="true", quote='"', escape='"', nullValue="", emptyValue="").csv(path)
    elif fmt == "parquet":
        writer.parquet(path)
    elif fmt == "json":
        writer.json(path)
    else:  # pragma: no cover - checked by the caller
        raise ValueError(fmt)


def generate_landing(
    spark: SparkSession,
    out_dir: str,
    scale: int = 1,
    seed: int = 42,
    start_date: str = "2023-01-02",
    days: int = 730,
    fmt: str = "csv",
    *,
    customers: int | None = None,
    items: int | None = None,
) -> dict[str, int]:
    """Write a synthetic shop to out_dir in the landing format; return rows written per entity.

    Each entity goes to ``<out_dir>/<entity>/part-*.<fmt>`` (CSV with a header row,
    Parquet or JSON lines); an existing entity folder is replaced. Timestamps are
    ``yyyy-MM-dd HH:mm:ss`` UTC strings and ids are strings (``C000123``, ``I00042``).
    The same arguments always produce the same rows in the same files.

    Args:
        spark: The session.
        out_dir: Landing folder (any Hadoop path: local, HDFS, object store).
        scale: 1 = ~3,000 customers and ~1,000 items; N multiplies both by N.
        seed: Seed of every random quantity.
        start_date: First day of orders (``YYYY-MM-DD``).
        days: Number of days of orders.
        fmt: ``csv``, ``parquet`` or ``json``.
        customers: Override the number of customers (tests use small shops).
        items: Override the number of items.

    Returns:
        Rows written per entity name.

    Raises:
        ValueError: on an unknown format or an invalid size.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    shop = Shop(spark, scale=scale, seed=seed, start_date=start_date, days=days, customers=customers, items=items)
    counts: dict[str, int] = {}
    root = out_dir.rstrip("/")
    try:
        for entity, df in shop.landing().items():
            obs = Observation(f"generate_{entity}")
            write_entity(df.observe(obs, F.count(F.lit(1)).alias("rows")), f"{root}/{entity}", fmt, shop.files(entity), entity)
            counts[entity] = int(obs.get["rows"])
    finally:
        shop.unpersist()
    return counts
