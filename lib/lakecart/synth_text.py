"""Word lists and tiny text helpers for the synthetic shop (:mod:`lakecart.generate`).

Pure Python data: the generator turns these lists into Spark column expressions, and
tests (or a sentiment baseline) can use the same lists to score generated text. Review
sentences are built from sentiment words so that the words of a review agree with its
star rating: 1-2 stars draw mostly from :data:`NEGATIVE_WORDS`, 4-5 stars mostly from
:data:`POSITIVE_WORDS`, 3 stars mix both with :data:`NEUTRAL_WORDS`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# ---------------------------------------------------------------- catalogue words
# One entry per category of :data:`lakecart.generate.CATEGORIES`, in the same order.
CATEGORY_NOUNS: dict[str, tuple[str, ...]] = {
    "Apparel": ("dress", "shirt", "jacket", "sweater", "blouse", "jeans", "coat", "hoodie"),
    "Shoes": ("sneakers", "boots", "sandals", "loafers", "trainers", "heels"),
    "Electronics": ("headphones", "speaker", "charger", "keyboard", "monitor", "camera", "tablet"),
    "Home & Kitchen": ("mug", "pan", "kettle", "lamp", "cushion", "blender", "knife set", "towel"),
    "Beauty": ("serum", "moisturiser", "lipstick", "shampoo", "perfume", "face mask"),
    "Sports & Outdoors": (
        "yoga mat",
        "tent",
        "water bottle",
        "dumbbells",
        "backpack",
        "bike light",
    ),
    "Toys & Games": ("puzzle", "board game", "doll", "building set", "plush bear", "kite"),
    "Books": ("novel", "cookbook", "biography", "notebook", "travel guide", "comic"),
    "Garden": ("planter", "hose", "seed kit", "pruner", "bird feeder", "lantern"),
    "Jewellery": ("necklace", "bracelet", "ring", "earrings", "watch", "pendant"),
}

CATEGORY_BRANDS: dict[str, tuple[str, ...]] = {
    "Apparel": ("Northwear", "Linea", "Urban Thread", "Maison Vale"),
    "Shoes": ("Stride", "Kicklab", "Fellside"),
    "Electronics": ("Voltix", "Sonara", "Pixelon", "Arcwave"),
    "Home & Kitchen": ("Hearthly", "Casa Nova", "Oakmere", "Kitchenry"),
    "Beauty": ("Lumiere", "Botanica", "Glowkin"),
    "Sports & Outdoors": ("Peakform", "Trailhead", "Aerofit"),
    "Toys & Games": ("Playwise", "Tinker Tots", "Brightbox"),
    "Books": ("Quill Press", "Harbour Books", "Lantern House"),
    "Garden": ("Greenthumb", "Bloomfield", "Terra"),
    "Jewellery": ("Aurelia", "Silverline", "Opaline"),
}

PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Classic", "Essential", "Premium", "Compact", "Deluxe", "Everyday", "Vintage", "Modern",
    "Eco", "Pro", "Soft", "Lightweight", "Signature", "Studio", "Travel", "Organic",
)  # fmt: skip

PRODUCT_FEATURES: tuple[str, ...] = (
    "Made from durable materials",
    "Designed for everyday use",
    "Easy to clean and care for",
    "Comes in recyclable packaging",
    "Backed by a two-year guarantee",
    "A bestseller in its range",
    "Thoughtfully designed and tested",
    "Perfect as a gift",
)

# ---------------------------------------------------------------- sentiment words
POSITIVE_ADJECTIVES: tuple[str, ...] = (
    "great", "excellent", "perfect", "lovely", "beautiful", "comfortable", "amazing", "fantastic",
    "wonderful", "sturdy", "brilliant", "superb", "gorgeous",
)  # fmt: skip
NEGATIVE_ADJECTIVES: tuple[str, ...] = (
    "poor", "broken", "cheap", "flimsy", "terrible", "awful", "faulty", "useless", "uncomfortable",
    "ripped", "defective", "disappointing",
)  # fmt: skip
POSITIVE_WORDS: tuple[str, ...] = (*POSITIVE_ADJECTIVES, "love", "recommend", "happy")
"""Every positive word the review templates can produce (for scoring)."""
NEGATIVE_WORDS: tuple[str, ...] = (
    *NEGATIVE_ADJECTIVES,
    "disappointed",
    "returned",
    "waste",
    "refund",
    "worst",
)
"""Every negative word the review templates can produce (for scoring)."""
NEUTRAL_WORDS: tuple[str, ...] = (
    "okay", "average", "fine", "decent", "standard", "expected", "acceptable", "ordinary",
)  # fmt: skip
INTENSIFIERS: tuple[str, ...] = ("really", "very", "truly", "quite", "so", "absolutely")
PEOPLE: tuple[str, ...] = ("daughter", "son", "partner", "mother", "father", "friend", "sister")
WHEN: tuple[str, ...] = ("Monday", "the weekend", "time", "a Friday", "schedule", "day two")

# Sentence templates: literal text and {SLOT}s. Slots: POS, NEG (sentiment adjectives), NEU
# (neutral words), NOUN (a noun of the item's category), INT (intensifier), PERSON, WHEN.
POSITIVE_TEMPLATES: tuple[str, ...] = (
    "The {NOUN} is {INT} {POS}.",
    "I love this {NOUN}, it is {POS}.",
    "{POS} quality and a {POS} fit.",
    "My {PERSON} thinks it is {POS}, I would recommend it.",
    "{INT} {POS} value for the price.",
    "So happy with this {POS} {NOUN}.",
)
NEGATIVE_TEMPLATES: tuple[str, ...] = (
    "The {NOUN} is {INT} {NEG}.",
    "{NEG} quality, I am disappointed.",
    "It arrived {NEG} and I returned it.",
    "My {PERSON} found the {NOUN} {NEG}, so I asked for a refund.",
    "{INT} {NEG} for the price, a waste of money.",
    "The worst {NOUN} I have bought, {NEG}.",
)
NEUTRAL_TEMPLATES: tuple[str, ...] = (
    "The {NOUN} arrived on {WHEN}.",
    "I bought this {NOUN} for my {PERSON}.",
    "It is {NEU}, about what I expected.",
    "Delivery was {NEU}.",
    "The {NOUN} looks {NEU} in the photos.",
)
POSITIVE_TITLES: tuple[str, ...] = (
    "Love it",
    "Great buy",
    "Highly recommend",
    "Perfect",
    "Five stars",
    "So happy",
)
NEGATIVE_TITLES: tuple[str, ...] = (
    "Disappointed",
    "Poor quality",
    "Do not buy",
    "Sent it back",
    "Not worth it",
)
NEUTRAL_TITLES: tuple[str, ...] = (
    "It is okay",
    "As expected",
    "Average",
    "Fine for the price",
    "Decent",
)

_WORD = re.compile(r"[a-z]+")


def tokens(text: str | None) -> list[str]:
    """Lower-case alphabetic tokens of ``text`` (empty for None)."""
    return _WORD.findall((text or "").lower())


def count_words(text: str | None, words: Iterable[str]) -> int:
    """How many tokens of ``text`` are in ``words``.

    Args:
        text: Any text (None counts as empty).
        words: The vocabulary to count, e.g. :data:`POSITIVE_WORDS`.

    Returns:
        The number of matching tokens (repeats counted).
    """
    vocab = set(words)
    return sum(1 for t in tokens(text) if t in vocab)


def polarity(text: str | None) -> int:
    """Positive minus negative word count: a trivial lexicon sentiment score."""
    return count_words(text, POSITIVE_WORDS) - count_words(text, NEGATIVE_WORDS)
