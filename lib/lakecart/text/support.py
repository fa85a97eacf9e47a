"""Customer-service rules around the intent classifier: entities, routing, priority, answers.

Pure Python / pandas (unit-tested without Spark), run on Spark in one ``mapInPandas`` pass
(:func:`tickets`):

* **Entities** (:func:`extract_entities`): ``order_id`` (a number after *order*,
  *purchase*, *parcel*, *package*, *shipment*, optionally with *number*/*no.*/*#*; else the
  message's landed ``order_id``), ``invoice_id`` (after *invoice*/*bill*/*receipt*),
  ``email`` and ``amount`` (a currency amount as written: ``$25.99``, ``1499 dollars``,
  ``EUR 30``).
* **Queue** (:class:`Routing`, ``conf/support_routing.yaml``): the intent's queue, the
  default queue for intents the file does not list, and the ``human`` queue when the
  confidence is below ``support.human_threshold``.
* **Priority** 1..5: the intent's base priority, +1 for a negative tone (VADER compound at
  or below ``support.negative_tone``), +1 for an urgent word (``urgent``, ``chargeback``...),
  plus the bonus of the customer's value tier (``gold.customer_scores``), capped to 1..5.
* **Suggested answer** (:class:`Answers`, ``conf/support_answers.yaml``): the intent's
  template with ``{order_id}``, ``{invoice_id}``, ``{email}`` and ``{amount}`` filled from
  the entities (written as the file's ``formats`` say: ``order O123``), or the file's
  defaults (``your order``...) when absent.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from lakecart import names as N
from lakecart.text.files import read_yaml
from lakecart.text.tokens import words

E_INVOICE_ID = "invoice_id"
ENTITY_KEYS = (N.E_ORDER_ID, E_INVOICE_ID, N.E_EMAIL, N.E_AMOUNT)

_ID = r"#?\s?([A-Za-z]{0,3}-?\d[\dA-Za-z-]{2,}\d)\b"
ORDER_RE = re.compile(
    r"(?i)\b(?:order|purchase|parcel|package|shipment)s?\s*"
    r"(?:number|num\.?|no\.?|nr\.?|id|ref(?:erence)?)?\s*[:#]?\s*" + _ID
)
INVOICE_RE = re.compile(
    r"(?i)\b(?:invoice|bill|receipt)s?\s*(?:number|num\.?|no\.?|nr\.?|id)?\s*[:#]?\s*"
    r"(#?[A-Za-z]{0,3}-?\d[\dA-Za-z-]{1,}\d)\b"
)
EMAIL_RE = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUM = r"\d[\d,]*(?:\.\d{1,2})?"
AMOUNT_RE = re.compile(
    rf"(?i)(?:[$€£]\s?{_NUM}|\b{_NUM}\s?(?:usd|eur|gbp|dollars?|euros?|pounds?|bucks)\b"
    rf"|\b(?:usd|eur|gbp)\s?{_NUM})"
)


def extract_entities(text: str | None, order_id: str | None = None) -> dict[str, str]:
    """Entities of one message (keys only when found; see the module docstring).

    Args:
        text: Message text.
        order_id: The message's landed order id, used when the text names none.
    """
    t = text or ""
    out: dict[str, str] = {}
    emails = EMAIL_RE.findall(t)
    scrubbed = EMAIL_RE.sub(" ", t)  # digits inside an address are no order number
    m = ORDER_RE.search(scrubbed)
    if m:
        out[N.E_ORDER_ID] = m.group(1)
    elif order_id:
        out[N.E_ORDER_ID] = str(order_id)
    m = INVOICE_RE.search(scrubbed)
    if m:
        out[E_INVOICE_ID] = m.group(1)
    if emails:
        out[N.E_EMAIL] = emails[0]
    m = AMOUNT_RE.search(scrubbed)
    if m:
        out[N.E_AMOUNT] = m.group(0).strip()
    return out


@dataclass(frozen=True)
class Routing:
    """Intent -> queue and base priority (see ``conf/support_routing.yaml``)."""

    queues: Mapping[str, str]
    default_queue: str = "general"
    human_queue: str = N.QUEUE_HUMAN
    priorities: Mapping[str, int] = field(default_factory=dict)
    default_priority: int = 2
    urgent_terms: tuple[tuple[str, ...], ...] = ()
    tier_bonus: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "routing") -> Routing:
        """Build from the YAML structure; raises ``ValueError`` naming a bad entry."""
        known = {
            "queues", "default_queue", "human_queue", "priorities", "default_priority",
            "urgent_terms", "tier_bonus",
        }  # fmt: skip
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        prios = {str(k).lower(): int(v) for k, v in (data.get("priorities") or {}).items()}
        bad = {k: v for k, v in prios.items() if not 1 <= v <= 5}
        if bad:
            raise ValueError(f"{where}: priorities must be 1..5, got {bad}")
        return cls(
            queues={str(k).lower(): str(v) for k, v in (data.get("queues") or {}).items()},
            default_queue=str(data.get("default_queue", "general")),
            human_queue=str(data.get("human_queue", N.QUEUE_HUMAN)),
            priorities=prios,
            default_priority=int(data.get("default_priority", 2)),
            urgent_terms=tuple(
                tuple(words(str(x))) for x in (data.get("urgent_terms") or ()) if words(str(x))
            ),
            tier_bonus={str(k).lower(): int(v) for k, v in (data.get("tier_bonus") or {}).items()},
        )

    @classmethod
    def load(cls, path: str) -> Routing:
        """Read a routing file."""
        return cls.from_mapping(read_yaml(path), path)

    def queue(self, intent: str | None, confidence: float, human_threshold: float) -> str:
        """The queue of a message: ``human`` below the threshold, else the intent's."""
        if intent is None or confidence < human_threshold:
            return self.human_queue
        return self.queues.get(intent.lower(), self.default_queue)

    def urgent(self, text: str | None) -> bool:
        """Whether ``text`` contains an urgent term (phrases match as token sequences)."""
        toks = words(text)
        for p in self.urgent_terms:
            n = len(p)
            if any(tuple(toks[i : i + n]) == p for i in range(len(toks) - n + 1)):
                return True
        return False

    def priority(
        self, intent: str | None, negative_tone: bool, urgent: bool, tier: str | None
    ) -> int:
        """Base priority of the intent + tone + urgency + the tier's bonus, within 1..5."""
        base = self.priorities.get((intent or "").lower(), self.default_priority)
        bonus = self.tier_bonus.get((tier or "").lower(), 0)
        return int(min(5, max(1, base + int(negative_tone) + int(urgent) + bonus)))


_SLOT = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Answers:
    """Intent -> answer template, with default slot values (``conf/support_answers.yaml``)."""

    templates: Mapping[str, str]
    defaults: Mapping[str, str] = field(default_factory=dict)
    formats: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], where: str = "answers") -> Answers:
        """Build from the YAML structure; raises ``ValueError`` naming a bad entry."""
        unknown = set(data) - {"answers", "defaults", "formats"}
        if unknown:
            raise ValueError(f"{where}: unknown keys {sorted(unknown)}")
        templates = {str(k).lower(): str(v).strip() for k, v in (data.get("answers") or {}).items()}
        defaults = {str(k): str(v) for k, v in (data.get("defaults") or {}).items()}
        formats = {str(k): str(v) for k, v in (data.get("formats") or {}).items()}
        bad = [k for k, v in formats.items() if v.count("{}") != 1]
        if bad:
            raise ValueError(f"{where}: formats {bad} must contain '{{}}' once")
        for intent, t in templates.items():
            missing = [s for s in _SLOT.findall(t) if s not in defaults]
            if missing:
                raise ValueError(f"{where}: answer of {intent!r} uses {missing} without a default")
        return cls(templates, defaults, formats)

    @classmethod
    def load(cls, path: str) -> Answers:
        """Read an answers file."""
        return cls.from_mapping(read_yaml(path), path)

    def answer(self, intent: str | None, entities: Mapping[str, str]) -> str | None:
        """The intent's template with its slots filled (None when it has no template): a
        found entity as its ``formats`` entry says (``order {}``), else the default."""
        t = self.templates.get((intent or "").lower())
        if t is None:
            return None

        def fill(m: re.Match) -> str:
            key = m.group(1)
            value = entities.get(key)
            if not value:
                return self.defaults[key]
            return self.formats.get(key, "{}").replace("{}", value)

        return _SLOT.sub(fill, t)


TICKET_INPUT = (
    N.MESSAGE_ID, N.CUSTOMER_ID, N.TEXT, N.ORDER_ID, N.INTENT, N.CONFIDENCE, N.VALUE_TIER,
)  # fmt: skip
TICKET_OUTPUT_DDL = (
    "message_id STRING, customer_id STRING, intent STRING, confidence DOUBLE, queue STRING, "
    "priority INT, entities_json STRING, suggested_answer STRING"
)


def route(
    frame: pd.DataFrame,
    routing: Routing,
    answers: Answers,
    human_threshold: float,
    negative_tone: float,
    tone: pd.Series | None = None,
) -> pd.DataFrame:
    """Queue, priority, entities and answer of each message (pure pandas).

    Args:
        frame: Columns :data:`TICKET_INPUT` (``value_tier`` may be None).
        routing: Queue and priority rules.
        answers: Answer templates.
        human_threshold: Confidence below which a message goes to the human queue.
        negative_tone: VADER compound at or below which the tone is negative.
        tone: VADER compound per row (computed from the text when None).

    Returns:
        Columns of :data:`TICKET_OUTPUT_DDL` (entities as a JSON object string).
    """
    if tone is None:
        from lakecart.text.vader import compound_scores

        tone = compound_scores(frame[N.TEXT])
    rows = []
    for r, t in zip(frame.itertuples(index=False), tone.to_numpy(), strict=True):
        d = r._asdict()
        intent, conf = d[N.INTENT], float(d[N.CONFIDENCE])
        ents = extract_entities(d[N.TEXT], d[N.ORDER_ID])
        queue = routing.queue(intent, conf, human_threshold)
        prio = routing.priority(
            intent, float(t) <= negative_tone, routing.urgent(d[N.TEXT]), d[N.VALUE_TIER]
        )
        rows.append(
            (
                d[N.MESSAGE_ID], d[N.CUSTOMER_ID], intent, conf, queue, prio,
                json.dumps(ents, sort_keys=True), answers.answer(intent, ents),
            )
        )  # fmt: skip
    cols = [p.split()[0] for p in TICKET_OUTPUT_DDL.split(", ")]
    out = pd.DataFrame(rows, columns=cols)
    return out.astype({N.PRIORITY: "int32", N.CONFIDENCE: "float64"})
