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


# ---------------------------------------------------------------- customer-service messages
# Messages of the synthetic shop (landing ``messages``, issue 15): each has an intent (the
# Bitext names, so conf/support_routing.yaml and conf/support_answers.yaml apply) and a text
# drawn from the intent's templates. Slots: {ORDER} (a real order id of the customer),
# {AMOUNT} (that order's total, e.g. $25.99), {EMAIL} (the customer's address), {NOUN} (a
# noun of a category the order holds), {WHEN} (a time phrase).
MESSAGE_SHARE = 0.04
"""Share of registered, genuine orders that a message asks about."""
RETURN_MESSAGE_SHARE = 0.15
"""Share of returned order lines whose customer writes about a refund."""
ACCOUNT_MESSAGE_SHARE = 0.03
"""Share of customers who write once about their account (no order)."""
UNLABELLED_SHARE = 0.3
"""Share of messages landed without an intent (to be classified)."""
MESSAGE_CHANNELS: dict[str, float] = {"email": 0.45, "chat": 0.4, "form": 0.15}

ORDER_INTENTS: dict[str, float] = {
    "track_order": 0.26,
    "delivery_period": 0.10,
    "cancel_order": 0.12,
    "change_order": 0.06,
    "change_shipping_address": 0.08,
    "complaint": 0.12,
    "payment_issue": 0.08,
    "get_invoice": 0.08,
    "review": 0.10,
}
"""Intents of a message about an order, with their shares."""
ACCOUNT_INTENTS: dict[str, float] = {
    "recover_password": 0.3,
    "edit_account": 0.2,
    "delete_account": 0.1,
    "newsletter_subscription": 0.2,
    "contact_human_agent": 0.2,
}
"""Intents of a message about the account, with their shares."""
MESSAGE_TEMPLATES: dict[str, tuple[str, ...]] = {
    "track_order": (
        "Where is my order {ORDER}? It has not arrived yet.",
        "Hi, can you tell me the status of order {ORDER} please?",
        "I would like to track my package for order {ORDER}.",
        "my order {ORDER} still shows as processing, when will it ship",
        "Could you send me the tracking link for order number {ORDER}?",
    ),
    "delivery_period": (
        "How long does delivery take for order {ORDER}?",
        "When can I expect my {NOUN} to be delivered? Order {ORDER}.",
        "Will order {ORDER} arrive before {WHEN}?",
        "how many days until my {NOUN} gets here",
    ),
    "cancel_order": (
        "Please cancel order {ORDER}, I changed my mind.",
        "I want to cancel my order {ORDER} before it ships.",
        "How do I cancel purchase {ORDER}?",
        "Cancel order {ORDER} please, I ordered the wrong {NOUN}.",
    ),
    "change_order": (
        "Can I add another {NOUN} to order {ORDER}?",
        "I need to change the size in order {ORDER}.",
        "Is it possible to modify my order {ORDER}? I want a different colour.",
    ),
    "change_shipping_address": (
        "I moved, please change the delivery address for order {ORDER}.",
        "Can you ship order {ORDER} to a different address?",
        "wrong address on order {ORDER}, how do I update the shipping address",
    ),
    "complaint": (
        "Order {ORDER} arrived broken and nobody answers my emails. This is unacceptable!",
        "I am very unhappy with the {NOUN} from order {ORDER}, it is poor quality.",
        "Terrible service. My order {ORDER} was late and the {NOUN} is damaged.",
        "I want to make a complaint about order {ORDER}: the {NOUN} is faulty.",
    ),
    "payment_issue": (
        "My card was charged {AMOUNT} twice for order {ORDER}.",
        "The payment for order {ORDER} failed but I was charged {AMOUNT}.",
        "I cannot pay for order {ORDER}, the checkout keeps declining my card.",
    ),
    "get_invoice": (
        "Can you send me the invoice for order {ORDER} to {EMAIL}?",
        "I need a receipt for order {ORDER} ({AMOUNT}) for my expenses.",
        "Please email the invoice of order {ORDER}.",
    ),
    "review": (
        "Just wanted to say the {NOUN} from order {ORDER} is great, thank you!",
        "Very happy with my {NOUN}, fast delivery and lovely quality.",
        "Thanks, order {ORDER} arrived quickly and the {NOUN} is perfect.",
    ),
    "get_refund": (
        "I returned the {NOUN} from order {ORDER}, when do I get my refund of {AMOUNT}?",
        "Please refund {AMOUNT} for order {ORDER}, I sent the {NOUN} back.",
        "I want my money back for order {ORDER}, the {NOUN} did not fit.",
        "Still waiting for the refund for order {ORDER}. I returned it on {WHEN}.",
    ),
    "recover_password": (
        "I forgot my password, can you send a reset link to {EMAIL}?",
        "I can't log in, the password reset email never arrives.",
        "How do I reset my password?",
    ),
    "edit_account": (
        "How do I change the email on my account to {EMAIL}?",
        "I want to update my name and phone number in my account.",
        "Please update my account details.",
    ),
    "delete_account": (
        "Please delete my account and all my data.",
        "How can I close my account? My email is {EMAIL}.",
        "I want to remove my account permanently.",
    ),
    "newsletter_subscription": (
        "Please unsubscribe {EMAIL} from the newsletter.",
        "How do I sign up for your newsletter?",
        "Stop sending me marketing emails.",
    ),
    "contact_human_agent": (
        "I want to talk to a real person, not a bot.",
        "Can I speak to an agent please?",
        "Put me through to customer service staff, this is urgent.",
    ),
}
"""Text templates per intent (every intent of :data:`ORDER_INTENTS`, :data:`ACCOUNT_INTENTS`
and ``get_refund``)."""
