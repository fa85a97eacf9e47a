"""A synthetic online shop, generated in Spark and written in the canonical landing format.

:func:`generate_landing` writes the ten shop entities of SPEC section 3 (orders, products,
customers, events, ratings, reviews, transactions, inventory, campaigns, messages; not the
``ip_ranges`` reference table) under
``<out_dir>/<entity>/part-*.<fmt>``, ready for ``ingest --source canonical``.

How it is built:

* **Blocks of customers and items.** Customers are simulated in fixed blocks of
  :data:`CUSTOMER_BLOCK` (``spark.range`` over block ids, then ``mapInPandas``); each
  block draws from numpy generators seeded with ``(seed, block, purpose)``, so a block's
  data does not depend on partitioning, batch sizes or executors, and scale 100 is just
  100 times more blocks. Item traits (category, prices, promotions, trend, quality) are
  pure functions of the item index through a counter-based hash (:func:`hash_uniform`),
  so order lines, products and inventory agree without a join or a collect.
* **Only fixed-size tables live on the driver** (:class:`World`): ten categories, six
  taste segments, the calendar (one entry per day), the campaign plan (one per
  campaign) and the category-week campaign promotions.
* **Spark does the rest**: per-item weekly sales are aggregated with ``groupBy``, stock
  snapshots use window functions, and every entity is written hash-partitioned into a
  fixed number of files with rows sorted, so the same seed gives identical files.

The structure that models can learn:

* customers belong to latent taste segments with preferences over categories (plus a
  personal favourite category); items are picked mostly from preferred categories and,
  within a category, by a Zipf-like popularity law;
* orders follow a Poisson process per customer between sign-up and churn (an
  exponential lifetime, so recency predicts churn), thinned by a calendar with a weekend
  effect, a Q4 peak, Black Friday and Christmas; categories have their own seasons;
* items have growing or declining trends, launch dates, price changes and promotion
  weeks (random, or a campaign's category offer) whose discount lifts demand;
* a few percent of lines are returned later (negative quantity, status ``returned``,
  order id prefixed ``R``); a few percent of orders are guest orders (no customer id);
* campaign contacts raise the contacted customer's order rate for 14 days by an extra
  rate that depends on the campaign, the taste segment and the customer's age (visible as
  ``birth_year``), not on how often the customer buys anyway; a random
  :data:`CONTROL_SHARE` of the customers drawn for a campaign is held out (offer
  ``control``, no uplift); ``responded``/``revenue`` come from the orders placed then;
* ratings are higher in the customer's preferred categories and for better items,
  lower for returned ones; review words agree with the stars;
* ~2-5 % of payments are fraud: new accounts buying within hours of sign-up and account
  take-overs, with high amounts, odd hours and an unusual source/browser mix, paid from
  the two devices and IP addresses of a fraud ring (~5 accounts); a tenth of the fraud
  accounts first test the card with a burst of small payments minutes after sign-up;
* weekly stock snapshots follow an order-up-to policy, so stock runs low after spikes;
* a few messy rows (an empty item id, exact duplicate lines, an impossible timestamp,
  duplicate click events) give ingest's quarantine something to do;
* every product has a small photo (``images/<item_id>.png``, :mod:`lakecart.generate_images`)
  whose silhouette and colours follow its category, except a few: a photo of another
  category's look, no photo, or a corrupt file.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import synth_text as TX
from lakecart.session import local_python_workers

DAY = 86_400
"""Seconds per day; times are seconds since midnight UTC of ``start_date``."""
FORMATS = ("csv", "parquet", "json")
CUSTOMER_BLOCK = 250  # customers per simulation block (fixed: it is part of the data's identity)
ITEM_BLOCK = 500  # items per block


# ---------------------------------------------------------------- fixed world tables
@dataclass(frozen=True)
class Category:
    """A product category.

    Attributes:
        name: Category name as written to ``products.category``.
        share: Share of the catalogue's items (and of untargeted demand).
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
)  # fmt: skip
CAT_NAMES = tuple(c.name for c in CATEGORIES)
FRAUD_CATEGORY_WEIGHTS = {
    "Electronics": 0.5,
    "Jewellery": 0.3,
    "Shoes": 0.1,
    "Apparel": 0.05,
    "Beauty": 0.05,
}


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
    Segment(
        "fashion", 0.22, 1.1, 420, 1.3, {"Apparel": 5, "Shoes": 3, "Beauty": 3, "Jewellery": 2}
    ),
    Segment(
        "tech",
        0.16,
        0.9,
        520,
        0.6,
        {"Electronics": 5, "Books": 2, "Toys & Games": 1.5, "Sports & Outdoors": 1},
    ),
    Segment(
        "home", 0.20, 1.0, 600, 1.0, {"Home & Kitchen": 5, "Garden": 3, "Books": 1, "Beauty": 1}
    ),
    Segment(
        "family",
        0.16,
        1.2,
        480,
        1.5,
        {"Toys & Games": 5, "Apparel": 2.5, "Books": 2, "Home & Kitchen": 1.5},
    ),
    Segment(
        "outdoor",
        0.12,
        0.9,
        450,
        0.8,
        {"Sports & Outdoors": 5, "Shoes": 2.5, "Garden": 2, "Apparel": 1.5},
    ),
    Segment(
        "reader",
        0.14,
        0.8,
        650,
        0.5,
        {"Books": 5, "Home & Kitchen": 1.5, "Electronics": 1, "Toys & Games": 1},
    ),
)

COUNTRIES = {
    "United Kingdom": 0.55, "Germany": 0.10, "France": 0.09, "Netherlands": 0.06, "Ireland": 0.05,
    "Spain": 0.05, "Belgium": 0.04, "Sweden": 0.03, "Italy": 0.03,
}  # fmt: skip
ORDER_CHANNELS = {"web": 0.55, "app": 0.38, "phone": 0.07}
SOURCES_GENUINE = {"SEO": 0.42, "Ads": 0.40, "Direct": 0.18}
SOURCES_FRAUD = {"SEO": 0.15, "Ads": 0.35, "Direct": 0.50}
BROWSERS_GENUINE = {
    "Chrome": 0.46,
    "Safari": 0.26,
    "Firefox": 0.12,
    "Edge": 0.11,
    "Opera": 0.03,
    "IE": 0.02,
}
BROWSERS_FRAUD = {
    "Chrome": 0.30,
    "Safari": 0.05,
    "Firefox": 0.20,
    "Edge": 0.05,
    "Opera": 0.20,
    "IE": 0.20,
}
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
FRAUD_RING_SIZE = 5  # fraud accounts per ring (mean); a ring pays from its own 2 devices / 2 IPs
CARD_TEST_SHARE = 0.1  # fraud accounts that first test the card: small payments after sign-up
LABEL_DELAY_DAYS = 14  # payments of the last days carry no label yet (chargebacks come later)
CARD_TEST_PAYMENTS = 4.0  # mean payments of a card-testing burst (at least 3, 10-90 s apart)
GUEST_SHARE = 0.03  # orders without a customer id
CLICKSTREAM_SHARE = 0.5  # customers whose clickstream is recorded
RATE_SHARE = 0.35  # first purchases that get an explicit rating
REVIEW_SHARE = 0.4  # ratings that come with a review text
CAMPAIGN_WINDOW = 14  # days a contact lifts the order rate
CONTROL_SHARE = 0.2  # customers drawn for a campaign who are held out (offer 'control')
CONTACT_EXTRA_RATE = 0.02  # extra orders/day of a contact, x campaign uplift x resp x age factor
UPLIFT_BY_BIRTH_YEAR = ((1990, 2.5), (1975, 1.0), (0, 0.2))
"""(born in or after, uplift factor): the young are persuadable, the old hardly at all."""
RANDOM_PROMO_SHARE = 0.03  # item-weeks on a random promotion
PROMO_LIFT = 6.0  # demand multiplier = 1 + PROMO_LIFT x discount
ZIPF_S = 0.9  # popularity exponent within a category
LINE_OVERSAMPLE = 10  # candidate lines per wanted line (thinned by the item multiplier)
LINE_MULT_CAP = 3.0  # item multiplier that is accepted with certainty
MESS_MISSING_ITEM = 0.001
MESS_DUPLICATE = 0.0005
MESS_BAD_TS = 0.0002
MESS_EVENT_DUPLICATE = 0.0005
RATING_THRESHOLDS = (-1.3, -0.6, 0.1, 0.9)
REVIEW_POLARITY = {  # stars -> P(positive sentence), P(negative sentence); the rest neutral
    1: (0.03, 0.85),
    2: (0.10, 0.70),
    3: (0.35, 0.30),
    4: (0.75, 0.07),
    5: (0.88, 0.02),
}

# ---------------------------------------------------------------- counter-based randomness
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64 finaliser on a uint64 array (wrapping arithmetic)."""
    z = (z ^ (z >> _S30)) * _M1
    z = (z ^ (z >> _S27)) * _M2
    return z ^ (z >> _S31)


def hash_uniform(seed: int, tag: str, *keys: np.ndarray | int) -> np.ndarray:
    """A deterministic uniform in (0, 1) per element of the keys (broadcast together).

    The value depends only on ``(seed, tag, keys)``: it is how item traits are derived
    from the item index, identically in every task that needs them.

    Args:
        seed: The generator seed.
        tag: Names the random quantity, so different quantities are independent.
        *keys: Integer arrays (or ints) identifying the element, e.g. item index and week.

    Returns:
        A float64 array of the broadcast shape.
    """
    arrays = np.broadcast_arrays(*[np.asarray(k, dtype=np.int64) for k in keys])
    start = np.array([(seed & 0xFFFFFFFF) << 32 | zlib.crc32(tag.encode())], dtype=np.uint64)
    h = np.broadcast_to(_mix(start), arrays[0].shape).copy()
    for k in arrays:
        h = _mix(h ^ (k.astype(np.uint64) + _GOLDEN))
    return ((h >> _S11).astype(np.float64) + 0.5) / float(1 << 53)


def hash_normal(seed: int, tag: str, *keys: np.ndarray | int) -> np.ndarray:
    """A deterministic standard normal (Box-Muller on two :func:`hash_uniform` draws)."""
    u1 = hash_uniform(seed, tag + ".1", *keys)
    u2 = hash_uniform(seed, tag + ".2", *keys)
    return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * math.pi * u2)


def _cum(weights: Sequence[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return np.cumsum(w / w.sum())[:-1]


def draw(u: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    """Index 0..K-1 with the given weights by inverse CDF of the uniforms ``u``."""
    return np.searchsorted(_cum(weights), u, side="right")


def draw_rows(u: np.ndarray, rows: np.ndarray, cum_table: np.ndarray) -> np.ndarray:
    """Like :func:`draw` with a per-element weight row: ``cum_table[rows]`` (K-1 thresholds)."""
    return (u[:, None] >= cum_table[rows]).sum(axis=1)


def pick_words(rng: np.random.Generator, words: Sequence[str], n: int) -> np.ndarray:
    """``n`` words drawn uniformly from ``words``."""
    return np.asarray(words, dtype=object)[rng.integers(0, len(words), n)]


def _keys(d: dict[str, float]) -> tuple[np.ndarray, list[float]]:
    return np.asarray(list(d), dtype=object), list(d.values())


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers, e.g. ``C000123``."""
    return np.array([f"{prefix}{int(x):0{width}d}" for x in numbers], dtype=object)


# ---------------------------------------------------------------- the world (driver side)
@dataclass(frozen=True)
class Campaign:
    """One marketing campaign of the plan."""

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


class World:
    """Everything fixed-size about the shop, built on the driver and shipped to tasks.

    Holds the sizes, the category layout of item indices, segment preferences, the
    calendar (one factor per day), the campaign plan and the item traits (as functions
    of the item index). Pickled into every ``mapInPandas`` task.

    Args:
        scale: Multiplies the number of customers and items (1 = ~3,000 / ~1,000).
        seed: Seed of every random quantity.
        start_date: First day of orders (``YYYY-MM-DD``, UTC).
        days: Number of days of orders.
        customers: Override of the number of customers (default ``3000 * scale``).
        items: Override of the number of items (default ``1000 * scale``).
    """

    def __init__(
        self,
        scale: int = 1,
        seed: int = 42,
        start_date: str = "2023-01-02",
        days: int = 730,
        customers: int | None = None,
        items: int | None = None,
        label_delay_days: int = LABEL_DELAY_DAYS,
    ) -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        if days < 7:
            raise ValueError(f"days must be >= 7, got {days}")
        self.scale = int(scale)
        self.seed = int(seed)
        self.start = dt.date.fromisoformat(start_date)
        self.days = int(days)
        self.label_delay_days = max(0, int(label_delay_days))
        self.n_customers = int(customers if customers is not None else 3000 * scale)
        self.n_items = int(items if items is not None else 1000 * scale)
        if self.n_customers < 10 or self.n_items < 4 * len(CATEGORIES):
            raise ValueError("need at least 10 customers and 40 items")
        self.week_offset = self.start.weekday()  # days from the first week's Monday to the start
        self.weeks = (self.days + self.week_offset + 6) // 7
        self.customer_blocks = -(-self.n_customers // CUSTOMER_BLOCK)
        self.item_blocks = -(-self.n_items // ITEM_BLOCK)
        self.partitions = max(2, min(200, 2 * self.scale))
        self.key = (
            self.seed,
            self.start.isoformat(),
            self.days,
            self.n_customers,
            self.n_items,
            self.scale,
            self.label_delay_days,
        )
        rng = np.random.default_rng([self.seed, 7])
        # items are laid out in category blocks: index -> category by offsets
        shares = np.array([c.share for c in CATEGORIES])
        counts = np.maximum(2, np.floor(shares / shares.sum() * self.n_items)).astype(np.int64)
        counts[0] += self.n_items - counts.sum()
        self.cat_counts = counts
        self.cat_offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        # segment preferences, perturbed by the seed
        prefs = np.array([[s.prefs.get(n, 0.3) for n in CAT_NAMES] for s in SEGMENTS], dtype=float)
        prefs = prefs * rng.lognormal(0.0, 0.15, prefs.shape)
        self.seg_prefs = prefs / prefs.sum(axis=1, keepdims=True)
        self.seg_pref_cum = np.stack([_cum(p) for p in self.seg_prefs])
        self.seg_top3 = np.argsort(-self.seg_prefs, axis=1)[:, :3]
        self.global_cum = _cum(shares)
        self.fraud_cum = _cum([FRAUD_CATEGORY_WEIGHTS.get(n, 0.0) for n in CAT_NAMES])
        # a bijection of item indices, so item ids reveal neither category nor rank
        a = 7919
        while math.gcd(a, self.n_items) != 1:
            a += 2
        self.perm_a, self.perm_b = a, int(rng.integers(0, self.n_items))
        months = np.array([c.months for c in CATEGORIES], dtype=float)
        self.cat_months = months / months.mean(axis=1, keepdims=True)
        self._calendar()
        self.campaigns = self._campaign_plan(rng)
        promo = np.zeros((len(CATEGORIES), self.weeks))
        for c in self.campaigns:
            if c.category is not None:
                for d in range(c.day, min(self.days, c.day + CAMPAIGN_WINDOW)):
                    w = (d + self.week_offset) // 7
                    promo[c.category, w] = max(promo[c.category, w], c.discount)
        self.campaign_promo = promo

    # ------------------------------------------------------------ calendar and campaigns
    def _calendar(self) -> None:
        factor = np.empty(self.days)
        month = np.empty(self.days, dtype=np.int64)
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
            factor[d] = f
            month[d] = date.month
        self.day_factor = factor
        self.day_month = month
        self.cal_max = float(factor.max())
        mids = [
            self.start + dt.timedelta(days=7 * w - self.week_offset + 3) for w in range(self.weeks)
        ]
        self.week_month = np.array([m.month for m in mids], dtype=np.int64)
        self.week_mid = np.array(
            [7 * w - self.week_offset + 3 for w in range(self.weeks)], dtype=np.int64
        )

    def _campaign_plan(self, rng: np.random.Generator) -> list[Campaign]:
        names = list(CONTACT_CHANNELS)
        shares = np.array([v[0] for v in CONTACT_CHANNELS.values()])
        out: list[Campaign] = []
        day = int(rng.integers(7, 21))
        k = 0
        while day < self.days - 3:
            channel = names[int(rng.choice(len(names), p=shares / shares.sum()))]
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

    # ------------------------------------------------------------ helpers
    def hu(self, tag: str, *keys: np.ndarray | int) -> np.ndarray:
        """:func:`hash_uniform` with this world's seed."""
        return hash_uniform(self.seed, tag, *keys)

    def hn(self, tag: str, *keys: np.ndarray | int) -> np.ndarray:
        """:func:`hash_normal` with this world's seed."""
        return hash_normal(self.seed, tag, *keys)

    def rng(self, kind: str, block: int) -> np.random.Generator:
        """The numpy generator of one purpose (``kind``) in one block."""
        return np.random.default_rng([self.seed, zlib.crc32(kind.encode()), block])

    def ts(self, t: np.ndarray) -> np.ndarray:
        """Seconds since start midnight -> ``'yyyy-MM-dd HH:mm:ss'`` strings."""
        base = np.datetime64(self.start.isoformat(), "s")
        text = (base + np.asarray(t, dtype=np.int64).astype("timedelta64[s]")).astype(str)
        return np.char.replace(text, "T", " ").astype(object)

    def date(self, d: np.ndarray) -> np.ndarray:
        """Day index -> ``'yyyy-MM-dd'`` strings."""
        base = np.datetime64(self.start.isoformat(), "D")
        return (
            (base + np.asarray(d, dtype=np.int64).astype("timedelta64[D]"))
            .astype(str)
            .astype(object)
        )

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Seconds after midnight following :data:`HOUR_WEIGHTS`."""
        return draw(rng.random(n), HOUR_WEIGHTS) * 3600 + rng.integers(0, 3600, n)

    def customer_ids(self, c: np.ndarray) -> np.ndarray:
        """``C000123`` from customer indices."""
        return _ids("C", np.asarray(c) + 1, 6)

    def item_ids(self, i: np.ndarray) -> np.ndarray:
        """``I00042`` from item indices (through a fixed bijection)."""
        i = np.asarray(i, dtype=np.int64)
        return _ids("I", (i * self.perm_a + self.perm_b) % self.n_items + 1, 5)

    def item_index(self, item_ids: Sequence[str]) -> np.ndarray:
        """Item indices from ``I00042``-style ids (the inverse of :meth:`item_ids`)."""
        num = np.array([int(x[1:]) - 1 for x in item_ids], dtype=np.int64)
        inv = pow(self.perm_a, -1, self.n_items)
        return ((num - self.perm_b) % self.n_items) * inv % self.n_items

    # ------------------------------------------------------------ items: functions of the index
    def item_cat(self, i: np.ndarray) -> np.ndarray:
        """Category index of items ``i``."""
        return np.searchsorted(self.cat_offsets, i, side="right") - 1

    def item_base_cents(self, i: np.ndarray) -> np.ndarray:
        """List price at the start, in cents, ending in .99."""
        med = np.log(np.array([c.price for c in CATEGORIES]))[self.item_cat(i)]
        euros = np.maximum(1.0, np.floor(np.exp(med + 0.55 * self.hn("price", i))))
        return (euros * 100 + 99).astype(np.int64)

    def item_quality(self, i: np.ndarray) -> np.ndarray:
        """Latent item quality (standard normal): better items get better ratings."""
        return self.hn("quality", i)

    def item_slope(self, i: np.ndarray) -> np.ndarray:
        """Log-demand trend per year: growing (> 0) or declining (< 0) items."""
        return np.clip(0.35 * self.hn("slope", i), -0.8, 0.8)

    def item_launch_day(self, i: np.ndarray) -> np.ndarray:
        """First day the item is sold (-1: on sale before the start)."""
        later = self.hu("launch", i) < 0.2
        return np.where(later, np.floor(self.hu("launch_day", i) * self.days * 0.85), -1).astype(
            np.int64
        )

    def item_lead_days(self, i: np.ndarray) -> np.ndarray:
        """Supplier lead time in days."""
        base = np.array([c.lead_days for c in CATEGORIES])[self.item_cat(i)]
        return np.clip(np.round(base * np.exp(0.35 * self.hn("lead", i))), 2.0, 60.0)

    def price_factor(self, i: np.ndarray, week: np.ndarray) -> np.ndarray:
        """Regular price relative to the list price: inflation plus up to two price changes."""
        w1 = np.floor(self.hu("pc1w", i) * self.weeks)
        s1 = np.where(self.hu("pc1", i) < 0.6, self.hu("pc1s", i) * 0.35 - 0.15, 0.0)
        w2 = np.floor(self.hu("pc2w", i) * self.weeks)
        s2 = np.where(self.hu("pc2", i) < 0.3, self.hu("pc2s", i) * 0.3 - 0.1, 0.0)
        return (
            (1.0 + 0.03 * week / 52.0)
            * (1.0 + np.where(week >= w1, s1, 0.0))
            * (1.0 + np.where(week >= w2, s2, 0.0))
        )

    def discount(self, i: np.ndarray, week: np.ndarray) -> np.ndarray:
        """Promotional discount of item ``i`` in ``week`` (0 when not promoted)."""
        rand = np.where(
            self.hu("promo", i, week) < RANDOM_PROMO_SHARE,
            0.10 + 0.05 * np.floor(self.hu("promo_d", i, week) * 5),
            0.0,
        )
        camp = self.campaign_promo[self.item_cat(i), np.clip(week, 0, self.weeks - 1)]
        return np.maximum(rand, camp)

    def regular_cents(self, i: np.ndarray, week: np.ndarray) -> np.ndarray:
        """Regular (non-promotional) price in cents in ``week``, ending in .99."""
        euros = np.maximum(
            0.0, np.floor(self.item_base_cents(i) * self.price_factor(i, week) / 100.0) - 1
        )
        return (euros * 100 + 99).astype(np.int64)

    def unit_cents(self, i: np.ndarray, week: np.ndarray) -> np.ndarray:
        """Price paid in cents in ``week`` (the regular price less any promotion)."""
        return np.round(self.regular_cents(i, week) * (1.0 - self.discount(i, week))).astype(
            np.int64
        )

    def demand_multiplier(self, i: np.ndarray, day: np.ndarray) -> np.ndarray:
        """Relative demand for item ``i`` on ``day``: trend x promotion x price x season x launch."""
        week = (day + self.week_offset) // 7
        cat = self.item_cat(i)
        trend = np.exp(self.item_slope(i) * (day - self.days / 2.0) / 365.0)
        promo = 1.0 + PROMO_LIFT * self.discount(i, week)
        price = self.price_factor(i, week) ** -1.5
        season = self.cat_months[cat, self.day_month[np.clip(day, 0, self.days - 1)] - 1]
        return trend * promo * price * season * (day >= self.item_launch_day(i))

    def pick_items(
        self, rng: np.random.Generator, seg: np.ndarray, fav: np.ndarray, fraud: np.ndarray
    ) -> np.ndarray:
        """Items chosen by taste: favourite / segment / global category, then Zipf rank."""
        n = len(seg)
        mode = rng.random(n)
        uc = rng.random(n)
        cat = np.where(
            fraud,
            np.searchsorted(self.fraud_cum, uc, side="right"),
            np.where(
                mode < 0.3,
                fav,
                np.where(
                    mode < 0.9,
                    draw_rows(uc, seg, self.seg_pref_cum),
                    np.searchsorted(self.global_cum, uc, side="right"),
                ),
            ),
        )
        size = self.cat_counts[cat].astype(float)
        a = 1.0 - ZIPF_S
        x = (1.0 + rng.random(n) * ((size + 1.0) ** a - 1.0)) ** (1.0 / a)
        rank = np.clip(np.floor(x) - 1, 0, size - 1).astype(np.int64)
        return self.cat_offsets[cat] + rank


# ---------------------------------------------------------------- one block of customers
class CustomerBlock:
    """The simulated life of one block of customers: traits, contacts, orders, lines,
    payments, ratings, reviews, clicks and campaign responses.

    Every part draws from its own generator (:meth:`World.rng`), so computing only some
    parts (e.g. customers without clicks) gives the same values. Frames whose name has
    no ``_`` prefix are landing-shaped; the others keep hidden columns for tests.
    """

    def __init__(self, world: World, block: int) -> None:
        self.w = world
        self.block = int(block)
        lo = self.block * CUSTOMER_BLOCK
        self.c = np.arange(lo, min(world.n_customers, lo + CUSTOMER_BLOCK), dtype=np.int64)

    # ------------------------------------------------------------ latent parts
    @cached_property
    def traits(self) -> pd.DataFrame:
        """Customers with hidden traits (``seg``, ``fav``, ``fraud_acct``, ``a``/``b`` active
        days, ``lam`` orders/day, ``resp`` campaign responsiveness, ...)."""
        w, c = self.w, self.c
        n = len(c)
        rng = w.rng("customers", self.block)
        seg = draw(rng.random(n), [s.share for s in SEGMENTS])
        fraud = rng.random(n) < FRAUD_ACCOUNT_SHARE
        pre = rng.random(n) < PRE_START_SIGNUPS
        us = rng.random(n)
        sday = np.where(
            fraud,
            np.floor(us * (w.days - 1)),
            np.where(pre, -1 - np.floor(us * 730), np.floor(us * w.days)),
        )
        sday = sday.astype(np.int64)
        odd = fraud & (rng.random(n) < 0.6)
        ssod = np.where(odd, rng.integers(0, 5 * 3600, n), w.time_of_day(rng, n))
        life = (
            rng.exponential(1.0, n)
            * np.array([s.lifetime_days for s in SEGMENTS])[seg]
            * np.exp(0.3 * rng.standard_normal(n))
        )
        act = np.array([s.activity for s in SEGMENTS])[seg]
        lam = np.minimum(
            MAX_ORDER_RATE, BASE_ORDER_RATE * act * np.exp(0.9 * rng.standard_normal(n) - 0.405)
        )
        fav = draw_rows(rng.random(n), seg, w.seg_pref_cum)
        countries, cw = _keys(COUNTRIES)
        genders, gw = _keys(GENDERS)
        chans, chw = _keys(ORDER_CHANNELS)
        srcs, sw = _keys(SOURCES_GENUINE)
        brs, bw = _keys(BROWSERS_GENUINE)
        return pd.DataFrame(
            {
                "c": c,
                "customer_id": w.customer_ids(c),
                "seg": seg,
                "fav": fav,
                "fraud_acct": fraud,
                "signup_t": sday * DAY + ssod,
                "a": np.where(fraud, 1, np.maximum(0, sday + 1)),
                "b": np.where(fraud, 0, np.minimum(w.days - 1, np.floor(sday + life))).astype(
                    np.int64
                ),
                "lam": lam,
                "country": countries[draw(rng.random(n), cw)],
                "birth_year": (1950 + np.floor(rng.random(n) ** 0.8 * 56)).astype(np.int64),
                "gender": genders[draw(rng.random(n), gw)],
                "channel": chans[draw(rng.random(n), chw)],
                "source": srcs[draw(rng.random(n), sw)],
                "browser": brs[draw(rng.random(n), bw)],
                "device_id": _ids("DV", (w.hu("device", c) * 1e10).astype(np.int64), 10),
                "ip": _ips(rng, n),
                "clicks": ~fraud & (rng.random(n) < CLICKSTREAM_SHARE),
                "user_bias": 0.4 * rng.standard_normal(n),
                "resp": np.array([s.response for s in SEGMENTS])[seg]
                * np.exp(0.5 * rng.standard_normal(n) - 0.125),
            }
        )

    def uplift_factor(self) -> np.ndarray:
        """Per customer: the extra order rate of a contact per unit of campaign uplift
        (``CONTACT_EXTRA_RATE`` x the segment's ``resp`` trait x the birth-year factor)."""
        tr = self.traits
        year = tr["birth_year"].to_numpy()
        age = np.zeros(len(tr))
        for born, f in sorted(UPLIFT_BY_BIRTH_YEAR):
            age = np.where(year >= born, f, age)
        return CONTACT_EXTRA_RATE * tr["resp"].to_numpy() * age

    def true_uplift(self, day: int) -> pd.DataFrame:
        """The true effect of a contact sent on ``day`` (campaign uplift 1): the probability
        of a registered order in the next :data:`CAMPAIGN_WINDOW` days if contacted minus if
        not, ignoring guests. Days past the simulated period reuse the last day's calendar,
        and customers active at its end are taken as still active.

        Returns:
            ``customer_id`` and ``uplift``.
        """
        w, tr = self.w, self.traits
        d = np.arange(day, day + CAMPAIGN_WINDOW)
        factor = w.day_factor[np.minimum(d, w.days - 1)]
        a, b = tr["a"].to_numpy(), tr["b"].to_numpy()
        end = np.where(b >= w.days - 1, np.iinfo(np.int64).max, b)
        active = (d[None, :] >= a[:, None]) & (d[None, :] <= end[:, None])
        exposure = (active * factor[None, :]).sum(axis=1)
        base = tr["lam"].to_numpy() * exposure
        extra = self.uplift_factor() * exposure
        return pd.DataFrame(
            {"customer_id": tr["customer_id"], "uplift": np.exp(-base) * (1.0 - np.exp(-extra))}
        )

    @cached_property
    def contacts(self) -> pd.DataFrame:
        """Campaign contacts: customers drawn at random among those signed up before the send;
        a random :data:`CONTROL_SHARE` of them is the campaign's held-out control group.

        Columns: ``ci`` (row in :attr:`traits`), ``k`` (campaign), ``sent_t``, ``control``,
        ``up`` (multiplier of the order rate added in the following :data:`CAMPAIGN_WINDOW`
        days: campaign uplift x :meth:`uplift_factor` / the customer's base rate, so the
        extra rate does not grow with how often the customer buys anyway; 0 for control).
        """
        w, tr = self.w, self.traits
        n, kk = len(tr), len(w.campaigns)
        if kk == 0:
            return pd.DataFrame(
                {
                    "ci": np.zeros(0, np.int64),
                    "k": np.zeros(0, np.int64),
                    "sent_t": np.zeros(0, np.int64),
                    "control": np.zeros(0, bool),
                    "up": np.zeros(0),
                }
            )
        rng = w.rng("contacts", self.block)
        u = rng.random((n, kk))
        sent = (
            np.array([c.day for c in w.campaigns])[None, :] * DAY
            + 9 * 3600
            + rng.integers(0, 9 * 3600, (n, kk))
        )
        share = np.array([c.target_share for c in w.campaigns])[None, :]
        ok = (
            (u < share)
            & ~tr["fraud_acct"].to_numpy()[:, None]
            & (tr["signup_t"].to_numpy()[:, None] < sent)
        )
        ci, k = np.nonzero(ok)
        control = w.hu("control", self.c[ci], k) < CONTROL_SHARE
        extra = np.array([c.uplift for c in w.campaigns])[k] * self.uplift_factor()[ci]
        uplift = np.where(control, 0.0, extra / tr["lam"].to_numpy()[ci])
        return pd.DataFrame(
            {
                "ci": ci.astype(np.int64),
                "k": k.astype(np.int64),
                "sent_t": sent[ci, k],
                "control": control,
                "up": uplift,
            }
        )

    @cached_property
    def _order_heads(self) -> pd.DataFrame:
        """Orders before their lines are drawn (some end up with no line and are dropped)."""
        w, tr = self.w, self.traits
        rng = w.rng("orders", self.block)
        a, b, lam = tr["a"].to_numpy(), tr["b"].to_numpy(), tr["lam"].to_numpy()
        length = np.maximum(0, b - a + 1)
        # 1. base process between sign-up and churn, thinned by the calendar
        nb = rng.poisson(lam * w.cal_max * length)
        ci = np.repeat(np.arange(len(tr)), nb)
        day = a[ci] + np.floor(rng.random(len(ci)) * length[ci]).astype(np.int64)
        # 2. campaign uplift: an extra Poisson process inside each contact's window
        con = self.contacts
        cci = con["ci"].to_numpy()
        d0 = con["sent_t"].to_numpy() // DAY
        lo = np.maximum(d0, a[cci])
        hi = np.minimum(np.minimum(d0 + CAMPAIGN_WINDOW - 1, b[cci]), w.days - 1)
        span = np.maximum(0, hi - lo + 1)
        ne = rng.poisson(lam[cci] * con["up"].to_numpy() * w.cal_max * span)
        eci = np.repeat(cci, ne)
        eday = np.repeat(lo, ne) + np.floor(rng.random(len(eci)) * np.repeat(span, ne)).astype(
            np.int64
        )
        ci = np.concatenate([ci, eci])
        day = np.concatenate([day, eday])
        keep = rng.random(len(ci)) < w.day_factor[day] / w.cal_max
        ci, day = ci[keep], day[keep]
        m = len(ci)
        takeover = rng.random(m) < TAKEOVER_SHARE
        odd = rng.random(m) < 0.65
        sod = np.where(takeover & odd, rng.integers(0, 5 * 3600, m), w.time_of_day(rng, m))
        t = day * DAY + sod
        # 3. fraud accounts: a burst of orders within hours of sign-up
        fa = np.nonzero(tr["fraud_acct"].to_numpy())[0]
        nf = 1 + rng.poisson(1.6, len(fa))
        fci = np.repeat(fa, nf)
        ft = (
            tr["signup_t"].to_numpy()[fci]
            + 120
            + np.floor(rng.exponential(8 * 3600, len(fci))).astype(np.int64)
        )
        fkeep = ft < w.days * DAY
        ci = np.concatenate([ci, fci[fkeep]])
        t = np.concatenate([t, ft[fkeep]])
        fraud = np.concatenate([takeover, np.ones(int(fkeep.sum()), dtype=bool)])
        order = np.lexsort((t, ci))
        ci, t, fraud = ci[order], t[order], fraud[order]
        m = len(ci)
        j = np.arange(m) - np.searchsorted(ci, ci, side="left") + 1  # 1.. per customer, by time
        day = t // DAY
        chans, chw = _keys(ORDER_CHANNELS)
        cust_chan = tr["channel"].to_numpy()[ci]
        channel = np.where(rng.random(m) < 0.85, cust_chan, chans[draw(rng.random(m), chw)])
        n_lines = np.where(fraud, 2 + rng.poisson(2.0, m), 1 + rng.poisson(1.5, m))
        c = self.c[ci]
        return pd.DataFrame(
            {
                "ci": ci,
                "c": c,
                "j": j,
                "order_id": np.array(
                    [f"O{x:07d}{y:04d}" for x, y in zip(c, j, strict=True)], dtype=object
                ),
                "t": t,
                "day": day,
                "week": (day + w.week_offset) // 7,
                "fraud": fraud,
                "guest": ~fraud & (rng.random(m) < GUEST_SHARE),
                "channel": channel,
                "n_lines": n_lines,
            }
        )

    @cached_property
    def lines(self) -> pd.DataFrame:
        """Sold order lines with hidden columns (``item``, ``cat``, ``disc``, ``returned`` ...)."""
        w, o, tr = self.w, self._order_heads, self.traits
        rng = w.rng("lines", self.block)
        per = o["n_lines"].to_numpy() * LINE_OVERSAMPLE
        oi = np.repeat(np.arange(len(o)), per)
        ci = o["ci"].to_numpy()[oi]
        item = w.pick_items(
            rng, tr["seg"].to_numpy()[ci], tr["fav"].to_numpy()[ci], o["fraud"].to_numpy()[oi]
        )
        day = o["day"].to_numpy()[oi]
        accept = rng.random(len(oi)) < w.demand_multiplier(item, day) / LINE_MULT_CAP
        cand = pd.DataFrame({"oi": oi[accept], "item": item[accept]}).drop_duplicates(
            ["oi", "item"]
        )
        cand = cand[
            cand.groupby("oi").cumcount().to_numpy()
            < o["n_lines"].to_numpy()[cand["oi"].to_numpy()]
        ]
        oi = cand["oi"].to_numpy()
        item = cand["item"].to_numpy()
        week = o["week"].to_numpy()[oi]
        cat = w.item_cat(item)
        disc = w.discount(item, week)
        n = len(oi)
        fraud = o["fraud"].to_numpy()[oi]
        qty = 1 + np.floor(rng.exponential(1.0, n) * np.array([c_.qty for c_ in CATEGORIES])[cat])
        qty = qty + np.where(disc > 0, np.floor(rng.exponential(0.6, n)), 0)
        qty = np.where(fraud, qty * (1 + rng.integers(0, 4, n)), qty).astype(np.int64)
        ret_rate = np.array([c_.returns for c_ in CATEGORIES])[cat] * np.where(fraud, 0.3, 1.0)
        t = o["t"].to_numpy()[oi]
        ret_t = t + (3 + rng.integers(0, 28, n)) * DAY + rng.integers(0, 10 * 3600, n)
        returned = (rng.random(n) < ret_rate) & (ret_t < w.days * DAY)
        ret_qty = 1 + np.floor(rng.random(n) * qty).astype(np.int64)
        return pd.DataFrame(
            {
                "oi": oi,
                "ci": o["ci"].to_numpy()[oi],
                "item": item,
                "cat": cat,
                "week": week,
                "t": t,
                "qty": qty,
                "cents": w.unit_cents(item, week),
                "disc": disc,
                "fraud": fraud,
                "guest": o["guest"].to_numpy()[oi],
                "returned": returned,
                "ret_t": ret_t,
                "ret_qty": ret_qty,
            }
        )

    @cached_property
    def orders_latent(self) -> pd.DataFrame:
        """Orders that have at least one line, with ``total_cents`` and hidden flags."""
        o = self._order_heads
        ln = self.lines
        total = np.bincount(
            ln["oi"].to_numpy(),
            weights=ln["qty"].to_numpy() * ln["cents"].to_numpy(),
            minlength=len(o),
        )
        count = np.bincount(ln["oi"].to_numpy(), minlength=len(o))
        out = o.assign(total_cents=np.round(total).astype(np.int64), oi=np.arange(len(o)))
        return out[count > 0].reset_index(drop=True)

    @cached_property
    def ratings_latent(self) -> pd.DataFrame:
        """Explicit ratings of first purchases (registered, genuine orders only), with ``aff``."""
        w, tr, ln = self.w, self.traits, self.lines
        rng = w.rng("ratings", self.block)
        g = ln[~ln["guest"] & ~ln["fraud"]]
        g = g.assign(returned=g["returned"].astype(np.int64))
        first = (
            g.sort_values(["ci", "item", "t"], kind="stable")
            .groupby(["ci", "item"], sort=True)
            .agg(t=("t", "first"), cat=("cat", "first"), returned=("returned", "max"))
        )
        first = first.reset_index()
        n = len(first)
        rated = rng.random(n) < RATE_SHARE
        ci, item, cat = first["ci"].to_numpy(), first["item"].to_numpy(), first["cat"].to_numpy()
        seg, fav = tr["seg"].to_numpy()[ci], tr["fav"].to_numpy()[ci]
        top3 = (w.seg_top3[seg] == cat[:, None]).any(axis=1)
        aff = np.where(cat == fav, 1.1, np.where(top3, 0.7, -0.5))
        z = (
            aff
            + 0.6 * w.item_quality(item)
            + tr["user_bias"].to_numpy()[ci]
            + 0.8 * rng.standard_normal(n)
        )
        z = z - 1.4 * first["returned"].to_numpy()
        rating = 1 + sum((z > thr).astype(np.int64) for thr in RATING_THRESHOLDS)
        rt = (
            first["t"].to_numpy()
            + (1 + rng.integers(0, 20, n)) * DAY
            + rng.integers(0, 12 * 3600, n)
        )
        out = first.assign(rating=rating, rating_t=rt, aff=aff, seg=seg, fav=fav)
        return out[rated & (rt < w.days * DAY)].reset_index(drop=True)

    @cached_property
    def campaigns_latent(self) -> pd.DataFrame:
        """Contacts with the response seen in the customer's (registered) orders of the window."""
        con, o = self.contacts, self.orders_latent
        reg = o[~o["guest"]][["ci", "t", "total_cents"]]
        hits = con.reset_index().merge(reg, on="ci")
        hits = hits[
            (hits["t"] >= hits["sent_t"]) & (hits["t"] < hits["sent_t"] + CAMPAIGN_WINDOW * DAY)
        ]
        resp = hits.groupby("index").agg(resp_t=("t", "min"), resp_cents=("total_cents", "sum"))
        return con.join(resp)

    # ------------------------------------------------------------ landing frames
    def customers(self) -> pd.DataFrame:
        """Landing ``customers`` rows."""
        tr = self.traits
        return pd.DataFrame(
            {
                N.CUSTOMER_ID: tr["customer_id"],
                N.SIGNUP_TS: self.w.ts(tr["signup_t"].to_numpy()),
                N.COUNTRY: tr["country"],
                N.BIRTH_YEAR: tr["birth_year"],
                N.GENDER: tr["gender"].where(tr["gender"] != "", None),
            }
        )

    def orders(self) -> pd.DataFrame:
        """Landing ``orders`` rows: sold lines, later returns and a few messy rows."""
        w, tr, ln, o = self.w, self.traits, self.lines, self._order_heads
        rng = w.rng("orders-mess", self.block)
        oi, ci = ln["oi"].to_numpy(), ln["ci"].to_numpy()
        oid = o["order_id"].to_numpy()[oi]
        cust = np.where(ln["guest"].to_numpy(), None, tr["customer_id"].to_numpy()[ci])
        items = w.item_ids(ln["item"].to_numpy())
        price = ln["cents"].to_numpy() / 100.0
        country = tr["country"].to_numpy()[ci]
        channel = o["channel"].to_numpy()[oi]
        n = len(ln)
        ts = w.ts(ln["t"].to_numpy())
        bad = rng.random(n) < MESS_BAD_TS
        ts[bad] = [f"{s[:4]}-02-30 12:00:00" for s in ts[bad]]
        item_col = items.copy()
        item_col[rng.random(n) < MESS_MISSING_ITEM] = None
        sales = pd.DataFrame(
            {
                N.ORDER_ID: oid,
                N.CUSTOMER_ID: cust,
                N.ORDER_TS: ts,
                N.ITEM_ID: item_col,
                N.QUANTITY: ln["qty"].to_numpy(),
                N.UNIT_PRICE: price,
                N.COUNTRY: country,
                N.CHANNEL: channel,
                N.STATUS: "completed",
            }
        )
        dup = sales[rng.random(n) < MESS_DUPLICATE]
        r = ln["returned"].to_numpy()
        returns = pd.DataFrame(
            {
                N.ORDER_ID: np.array(["R" + x for x in oid[r]], dtype=object),
                N.CUSTOMER_ID: cust[r],
                N.ORDER_TS: w.ts(ln["ret_t"].to_numpy()[r]),
                N.ITEM_ID: items[r],
                N.QUANTITY: -ln["ret_qty"].to_numpy()[r],
                N.UNIT_PRICE: price[r],
                N.COUNTRY: country[r],
                N.CHANNEL: channel[r],
                N.STATUS: "returned",
            }
        )
        return pd.concat([sales, returns, dup], ignore_index=True)

    def transactions(self) -> pd.DataFrame:
        """Landing ``transactions``: one payment per order; ``label`` 1 for fraud."""
        w, tr, o = self.w, self.traits, self.orders_latent
        rng = w.rng("transactions", self.block)
        n = len(o)
        ci = o["ci"].to_numpy()
        fraud, guest = o["fraud"].to_numpy(), o["guest"].to_numpy()
        pool = max(8, 12 * w.scale)
        # rings: every fraud account belongs to one (by a hash of its id; a take-over order
        # to one by order), and a ring pays from its own two devices and two IP addresses
        rings = max(4, round(FRAUD_ACCOUNT_SHARE * w.n_customers / FRAUD_RING_SIZE))
        acct = tr["fraud_acct"].to_numpy()[ci]
        ring = np.where(
            acct,
            np.floor(w.hu("fraud-ring", self.c[ci]) * rings),
            np.floor(w.hu("takeover-ring", self.c[ci], o["j"].to_numpy()) * rings),
        ).astype(np.int64)
        fraud_dev = _ids("DV", 7_000_000_000 + 2 * ring + (rng.random(n) < 0.3), 10)
        guest_dev = _ids("DV", rng.integers(0, 10**10, n), 10)
        second_dev = _ids("DV", (w.hu("device2", self.c[ci]) * 1e10).astype(np.int64), 10)
        public_dev = _ids(
            "DV", 8_000_000_000 + rng.integers(0, 3 * pool, n), 10
        )  # shared family/office computers
        u_dev = rng.random(n)
        u_own = rng.random(n)
        own = np.where(
            u_own < 0.15,
            second_dev,
            np.where(u_own < 0.17, public_dev, tr["device_id"].to_numpy()[ci]),
        )
        device = np.where(fraud & (u_dev < 0.75), fraud_dev, np.where(guest, guest_dev, own))
        fraud_ip = np.array(
            [
                f"185.{220 + x // 250 % 30}.{x % 250}.{y}"
                for x, y in zip(ring, 1 + (rng.random(n) < 0.3), strict=True)
            ],
            dtype=object,
        )
        ip = np.where(
            fraud & (rng.random(n) < 0.7),
            fraud_ip,
            np.where(guest, _ips(rng, n), tr["ip"].to_numpy()[ci]),
        )
        fs, fsw = _keys(SOURCES_FRAUD)
        fb, fbw = _keys(BROWSERS_FRAUD)
        gs, gsw = _keys(SOURCES_GENUINE)
        gb, gbw = _keys(BROWSERS_GENUINE)
        source = np.where(
            fraud,
            fs[draw(rng.random(n), fsw)],
            np.where(guest, gs[draw(rng.random(n), gsw)], tr["source"].to_numpy()[ci]),
        )
        browser = np.where(
            fraud,
            fb[draw(rng.random(n), fbw)],
            np.where(guest, gb[draw(rng.random(n), gbw)], tr["browser"].to_numpy()[ci]),
        )
        t_pay = o["t"].to_numpy() + rng.integers(0, 30, n)
        pay = pd.DataFrame(
            {
                N.TRANSACTION_ID: np.array(["T" + x[1:] for x in o["order_id"]], dtype=object),
                N.CUSTOMER_ID: np.where(guest, None, tr["customer_id"].to_numpy()[ci]),
                N.TXN_TS: w.ts(t_pay),
                N.AMOUNT: o["total_cents"].to_numpy() / 100.0,
                N.SIGNUP_TS: np.where(guest, None, w.ts(tr["signup_t"].to_numpy()[ci])),
                N.DEVICE_ID: device,
                N.IP_ADDRESS: ip,
                N.SOURCE: source,
                N.BROWSER: browser,
                N.LABEL: fraud.astype(np.int64),
            }
        )
        # card testing: some fraud accounts first try the card with a burst of small
        # payments within minutes of sign-up, from the device and address of their first order
        first = fraud & acct & (o["j"].to_numpy() == 1)
        tester = np.nonzero(first & (w.hu("card-test", self.c[ci]) < CARD_TEST_SHARE))[0]
        k = 3 + rng.poisson(CARD_TEST_PAYMENTS - 3, len(tester))
        if len(tester) == 0:
            return self._label_delay(pay, t_pay)
        rep = np.repeat(tester, k)
        step = np.arange(len(rep)) - np.repeat(np.cumsum(k) - k, k)
        start = tr["signup_t"].to_numpy()[ci[tester]] + 30 + rng.integers(0, 270, len(tester))
        offset = np.cumsum(rng.integers(10, 90, len(rep)))
        offset = offset - offset[np.cumsum(k) - k].repeat(k)  # seconds after the burst's start
        t_test = np.repeat(start, k) + offset
        ok = t_test < w.days * DAY
        burst = (
            pay.iloc[rep]
            .reset_index(drop=True)
            .assign(
                **{
                    N.TRANSACTION_ID: np.array(
                        [
                            f"{x}c{y:02d}"
                            for x, y in zip(
                                pay[N.TRANSACTION_ID].to_numpy()[rep], step, strict=True
                            )
                        ],
                        dtype=object,
                    ),
                    N.TXN_TS: w.ts(t_test),
                    N.AMOUNT: np.round(0.5 + 4.5 * rng.random(len(rep)), 2),
                    N.LABEL: np.ones(len(rep), dtype=np.int64),
                }
            )
        )
        return self._label_delay(
            pd.concat([pay, burst[ok]], ignore_index=True), np.concatenate([t_pay, t_test[ok]])
        )

    def _label_delay(self, pay: pd.DataFrame, t: np.ndarray) -> pd.DataFrame:
        """``pay`` with the label of payments in the world's last ``label_delay_days`` days
        emptied: their outcome is not known yet, so the fraud job scores them."""
        cut = (self.w.days - self.w.label_delay_days) * DAY
        label = pay[N.LABEL].astype("Int64")
        label[t >= cut] = pd.NA
        return pay.assign(**{N.LABEL: label})

    def ratings(self) -> pd.DataFrame:
        """Landing ``ratings``: explicit 1-5 stars."""
        r = self.ratings_latent
        return pd.DataFrame(
            {
                N.USER_ID: self.traits["customer_id"].to_numpy()[r["ci"].to_numpy()],
                N.ITEM_ID: self.w.item_ids(r["item"].to_numpy()),
                N.RATING: r["rating"].to_numpy(),
                N.RATING_TS: self.w.ts(r["rating_t"].to_numpy()),
            }
        )

    def reviews(self) -> pd.DataFrame:
        """Landing ``reviews``: a share of the ratings with a title and a text whose words
        agree with the stars (positive / negative / neutral sentences)."""
        w = self.w
        rng = w.rng("reviews", self.block)
        r = self.ratings_latent
        r = r[rng.random(len(r)) < REVIEW_SHARE]
        vocab = {
            "POS": TX.POSITIVE_ADJECTIVES,
            "NEG": TX.NEGATIVE_ADJECTIVES,
            "NEU": TX.NEUTRAL_WORDS,
            "INT": TX.INTENSIFIERS,
            "PERSON": TX.PEOPLE,
            "WHEN": TX.WHEN,
        }
        texts, titles = [], []
        for stars, cat in zip(r["rating"].to_numpy(), r["cat"].to_numpy(), strict=True):
            p_pos, p_neg = REVIEW_POLARITY[int(stars)]
            sentences = []
            nouns = TX.CATEGORY_NOUNS[CAT_NAMES[int(cat)]]
            words = {
                **vocab,
                "NOUN": (nouns[int(rng.integers(0, len(nouns)))],),
            }  # one item, one noun
            for _ in range(int(rng.integers(2, 5))):
                u = rng.random()
                templates = (
                    TX.POSITIVE_TEMPLATES
                    if u < p_pos
                    else TX.NEGATIVE_TEMPLATES
                    if u < p_pos + p_neg
                    else TX.NEUTRAL_TEMPLATES
                )
                text = _render(
                    templates[int(rng.integers(0, len(templates)))],
                    lambda s, words=words: words[s][int(rng.integers(0, len(words[s])))],
                )
                sentences.append(text[:1].upper() + text[1:])
            texts.append(" ".join(sentences))
            pool = (
                TX.POSITIVE_TITLES
                if stars >= 4
                else TX.NEGATIVE_TITLES
                if stars <= 2
                else TX.NEUTRAL_TITLES
            )
            title = pool[int(rng.integers(0, len(pool)))]
            titles.append(None if rng.random() < 0.1 else title)
        ci, item = r["ci"].to_numpy(), r["item"].to_numpy()
        return pd.DataFrame(
            {
                N.REVIEW_ID: np.array(
                    [f"RV{x:07d}{y:06d}" for x, y in zip(self.c[ci], item, strict=True)],
                    dtype=object,
                ),
                N.ITEM_ID: w.item_ids(item),
                N.CUSTOMER_ID: self.traits["customer_id"].to_numpy()[ci],
                N.RATING: r["rating"].to_numpy(),
                N.TITLE: np.array(titles, dtype=object),
                N.TEXT: np.array(texts, dtype=object),
                N.REVIEW_TS: w.ts(r["rating_t"].to_numpy() + 60 + rng.integers(0, 600, len(r))),
            }
        )

    def messages(self) -> pd.DataFrame:
        """Landing ``messages``: customer-service messages about real orders of the customer
        (their order ids and totals in the text), refunds of returned lines, and account
        questions; a share lands without its intent (see ``synth_text`` MESSAGE_*)."""
        w, tr, o, ln = self.w, self.traits, self.orders_latent, self.lines
        rng = w.rng("messages", self.block)
        end = w.days * DAY
        ok = (~o["guest"] & ~o["fraud"]).to_numpy()
        pick = ok & (rng.random(len(o)) < TX.MESSAGE_SHARE)
        om = o[pick]
        intents, iw = _keys(TX.ORDER_INTENTS)
        parts = [
            pd.DataFrame(
                {
                    "ci": om["ci"].to_numpy(),
                    "oi": om["oi"].to_numpy(),
                    "intent": intents[draw(rng.random(len(om)), iw)],
                    "t": om["t"].to_numpy() + rng.integers(3600, 12 * DAY, len(om)),
                }
            )
        ]
        ret = ln[ln["returned"].to_numpy() & ~ln["guest"].to_numpy() & ~ln["fraud"].to_numpy()]
        ret = ret[rng.random(len(ret)) < TX.RETURN_MESSAGE_SHARE].drop_duplicates("oi")
        parts.append(
            pd.DataFrame(
                {
                    "ci": ret["ci"].to_numpy(),
                    "oi": ret["oi"].to_numpy(),
                    "intent": "get_refund",
                    "t": ret["ret_t"].to_numpy() + rng.integers(DAY, 20 * DAY, len(ret)),
                }
            )
        )
        acc = np.nonzero(
            ~tr["fraud_acct"].to_numpy() & (rng.random(len(tr)) < TX.ACCOUNT_MESSAGE_SHARE)
        )[0]
        a_int, aw = _keys(TX.ACCOUNT_INTENTS)
        lo = np.maximum(tr["signup_t"].to_numpy()[acc], 0)
        parts.append(
            pd.DataFrame(
                {
                    "ci": acc,
                    "oi": -1,
                    "intent": a_int[draw(rng.random(len(acc)), aw)],
                    "t": lo
                    + np.floor(rng.random(len(acc)) * np.maximum(end - lo, 1)).astype(np.int64),
                }
            )
        )
        m = pd.concat(parts, ignore_index=True)
        m = m[m["t"] < end].sort_values(["ci", "t", "intent"], kind="stable").reset_index(drop=True)
        n = len(m)
        ci, oi = m["ci"].to_numpy(), m["oi"].to_numpy()
        cust = tr["customer_id"].to_numpy()[ci]
        order_ids = o.set_index("oi")["order_id"] if len(o) else pd.Series(dtype=object)
        totals = o.set_index("oi")["total_cents"] if len(o) else pd.Series(dtype=np.int64)
        cats = ln.groupby("oi")["cat"].first()
        texts = []
        for k in range(n):
            intent, o_k = m["intent"].iat[k], int(oi[k])
            tpl = TX.MESSAGE_TEMPLATES[intent]
            nouns = TX.CATEGORY_NOUNS[CAT_NAMES[int(cats.get(o_k, 0))]]
            slots = {
                "ORDER": order_ids.get(o_k, "") if o_k >= 0 else "",
                "AMOUNT": f"${totals.get(o_k, 0) / 100:.2f}" if o_k >= 0 else "",
                "EMAIL": f"{cust[k].lower()}@example.com",
                "NOUN": nouns[int(rng.integers(0, len(nouns)))],
                "WHEN": TX.WHEN[int(rng.integers(0, len(TX.WHEN)))],
            }
            texts.append(_render(tpl[int(rng.integers(0, len(tpl)))], lambda s, v=slots: v[s]))
        chans, cw = _keys(TX.MESSAGE_CHANNELS)
        channel = chans[draw(rng.random(n), cw)]
        labelled = rng.random(n) >= TX.UNLABELLED_SHARE
        j = np.arange(n) - np.searchsorted(ci, ci, side="left") + 1
        landed_order = np.array(
            [order_ids.get(int(x)) if x >= 0 else None for x in oi], dtype=object
        )
        return pd.DataFrame(
            {
                N.MESSAGE_ID: np.array(
                    [f"M{x:07d}{y:04d}" for x, y in zip(self.c[ci], j, strict=True)],
                    dtype=object,
                ),
                N.CUSTOMER_ID: cust,
                N.SENT_TS: w.ts(m["t"].to_numpy()),
                N.CHANNEL: channel,
                N.TEXT: np.array(texts, dtype=object),
                N.INTENT: np.where(labelled, m["intent"].to_numpy(), None),
                N.ORDER_ID: np.where(channel == "form", landed_order, None),
            }
        )

    def events(self) -> pd.DataFrame:
        """Landing ``events``: clickstream of tracked customers, purchase and browse sessions."""
        w, tr = self.w, self.traits
        rng = w.rng("events", self.block)
        clicks = tr["clicks"].to_numpy()
        seg, fav = tr["seg"].to_numpy(), tr["fav"].to_numpy()
        parts: list[tuple[np.ndarray, ...]] = []  # (ci, session id, item or -1, type, time)
        # purchase sessions: one per registered genuine order of a tracked customer
        o = self.orders_latent
        o = o[clicks[o["ci"].to_numpy()] & ~o["guest"].to_numpy() & ~o["fraud"].to_numpy()]
        n = len(o)
        oci, ot = o["ci"].to_numpy(), o["t"].to_numpy()
        dur = 300 + rng.integers(0, 2400, n)
        start = ot - dur
        sid = np.array(["S" + x for x in o["order_id"]], dtype=object)
        pos = pd.Series(np.arange(n), index=o["oi"].to_numpy())
        ln = self.lines
        ln = ln[ln["oi"].isin(o["oi"])]
        li = pos.loc[ln["oi"].to_numpy()].to_numpy()
        m = len(li)
        view_t = start[li] + np.floor(rng.random(m) * 0.5 * dur[li]).astype(np.int64)
        cart_t = start[li] + np.floor((0.6 + 0.35 * rng.random(m)) * dur[li]).astype(np.int64)
        item = ln["item"].to_numpy()
        for kind, tt in (("view", view_t), ("cart", cart_t), ("purchase", ot[li])):
            parts.append((oci[li], sid[li], item, np.full(m, kind, dtype=object), tt))
        nv = rng.poisson(2.0, n)
        xi = np.repeat(np.arange(n), nv)
        xitem = w.pick_items(rng, seg[oci[xi]], fav[oci[xi]], np.zeros(len(xi), dtype=bool))
        xt = start[xi] + np.floor(rng.random(len(xi)) * 0.8 * dur[xi]).astype(np.int64)
        parts.append((oci[xi], sid[xi], xitem, np.full(len(xi), "view", dtype=object), xt))
        srch = rng.random(n) < 0.5
        parts.append(
            (
                oci[srch],
                sid[srch],
                np.full(int(srch.sum()), -1),
                np.full(int(srch.sum()), "search", dtype=object),
                start[srch],
            )
        )
        # browse-only sessions between sign-up and churn
        a, b, lam = tr["a"].to_numpy(), tr["b"].to_numpy(), tr["lam"].to_numpy()
        length = np.where(clicks, np.maximum(0, b - a + 1), 0)
        ns = rng.poisson(2.0 * lam * w.cal_max * length)
        bci = np.repeat(np.arange(len(tr)), ns)
        bday = a[bci] + np.floor(rng.random(len(bci)) * length[bci]).astype(np.int64)
        keep = rng.random(len(bci)) < w.day_factor[bday] / w.cal_max
        bci, bday = bci[keep], bday[keep]
        nb = len(bci)
        bt = bday * DAY + w.time_of_day(rng, nb)
        bnum = np.arange(nb) - np.searchsorted(bci, bci, side="left") + 1
        bsid = np.array(
            [f"B{x:07d}{y:05d}" for x, y in zip(self.c[bci], bnum, strict=True)], dtype=object
        )
        nvb = 1 + rng.poisson(2.5, nb)
        vi = np.repeat(np.arange(nb), nvb)
        vnum = np.arange(len(vi)) - np.searchsorted(vi, vi, side="left") + 1
        vitem = w.pick_items(rng, seg[bci[vi]], fav[bci[vi]], np.zeros(len(vi), dtype=bool))
        vt = bt[vi] + (vnum - 1) * 40 + np.floor(rng.random(len(vi)) * 90 * vnum).astype(np.int64)
        parts.append((bci[vi], bsid[vi], vitem, np.full(len(vi), "view", dtype=object), vt))
        cart = rng.random(len(vi)) < 0.12
        parts.append(
            (
                bci[vi][cart],
                bsid[vi][cart],
                vitem[cart],
                np.full(int(cart.sum()), "cart", dtype=object),
                vt[cart] + 20 + rng.integers(0, 100, int(cart.sum())),
            )
        )
        bs = rng.random(nb) < 0.4
        parts.append(
            (
                bci[bs],
                bsid[bs],
                np.full(int(bs.sum()), -1),
                np.full(int(bs.sum()), "search", dtype=object),
                bt[bs] - 15,
            )
        )
        ci = np.concatenate([p[0] for p in parts]).astype(np.int64)
        sess = np.concatenate([p[1] for p in parts])
        items = np.concatenate([p[2] for p in parts]).astype(np.int64)
        kinds = np.concatenate([p[3] for p in parts])
        t = np.concatenate([p[4] for p in parts]).astype(np.int64)
        ok = (t >= 0) & (t < w.days * DAY)
        ci, sess, items, kinds, t = ci[ok], sess[ok], items[ok], kinds[ok], t[ok]
        item_ids = np.where(items >= 0, w.item_ids(np.maximum(items, 0)), None)
        out = pd.DataFrame(
            {
                N.EVENT_TS: w.ts(t),
                N.USER_ID: tr["customer_id"].to_numpy()[ci],
                N.SESSION_ID: sess,
                N.EVENT_TYPE: kinds,
                N.ITEM_ID: item_ids,
            }
        )
        dup = out[rng.random(len(out)) < MESS_EVENT_DUPLICATE]
        return pd.concat([out, dup], ignore_index=True)

    def campaigns(self) -> pd.DataFrame:
        """Landing ``campaigns``: contacts and the responses observed in the orders."""
        w, tr, con = self.w, self.traits, self.campaigns_latent
        k = con["k"].to_numpy()
        held = con["control"].to_numpy()
        responded = con["resp_t"].notna().to_numpy()
        resp_t = con["resp_t"].fillna(0).to_numpy().astype(np.int64)
        return pd.DataFrame(
            {
                N.CAMPAIGN_ID: np.array([w.campaigns[x].campaign_id for x in k], dtype=object),
                N.CUSTOMER_ID: tr["customer_id"].to_numpy()[con["ci"].to_numpy()],
                N.SENT_TS: w.ts(con["sent_t"].to_numpy()),
                N.CHANNEL: np.array([w.campaigns[x].channel for x in k], dtype=object),
                N.OFFER: np.where(
                    held, N.CONTROL_OFFER, np.array([w.campaigns[x].offer for x in k], dtype=object)
                ),
                N.COST: np.where(
                    held, np.nan, np.array([w.campaigns[x].cost for x in k], dtype=float)
                ),
                N.RESPONDED: responded,
                N.RESPONSE_TS: np.where(responded, w.ts(resp_t), None),
                N.REVENUE: np.where(responded, con["resp_cents"].fillna(0).to_numpy() / 100.0, 0.0),
            }
        )

    def sales(self) -> pd.DataFrame:
        """Units sold per (item, week) in this block (feeds the stock snapshots)."""
        ln = self.lines
        s = ln.groupby(["item", "week"], sort=True)["qty"].sum().reset_index()
        return s.rename(columns={"qty": "sold"})


def _ips(rng: np.random.Generator, n: int) -> np.ndarray:
    parts = [
        rng.integers(2, 222, n),
        rng.integers(0, 256, n),
        rng.integers(0, 256, n),
        rng.integers(1, 255, n),
    ]
    return np.array([f"{a}.{b}.{c}.{d}" for a, b, c, d in zip(*parts, strict=True)], dtype=object)


def _render(template: str, word: Callable[[str], str]) -> str:
    """Fill ``{SLOT}``s of a template, each occurrence with a fresh ``word(slot)``."""
    return re.sub(r"\{(\w+)\}", lambda m: word(m.group(1)), template)


# ---------------------------------------------------------------- items (blocks of item indices)
def item_block(world: World, block: int) -> np.ndarray:
    """Item indices of one item block."""
    lo = block * ITEM_BLOCK
    return np.arange(lo, min(world.n_items, lo + ITEM_BLOCK), dtype=np.int64)


def products_frame(world: World, block: int) -> pd.DataFrame:
    """Landing ``products`` rows of one item block (``price`` = list price at the start;
    ``image`` = the photo's path relative to the landing folder, empty when it has none: see
    :mod:`lakecart.generate_images`)."""
    from lakecart import generate_images as GI

    i = item_block(world, block)
    rng = world.rng("products", block)
    n = len(i)
    cat = world.item_cat(i)
    nouns = np.array(
        [
            TX.CATEGORY_NOUNS[CAT_NAMES[x]][rng.integers(0, len(TX.CATEGORY_NOUNS[CAT_NAMES[x]]))]
            for x in cat
        ],
        dtype=object,
    )
    brands = np.array(
        [
            TX.CATEGORY_BRANDS[CAT_NAMES[x]][rng.integers(0, len(TX.CATEGORY_BRANDS[CAT_NAMES[x]]))]
            for x in cat
        ],
        dtype=object,
    )
    adj = pick_words(rng, TX.PRODUCT_ADJECTIVES, n)
    adj2 = pick_words(rng, TX.PRODUCT_ADJECTIVES, n)
    feat = pick_words(rng, TX.PRODUCT_FEATURES, n)
    model = [
        f"{'ABCDEFGHKLMNPRSTVX'[x]}{y}"
        for x, y in zip(rng.integers(0, 18, n), rng.integers(100, 1000, n), strict=True)
    ]
    return pd.DataFrame(
        {
            N.ITEM_ID: world.item_ids(i),
            N.TITLE: [
                f"{b} {a} {no} {m}" for b, a, no, m in zip(brands, adj, nouns, model, strict=True)
            ],
            N.DESCRIPTION: [
                f"{a} {no} by {b}. {f}."
                for a, no, b, f in zip(adj2, nouns, brands, feat, strict=True)
            ],
            N.CATEGORY: np.asarray(CAT_NAMES, dtype=object)[cat],
            N.BRAND: brands,
            N.PRICE: world.item_base_cents(i) / 100.0,
            N.IMAGE: GI.image_paths(world, i),
        }
    )


def stock_grid(world: World, block: int) -> pd.DataFrame:
    """One row per item of the block and week on sale (from its launch week), with the
    item's stock parameters: ``item, week, item_id, monday, lead, lead_sd, unit_cost, order_cost``."""
    i = item_block(world, block)
    first = np.maximum(0, (world.item_launch_day(i) + world.week_offset) // 7)
    nweeks = world.weeks - first
    item = np.repeat(i, nweeks)
    week = (
        np.arange(len(item))
        - np.repeat(np.cumsum(nweeks) - nweeks, nweeks)
        + np.repeat(first, nweeks)
    )
    lead = world.item_lead_days(item)
    return pd.DataFrame(
        {
            "item": item,
            "week": week.astype(np.int64),
            "item_id": world.item_ids(item),
            "monday": np.maximum(0, 7 * week - world.week_offset),
            "lead": lead,
            "lead_sd": np.round(lead * (0.1 + 0.3 * world.hu("lead_sd", item)), 1),
            "unit_cost": np.round(
                world.item_base_cents(item) / 100.0 * (0.4 + 0.25 * world.hu("cost", item)), 2
            ),
            "order_cost": np.round(20 + 100 * world.hu("order_cost", item), 2),
        }
    )


# ---------------------------------------------------------------- Spark side
SCHEMAS = {
    N.ORDERS: "order_id STRING, customer_id STRING, order_ts STRING, item_id STRING, quantity BIGINT, "
    "unit_price DOUBLE, country STRING, channel STRING, status STRING",
    N.PRODUCTS: "item_id STRING, title STRING, description STRING, category STRING, brand STRING, price DOUBLE, "
    "image STRING",
    N.CUSTOMERS: "customer_id STRING, signup_ts STRING, country STRING, birth_year BIGINT, gender STRING",
    N.EVENTS: "event_ts STRING, user_id STRING, session_id STRING, event_type STRING, item_id STRING",
    N.RATINGS: "user_id STRING, item_id STRING, rating BIGINT, rating_ts STRING",
    N.REVIEWS: "review_id STRING, item_id STRING, customer_id STRING, rating BIGINT, title STRING, text STRING, "
    "review_ts STRING",
    N.TRANSACTIONS: "transaction_id STRING, customer_id STRING, txn_ts STRING, amount DOUBLE, signup_ts STRING, "
    "device_id STRING, ip_address STRING, source STRING, browser STRING, label BIGINT",
    N.CAMPAIGNS: "campaign_id STRING, customer_id STRING, sent_ts STRING, channel STRING, offer STRING, cost DOUBLE, "
    "responded BOOLEAN, response_ts STRING, revenue DOUBLE",
    N.MESSAGES: "message_id STRING, customer_id STRING, sent_ts STRING, channel STRING, text STRING, intent STRING, "
    "order_id STRING",
    "sales": "item BIGINT, week BIGINT, sold BIGINT",
}
"""Spark schema (DDL) of each block frame."""
CUSTOMER_FRAMES = (
    N.ORDERS,
    N.CUSTOMERS,
    N.EVENTS,
    N.RATINGS,
    N.REVIEWS,
    N.TRANSACTIONS,
    N.CAMPAIGNS,
    N.MESSAGES,
    "sales",
)

_CACHE: OrderedDict[tuple, CustomerBlock] = OrderedDict()
_CACHE_SIZE = 64


def customer_block(world: World, block: int) -> CustomerBlock:
    """The block's simulation, reused within a Python worker across entities (a pure cache:
    a block's data is the same however often it is recomputed)."""
    key = (world.key, block)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    sim = CustomerBlock(world, block)
    _CACHE[key] = sim
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return sim


def _block_frames(
    spark: SparkSession,
    world: World,
    blocks: int,
    name: str,
    make: Callable[[World, int], pd.DataFrame],
) -> DataFrame:
    """``spark.range`` over block ids, each block turned into rows by ``make`` (``mapInPandas``)."""
    schema = SCHEMAS[name]
    columns = [part.split()[0] for part in schema.split(", ")]

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for block in batch["id"].tolist():
                frame = make(world, int(block))
                if len(frame):
                    yield frame[columns]

    ids = spark.range(0, blocks, 1, min(blocks, world.partitions))
    return ids.mapInPandas(run, schema)


def _customer_entity(name: str) -> Callable[[World, int], pd.DataFrame]:
    def make(world: World, block: int) -> pd.DataFrame:
        return getattr(customer_block(world, block), name)()

    return make


def landing_frames(spark: SparkSession, world: World) -> dict[str, DataFrame]:
    """The ten shop entities as Spark DataFrames in landing shape."""
    local_python_workers(spark)
    cb = world.customer_blocks
    out = {
        e: _block_frames(spark, world, cb, e, _customer_entity(e))
        for e in CUSTOMER_FRAMES
        if e != "sales"
    }
    out[N.PRODUCTS] = _block_frames(spark, world, world.item_blocks, N.PRODUCTS, products_frame)
    out[N.INVENTORY] = inventory(spark, world)
    return {e: out[e] for e in N.ENTITIES if e in out}


def inventory_frame(world: World, block: int, sales: pd.DataFrame) -> pd.DataFrame:
    """Landing ``inventory`` rows of one item block: weekly snapshots (Mondays) under an
    order-up-to policy.

    Stock is topped up to a level covering the item's mean weekly demand over its lead
    time (in weeks, 1-4) plus a safety margin; a snapshot shows that level less the units
    sold in the last lead-time weeks, so stock runs low (or out) after promotions and
    peaks. A small deterministic count error is added.

    Args:
        world: The shop.
        block: Item block.
        sales: Units sold per ``item, week`` for items of the block (any order).
    """
    g = stock_grid(world, block)
    sold = sales[sales["item"] >= 0].groupby(["item", "week"])["sold"].sum()
    g = g.join(sold, on=["item", "week"]).fillna({"sold": 0})
    g = g.sort_values(["item", "week"], kind="stable").reset_index(drop=True)
    by_item = g.groupby("item", sort=False)
    cum = by_item["sold"].cumsum()
    g["_cum"] = cum
    prev = by_item["_cum"].shift(1).fillna(0).to_numpy()
    lw = np.clip(np.ceil(g["lead"].to_numpy() / 7), 1, 4).astype(np.int64)
    recent = np.zeros(len(g))
    for lag in range(1, 5):
        before = by_item["_cum"].shift(lag + 1).fillna(0).to_numpy()
        recent = np.where(lw == lag, prev - before, recent)
    mean = by_item["sold"].transform("mean").to_numpy()
    cover = mean * (lw + 1)
    level = np.ceil(cover * 1.2 + 1.65 * np.sqrt(cover) + 2)
    item, week = g["item"].to_numpy(), g["week"].to_numpy()
    noise = np.round((world.hu("shrink", item, week) - 0.5) * 0.1 * level)
    return pd.DataFrame(
        {
            N.ITEM_ID: g["item_id"],
            N.SNAPSHOT_DATE: world.date(g["monday"].to_numpy()),
            N.ON_HAND: np.maximum(0.0, level - recent + noise),
            N.LEAD_TIME_DAYS: g["lead"],
            N.LEAD_TIME_STD_DAYS: g["lead_sd"],
            N.UNIT_COST: g["unit_cost"],
            N.ORDER_COST: g["order_cost"],
        }
    )


def inventory(spark: SparkSession, world: World) -> DataFrame:
    """The ``inventory`` entity: sales summed per item and week in Spark, then one
    :func:`inventory_frame` per item block (``applyInPandas``)."""
    sales = _block_frames(spark, world, world.customer_blocks, "sales", _customer_entity("sales"))
    sales = sales.withColumn("item_block", F.floor(F.col("item") / ITEM_BLOCK))
    sold = sales.groupBy("item_block", "item", "week").agg(F.sum("sold").alias("sold"))
    # one marker row per item block, so that blocks without any sale still get snapshots
    markers = spark.range(0, world.item_blocks, 1, 1).select(
        F.col("id").alias("item_block"), F.lit(-1).cast("long").alias("item"), F.lit(-1).cast("long").alias("week"),
        F.lit(0).cast("long").alias("sold"),
    )  # fmt: skip
    schema = (
        "item_id STRING, snapshot_date STRING, on_hand DOUBLE, lead_time_days DOUBLE, lead_time_std_days DOUBLE, "
        "unit_cost DOUBLE, order_cost DOUBLE"
    )

    def run(group: pd.DataFrame) -> pd.DataFrame:
        return inventory_frame(world, int(group["item_block"].iloc[0]), group)

    return sold.unionByName(markers).groupBy("item_block").applyInPandas(run, schema)


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
    N.MESSAGES: [N.SENT_TS, N.MESSAGE_ID],
}
"""Row order inside each written file (then every other column, for a total order)."""
PARTITION_KEYS = {N.ORDERS: [N.ORDER_ID], N.EVENTS: [N.SESSION_ID], N.INVENTORY: [N.ITEM_ID]}
FILES_PER_SCALE = {N.ORDERS: 2, N.EVENTS: 4, N.INVENTORY: 2}


def files_for(entity: str, scale: int) -> int:
    """Number of files written for ``entity`` at ``scale`` (fixed, so output is reproducible)."""
    return max(1, min(200, FILES_PER_SCALE.get(entity, 1) * scale))


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
    part = PARTITION_KEYS.get(entity, keys[-1:])
    df = df.repartition(files, *part) if files > 1 else df.coalesce(1)
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
    profile: str = N.GEN_PROFILE_DEFAULT,
    skew_customer_orders: int = 200_000,
    skew_item_share: float = 0.8,
) -> dict[str, int]:
    """Write a synthetic shop to out_dir in the landing format; return rows written per entity.

    Each entity goes to ``<out_dir>/<entity>/part-*.<fmt>`` (CSV with a header row,
    Parquet or JSON lines); an existing entity folder is replaced. The default profile also
    writes a small photo per product to ``<out_dir>/images/<item_id>.png``
    (:mod:`lakecart.generate_images`; ``products.image`` holds that relative path). Timestamps are
    ``yyyy-MM-dd HH:mm:ss`` UTC strings and ids are strings (``C000123``, ``I00042``).
    The same arguments always produce the same rows in the same files.

    Args:
        spark: The session.
        out_dir: Landing folder: any Hadoop path for the longtail profile; for the default
            profile a path the executors can write with file I/O (local, ``file:``,
            ``dbfs:/`` or ``/Volumes``), because of the photos.
        scale: 1 = ~3,000 customers and ~1,000 items; N multiplies both by N.
        seed: Seed of every random quantity.
        start_date: First day of orders (``YYYY-MM-DD``).
        days: Number of days of orders.
        fmt: ``csv``, ``parquet`` or ``json``.
        customers: Override the number of customers (small shops for tests).
        items: Override the number of items.
        profile: ``default`` (this module's shop), ``longtail`` (the one-year long-tail
            marketplace of :mod:`lakecart.generate_longtail`, which ignores ``days``,
            ``customers`` and ``items``) or ``skew`` (this shop plus the huge customer and
            the hub item of :mod:`lakecart.generate_skew`).
        skew_customer_orders: Profile ``skew``: the huge customer's one-line orders.
        skew_item_share: Profile ``skew``: share of orders that hold the hub item.

    Returns:
        Rows written per entity name, plus ``images``: photo files written (default profile).

    Raises:
        ValueError: on an unknown format or profile, an invalid size, or (default profile)
            a landing folder on a file system the photos cannot be written to.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if profile == N.GEN_PROFILE_LONGTAIL:
        from lakecart import generate_longtail

        return generate_longtail.generate_landing(spark, out_dir, scale, seed, start_date, fmt)
    if profile not in (N.GEN_PROFILE_DEFAULT, N.GEN_PROFILE_SKEW):
        raise ValueError(f"profile must be one of {', '.join(N.GEN_PROFILES)}, got {profile!r}")
    from lakecart import generate_images as GI

    world = World(
        scale=scale, seed=seed, start_date=start_date, days=days, customers=customers, items=items
    )
    GI.image_folder(out_dir)  # fail before writing anything when photos cannot be written there
    counts: dict[str, int] = {}
    root = out_dir.rstrip("/")
    frames = landing_frames(spark, world)
    if profile == N.GEN_PROFILE_SKEW:
        from lakecart.generate_skew import skewed

        frames = skewed(
            frames,
            whale_orders_n=skew_customer_orders,
            hub_share=skew_item_share,
            start_date=start_date,
            days=days,
            seed=seed,
        )
    for entity, df in frames.items():
        write_entity(df, f"{root}/{entity}", fmt, files_for(entity, world.scale), entity)
        counts[entity] = count_landed(spark, f"{root}/{entity}", fmt)
    counts[GI.IMAGE_DIR] = GI.write_images(spark, world, out_dir)
    return counts


def count_landed(spark: SparkSession, path: str, fmt: str) -> int:
    """Rows of one written entity, read back from its files (a cheap scan).

    Not ``DataFrame.observe``: once a session has used an ``Observation``, every MLlib model
    that keeps a training summary (which references the session) fails to serialise in a
    later transform (Spark 4.0: "Task not serializable: ObservationManager").
    """
    if fmt == "csv":
        reader = spark.read.options(header="true", quote='"', escape='"', multiLine="true")
        return reader.csv(path).count()
    if fmt == "parquet":
        return spark.read.parquet(path).count()
    return spark.read.json(path).count()
