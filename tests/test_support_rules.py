"""Support rules on hand-made messages: entities, routing, priority and answer templates."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from lakecart import names as N
from lakecart.text.support import Answers, Routing, extract_entities, route


@pytest.fixture(scope="module")
def routing() -> Routing:
    return Routing.load("support_routing.yaml")  # the shipped rules (conf/)


@pytest.fixture(scope="module")
def answers() -> Answers:
    return Answers.load("support_answers.yaml")


@pytest.mark.parametrize(
    "text, landed, expected",
    [
        ("how can I cancel purchase 113542617735902?", None, {"order_id": "113542617735902"}),
        ("Where is my order #A-10442? mail me at ann.lee+shop@example.co.uk", None,
         {"order_id": "A-10442", "email": "ann.lee+shop@example.co.uk"}),
        ("i paid $160 for these item i need my money back", None, {"amount": "$160"}),
        ("refund 1,499.00 dollars for order number: O00000020025 asap", None,
         {"order_id": "O00000020025", "amount": "1,499.00 dollars"}),
        ("check invoice #12588 please", None, {"invoice_id": "12588"}),
        ("I ordered 2 weeks ago and nothing came", "O123456", {"order_id": "O123456"}),
        ("my order of 3 mugs is late", None, {}),
        ("write to me at 12345@example.com", None, {"email": "12345@example.com"}),
        ("Charged EUR 30 twice", None, {"amount": "EUR 30"}),
    ],
)  # fmt: skip
def test_entities_on_hand_made_messages(text, landed, expected):
    assert extract_entities(text, landed) == expected


def test_queue_follows_the_intent_file_with_default_and_human(routing):
    assert routing.queue("track_order", 0.9, 0.5) == "delivery"
    assert routing.queue("GET_REFUND", 0.9, 0.5) == "billing"
    assert routing.queue("an_intent_nobody_listed", 0.9, 0.5) == "general"
    assert routing.queue("track_order", 0.49, 0.5) == "human"
    assert routing.queue(None, 1.0, 0.5) == "human"


def test_priority_rises_with_tone_urgency_and_value(routing):
    # base: complaint 3, track_order default 2, review 1 (conf/support_routing.yaml)
    assert routing.priority("track_order", False, False, None) == 2
    assert routing.priority("track_order", True, False, None) == 3
    assert routing.priority("track_order", True, True, None) == 4
    assert routing.priority("track_order", False, False, "medium") == 3
    assert routing.priority("complaint", True, True, "high") == 5  # 3+1+1+2 capped
    assert routing.priority("review", False, False, "low") == 1
    assert routing.urgent("I need this sorted ASAP") and routing.urgent("this is a SCAM!")
    assert routing.urgent("I have been still waiting for weeks")  # a phrase
    assert not routing.urgent("no rush at all")


def test_answer_template_lookup(answers):
    a = answers.answer("cancel_order", {"order_id": "O42"})
    assert a is not None and "order O42" in a and "{" not in a
    assert "your order" in answers.answer("cancel_order", {})
    assert (
        answers.answer("get_invoice", {"invoice_id": "12588", "email": "a@b.co"}).count("a@b.co")
        == 1
    )
    assert answers.answer("no_such_intent", {}) is None
    custom = Answers.from_mapping(
        {"answers": {"x": "Hi, about {order_id}."}, "defaults": {"order_id": "it"}}
    )
    assert custom.answer("X", {"order_id": "9"}) == "Hi, about 9."
    assert custom.answer("x", {}) == "Hi, about it."
    with pytest.raises(ValueError, match="without a default"):
        Answers.from_mapping({"answers": {"x": "{amount}"}})


def test_route_builds_tickets(routing, answers):
    frame = pd.DataFrame(
        {
            N.MESSAGE_ID: ["m1", "m2", "m3"],
            N.CUSTOMER_ID: ["c1", None, "c3"],
            N.TEXT: [
                "Terrible! Order O7731 arrived broken, refund $20 immediately",
                "where is my parcel",
                "how do I reset my password",
            ],
            N.ORDER_ID: [None, "O88", None],
            N.INTENT: ["complaint", "track_order", "recover_password"],
            N.CONFIDENCE: [0.95, 0.3, 0.8],
            N.VALUE_TIER: ["high", None, "low"],
        }
    )
    tone = pd.Series([-0.8, 0.0, 0.0])
    out = route(frame, routing, answers, human_threshold=0.5, negative_tone=-0.3, tone=tone)
    assert out[N.QUEUE].tolist() == ["complaints", "human", "accounts"]
    assert out[N.PRIORITY].tolist() == [5, 2, 3]  # 3+1+1+2 -> 5; 2; recover_password 3
    assert [json.loads(e) for e in out["entities_json"]] == [
        {"order_id": "O7731", "amount": "$20"},
        {"order_id": "O88"},
        {},
    ]
    assert "order O7731" in out[N.SUGGESTED_ANSWER][0]
    assert out[N.INTENT].tolist() == frame[N.INTENT].tolist()
