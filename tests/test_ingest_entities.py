"""The entities and sources of the second half: customer attributes, unrated reviews,
messages and IP ranges in the canonical format; the Hillstrom and Bitext sources; and a
landing without orders, whose decision date comes from its other timestamps."""

from __future__ import annotations

import csv
import datetime as dt

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.schemas import QUARANTINE, SILVER
from tests.conftest import DATASETS, need
from tests.helpers import run_cli

HILLSTROM = DATASETS / "hillstrom_email" / "hillstrom.csv"
BITEXT = DATASETS / "bitext_customer_support"


def _write(path, header, rows):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)


def _ingest(cfg, source, path):
    code, err = run_cli(
        "ingest", ["--source", source, "--path", str(path), "--lakehouse", cfg.lakehouse.root]
    )
    assert code == 0, err


def test_canonical_landing_without_orders(spark, lake, tmp_path):
    cfg, lh = lake
    land = tmp_path / "landing"
    _write(
        land / "customers.csv",
        ["customer_id", "signup_ts", "country", "loyalty_card", "tier"],
        [["c1", "2024-01-02 10:00:00", "FR", "yes", "gold"], ["c2", "", "DE", "", "basic"]],
    )
    _write(
        land / "reviews.csv",
        ["review_id", "item_id", "rating", "text", "review_ts"],
        [
            ["r1", "i1", "5", "Lovely fit", "2024-02-01 09:00:00"],
            ["r2", "i1", "", "Not rated yet", "2024-02-03 09:00:00"],
        ],
    )
    _write(
        land / "messages.csv",
        ["message_id", "customer_id", "sent_ts", "channel", "text", "intent", "order_id"],
        [
            [
                "m1",
                "c1",
                "2024-02-05 08:00:00",
                "Chat",
                " Where is  my order 123? ",
                "Track_Order",
                "123",
            ],
            ["m2", "", "2024-02-04 08:00:00", "email", "refund please", "", ""],
        ],
    )
    _write(
        land / "transactions.csv",
        ["transaction_id", "customer_id", "txn_ts", "amount", "label"],
        [
            ["t1", "c1", "2024-02-10 23:59:00", "12.5", "1"],
            ["t2", "c2", "2024-02-09 10:00:00", "7", ""],
        ],
    )
    _write(
        land / "ip_ranges.csv",
        ["lower", "upper", "country"],
        [["16777216", "16777471.0", "Australia"], ["200", "100", "Nowhere"]]
        + [[str(1000 * k), str(1000 * k + 999), "Testland"] for k in range(1, 11)],
    )
    _ingest(cfg, "canonical", land)

    # further customer columns become attributes (empty values left out)
    cust = lh.read(SILVER[N.CUSTOMERS]).select(N.CUSTOMER_ID, N.COUNTRY, N.ATTRIBUTES)
    assertDataFrameEqual(
        cust,
        spark.createDataFrame(
            [
                ("c1", "FR", {"loyalty_card": "yes", "tier": "gold"}),
                ("c2", "DE", {"tier": "basic"}),
            ],
            "customer_id string, country string, attributes map<string,string>",
        ),
    )
    # an unrated review is kept with a NULL rating
    rev = lh.read(SILVER[N.REVIEWS]).select(N.REVIEW_ID, N.RATING)
    assertDataFrameEqual(
        rev, spark.createDataFrame([("r1", 5.0), ("r2", None)], "review_id string, rating double")
    )
    msg = lh.read(SILVER[N.MESSAGES]).select(
        N.MESSAGE_ID, N.CUSTOMER_ID, N.CHANNEL, N.TEXT, N.INTENT, N.ORDER_ID
    )
    assertDataFrameEqual(
        msg,
        spark.createDataFrame(
            [
                ("m1", "c1", "chat", "Where is my order 123?", "track_order", "123"),
                ("m2", None, "email", "refund please", None, None),
            ],
            "message_id string, customer_id string, channel string, text string, intent string, "
            "order_id string",
        ),
    )
    ip = lh.read(SILVER[N.IP_RANGES]).select(N.IP_LOWER, N.IP_UPPER, N.COUNTRY)
    want_ip = [(16777216, 16777471, "Australia")]
    want_ip += [(1000 * k, 1000 * k + 999, "Testland") for k in range(1, 11)]
    assertDataFrameEqual(
        ip, spark.createDataFrame(want_ip, "lower long, upper long, country string")
    )
    q = lh.read(QUARANTINE).filter(F.col(N.ENTITY) == N.IP_RANGES).select(N.REASON).first()
    assert q[N.REASON] == N.R_BAD_VALUE
    # no orders, events or ratings: the day after the latest timestamp of any entity
    assert resolve_as_of(lh, cfg) == dt.date(2024, 2, 11)
    # features has nothing to build and skips (exit 0) instead of failing the pipeline
    code, err = run_cli("features", ["--lakehouse", cfg.lakehouse.root])
    assert code == 0, err


def test_hillstrom_customers_and_campaigns(spark, lake, tmp_path):
    cfg, lh = lake
    src = need(HILLSTROM)
    with open(src, newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    header, body = rows[0], rows[1:301]
    _write(tmp_path / "h" / "hillstrom.csv", header, body)
    _ingest(cfg, "hillstrom", tmp_path / "h")

    idx = {c: i for i, c in enumerate(header)}
    outcome = {"segment", "visit", "conversion", "spend"}
    want_cust = [
        (str(n), {c: r[i] for c, i in idx.items() if c not in outcome})
        for n, r in enumerate(body, 1)
    ]
    offer = {"Mens E-Mail": "mens", "Womens E-Mail": "womens", "No E-Mail": "control"}
    want_camp = [
        (str(n), offer[r[idx["segment"]]], r[idx["visit"]] == "1", float(r[idx["spend"]]))
        for n, r in enumerate(body, 1)
    ]
    # every row is a customer, even where two rows have the same values (no de-duplication)
    assertDataFrameEqual(
        lh.read(SILVER[N.CUSTOMERS]).select(N.CUSTOMER_ID, N.ATTRIBUTES),
        spark.createDataFrame(want_cust, "customer_id string, attributes map<string,string>"),
    )
    camp = lh.read(SILVER[N.CAMPAIGNS])
    assertDataFrameEqual(
        camp.select(N.CUSTOMER_ID, N.OFFER, N.RESPONDED, N.REVENUE),
        spark.createDataFrame(
            want_camp, "customer_id string, offer string, responded boolean, revenue double"
        ),
    )
    assert {r[0] for r in camp.select(N.CAMPAIGN_ID).distinct().collect()} == {"hillstrom-2008"}
    assert resolve_as_of(lh, cfg) == dt.date(2008, 3, 2)


def test_bitext_messages(spark, lake, tmp_path):
    cfg, lh = lake
    src = need(BITEXT)
    want = []
    for split, name in (
        ("training", "Bitext_Sample_Customer_Service_Training_Dataset.csv"),
        ("testing", "Bitext_Sample_Customer_Service_Testing_Dataset.csv"),
    ):
        with open(src / name, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))
        _write(tmp_path / "b" / name, rows[0], rows[1:41])
        want += [
            (f"{split}-{n}", " ".join(r[0].split()), r[1].lower())
            for n, r in enumerate(rows[1:41], 1)
        ]
    _ingest(cfg, "bitext", tmp_path / "b")
    assertDataFrameEqual(
        lh.read(SILVER[N.MESSAGES]).select(N.MESSAGE_ID, N.TEXT, N.INTENT),
        spark.createDataFrame(want, "message_id string, text string, intent string"),
    )


@pytest.mark.parametrize("source", ["hillstrom", "bitext"])
def test_new_sources_refuse_an_empty_folder(spark, lake, tmp_path, source):
    cfg, _ = lake
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("nothing here")
    code, err = run_cli(
        "ingest",
        ["--source", source, "--path", str(tmp_path / "empty"), "--lakehouse", cfg.lakehouse.root],
    )
    assert code == 1 and "no .csv file found" in err
