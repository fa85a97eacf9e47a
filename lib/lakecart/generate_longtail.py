"""The long-tail marketplace profile of the synthetic shop (``generate.profile=longtail``).

A shop unlike the demo: at scale 1 about 10,000 orders in one year (365 days from
``start_date``), ~99 % of the ~9,900 customers buying exactly once and ~6,000 items of which
about two thirds of those sold sell exactly once, while the head items of a few busy
categories sell dozens of times. ``--scale N`` multiplies customers, orders and items by N.

It lands the same canonical files as :func:`lakecart.generate.generate_landing` (same
columns, ids as strings, ``yyyy-MM-dd HH:mm:ss`` UTC timestamps, the same fixed file counts,
hash partitioning and row order) but only four entities: ``products``, ``customers``,
``orders`` (with a few returns) and ``events``. Ratings, reviews, payments, stock,
campaigns and messages are absent, so the stages that need them skip.

The structure that the right methods can learn (never noise only):

* **Categories.** Items sit in :data:`LEAVES` (two-level paths such as
  ``Electronics > Phone Accessories``); titles and descriptions use the leaf's nouns and
  name, the brand belongs to the top level, and list prices are log-normal around the
  leaf's median. Within a leaf, popularity follows a Zipf law (:data:`ZIPF_S`) over a
  random rank; leaves differ in demand and catalogue size, so some leaves have busy heads
  and others are almost all tail.
* **Item lives.** Most items are on sale from the start; the others arrive during the year,
  and some go inactive before its end. An item is only bought or viewed while active.
* **One-off buyers with a theme.** Each customer has a primary leaf (drawn by leaf demand
  and the leaf's season in the month of the first order) and possibly its complementary
  leaf (:attr:`Leaf.complement`). An order has 1-3 lines: the first from the order's leaf,
  the others from the same leaf or the complementary one, often the first item's fixed
  *companion* item there. So items bought together share a category (or a complementary
  pair) and specific pairs recur: bought-together and content similarity work for
  customers who buy once.
* **Clickstream.** Most customers are tracked: a session before each order (a search, views
  of the bought items and of other active items of the same leaf, carts, then the
  purchases) and a few browse-only sessions in the days before the first order, viewing
  items of the primary leaf; items viewed together are related.
* **Calendar.** Mild weekly (weekends busier) and annual (November-December peak)
  seasonality, plus per-leaf seasons (garden in spring, toys before Christmas...).
* **Returns.** A few lines come back 5-30 days later (negative quantity, status
  ``returned``, order id prefixed ``R``) when that is still inside the year.

Everything is built on the driver with numpy and pandas (every random draw from a generator
seeded by ``(seed, part)``), then written by Spark (so the landing folder can be any Hadoop
path). The driver holds the whole shop: scale 1 is ~25 MB, scale 50 a few GB.
"""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd
from pyspark.sql import SparkSession

from lakecart import names as N
from lakecart import synth_text as TX
from lakecart.generate import (
    COUNTRIES,
    DAY,
    FORMATS,
    GENDERS,
    HOUR_WEIGHTS,
    ORDER_CHANNELS,
    SCHEMAS,
    draw,
    files_for,
    write_entity,
)

LONGTAIL_DAYS = 365  # the profile always covers one year from start_date (generate.days is ignored)
CUSTOMERS_PER_SCALE = 9_850
ITEMS_PER_SCALE = 6_000
ORDERS_PER_CUSTOMER = {1: 0.99, 2: 0.0075, 3: 0.0015, 4: 0.001}
LINES_PER_ORDER = {1: 0.66, 2: 0.24, 3: 0.10}
SAME_LEAF = 0.6  # an extra line from the order's leaf; otherwise from the complementary leaf
COMPANION = 0.5  # a complementary line that is the first item's companion (when active)
SECOND_LEAF = 0.35  # customers whose second theme is the complementary leaf
REPEAT_SECOND_LEAF = 0.5  # a repeat order of such a customer that is about the second leaf
UNIQUE_SHARE = 0.74  # one-of-a-kind listings (a single piece: sold once, then gone)
UNIQUE_DEMAND = 0.38  # share of a leaf's demand that goes to its one-of-a-kind listings
ZIPF_S = (0.4, 0.9)  # Zipf exponent of stocked items (rank ** -s): quietest .. busiest leaf
RESOLVE_ROUNDS = 6  # re-draws of lines whose one-of-a-kind item was sold earlier
ON_SALE_AT_START = 0.65  # items on sale from the first day; the others arrive during the year
RETIRE_SHARE = 0.15  # items that go inactive before the year ends
RETURN_SHARE = 0.025  # sold lines returned later
DISCOUNT_SHARE = 0.1  # lines sold below list price (10-30 % off)
EARLY_SIGNUP_SHARE = 0.2  # customers who signed up long before their first order
TRACKED_SHARE = 0.8  # customers whose clickstream is recorded
EXTRA_VIEWS = 2.5  # mean views of other items of the leaf in a purchase session
BROWSE_SESSIONS = 0.6  # mean browse-only sessions of a tracked customer before the first order
BROWSE_VIEWS = 2.0  # mean views in a browse-only session beyond the first
SEARCH_SHARE = 0.5  # sessions that start with a search
CART_EXTRA = 0.15  # viewed, not bought items that are put in the cart anyway
DOW_FACTORS = (0.94, 0.95, 0.96, 0.98, 1.02, 1.07, 1.08)  # Monday .. Sunday
MONTH_FACTORS = (0.92, 0.88, 0.95, 0.97, 0.98, 0.95, 0.95, 0.96, 0.98, 1.02, 1.15, 1.25)
SEASONS: dict[str, tuple[float, ...]] = {
    "flat": (1.0,) * 12,
    "gift": (0.8, 0.8, 0.85, 0.85, 0.9, 0.9, 0.9, 0.9, 0.95, 1.05, 1.5, 1.9),
    "garden": (0.5, 0.6, 1.2, 1.7, 1.8, 1.5, 1.2, 1.0, 0.8, 0.6, 0.5, 0.5),
    "summer": (0.8, 0.8, 0.9, 1.0, 1.2, 1.4, 1.4, 1.3, 1.0, 0.9, 0.8, 0.8),
    "winter": (1.3, 1.1, 0.9, 0.8, 0.8, 0.8, 0.8, 0.8, 1.0, 1.2, 1.3, 1.4),
}
"""Relative demand per calendar month (Jan..Dec) of a leaf's season."""


@dataclass(frozen=True)
class Leaf:
    """A leaf category of the marketplace.

    Attributes:
        path: Category path as written to ``products.category`` (``Top > Leaf``).
        nouns: Product nouns of the leaf (titles and descriptions use them).
        price: Median list price.
        spread: Log-normal sigma of list prices around the median.
        items: Relative share of the catalogue.
        demand: Relative share of orders (the orders' own leaf).
        complement: Path of the leaf whose items are bought with this one's.
        season: Key of :data:`SEASONS`.
    """

    path: str
    nouns: tuple[str, ...]
    price: float
    spread: float
    items: float
    demand: float
    complement: str
    season: str

    @property
    def top(self) -> str:
        """The top-level category."""
        return self.path.split(" > ")[0]

    @property
    def name(self) -> str:
        """The leaf's own name (last level)."""
        return self.path.split(" > ")[-1]


_E, _H, _F, _B, _S, _T, _K, _G, _P = (
    "Electronics", "Home & Kitchen", "Fashion", "Beauty", "Sports & Outdoors", "Toys & Games",
    "Books & Stationery", "Garden", "Pet Supplies",
)  # fmt: skip
LEAVES: tuple[Leaf, ...] = (
    Leaf(f"{_E} > Phones & Tablets", ("smartphone", "tablet", "e-reader", "phone"), 320, 0.45, 2.0, 3.0, f"{_E} > Phone Accessories", "gift"),
    Leaf(f"{_E} > Phone Accessories", ("phone case", "screen protector", "charging cable", "power bank", "car mount"), 15, 0.4, 4.0, 5.0, f"{_E} > Phones & Tablets", "flat"),
    Leaf(f"{_E} > Audio", ("headphones", "earbuds", "speaker", "soundbar", "radio"), 60, 0.5, 3.0, 4.0, f"{_E} > Phone Accessories", "gift"),
    Leaf(f"{_E} > Laptops", ("laptop", "notebook computer", "chromebook", "ultrabook"), 650, 0.35, 1.5, 1.5, f"{_E} > Computer Accessories", "gift"),
    Leaf(f"{_E} > Computer Accessories", ("mouse", "keyboard", "laptop sleeve", "usb hub", "webcam", "monitor stand"), 25, 0.45, 3.5, 4.0, f"{_E} > Laptops", "flat"),
    Leaf(f"{_H} > Coffee & Tea", ("coffee maker", "espresso machine", "tea kettle", "coffee grinder", "french press"), 70, 0.5, 2.5, 3.0, f"{_H} > Tableware", "winter"),
    Leaf(f"{_H} > Tableware", ("mug", "cup and saucer", "dinner plate", "cereal bowl", "teapot"), 12, 0.4, 4.0, 3.5, f"{_H} > Coffee & Tea", "flat"),
    Leaf(f"{_H} > Cookware", ("frying pan", "saucepan", "wok", "casserole dish", "stockpot"), 40, 0.4, 3.0, 3.5, f"{_H} > Kitchen Utensils", "flat"),
    Leaf(f"{_H} > Kitchen Utensils", ("spatula", "whisk", "ladle", "kitchen tongs", "peeler", "grater"), 8, 0.4, 3.5, 3.0, f"{_H} > Cookware", "flat"),
    Leaf(f"{_H} > Bedding", ("duvet cover", "pillow", "sheet set", "blanket", "mattress topper"), 45, 0.4, 3.0, 2.5, f"{_H} > Home Decor", "winter"),
    Leaf(f"{_H} > Home Decor", ("cushion", "throw", "scented candle", "vase", "picture frame", "wall clock"), 20, 0.5, 5.0, 3.0, f"{_H} > Bedding", "gift"),
    Leaf(f"{_F} > Women's Clothing", ("dress", "blouse", "skirt", "cardigan", "jumpsuit"), 35, 0.4, 6.0, 5.0, f"{_F} > Jewellery", "summer"),
    Leaf(f"{_F} > Jewellery", ("necklace", "earrings", "bracelet", "ring", "pendant"), 30, 0.7, 4.0, 2.0, f"{_F} > Women's Clothing", "gift"),
    Leaf(f"{_F} > Men's Clothing", ("shirt", "chinos", "jumper", "jacket", "polo shirt"), 40, 0.4, 4.5, 3.0, f"{_F} > Shoes", "winter"),
    Leaf(f"{_F} > Shoes", ("trainers", "boots", "loafers", "sandals", "slippers"), 60, 0.4, 3.5, 3.0, f"{_F} > Men's Clothing", "flat"),
    Leaf(f"{_F} > Bags", ("handbag", "backpack", "tote bag", "wallet", "crossbody bag"), 45, 0.5, 3.0, 2.0, f"{_F} > Women's Clothing", "gift"),
    Leaf(f"{_B} > Skincare", ("serum", "moisturiser", "cleanser", "face mask", "toner"), 18, 0.5, 3.5, 4.5, f"{_B} > Makeup", "flat"),
    Leaf(f"{_B} > Makeup", ("lipstick", "mascara", "foundation", "eyeliner", "blusher"), 14, 0.4, 3.5, 3.5, f"{_B} > Skincare", "gift"),
    Leaf(f"{_B} > Hair Care", ("shampoo", "conditioner", "hair oil", "hair dryer", "straightener"), 15, 0.6, 2.5, 2.5, f"{_B} > Skincare", "flat"),
    Leaf(f"{_S} > Fitness", ("yoga mat", "dumbbells", "resistance band", "kettlebell", "foam roller"), 25, 0.5, 2.5, 3.0, f"{_S} > Cycling", "winter"),
    Leaf(f"{_S} > Camping", ("tent", "sleeping bag", "camping stove", "camping lantern", "hiking poles"), 70, 0.5, 2.5, 1.5, f"{_S} > Cycling", "summer"),
    Leaf(f"{_S} > Cycling", ("bike light", "cycling helmet", "bike lock", "cycling gloves", "bike pump"), 30, 0.5, 2.5, 2.0, f"{_S} > Fitness", "summer"),
    Leaf(f"{_T} > Board Games", ("board game", "card game", "jigsaw puzzle", "trivia game"), 25, 0.35, 3.0, 2.5, f"{_T} > Building Toys", "gift"),
    Leaf(f"{_T} > Building Toys", ("building set", "construction kit", "marble run", "magnetic tiles"), 35, 0.5, 2.5, 2.0, f"{_T} > Board Games", "gift"),
    Leaf(f"{_T} > Soft Toys", ("plush bear", "teddy", "plush bunny", "soft toy dog"), 15, 0.35, 2.0, 1.5, f"{_T} > Board Games", "gift"),
    Leaf(f"{_K} > Fiction", ("novel", "thriller", "romance novel", "fantasy novel", "short stories"), 10, 0.3, 9.0, 3.0, f"{_K} > Stationery", "flat"),
    Leaf(f"{_K} > Cookbooks", ("cookbook", "baking book", "recipe collection", "vegan cookbook"), 18, 0.3, 3.0, 1.0, f"{_H} > Cookware", "gift"),
    Leaf(f"{_K} > Stationery", ("notebook", "journal", "fountain pen", "bookmark", "planner"), 9, 0.5, 3.0, 2.0, f"{_K} > Fiction", "flat"),
    Leaf(f"{_G} > Plants & Seeds", ("seed kit", "flower bulbs", "herb kit", "succulent", "house plant"), 12, 0.5, 3.0, 2.0, f"{_G} > Garden Tools", "garden"),
    Leaf(f"{_G} > Garden Tools", ("pruner", "trowel", "garden hose", "watering can", "garden gloves"), 20, 0.5, 2.5, 2.0, f"{_G} > Plants & Seeds", "garden"),
    Leaf(f"{_P} > Dog Supplies", ("dog bed", "dog lead", "dog toy", "dog bowl", "dog treats"), 20, 0.5, 2.5, 2.0, f"{_P} > Cat Supplies", "flat"),
    Leaf(f"{_P} > Cat Supplies", ("cat tree", "scratching post", "cat toy", "litter tray", "cat bed"), 25, 0.5, 2.0, 1.5, f"{_P} > Dog Supplies", "flat"),
)  # fmt: skip
BRANDS: dict[str, tuple[str, ...]] = {
    _E: ("Voltix", "Sonara", "Pixelon", "Arcwave", "Nexon"),
    _H: ("Hearthly", "Casa Nova", "Oakmere", "Kitchenry", "Nordhem"),
    _F: ("Northwear", "Linea", "Urban Thread", "Maison Vale", "Aurelia"),
    _B: ("Lumiere", "Botanica", "Glowkin", "Purelle"),
    _S: ("Peakform", "Trailhead", "Aerofit", "Velora"),
    _T: ("Playwise", "Tinker Tots", "Brightbox"),
    _K: ("Quill Press", "Harbour Books", "Lantern House", "Inkwell"),
    _G: ("Greenthumb", "Bloomfield", "Terra"),
    _P: ("Pawsome", "Tailwind", "Furbish"),
}
VARIANTS: tuple[str, ...] = (
    "Black", "White", "Grey", "Navy", "Red", "Green", "Blue", "Oak", "Rose", "Sand", "Small",
    "Large", "Mini", "XL", "Twin Pack", "Set of 3",
)  # fmt: skip
LONGTAIL_ENTITIES = (N.ORDERS, N.PRODUCTS, N.CUSTOMERS, N.EVENTS)
LONGTAIL_SCHEMAS = {
    **SCHEMAS,
    N.PRODUCTS: ", ".join(c for c in SCHEMAS[N.PRODUCTS].split(", ") if c.split()[0] != N.IMAGE),
}
"""Landing schemas of the profile: the default shop's, but products have no ``image`` column
(this marketplace has no photos, so its files stay as they were)."""


def _cum(weights: np.ndarray) -> np.ndarray:
    """Row-wise cumulative shares (last column 1) of a 2-D weight table."""
    c = np.cumsum(weights, axis=1)
    return c / c[:, -1:]


def _ids(prefix: str, numbers: np.ndarray, width: int) -> np.ndarray:
    """``prefix`` + zero-padded numbers, e.g. ``C000123``."""
    return np.array([f"{prefix}{int(x):0{width}d}" for x in numbers], dtype=object)


def _draw_dict(rng: np.random.Generator, d: dict, n: int) -> np.ndarray:
    """``n`` keys of ``d`` drawn with the values as weights."""
    keys = np.asarray(list(d), dtype=object)
    return keys[draw(rng.random(n), list(d.values()))]


class LongTailShop:
    """The long-tail marketplace of one (scale, seed, start_date): latent tables with hidden
    columns (``items``, ``buyers``, ``order_heads``, ``lines``) and the landing frames
    (:meth:`products`, :meth:`customers`, :meth:`orders`, :meth:`events`).

    Every part draws from its own generator (:meth:`rng`), so the parts are reproducible
    however they are computed.

    Args:
        scale: Multiplies customers, orders and items.
        seed: Seed of every random quantity.
        start_date: First day (``YYYY-MM-DD``); the shop covers :data:`LONGTAIL_DAYS` days.
    """

    def __init__(self, scale: int = 1, seed: int = 42, start_date: str = "2023-01-02") -> None:
        if scale < 1:
            raise ValueError(f"scale must be >= 1, got {scale}")
        self.scale = int(scale)
        self.seed = int(seed)
        self.start = dt.date.fromisoformat(start_date)
        self.days = LONGTAIL_DAYS
        self.n_items = ITEMS_PER_SCALE * self.scale
        self.n_customers = CUSTOMERS_PER_SCALE * self.scale
        self.leaf_paths = np.asarray([x.path for x in LEAVES], dtype=object)
        index = {x.path: k for k, x in enumerate(LEAVES)}
        self.complement = np.asarray([index[x.complement] for x in LEAVES], dtype=np.int64)

    # ------------------------------------------------------------ helpers
    def rng(self, part: str) -> np.random.Generator:
        """The generator of one part of the shop, seeded by ``(seed, part)``."""
        return np.random.default_rng([self.seed, zlib.crc32(part.encode())])

    def ts(self, t: np.ndarray) -> np.ndarray:
        """Seconds since start midnight -> ``'yyyy-MM-dd HH:mm:ss'`` strings."""
        base = np.datetime64(self.start.isoformat(), "s")
        text = (base + np.asarray(t, dtype=np.int64).astype("timedelta64[s]")).astype(str)
        return np.char.replace(text, "T", " ").astype(object)

    @cached_property
    def day_month(self) -> np.ndarray:
        """Calendar month (0-11) of each day."""
        base = np.datetime64(self.start.isoformat(), "D")
        d = base + np.arange(self.days).astype("timedelta64[D]")
        return (d.astype("datetime64[M]").astype(np.int64) % 12).astype(np.int64)

    @cached_property
    def day_factor(self) -> np.ndarray:
        """Relative order volume of each day (weekday x month)."""
        base = np.datetime64(self.start.isoformat(), "D")
        dow = (np.arange(self.days) + (base.astype(np.int64) + 3) % 7) % 7  # 1970-01-01: Thu
        return np.asarray(DOW_FACTORS)[dow] * np.asarray(MONTH_FACTORS)[self.day_month]

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Seconds after midnight following the default shop's hourly profile."""
        return draw(rng.random(n), HOUR_WEIGHTS) * 3600 + rng.integers(0, 3600, n)

    # ------------------------------------------------------------ catalogue
    @cached_property
    def items(self) -> pd.DataFrame:
        """Items with hidden columns: ``leaf``, ``unique`` (a one-of-a-kind listing),
        ``rank`` (popularity rank among the leaf's stocked items), ``weight`` (share of the
        leaf's demand), ``launch`` and ``retire`` days (on sale on days ``launch <= d <
        retire``) and ``cents`` (list price)."""
        rng = self.rng("items")
        n = self.n_items
        share = np.array([x.items for x in LEAVES])
        sizes = np.floor(n * share / share.sum()).astype(np.int64)
        sizes[: n - sizes.sum()] += 1  # exactly n items, every leaf non-empty
        leaf = np.repeat(np.arange(len(LEAVES)), sizes)
        unique = rng.random(n) < UNIQUE_SHARE
        # popularity rank of stocked items within their leaf, in random order of the items
        key = np.lexsort((rng.random(n), unique, leaf))
        first = np.searchsorted(leaf[key], leaf[key], side="left")
        rank = np.empty(n, dtype=np.int64)
        rank[key] = np.arange(n) - first + 1
        weight = self._popularity(leaf, unique, rank, np.exp(0.5 * rng.standard_normal(n)))
        late = rng.random(n) >= ON_SALE_AT_START
        launch = np.where(late, rng.integers(1, self.days - 30, n), 0)
        retires = rng.random(n) < RETIRE_SHARE
        span = np.maximum(1, self.days - launch - 30)
        retire = np.where(
            retires, launch + 30 + np.floor(rng.random(n) * span).astype(np.int64), self.days + 1
        )
        median = np.array([x.price for x in LEAVES])[leaf]
        spread = np.array([x.spread for x in LEAVES])[leaf]
        cents = np.maximum(99, np.round(median * np.exp(spread * rng.standard_normal(n)) * 100))
        cents = np.floor(cents / 100) * 100 + 99 - (rng.random(n) < 0.3) * 49  # x.99 or x.50
        number = rng.permutation(n) + 1  # ids do not reveal the leaf or the rank
        return pd.DataFrame(
            {
                "item": np.arange(n),
                "item_id": _ids("I", number, max(5, len(str(n)))),
                "leaf": leaf,
                "unique": unique,
                "rank": rank,
                "weight": weight,
                "launch": launch.astype(np.int64),
                "retire": retire.astype(np.int64),
                "cents": cents.astype(np.int64),
            }
        )

    @staticmethod
    def _popularity(
        leaf: np.ndarray, unique: np.ndarray, rank: np.ndarray, appeal: np.ndarray
    ) -> np.ndarray:
        """Within-leaf demand shares: the stocked items share ``1 - UNIQUE_DEMAND`` of it by a
        Zipf law over their rank (exponent in the range :data:`ZIPF_S`, steeper in busier
        leaves); the one-of-a-kind listings share the rest by their ``appeal`` (log-normal)."""
        demand = np.array([x.demand for x in LEAVES])
        lo, hi = ZIPF_S
        exponent = lo + (hi - lo) * (demand - demand.min()) / (demand.max() - demand.min())
        raw = np.where(unique, appeal, rank.astype(float) ** -exponent[leaf])
        frame = pd.DataFrame({"leaf": leaf, "unique": unique, "raw": raw})
        total = frame.groupby(["leaf", "unique"])["raw"].transform("sum").to_numpy()
        return raw / total * np.where(unique, UNIQUE_DEMAND, 1 - UNIQUE_DEMAND)

    @cached_property
    def _leaf_members(self) -> list[np.ndarray]:
        leaf = self.items["leaf"].to_numpy()
        return [np.flatnonzero(leaf == k) for k in range(len(LEAVES))]

    def pick(
        self,
        rng: np.random.Generator,
        leaf: np.ndarray,
        day: np.ndarray,
        gone: np.ndarray | None = None,
        stocked_only: bool = False,
    ) -> np.ndarray:
        """Items drawn by popularity among those of ``leaf`` on sale on ``day`` (per element).

        Availability is decided per week (its Thursday).

        Args:
            rng: Generator to draw from.
            leaf: Leaf index per draw.
            day: Day index per draw.
            gone: Per item, the first day it is no longer available (a sold one-of-a-kind
                listing); None = no item sold out.
            stocked_only: Draw no one-of-a-kind listing.

        Returns:
            Item indices.
        """
        leaf = np.asarray(leaf, dtype=np.int64)
        day = np.asarray(day, dtype=np.int64)
        u = rng.random(len(leaf))
        out = np.zeros(len(leaf), dtype=np.int64)
        it = self.items
        weight = it["weight"].to_numpy() * ~(stocked_only & it["unique"].to_numpy())
        launch, retire = it["launch"].to_numpy(), it["retire"].to_numpy()
        if gone is not None:
            retire = np.minimum(retire, gone)
        week = day // 7
        order = np.lexsort((week, leaf))
        keys = leaf[order] * 1000 + week[order]
        bounds = np.flatnonzero(np.diff(keys)) + 1
        for grp in np.split(order, bounds):
            if not len(grp):
                continue
            members = self._leaf_members[leaf[grp[0]]]
            d = 7 * week[grp[0]] + 3
            w = weight[members] * ((launch[members] <= d) & (retire[members] > d))
            if not w.any():  # nothing on sale: any stocked item of the leaf
                w = it["weight"].to_numpy()[members] * ~it["unique"].to_numpy()[members]
            cw = np.cumsum(w)
            out[grp] = members[np.searchsorted(cw, u[grp] * cw[-1], side="right")]
        return out

    @cached_property
    def companion(self) -> np.ndarray:
        """Per item: its fixed companion, a stocked item of the complementary leaf (drawn
        uniformly, so that companions do not all pile onto the leaf's head)."""
        rng = self.rng("companions")
        it = self.items
        stocked = ~it["unique"].to_numpy()
        comp_leaf = self.complement[it["leaf"].to_numpy()]
        out = np.zeros(len(it), dtype=np.int64)
        u = rng.random(len(it))
        for k in range(len(LEAVES)):
            mine = comp_leaf == k
            members = self._leaf_members[k]
            choice = members[stocked[members]] if stocked[members].any() else members
            out[mine] = choice[np.floor(u[mine] * len(choice)).astype(np.int64)]
        return out

    @cached_property
    def sold_out(self) -> np.ndarray:
        """Per item: the day after a one-of-a-kind listing was sold (else past the year)."""
        ln, o = self.lines, self.order_heads
        gone = np.full(self.n_items, self.days + 1, dtype=np.int64)
        uniq = self.items["unique"].to_numpy()[ln["item"].to_numpy()]
        day = o["day"].to_numpy()[ln["oi"].to_numpy()]
        np.minimum.at(gone, ln["item"].to_numpy()[uniq], day[uniq] + 1)
        return gone

    # ------------------------------------------------------------ buyers and orders
    @cached_property
    def buyers(self) -> pd.DataFrame:
        """Customers with hidden columns: ``orders`` (count), ``leaf`` (primary), ``leaf2``
        (second theme: the complementary leaf or the primary one) and ``first_day``."""
        rng = self.rng("customers")
        n = self.n_customers
        norders = np.asarray(list(ORDERS_PER_CUSTOMER))[
            draw(rng.random(n), list(ORDERS_PER_CUSTOMER.values()))
        ]
        first = draw(rng.random(n), self.day_factor)
        season = np.array([SEASONS[x.season] for x in LEAVES])  # leaves x 12
        demand = np.array([x.demand for x in LEAVES])
        month_cum = _cum((demand[:, None] * season).T)  # 12 x leaves
        u = rng.random(n)
        leaf = (u[:, None] >= month_cum[self.day_month[first]][:, :-1]).sum(axis=1)
        two = rng.random(n) < SECOND_LEAF
        early = rng.random(n) < EARLY_SIGNUP_SHARE
        first_t = first * DAY + self.time_of_day(rng, n)
        signup_t = np.where(
            early,
            first_t - (1 + np.floor(rng.random(n) * 730)).astype(np.int64) * DAY,
            first_t - rng.integers(60, 1800, n),
        )
        return pd.DataFrame(
            {
                "c": np.arange(n),
                "customer_id": _ids("C", np.arange(n) + 1, max(6, len(str(n)))),
                "orders": norders,
                "first_day": first,
                "first_t": first_t,
                "leaf": leaf,
                "leaf2": np.where(two, self.complement[leaf], leaf),
                "signup_t": signup_t,
                "country": _draw_dict(rng, COUNTRIES, n),
                "birth_year": (1950 + np.floor(rng.random(n) ** 0.8 * 56)).astype(np.int64),
                "gender": _draw_dict(rng, GENDERS, n),
                "channel": _draw_dict(rng, ORDER_CHANNELS, n),
                "tracked": rng.random(n) < TRACKED_SHARE,
            }
        )

    @cached_property
    def order_heads(self) -> pd.DataFrame:
        """One row per order: ``ci`` (customer index), ``t`` (seconds), ``day``, ``leaf``,
        ``channel`` and ``order_id`` (numbered by time)."""
        rng = self.rng("orders")
        b = self.buyers
        k = b["orders"].to_numpy()
        ci = np.repeat(b["c"].to_numpy(), k)
        nth = np.arange(len(ci)) - np.repeat(np.cumsum(k) - k, k)
        first_t = b["first_t"].to_numpy()[ci]
        # repeat orders come 3-200 days after the first, by the calendar; past the year: dropped
        gap = np.floor(3 + rng.random(len(ci)) * 197).astype(np.int64) * nth
        day = b["first_day"].to_numpy()[ci] + gap
        keep = day < self.days
        t = np.where(nth == 0, first_t, day * DAY + self.time_of_day(rng, len(ci)))
        second = (nth > 0) & (rng.random(len(ci)) < REPEAT_SECOND_LEAF)
        leaf = np.where(second, b["leaf2"].to_numpy()[ci], b["leaf"].to_numpy()[ci])
        channel = np.where(
            rng.random(len(ci)) < 0.8,
            b["channel"].to_numpy()[ci],
            _draw_dict(rng, ORDER_CHANNELS, len(ci)),
        )
        o = pd.DataFrame({"ci": ci, "t": t, "day": day, "leaf": leaf, "channel": channel})[keep]
        o = o.sort_values(["t", "ci"], kind="stable").reset_index(drop=True)
        o["order_id"] = _ids("O", np.arange(len(o)) + 1, max(7, len(str(len(o)))))
        return o

    @cached_property
    def lines(self) -> pd.DataFrame:
        """Order lines: ``oi`` (order index), ``item``, ``qty``, ``cents``, ``returned`` and
        ``ret_t``; items of one order are distinct."""
        rng = self.rng("lines")
        o = self.order_heads
        n = len(o)
        nl = np.asarray(list(LINES_PER_ORDER))[draw(rng.random(n), list(LINES_PER_ORDER.values()))]
        oi = np.repeat(np.arange(n), nl)
        pos = np.arange(len(oi)) - np.repeat(np.cumsum(nl) - nl, nl)
        day = o["day"].to_numpy()[oi]
        oleaf = o["leaf"].to_numpy()[oi]
        same = (pos == 0) | (rng.random(len(oi)) < SAME_LEAF)
        leaf = np.where(same, oleaf, self.complement[oleaf])
        item = self.pick(rng, leaf, day)
        # a complementary line is often the first item's companion (when on sale that day)
        first_item = item[np.repeat(np.cumsum(nl) - nl, nl)]
        comp = self.companion[first_item]
        it = self.items
        on = (it["launch"].to_numpy()[comp] <= day) & (it["retire"].to_numpy()[comp] > day)
        use = ~same & on & (rng.random(len(oi)) < COMPANION)
        item = np.where(use, comp, item)
        # a one-of-a-kind listing is sold once: later buyers of it pick again among the rest
        uniq = it["unique"].to_numpy()
        t = o["t"].to_numpy()[oi]
        by_time = np.lexsort((np.arange(len(oi)), t))
        for _ in range(RESOLVE_ROUNDS):
            again = np.zeros(len(oi), dtype=bool)
            again[by_time] = pd.Series(item[by_time]).duplicated().to_numpy()
            again &= uniq[item]
            if not again.any():
                break
            gone = np.full(self.n_items, self.days + 1, dtype=np.int64)
            gone[np.unique(item[uniq[item]])] = -1
            item[again] = self.pick(rng, leaf[again], day[again], gone=gone)
        again = np.zeros(len(oi), dtype=bool)
        again[by_time] = pd.Series(item[by_time]).duplicated().to_numpy()
        keep_line = ~(again & uniq[item])  # still taken after the last round: line dropped
        qty = rng.geometric(0.8, len(oi)).astype(np.int64)
        off = np.where(rng.random(len(oi)) < DISCOUNT_SHARE, 0.1 + 0.2 * rng.random(len(oi)), 0.0)
        cents = np.round(it["cents"].to_numpy()[item] * (1 - off)).astype(np.int64)
        ret = rng.random(len(oi)) < RETURN_SHARE
        ret_t = (
            o["t"].to_numpy()[oi] + (5 + np.floor(rng.random(len(oi)) * 26)).astype(np.int64) * DAY
        )
        ret &= ret_t < self.days * DAY
        qty = np.where(uniq[item], 1, qty)
        ln = pd.DataFrame(
            {"oi": oi, "item": item, "qty": qty, "cents": cents, "returned": ret, "ret_t": ret_t}
        )[keep_line]
        return ln.drop_duplicates(["oi", "item"], keep="first").reset_index(drop=True)

    # ------------------------------------------------------------ landing frames
    def products(self) -> pd.DataFrame:
        """Landing ``products``: titles and descriptions that name the leaf's things."""
        rng = self.rng("products")
        it = self.items
        n = len(it)
        leaf = it["leaf"].to_numpy()
        noun = np.array(
            [LEAVES[k].nouns[j % len(LEAVES[k].nouns)] for k, j in zip(leaf, rng.integers(0, 1000, n), strict=True)],
            dtype=object,
        )  # fmt: skip
        brand = np.array(
            [BRANDS[LEAVES[k].top][j % len(BRANDS[LEAVES[k].top])] for k, j in zip(leaf, rng.integers(0, 1000, n), strict=True)],
            dtype=object,
        )  # fmt: skip
        adj = np.asarray(TX.PRODUCT_ADJECTIVES, dtype=object)[
            rng.integers(0, len(TX.PRODUCT_ADJECTIVES), n)
        ]
        adj2 = np.asarray(TX.PRODUCT_ADJECTIVES, dtype=object)[
            rng.integers(0, len(TX.PRODUCT_ADJECTIVES), n)
        ]
        feat = np.asarray(TX.PRODUCT_FEATURES, dtype=object)[
            rng.integers(0, len(TX.PRODUCT_FEATURES), n)
        ]
        var = np.asarray(VARIANTS, dtype=object)[rng.integers(0, len(VARIANTS), n)]
        name = np.asarray([x.name.lower() for x in LEAVES], dtype=object)[leaf]
        return pd.DataFrame(
            {
                N.ITEM_ID: it["item_id"],
                N.TITLE: [f"{b} {a} {x} {v}" for b, a, x, v in zip(brand, adj, noun, var, strict=True)],
                N.DESCRIPTION: [
                    f"{a.capitalize()} {x} from our {m} range by {b}. {f}."
                    for a, x, m, b, f in zip(adj2, noun, name, brand, feat, strict=True)
                ],
                N.CATEGORY: self.leaf_paths[leaf],
                N.BRAND: brand,
                N.PRICE: it["cents"].to_numpy() / 100.0,
            }
        )  # fmt: skip

    def customers(self) -> pd.DataFrame:
        """Landing ``customers`` (the default shop's columns)."""
        b = self.buyers
        return pd.DataFrame(
            {
                N.CUSTOMER_ID: b["customer_id"],
                N.SIGNUP_TS: self.ts(b["signup_t"].to_numpy()),
                N.COUNTRY: b["country"],
                N.BIRTH_YEAR: b["birth_year"],
                N.GENDER: b["gender"].where(b["gender"] != "", None),
            }
        )

    def orders(self) -> pd.DataFrame:
        """Landing ``orders``: sold lines and their later returns."""
        o, ln, b, it = self.order_heads, self.lines, self.buyers, self.items
        oi = ln["oi"].to_numpy()
        ci = o["ci"].to_numpy()[oi]
        oid = o["order_id"].to_numpy()[oi]
        sold = pd.DataFrame(
            {
                N.ORDER_ID: oid,
                N.CUSTOMER_ID: b["customer_id"].to_numpy()[ci],
                N.ORDER_TS: self.ts(o["t"].to_numpy()[oi]),
                N.ITEM_ID: it["item_id"].to_numpy()[ln["item"].to_numpy()],
                N.QUANTITY: ln["qty"].to_numpy(),
                N.UNIT_PRICE: ln["cents"].to_numpy() / 100.0,
                N.COUNTRY: b["country"].to_numpy()[ci],
                N.CHANNEL: o["channel"].to_numpy()[oi],
                N.STATUS: "completed",
            }
        )
        r = ln["returned"].to_numpy()
        returns = sold[r].copy()
        returns[N.ORDER_ID] = ["R" + x for x in returns[N.ORDER_ID]]
        returns[N.ORDER_TS] = self.ts(ln["ret_t"].to_numpy()[r])
        returns[N.QUANTITY] = -returns[N.QUANTITY]
        returns[N.STATUS] = "returned"
        return pd.concat([sold, returns], ignore_index=True)

    def events(self) -> pd.DataFrame:
        """Landing ``events``: a session before each order of a tracked customer (search,
        views of the bought items and of other items of the order's leaf, carts, purchases)
        and browse-only sessions in the days before the first order."""
        rng = self.rng("events")
        o, ln, b = self.order_heads, self.lines, self.buyers
        tracked = b["tracked"].to_numpy()
        parts: list[tuple[np.ndarray, ...]] = []  # (customer index, session, item or -1, kind, t)
        # purchase sessions
        keep = tracked[o["ci"].to_numpy()]
        oidx = np.flatnonzero(keep)
        n = len(oidx)
        oci, ot, oday = (o[c].to_numpy()[oidx] for c in ("ci", "t", "day"))
        dur = 240 + rng.integers(0, 2400, n)
        start = ot - dur
        sid = np.array(["S" + x for x in o["order_id"].to_numpy()[oidx]], dtype=object)
        where = np.full(len(o), -1)
        where[oidx] = np.arange(n)
        li = where[ln["oi"].to_numpy()]
        lk = li >= 0
        li, litem = li[lk], ln["item"].to_numpy()[lk]
        m = len(li)
        view_t = start[li] + np.floor(rng.random(m) * 0.5 * dur[li]).astype(np.int64)
        cart_t = start[li] + np.floor((0.6 + 0.35 * rng.random(m)) * dur[li]).astype(np.int64)
        for kind, tt in ((N.EV_VIEW, view_t), (N.EV_CART, cart_t), (N.EV_PURCHASE, ot[li])):
            parts.append((oci[li], sid[li], litem, np.full(m, kind, dtype=object), tt))
        nv = rng.poisson(EXTRA_VIEWS, n)
        xi = np.repeat(np.arange(n), nv)
        xleaf = o["leaf"].to_numpy()[oidx][xi]
        xitem = self.pick(rng, xleaf, oday[xi], gone=self.sold_out)
        xt = start[xi] + np.floor(rng.random(len(xi)) * 0.8 * dur[xi]).astype(np.int64)
        parts.append((oci[xi], sid[xi], xitem, np.full(len(xi), N.EV_VIEW, dtype=object), xt))
        xc = rng.random(len(xi)) < CART_EXTRA
        parts.append(
            (oci[xi][xc], sid[xi][xc], xitem[xc], np.full(int(xc.sum()), N.EV_CART, dtype=object), xt[xc] + 30)
        )  # fmt: skip
        srch = rng.random(n) < SEARCH_SHARE
        k = int(srch.sum())
        parts.append(
            (oci[srch], sid[srch], np.full(k, -1), np.full(k, "search", dtype=object), start[srch])
        )
        # browse-only sessions before the first order, about the primary leaf
        bc = np.flatnonzero(tracked)
        ns = rng.poisson(BROWSE_SESSIONS, len(bc))
        bci = np.repeat(bc, ns)
        nb = len(bci)
        bday = b["first_day"].to_numpy()[bci] - 1 - np.floor(rng.random(nb) * 30).astype(np.int64)
        bt = bday * DAY + self.time_of_day(rng, nb)
        bnum = np.arange(nb) - np.searchsorted(bci, bci, side="left") + 1
        bsid = np.array(
            [f"B{x + 1:07d}{y:03d}" for x, y in zip(bci, bnum, strict=True)], dtype=object
        )
        nvb = 1 + rng.poisson(BROWSE_VIEWS, nb)
        vi = np.repeat(np.arange(nb), nvb)
        vnum = np.arange(len(vi)) - np.searchsorted(vi, vi, side="left")
        vitem = self.pick(
            rng, b["leaf"].to_numpy()[bci[vi]], np.maximum(0, bday[vi]), gone=self.sold_out
        )
        vt = bt[vi] + 40 * vnum + np.floor(rng.random(len(vi)) * 90 * (vnum + 1)).astype(np.int64)
        parts.append((bci[vi], bsid[vi], vitem, np.full(len(vi), N.EV_VIEW, dtype=object), vt))
        vc = rng.random(len(vi)) < CART_EXTRA
        parts.append(
            (bci[vi][vc], bsid[vi][vc], vitem[vc], np.full(int(vc.sum()), N.EV_CART, dtype=object), vt[vc] + 25)
        )  # fmt: skip
        ci = np.concatenate([p[0] for p in parts]).astype(np.int64)
        sess = np.concatenate([p[1] for p in parts])
        items = np.concatenate([p[2] for p in parts]).astype(np.int64)
        kinds = np.concatenate([p[3] for p in parts])
        t = np.concatenate([p[4] for p in parts]).astype(np.int64)
        ok = (t >= 0) & (t < self.days * DAY)
        ci, sess, items, kinds, t = ci[ok], sess[ok], items[ok], kinds[ok], t[ok]
        ids = self.items["item_id"].to_numpy()
        return pd.DataFrame(
            {
                N.EVENT_TS: self.ts(t),
                N.USER_ID: b["customer_id"].to_numpy()[ci],
                N.SESSION_ID: sess,
                N.EVENT_TYPE: kinds,
                N.ITEM_ID: np.where(items >= 0, ids[np.maximum(items, 0)], None),
            }
        )

    def landing_frames(self) -> dict[str, pd.DataFrame]:
        """The landed entities as pandas frames in landing shape (columns of :data:`LONGTAIL_SCHEMAS`)."""
        make = {
            N.ORDERS: self.orders,
            N.PRODUCTS: self.products,
            N.CUSTOMERS: self.customers,
            N.EVENTS: self.events,
        }
        out = {}
        for entity in N.ENTITIES:
            if entity in make:
                cols = [c.split()[0] for c in LONGTAIL_SCHEMAS[entity].split(", ")]
                out[entity] = make[entity]()[cols]
        return out


def generate_landing(
    spark: SparkSession,
    out_dir: str,
    scale: int = 1,
    seed: int = 42,
    start_date: str = "2023-01-02",
    fmt: str = "csv",
) -> dict[str, int]:
    """Write the long-tail marketplace to out_dir in the landing format; return rows per entity.

    Same layout as :func:`lakecart.generate.generate_landing`: ``<out_dir>/<entity>/part-*``
    with the same file counts, partitioning and row order, so the same arguments always give
    the same files. Only ``orders``, ``products``, ``customers`` and ``events`` are written;
    other entity folders already under ``out_dir`` are left alone.

    Args:
        spark: The session (writes the files).
        out_dir: Landing folder (any Hadoop path).
        scale: 1 = ~10,000 orders, ~9,900 customers, 6,000 items; N multiplies all three.
        seed: Seed of every random quantity.
        start_date: First day; the shop covers :data:`LONGTAIL_DAYS` days.
        fmt: ``csv``, ``parquet`` or ``json``.

    Returns:
        Rows written per entity name.

    Raises:
        ValueError: on an unknown format or a scale below 1.
    """
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, got {fmt!r}")
    shop = LongTailShop(scale=scale, seed=seed, start_date=start_date)
    root = out_dir.rstrip("/")
    counts: dict[str, int] = {}
    arrow = "spark.sql.execution.arrow.pyspark.enabled"
    before = spark.conf.get(arrow, "false")
    spark.conf.set(arrow, "true")
    try:
        for entity, frame in shop.landing_frames().items():
            df = spark.createDataFrame(frame, LONGTAIL_SCHEMAS[entity])
            write_entity(df, f"{root}/{entity}", fmt, files_for(entity, shop.scale), entity)
            counts[entity] = len(frame)
    finally:
        spark.conf.set(arrow, before)
    return counts
