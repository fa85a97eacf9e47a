"""ingest on slices of the real datasets: row accounting against an independent count,
idempotent re-runs, incremental days, and the other sources."""

from __future__ import annotations

import csv
import io
import shutil
from collections import Counter

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.schemas import BRONZE, DATA_QUALITY, QUARANTINE, SILVER
from lakecart.tables import Lakehouse
from tests.conftest import FRAUD, ML100K, ML_LATEST, ONLINE_RETAIL_DAYS, WOMENS, need
from tests.helpers import run_cli, table_versions

# 2010-12-01: first day (cancellations, guests); 2011-08-12: bad-debt adjustments;
# 2011-10-31: has exact duplicate lines and stock write-offs.
OR_DAYS = ["2010-12-01.csv", "2011-08-12.csv", "2011-10-31.csv"]


def expected_online_retail(files):
    """Independent accounting of Online Retail lines with the csv module."""
    total = 0
    reasons: Counter[str] = Counter()
    valid_lines: Counter[tuple] = Counter()
    for f in files:
        with open(f, newline="", encoding="utf-8") as fh:
            rows = list(csv.reader(fh))[1:]
        for row in rows:
            total += 1
            inv, _code, _desc, qty, _ts, price = row[:6]
            qty, price = float(qty), float(price)
            if inv.startswith("A"):
                reasons[N.R_ADJUSTMENT] += 1
            elif price < 0 or (price == 0 and qty < 0):
                reasons[N.R_BAD_PRICE] += 1
            elif qty == 0:
                reasons[N.R_BAD_QUANTITY] += 1
            else:
                valid_lines[tuple(row)] += 1
    duplicates = sum(n - 1 for n in valid_lines.values())
    return total, sum(valid_lines.values()) - duplicates, reasons, duplicates


@pytest.fixture(scope="module")
def or_slice(tmp_root):
    src = need(ONLINE_RETAIL_DAYS)
    d = tmp_root / "or_slice"
    d.mkdir(exist_ok=True)
    for name in OR_DAYS:
        shutil.copy(src / name, d / name)
    return d


def test_online_retail_slice_accounting_and_rerun(spark, lake, or_slice):
    cfg, lh = lake
    args = [
        "--source",
        "online_retail",
        "--path",
        str(or_slice),
        "--lakehouse",
        cfg.lakehouse.root,
        "--set",
        "spark.shuffle_partitions=2",
    ]
    code, err = run_cli("ingest", args)
    assert code == 0, err

    total, silver_n, reasons, dups = expected_online_retail(sorted(or_slice.glob("*.csv")))
    assert lh.read(BRONZE[N.ORDERS]).count() == total
    assert lh.read(SILVER[N.ORDERS]).count() == silver_n
    q = lh.read(QUARANTINE).filter(F.col(N.ENTITY) == N.ORDERS)
    got = {r[N.REASON]: r["count"] for r in q.groupBy(N.REASON).count().collect()}
    assert got == dict(reasons)
    dq = {
        r[N.CHECK]: r
        for r in lh.read(DATA_QUALITY).filter(F.col(N.TABLE) == "silver.orders").collect()
    }
    assert dq["row_accounting"][N.PASSED] is True
    assert dq["duplicates_removed"][N.FAILED_ROWS] == dups
    assert dups > 0 and reasons[N.R_ADJUSTMENT] == 3

    # silver typing: ids without the float artefact, guests NULL, returns flagged
    s = lh.read(SILVER[N.ORDERS])
    assert s.filter(F.col(N.CUSTOMER_ID).endswith(".0")).count() == 0
    assert s.filter(F.col(N.CUSTOMER_ID).isNull()).count() > 0
    returns = s.filter(F.col(N.IS_RETURN))
    assert (
        returns.count()
        == returns.filter(F.col(N.ORDER_ID).startswith("C") & (F.col(N.QUANTITY) < 0)).count()
        > 0
    )
    # derived catalogue and customers; service lines (postage, manual, fees...) are marked
    products = lh.read(SILVER[N.PRODUCTS])
    assert products.filter(F.col(N.TITLE).isNull()).count() == 0
    service = {"POST", "DOT", "M", "C2", "BANK CHARGES", "AMAZONFEE", "CRUK", "D", "S", "PADS"}
    codes = set()
    for f in sorted(or_slice.glob("*.csv")):
        with open(f, newline="", encoding="utf-8") as fh:
            codes |= {r["StockCode"].strip() for r in csv.DictReader(fh)}
    flagged = products.filter(F.col(N.CATEGORY) == "non-merchandise").select(N.ITEM_ID)
    vouchers = {c for c in codes if c.lower().startswith("gift_")}
    want = {c for c in codes if c.upper() in service} | vouchers
    assert {r[0] for r in flagged.collect()} == want != set()
    assert (
        lh.read(SILVER[N.CUSTOMERS]).count() == s.select(N.CUSTOMER_ID).dropna().distinct().count()
    )

    # the same files again: no table changes
    before = table_versions(lh)
    code, err = run_cli("ingest", args)
    assert code == 0, err
    after = table_versions(lh)
    data_tables = [k for k in before if not k.startswith("ops.")]
    assert {k: after[k] for k in data_tables} == {k: before[k] for k in data_tables}


def test_online_retail_new_day_adds_only_that_day(spark, lake, or_slice, tmp_path):
    cfg, lh = lake
    folder = tmp_path / "days"
    folder.mkdir()
    for name in OR_DAYS[:2]:
        shutil.copy(or_slice / name, folder / name)
    args = [
        "--source",
        "online_retail",
        "--path",
        str(folder),
        "--lakehouse",
        cfg.lakehouse.root,
        "--set",
        "spark.shuffle_partitions=2",
    ]
    assert run_cli("ingest", args)[0] == 0
    first = {r["_source_file"]: (r["n"], r["run"]) for r in _by_file(lh)}
    shutil.copy(or_slice / OR_DAYS[2], folder / OR_DAYS[2])
    assert run_cli("ingest", args)[0] == 0
    second = {r["_source_file"]: (r["n"], r["run"]) for r in _by_file(lh)}
    new = set(second) - set(first)
    assert len(new) == 1 and next(iter(new)).endswith(OR_DAYS[2])
    for f, (n, run) in first.items():  # old days untouched: same rows, same run id
        assert second[f] == (n, run)
    total, silver_n, _, _ = expected_online_retail(sorted(folder.glob("*.csv")))
    assert lh.read(SILVER[N.ORDERS]).count() == silver_n


def _by_file(lh: Lakehouse):
    return (
        lh.read(BRONZE[N.ORDERS])
        .groupBy("_source_file")
        .agg(F.count(F.lit(1)).alias("n"), F.max("_run_id").alias("run"))
        .collect()
    )


def test_movielens_100k(spark, lake):
    cfg, lh = lake
    code, err = run_cli(
        "ingest",
        ["--source", "movielens", "--path", str(need(ML100K)), "--lakehouse", cfg.lakehouse.root],
    )
    assert code == 0, err
    assert lh.read(SILVER[N.RATINGS]).count() == 100_000
    items = lh.read(SILVER[N.PRODUCTS])
    assert items.count() == 1682
    # u.item is Latin-1: decoded, not quarantined
    assert items.filter(F.col(N.TITLE).contains("\ufffd")).count() == 0
    assert (
        items.filter(F.col(N.ITEM_ID) == "1").first()[N.CATEGORY] == "Animation|Children's|Comedy"
    )
    assert lh.read(SILVER[N.CUSTOMERS]).count() == 943


def test_movielens_latest_small(spark, lake):
    cfg, lh = lake
    code, err = run_cli(
        "ingest",
        [
            "--source",
            "movielens",
            "--path",
            str(need(ML_LATEST)),
            "--lakehouse",
            cfg.lakehouse.root,
        ],
    )
    assert code == 0, err
    r = lh.read(SILVER[N.RATINGS])
    assert r.count() == 100_836
    assert r.agg(F.min(N.RATING), F.max(N.RATING)).first() == (0.5, 5.0)
    assert lh.read(SILVER[N.PRODUCTS]).count() == 9742


def test_movielens_1m_format(spark, lake, tmp_path):
    """The 1M layout (``::``-separated ratings.dat and Latin-1 movies.dat), built from a
    slice of the 100K files so the expected rows come straight from the source lines."""
    cfg, lh = lake
    src = need(ML100K)
    lines = (src / "u.data").read_text().splitlines()[:500]
    ratings = [line.split("\t") for line in lines]
    folder = tmp_path / "ml-1m"
    folder.mkdir()
    (folder / "ratings.dat").write_text("".join("::".join(r) + "\n" for r in ratings))
    movies = ["1::Toy Story (1995)::Animation|Children's|Comedy", "2::Caf\u00e9 (1995)::Drama"]
    (folder / "movies.dat").write_bytes("\n".join(movies).encode("latin-1") + b"\n")
    code, err = run_cli(
        "ingest",
        ["--source", "movielens", "--path", str(folder), "--lakehouse", cfg.lakehouse.root],
    )
    assert code == 0, err
    got = lh.read(SILVER[N.RATINGS]).select(N.USER_ID, N.ITEM_ID, N.RATING)
    expected = spark.createDataFrame(
        [(u, i, float(r)) for u, i, r, _ in ratings],
        f"{N.USER_ID} string, {N.ITEM_ID} string, {N.RATING} double",
    )
    assertDataFrameEqual(got, expected)
    items = {r[N.ITEM_ID]: r[N.TITLE] for r in lh.read(SILVER[N.PRODUCTS]).collect()}
    assert items == {"1": "Toy Story (1995)", "2": "Caf\u00e9 (1995)"}


def test_womens_reviews_accounting(spark, lake):
    cfg, lh = lake
    path = need(WOMENS)
    code, err = run_cli(
        "ingest",
        ["--source", "womens_reviews", "--path", str(path), "--lakehouse", cfg.lakehouse.root],
    )
    assert code == 0, err
    f = next(path.glob("*.csv"))
    with open(f, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    no_text = sum(1 for r in rows if not r["Review Text"].strip())
    assert lh.read(BRONZE[N.REVIEWS]).count() == len(rows) == 23486
    assert lh.read(SILVER[N.REVIEWS]).count() == len(rows) - no_text
    q = lh.read(QUARANTINE).filter(F.col(N.ENTITY) == N.REVIEWS)
    assert q.count() == no_text
    assert {r[N.REASON] for r in q.select(N.REASON).distinct().collect()} == {N.R_MISSING}
    # multi-line quoted review text survives intact
    longest = max(rows, key=lambda r: len(r["Review Text"]))
    got = lh.read(SILVER[N.REVIEWS]).filter(F.col(N.REVIEW_ID) == longest[""]).first()
    assert got[N.TEXT] == " ".join(longest["Review Text"].split())


def test_fraud_sample_bom_and_dates(spark, lake):
    cfg, lh = lake
    path = need(FRAUD)
    code, err = run_cli(
        "ingest",
        ["--source", "fraud_ecommerce", "--path", str(path), "--lakehouse", cfg.lakehouse.root],
    )
    assert code == 0, err
    text = (path / "fraud_data.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    complete = [r for r in rows if r["purchase_time"] and r["purchase_value"]]
    t = lh.read(SILVER[N.TRANSACTIONS])
    assert t.count() == len(complete)
    assert t.filter(F.col(N.LABEL) == 1).count() == sum(1 for r in complete if r["class"] == "1")
    assert lh.read(QUARANTINE).filter(F.col(N.ENTITY) == N.TRANSACTIONS).count() == len(rows) - len(
        complete
    )
    first = complete[0]
    row = t.filter(F.col(N.TRANSACTION_ID) == first["user_id"]).first()
    assert row[N.TXN_TS].strftime("%-m/%-d/%Y %-H:%M") == first["purchase_time"]

    # the IP-range table lands as the ip_ranges reference entity, as integers
    text = (path / "IpAddress_to_Country.csv").read_text(encoding="utf-8-sig")
    ranges = list(csv.DictReader(io.StringIO(text)))
    ok = [
        r
        for r in ranges
        if r["country"] and float(r["lower_bound_ip_address"]) <= float(r["upper_bound_ip_address"])
    ]
    ip = lh.read(SILVER[N.IP_RANGES])
    assert ip.count() == len(ok)
    assert lh.read(QUARANTINE).filter(F.col(N.ENTITY) == N.IP_RANGES).count() == len(ranges) - len(
        ok
    )
    r0 = ok[0]
    got = ip.filter(F.col(N.IP_LOWER) == int(float(r0["lower_bound_ip_address"]))).first()
    assert (got[N.IP_UPPER], got[N.COUNTRY]) == (
        int(float(r0["upper_bound_ip_address"])),
        r0["country"],
    )


def test_online_retail_original_xlsx(spark, lake, tmp_path):
    """The original single workbook: typed cells (datetimes, float ids) land like the CSV."""
    import datetime as dt

    from openpyxl import Workbook

    cfg, lh = lake
    lines = list(
        csv.reader((need(ONLINE_RETAIL_DAYS) / OR_DAYS[0]).open(newline="", encoding="utf-8"))
    )[:41]
    wb = Workbook()
    ws = wb.active
    ws.append(lines[0])
    for r in lines[1:]:
        cid = float(r[6]) if r[6] else None
        ws.append(
            [r[0], r[1], r[2], int(r[3]), dt.datetime.fromisoformat(r[4]), float(r[5]), cid, r[7]]
        )
    (tmp_path / "xlsx").mkdir()
    wb.save(tmp_path / "xlsx" / "Online Retail.xlsx")
    (tmp_path / "csv").mkdir()
    with (tmp_path / "csv" / "day.csv").open("w", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerows(lines)

    for sub in ("xlsx", "csv"):
        code, err = run_cli(
            "ingest",
            [
                "--source",
                "online_retail",
                "--path",
                str(tmp_path / sub),
                "--lakehouse",
                str(tmp_path / f"lake_{sub}"),
            ],
        )
        assert code == 0, err
    cols = [
        N.ORDER_ID,
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.ITEM_ID,
        N.QUANTITY,
        N.UNIT_PRICE,
        N.COUNTRY,
        N.IS_RETURN,
    ]
    from pyspark.testing import assertDataFrameEqual

    from lakecart.config import LakehouseConfig

    got = (
        Lakehouse(spark, LakehouseConfig(root=str(tmp_path / "lake_xlsx")))
        .read(SILVER[N.ORDERS])
        .select(cols)
    )
    want = (
        Lakehouse(spark, LakehouseConfig(root=str(tmp_path / "lake_csv")))
        .read(SILVER[N.ORDERS])
        .select(cols)
    )
    assert got.count() == 40
    assertDataFrameEqual(got, want)
