"""The report job end to end on a tiny generated shop (generate_landing + ingest), with the
tables of the model stages written directly as small gold/ops tables: the marts are
published, the HTML is self-contained with the charts of every section, it renders in
headless Chromium without errors or network requests, and a lakehouse without orders
still gets a report of what exists."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from deltalake import DeltaTable

from lakecart import names as N
from lakecart.config import RunConfig
from lakecart.customers.specs import CUSTOMER_SCORES, CUSTOMER_SEGMENTS
from lakecart.forecast.specs import DEMAND_FORECAST, INVENTORY_PLAN
from lakecart.gold import GOLD_COMMON
from lakecart.jobs import report as report_job
from lakecart.report.browser import BrowserError, check_page, find_chromium
from lakecart.report.page import external_references
from lakecart.report.specs import COHORT_RETENTION, ITEM_SALES_WEEKLY, REPORT_SPECS, SALES_DAILY
from lakecart.runlog import tracked_run
from lakecart.schemas import DATA_QUALITY, MODEL_METRICS, QUARANTINE, RUNS, SILVER, TableSpec
from lakecart.tables import Lakehouse

REPO = Path(__file__).resolve().parents[1]
GOLD_DDL = ", model_version string, as_of date, generated_at timestamp"
NOW = dt.datetime(2024, 1, 1, 12)
AS_OF = dt.date(2024, 2, 1)


def config_for(base, root: Path, as_of: str | None = None):
    lake = dataclasses.replace(base.lakehouse, root=str(root))
    return dataclasses.replace(base, lakehouse=lake, run=RunConfig(as_of=as_of))


class Writes(list):
    """Writes to run later (several at once, in threads)."""

    def put(self, lh: Lakehouse, name: str, rows: list[tuple], ddl: str, as_of: dt.date) -> None:
        """A small gold table of another stage, as that stage publishes it."""
        df = lh.spark.createDataFrame([(*r, "v1", as_of, NOW) for r in rows], ddl + GOLD_DDL)
        path = lh.path(TableSpec(N.GOLD, name, "", ()))
        self.append(lambda: df.coalesce(1).write.format("delta").mode("overwrite").save(path))

    def add(self, lh: Lakehouse, rows: list[tuple], spec: TableSpec) -> None:
        """Rows appended to a declared table."""
        df = lh.spark.createDataFrame(rows, spec.schema)
        self.append(lambda: lh.append(df, spec))


def write_model_stage_tables(lh: Lakehouse, as_of: dt.date, items: list[str]) -> Writes:
    """Gold and ops rows as the customers, forecast, recommend, basket, fraud, sentiment,
    support and marketing stages write them (SPEC section 4 columns)."""
    w = Writes()
    segs = ["Champions", "Loyal", "At risk", "Lost", "New", "Hibernating"]
    seg_rows = [
        (
            f"c{i}",
            i % 90,
            1 + i % 7,
            10.0 * (1 + i % 13),
            1 + i % 5,
            1 + i % 5,
            1 + i % 5,
            segs[i % 6],
            i % 3,
        )
        for i in range(60)
    ]
    w.put(lh, N.CUSTOMER_SEGMENTS, seg_rows, _ddl(CUSTOMER_SEGMENTS), as_of)
    score_rows = [
        (f"c{i}", (i % 10) / 10, float(i % 17) * 3.0, (i % 7) / 7, "low") for i in range(60)
    ]
    w.put(lh, N.CUSTOMER_SCORES, score_rows, _ddl(CUSTOMER_SCORES), as_of)
    monday = as_of + dt.timedelta(days=(7 - as_of.weekday()) % 7)
    fc = [
        (item, monday + dt.timedelta(weeks=h), N.WEEK, h + 1, 5.0 + h, 2.0 + h, 9.0 + h)
        for item in items
        for h in range(4)
    ]
    w.put(lh, N.DEMAND_FORECAST, fc, _ddl(DEMAND_FORECAST), as_of)
    plan = [
        (item, "ABC"[k % 3], 1.0, 0.5, 7.0, 0.95, 2.0, 9.0, 20.0, float(k), k < 2, float(k))
        for k, item in enumerate(items)
    ]
    w.put(lh, N.INVENTORY_PLAN, plan, _ddl(INVENTORY_PLAN), as_of)
    w.put(
        lh,
        N.BASKET_RULES,
        [(["i1"], "i2", 0.02, 0.4, 3.1, 12), (["i1", "i3"], "i2", 0.01, 0.6, 4.0, 6)],
        "antecedent array<string>, consequent string, support double, confidence double, "
        "lift double, baskets bigint",
        as_of,
    )
    w.put(
        lh,
        N.BOUGHT_TOGETHER,
        [("i1", 1, "i2", 0.9, 12, 3.1), ("i1", 2, "i3", 0.5, 6, 2.0)],
        "item_id string, rank int, other_item_id string, score double, baskets bigint, lift double",
        as_of,
    )
    w.put(
        lh,
        N.FRAUD_SCORES,
        [
            (
                f"t{i}",
                f"c{i}",
                NOW,
                10.0 * i,
                i / 40,
                float(i),
                ["approve", "review", "block"][i % 3],
                ["device shared"],
            )
            for i in range(40)
        ],
        "transaction_id string, customer_id string, txn_ts timestamp, amount double, "
        "fraud_probability double, anomaly_score double, decision string, reasons array<string>",
        as_of,
    )
    w.put(
        lh,
        N.ITEM_SENTIMENT,
        [
            (f"i{i}", 5 + i, (i % 5) / 10, (i % 3) / 10, i % 4 == 0, ["soft"], ["small"])
            for i in range(12)
        ],
        "item_id string, reviews bigint, share_negative double, share_negative_prev double, "
        "alert boolean, top_positive_terms array<string>, top_negative_terms array<string>",
        as_of,
    )
    w.put(
        lh,
        N.SUPPORT_TICKETS,
        [
            (
                f"m{i}",
                f"c{i}",
                ["track_order", "refund", "complaint"][i % 3],
                0.5 + (i % 5) / 10,
                ["orders", "billing"][i % 2],
                1 + i % 2,
                {"order_id": "1"},
                "ok",
            )
            for i in range(30)
        ],
        "message_id string, customer_id string, intent string, confidence double, queue string, "
        "priority int, entities map<string,string>, suggested_answer string",
        as_of,
    )
    w.put(
        lh,
        N.CAMPAIGN_TARGETS,
        [
            (f"c{i}", offer, (i % 10) / 100, 0.1, 2.0 - i / 20, 0.5, 1.5 - i / 20, i + 1, i < 10)
            for i in range(40)
            for offer in ("mens", "womens")
        ],
        "customer_id string, offer string, uplift double, p_response double, "
        "expected_incremental_revenue double, cost double, expected_profit double, rank int, "
        "send boolean",
        as_of,
    )
    jobs = ("customers", "forecast", "recommend", "fraud")
    runs = [
        (f"run-{j}", j, "{}", N.SUCCEEDED, NOW, NOW + dt.timedelta(seconds=30 + k), 1, 1, None)
        for k, j in enumerate(jobs)
    ]
    w.add(lh, runs, RUNS)
    m = []
    for b in range(1, 6):  # churn reliability bins: predicted, observed, count
        p = (b - 0.5) / 5
        m += [
            (
                "run-customers",
                N.M_CHURN,
                "v1",
                "demo",
                as_of,
                N.SPLIT_VALIDATION,
                f"reliability_{name}",
                b,
                v,
                N.B_RECENCY_CALIBRATED,
                None,
            )
            for name, v in (("predicted", p), ("observed", p * 0.9), ("count", 10.0 * b))
        ]
    for h in range(1, 5):
        m.append(
            (
                "run-forecast",
                "gbt_forecast",
                "v1",
                "demo",
                as_of,
                N.SPLIT_BACKTEST,
                "wape",
                h,
                0.4 + h / 50,
                "naive",
                0.6,
            )
        )
        m.append(
            (
                "run-forecast",
                "naive",
                "v1",
                "demo",
                as_of,
                N.SPLIT_BACKTEST,
                "wape",
                h,
                0.6,
                None,
                None,
            )
        )
    for model, v in (("als", 0.12), ("popular", 0.05), ("hybrid", 0.14)):
        for metric in ("precision", "ndcg", "coverage"):
            m.append(
                (
                    "run-recommend",
                    model,
                    "v1",
                    "demo",
                    as_of,
                    N.SPLIT_HOLDOUT,
                    metric,
                    10,
                    v,
                    "popular",
                    0.05,
                )
            )
    for metric, v, bv in (("precision_at_1pct", 0.7, 0.3), ("recall_at_1pct", 0.2, 0.1)):
        m.append(
            (
                "run-fraud",
                "fraud_gbt",
                "v1",
                "demo",
                as_of,
                N.SPLIT_HOLDOUT,
                metric,
                None,
                v,
                "rules",
                bv,
            )
        )
    w.add(lh, m, MODEL_METRICS)
    return w


def _ddl(spec: TableSpec) -> str:
    own = [c for c in spec.columns if c not in GOLD_COMMON]
    return ", ".join(f"`{c.name}` {c.dtype.simpleString()}" for c in own)


def small_shop(seed: int = 7) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Silver orders, products and events of a tiny seeded shop (numpy, no Spark): 60
    customers, 20 items in 4 categories, 2 channels, ~400 days, returns and guests, and a
    purchase session per registered order plus browse-only sessions; a few rows fall on or
    after AS_OF."""
    rng = np.random.default_rng(seed)
    cats = ["Home > Kitchen", "Toys", "Garden > Tools", "Books"]
    products = [(f"i{i:02d}", f"Item {i}", cats[i % 4]) for i in range(20)]
    start = dt.datetime(2023, 1, 2)
    orders, events = [], []
    for k in range(450):
        guest = rng.random() < 0.05
        c = int(rng.integers(0, 60))
        cust = None if guest else f"c{c}"
        ts = start + dt.timedelta(days=int(rng.integers(0, 410)), hours=int(rng.integers(8, 22)))
        country, channel = ["FR", "DE", "GB", "ES"][c % 4], ["web", "app"][c % 2]
        items = rng.choice(20, size=int(rng.integers(1, 4)), replace=False)
        for i in items:
            q, p = float(rng.integers(1, 5)), float(rng.integers(5, 50))
            orders.append((f"o{k}", cust, ts, f"i{i:02d}", q, p, country, channel))
            if rng.random() < 0.05:
                back = ts + dt.timedelta(days=7)
                orders.append((f"r{k}", cust, back, f"i{i:02d}", -1.0, p, country, channel))
        if cust:
            s = f"s{k}"
            for n, i in enumerate(items):
                events.append((ts - dt.timedelta(minutes=9 - n), cust, s, "view", f"i{i:02d}"))
            events.append((ts - dt.timedelta(minutes=2), cust, s, "cart", f"i{items[0]:02d}"))
            events.append((ts, cust, s, "purchase", f"i{items[0]:02d}"))
    for b in range(300):
        cust = f"c{int(rng.integers(0, 80))}"  # c60-c79 never order
        ts = start + dt.timedelta(days=int(rng.integers(0, 410)), hours=int(rng.integers(0, 24)))
        i = int(rng.integers(0, 20))
        events.append((ts, cust, f"b{b}", "view", f"i{i:02d}"))
        if rng.random() < 0.2:
            events.append((ts + dt.timedelta(minutes=1), cust, f"b{b}", "cart", f"i{i:02d}"))
    return orders, products, events


def write_silver(lh: Lakehouse, orders: list, products: list, events: list) -> Writes:
    """Silver rows as ingest writes them (lineage included), plus ops.data_quality and
    silver.quarantine rows in ingest's format (to run later)."""

    def lineage(rows: list[tuple], entity: str) -> list[tuple]:
        return [
            (*r, "canonical", f"{entity}.csv", n + 1, "ingest-1", NOW) for n, r in enumerate(rows)
        ]

    o = [(*r[:6], r[4] * r[5], r[4] < 0, r[6], r[7], None) for r in orders]
    p = [(i, t, None, c, None, 10.0, None) for i, t, c in products]
    counts = {N.ORDERS: len(o), N.PRODUCTS: len(p), N.EVENTS: len(events)}
    dq = [
        ("ingest-1", f"silver.{e}", "row_accounting", True, 0,
         f"bronze={n + 3} silver={n} quarantine=2 duplicates=1 files=1")
        for e, n in counts.items()
    ]  # fmt: skip
    q = [
        ("ingest-1", e, reason, "x", {"a": "1"}, None, "canonical", f"{e}.csv", 900 + k, NOW)
        for k, (e, reason) in enumerate([(e, r) for e in counts for r in (N.R_BAD_TS, N.R_MISSING)])
    ]
    w = Writes()
    w.add(lh, lineage(o, N.ORDERS), SILVER[N.ORDERS])
    w.add(lh, lineage(p, N.PRODUCTS), SILVER[N.PRODUCTS])
    w.add(lh, lineage(events, N.EVENTS), SILVER[N.EVENTS])
    w.add(lh, dq, DATA_QUALITY)
    w.add(lh, q, QUARANTINE)
    return w


@pytest.fixture(scope="module")
def shop(spark, base_config, tmp_root):
    """A tiny shop in silver, the model stages' tables, then the report job."""
    root = tmp_root / "report_shop"
    cfg = config_for(base_config, root, as_of=AS_OF.isoformat())
    lh = Lakehouse(spark, cfg.lakehouse)
    orders, products, events = small_shop()
    writes = [
        *write_silver(lh, orders, products, events),
        *write_model_stage_tables(lh, AS_OF, ["i00", "i01", "i02"]),
    ]
    with ThreadPoolExecutor(4) as pool:  # small independent writes: overlap their latency
        list(pool.map(lambda f: f(), writes))
    with tracked_run(lh, "report", {"test": True}) as ctx:
        result = report_job.build(spark, cfg, lh, ctx, AS_OF)
    return cfg, lh, orders, result


def test_marts_published_and_reconciled(shop):
    """Totals of the published marts, read from outside with delta-rs, equal those of the
    silver rows computed in plain Python."""
    _, lh, orders, result = shop
    for spec in REPORT_SPECS:
        assert result[spec.full_name] > 0, spec.full_name
    cut = [r for r in orders if r[2] < dt.datetime.combine(AS_OF, dt.time())]
    assert len(cut) < len(orders)
    revenue = sum(r[4] * r[5] for r in cut)
    sales = [r for r in cut if r[4] > 0]
    n_orders = len({r[0] for r in sales})
    customers = len({r[1] for r in sales if r[1] is not None})
    sd = DeltaTable(lh.path(SALES_DAILY)).to_pandas()
    assert set(sd[N.AS_OF]) == {AS_OF}
    assert sd[N.REVENUE].sum() == pytest.approx(revenue, abs=1e-6)
    assert (sd[N.ORDERS_ATTRIBUTED].sum(), sd[N.NEW_CUSTOMERS].sum()) == (n_orders, customers)
    cohorts = DeltaTable(lh.path(COHORT_RETENTION)).to_pandas()
    assert cohorts.loc[cohorts[N.MONTHS_SINCE] == 0, N.COHORT_CUSTOMERS].sum() == customers
    weekly = DeltaTable(lh.path(ITEM_SALES_WEEKLY)).to_pandas()
    assert weekly[N.REVENUE].sum() == pytest.approx(revenue, abs=1e-6)


def test_report_html_is_self_contained(shop):
    *_, result = shop
    assert "section_errors" not in result, result.get("section_errors")
    path = Path(result["report"])
    assert path == Path(result["latest"]).parent.parent / AS_OF.isoformat() / "index.html"
    html = path.read_text(encoding="utf-8")
    assert html == Path(result["latest"]).read_text(encoding="utf-8")
    assert external_references(html) == []
    assert not re.search(r"<script[^>]+src=", html, re.I)
    assert not re.search(r"<link[^>]+stylesheet", html, re.I)
    assert html.count('class="plotly-graph-div"') == result["charts"] >= 8
    assert html.count("* plotly.js v") == 1  # the library embedded once
    # every section whose tables exist is shown, with titled charts and their sentences
    assert {
        "quality",
        "sales",
        "items",
        "cohorts",
        "funnel",
        "customers",
        "forecast",
        "recommend",
        "basket",
        "fraud",
        "sentiment",
        "support",
        "marketing",
    } <= set(result["sections"])
    assert html.count("<figcaption>") >= result["charts"]
    # the self-containment check itself finds what it must
    bad = '<img src="https://cdn.example/x.png"><link rel="stylesheet" href="//fonts.example/f.css"><div style="background:url(http://x/y.png)"></div>'
    assert external_references(bad) == [
        "https://cdn.example/x.png",
        "//fonts.example/f.css",
        "http://x/y.png",
    ]


def test_report_renders_in_chromium(shop, tmp_root):
    *_, result = shop
    if find_chromium() is None:
        pytest.skip("Chromium is not installed (scripts/ensure-chromium.sh installs it as root)")
    shot = tmp_root / "report_screenshot.png"
    try:
        check = check_page(result["report"], screenshot=shot, width=1400, height=4000)
    except BrowserError as e:
        pytest.skip(f"Chromium could not run here: {e}")
    assert check.errors == []
    assert check.requests == []
    assert check.charts == result["charts"] and check.drawn == check.charts
    assert check.title.startswith("lakecart report")
    assert check.non_background is not None and check.non_background > 0.05  # not blank
    assert shot.stat().st_size > 20_000
    # the same check flags a page that errs and fetches
    bad = tmp_root / "bad.html"
    bad.write_text(
        '<html><body><img src="http://127.0.0.1:9/x.png">'
        "<script>console.error('x'); throw new Error('boom')</script></body></html>"
    )
    worse = check_page(bad, height=400, settle=0.5)
    assert worse.requests == ["http://127.0.0.1:9/x.png"]
    assert any("boom" in e for e in worse.errors) and any(
        "console.error" in e for e in worse.errors
    )


def test_report_without_orders(spark, base_config, tmp_root):
    """Only customers in silver: the marts skip, the report renders what exists."""
    root = tmp_root / "report_no_orders"
    cfg = config_for(base_config, root, as_of="2024-01-01")
    lh = Lakehouse(spark, cfg.lakehouse)
    rows = [
        (f"c{i}", None, "FR", None, None, None, "canonical", "c.csv", i, "r", NOW) for i in range(3)
    ]
    lh.append(spark.createDataFrame(rows, SILVER[N.CUSTOMERS].schema), SILVER[N.CUSTOMERS])
    with tracked_run(lh, "report", {"test": True}) as ctx:
        result = report_job.run(spark, cfg, lh, ctx, report_job_args())
    assert result["skipped_sales_marts"] == "silver has no orders"
    assert result["skipped_funnel"] == "silver has no events"
    assert not any(lh.exists(s) for s in REPORT_SPECS)
    assert "sales" in result["not_shown"] and "section_errors" not in result
    html = Path(result["report"]).read_text(encoding="utf-8")
    assert "Not shown" in html and "no gold.sales_daily in this lakehouse" in html
    assert external_references(html) == []


def report_job_args():
    import argparse

    p = argparse.ArgumentParser()
    report_job.add_arguments(p)
    return p.parse_args([])
