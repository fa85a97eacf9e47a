"""The ``support`` job end to end on a small hand-built silver.messages table."""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import re

import numpy as np
import pytest
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart import synth_text as TX
from lakecart.customers.specs import CUSTOMER_SCORES
from lakecart.gold import with_gold_columns
from lakecart.runlog import RunContext, tracked_run
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.tables import Lakehouse
from lakecart.text.specs import SUPPORT_TICKETS

AS_OF = dt.date(2024, 7, 1)
HAND = {  # unlabelled hand-made messages: (text, landed order_id, customer)
    "H1": ("Where is my order O00001230001? It has not arrived yet. Mail me at jo@example.com",
           None, "C1"),
    "H2": ("Where is my order O00001230001? It has not arrived yet. Mail me at jo@example.com",
           None, "C2"),
    "H3": ("I want my money back, the coat did not fit", "O00009990001", "C3"),
}  # fmt: skip


def _messages() -> list[tuple]:
    """(message_id, customer_id, sent_ts, channel, text, intent, order_id) rows."""
    rng = np.random.default_rng(11)
    slots = {
        "ORDER": lambda: f"O{rng.integers(10**10, 10**11)}",
        "AMOUNT": lambda: f"${rng.integers(5, 300)}.{rng.integers(10, 99)}",
        "EMAIL": lambda: f"c{rng.integers(1000)}@example.com",
        "NOUN": lambda: str(rng.choice(["dress", "lamp", "mug", "tent"])),
        "WHEN": lambda: str(rng.choice(TX.WHEN)),
    }
    rows = []
    t0 = dt.datetime(2024, 3, 1)
    for intent, templates in sorted(TX.MESSAGE_TEMPLATES.items()):
        for i in range(14):
            text = re.sub(
                r"\{(\w+)\}", lambda m: slots[m.group(1)](), templates[i % len(templates)]
            )
            labelled = i < 11
            ts = t0 + dt.timedelta(hours=int(rng.integers(0, 2000)))
            rows.append(
                (f"M{len(rows):04d}", f"C{i + 10}", ts, "chat", text,
                 intent if labelled else None, None, intent)
            )  # fmt: skip
    for mid, (text, order, cust) in HAND.items():
        rows.append((mid, cust, dt.datetime(2024, 6, 30), "email", text, None, order, None))
    return rows


@pytest.fixture(scope="module")
def support_lake(spark, base_config, tmp_path_factory):
    root = tmp_path_factory.mktemp("support") / "lake"
    cfg = dataclasses.replace(
        base_config,
        lakehouse=dataclasses.replace(base_config.lakehouse, root=str(root)),
        run=dataclasses.replace(base_config.run, as_of=AS_OF.isoformat()),
        support=dataclasses.replace(
            base_config.support, c_values=[10.0], max_iter=40, char_ngrams=[3, 4], hash_bits=12
        ),
    )
    lh = Lakehouse(spark, cfg.lakehouse)
    rows = _messages()
    df = spark.createDataFrame(
        [r[:7] for r in rows],
        "message_id string, customer_id string, sent_ts timestamp, channel string, text string, "
        "intent string, order_id string",
    ).withColumns(
        {
            "_source": F.lit("test"),
            "_source_file": F.lit("messages.csv"),
            "_row_number": F.monotonically_increasing_id(),
            "_run_id": F.lit("test"),
            "_ingested_at": F.current_timestamp(),
        }
    )
    lh.append(df, SILVER[N.MESSAGES])
    scores = spark.createDataFrame(
        [("C1", 0.1, 500.0, 0.9, N.TIER_HIGH), ("C2", 0.5, 1.0, 0.1, N.TIER_LOW)],
        "customer_id string, churn_probability double, clv_90d double, "
        "purchase_probability_30d double, value_tier string",
    )
    lh.append(with_gold_columns(scores, "test", AS_OF), CUSTOMER_SCORES)
    from lakecart.jobs import support

    with tracked_run(lh, "support", {}) as ctx:
        result = support.run(spark, cfg, lh, ctx, argparse.Namespace())
    tickets = lh.read(SUPPORT_TICKETS).toPandas().set_index(N.MESSAGE_ID)
    return cfg, lh, rows, result, ctx.run_id, tickets


def test_every_message_gets_a_ticket(support_lake):
    _, _, rows, result, _, tickets = support_lake
    assert "skipped" not in result, result
    assert sorted(tickets.index) == sorted(r[0] for r in rows)
    assert tickets[N.CONFIDENCE].between(0, 1).all()
    assert tickets[N.PRIORITY].between(1, 5).all()


def test_unlabelled_messages_are_classified(support_lake):
    _, _, rows, _, _, tickets = support_lake
    truth = {r[0]: r[7] for r in rows if r[5] is None and r[7] is not None}
    hits = sum(tickets.loc[m, N.INTENT] == t for m, t in truth.items())
    assert hits / len(truth) >= 0.8, (hits, len(truth))
    assert tickets.loc["H1", N.INTENT] == "track_order"
    assert tickets.loc["H3", N.INTENT] == "get_refund"


def test_entities_routing_answers_and_priority(support_lake):
    cfg, _, _, _, _, tickets = support_lake
    h1, h2, h3 = (tickets.loc[m] for m in ("H1", "H2", "H3"))
    assert dict(h1[N.ENTITIES_MAP]) == {"order_id": "O00001230001", "email": "jo@example.com"}
    assert dict(h3[N.ENTITIES_MAP]) == {"order_id": "O00009990001"}  # the landed order id
    assert "order O00001230001" in h1[N.SUGGESTED_ANSWER]
    expected = "delivery" if h1[N.CONFIDENCE] >= cfg.support.human_threshold else "human"
    assert h1[N.QUEUE] == expected
    # same text: the high-value customer (tier bonus 2) outranks the low-value one (0)
    assert h1[N.PRIORITY] == min(5, h2[N.PRIORITY] + 2)
    low = tickets[tickets[N.CONFIDENCE] < cfg.support.human_threshold]
    assert (low[N.QUEUE] == "human").all()


def test_metrics_beside_the_keyword_baseline(support_lake):
    _, lh, _, result, run_id, _ = support_lake
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == run_id).toPandas()
    assert set(m[N.METRIC]) == {"accuracy", "macro_f1"}
    assert set(m[N.BASELINE]) == {N.B_KEYWORDS} and m[N.BASELINE_VALUE].notna().all()
    acc = m[m[N.METRIC] == "accuracy"][N.VALUE].iloc[0]
    assert acc == pytest.approx(result["validation_accuracy"]) and acc >= 0.8


def test_skips_without_messages(spark, lake):
    from lakecart.jobs import support

    cfg, lh = lake
    ctx = RunContext("test", "support", {}, dt.datetime(2024, 1, 1))
    out = support.run(spark, cfg, lh, ctx, argparse.Namespace())
    assert out["skipped"] == "silver has no messages"
    assert not lh.exists(SUPPORT_TICKETS)
