"""bronze -> silver rules on hand-built rows; expected outcomes written out by hand."""

from __future__ import annotations

import datetime as dt

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.config import IngestConfig
from lakecart.ingest.clean import Rules, classify

RULES = Rules(tuple(IngestConfig().timestamp_formats), 0.5, 5.0)
T0 = dt.datetime(2024, 1, 1)


def landed(spark, entity_cols, rows, malformed=None):
    """Landing-shaped frame: string columns, lineage, raw map built from the same strings."""
    malformed = malformed or {}
    data = []
    for i, r in enumerate(rows, start=1):
        data.append((*r, "test", "file:/x.csv", i, "run1", T0, malformed.get(i)))
    cols = [
        *entity_cols,
        "_source",
        "_source_file",
        "_row_number",
        "_run_id",
        "_ingested_at",
        N.MALFORMED,
    ]
    schema = ", ".join(f"`{c}` string" for c in entity_cols) + (
        ", _source string, _source_file string, _row_number long, _run_id string, _ingested_at timestamp, malformed string"
    )
    df = spark.createDataFrame(data, schema)
    raw = F.create_map(*[x for c in entity_cols for x in (F.lit(c), F.col(f"`{c}`"))])
    return df.withColumn(N.RAW, raw).select(*cols, N.RAW)


ORDER_COLS = [
    N.ORDER_ID,
    N.CUSTOMER_ID,
    N.ORDER_TS,
    N.ITEM_ID,
    N.QUANTITY,
    N.UNIT_PRICE,
    N.COUNTRY,
    N.STATUS,
]


def test_orders_every_reason(spark):
    rows = [
        (
            "536365",
            "17850.0",
            "2010-12-01 08:26:00",
            "85123A",
            "6",
            "2.55",
            " United Kingdom ",
            "completed",
        ),  # 1 ok
        (
            "536365",
            "17850.0",
            "2010-12-01 08:26:00",
            "85123A",
            "6",
            "2.55",
            " United Kingdom ",
            "completed",
        ),  # 2 dup of 1
        (
            "C536379",
            "14527.0",
            "2010-12-01 09:41:00",
            "D",
            "-1",
            "27.50",
            "United Kingdom",
            "cancelled",
        ),  # 3 return
        (
            "536370",
            "",
            "12/1/2010 8:45",
            "22728",
            "24",
            "3.75",
            "France",
            "completed",
        ),  # 4 guest, US date
        ("536371", "1", "2010-13-45 99:00", "22728", "1", "1", "France", "completed"),  # 5 bad ts
        (
            "536372",
            "1",
            "2010-12-01 10:00:00",
            "22728",
            "abc",
            "1",
            "France",
            "completed",
        ),  # 6 non numeric
        (
            "A563186",
            "",
            "2011-08-12 14:51:00",
            "B",
            "1",
            "-11062.06",
            "United Kingdom",
            "adjustment",
        ),  # 7
        (
            "536373",
            "",
            "2010-12-01 10:00:00",
            "21275",
            "-5",
            "0",
            "United Kingdom",
            "completed",
        ),  # 8 write-off
        (
            "536374",
            "1",
            "2010-12-01 10:00:00",
            "",
            "1",
            "1",
            "France",
            "completed",
        ),  # 9 missing item
        (
            "536375",
            "1",
            "2010-12-01 10:00:00",
            "x",
            "1",
            "1",
            "France",
            "completed",
        ),  # 10 malformed
        (
            "536376",
            "1",
            "2010-12-01 10:00:00",
            "x",
            "1",
            "1",
            "Fr\ufffdnce",
            "completed",
        ),  # 11 bad bytes
        ("536377", "1", "2010-12-01 10:00:00", "x", "0", "1", "France", "completed"),  # 12 zero qty
        (
            "536378",
            "2.0",
            "2010-12-01 10:00:00",
            "x",
            "1,000",
            "0",
            "France",
            "completed",
        ),  # 13 free gift
    ]
    df = landed(spark, ORDER_COLS, rows, malformed={10: "536375,1"})
    out = classify(df, N.ORDERS, RULES).select(
        "_row_number",
        "_outcome",
        "_reason",
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.QUANTITY,
        N.REVENUE,
        N.IS_RETURN,
        N.COUNTRY,
    )
    ts = dt.datetime(2010, 12, 1, 8, 26)
    expected = [
        (1, "silver", None, "17850", ts, 6.0, 15.3, False, "United Kingdom"),
        (2, "duplicate", None, "17850", ts, 6.0, 15.3, False, "United Kingdom"),
        (
            3,
            "silver",
            None,
            "14527",
            dt.datetime(2010, 12, 1, 9, 41),
            -1.0,
            -27.5,
            True,
            "United Kingdom",
        ),
        (4, "silver", None, None, dt.datetime(2010, 12, 1, 8, 45), 24.0, 90.0, False, "France"),
        (5, "quarantine", N.R_BAD_TS, "1", None, 1.0, 1.0, False, "France"),
        (
            6,
            "quarantine",
            N.R_NON_NUMERIC,
            "1",
            dt.datetime(2010, 12, 1, 10),
            None,
            None,
            False,
            "France",
        ),
        (
            7,
            "quarantine",
            N.R_ADJUSTMENT,
            None,
            dt.datetime(2011, 8, 12, 14, 51),
            1.0,
            -11062.06,
            False,
            "United Kingdom",
        ),
        (
            8,
            "quarantine",
            N.R_BAD_PRICE,
            None,
            dt.datetime(2010, 12, 1, 10),
            -5.0,
            -0.0,
            True,
            "United Kingdom",
        ),
        (
            9,
            "quarantine",
            N.R_MISSING,
            "1",
            dt.datetime(2010, 12, 1, 10),
            1.0,
            1.0,
            False,
            "France",
        ),
        (
            10,
            "quarantine",
            N.R_MALFORMED,
            "1",
            dt.datetime(2010, 12, 1, 10),
            1.0,
            1.0,
            False,
            "France",
        ),
        (
            11,
            "quarantine",
            N.R_UNDECODABLE,
            "1",
            dt.datetime(2010, 12, 1, 10),
            1.0,
            1.0,
            False,
            "Fr\ufffdnce",
        ),
        (
            12,
            "quarantine",
            N.R_BAD_QUANTITY,
            "1",
            dt.datetime(2010, 12, 1, 10),
            0.0,
            0.0,
            False,
            "France",
        ),
        (13, "silver", None, "2", dt.datetime(2010, 12, 1, 10), 1000.0, 0.0, False, "France"),
    ]
    assertDataFrameEqual(out, spark.createDataFrame(expected, out.schema))


def test_ratings_key_collision_and_range(spark):
    cols = [N.USER_ID, N.ITEM_ID, N.RATING, N.RATING_TS]
    rows = [
        ("196", "242", "3", "881250949"),  # 1 older rating of (196, 242): loses
        ("196", "242", "4", "881250999"),  # 2 latest: kept
        ("186", "302", "7", "891717742"),  # 3 out of range
        ("22", "377", "0.5", "878887116"),  # 4 lowest valid
        ("22", "378", "", "878887116"),  # 5 missing rating
    ]
    out = classify(landed(spark, cols, rows), N.RATINGS, RULES).select(
        "_row_number", "_outcome", "_reason", N.RATING, N.RATING_TS
    )
    expected = [
        (1, "quarantine", N.R_KEY_COLLISION, 3.0, dt.datetime(1997, 12, 4, 15, 55, 49)),
        (2, "silver", None, 4.0, dt.datetime(1997, 12, 4, 15, 56, 39)),
        (3, "quarantine", N.R_RATING_RANGE, 7.0, dt.datetime(1998, 4, 4, 19, 22, 22)),
        (4, "silver", None, 0.5, dt.datetime(1997, 11, 7, 7, 18, 36)),
        (5, "quarantine", N.R_MISSING, None, dt.datetime(1997, 11, 7, 7, 18, 36)),
    ]
    assertDataFrameEqual(out, spark.createDataFrame(expected, out.schema))


def test_transactions_label_domain(spark):
    cols = [N.TRANSACTION_ID, N.TXN_TS, N.AMOUNT, N.LABEL]
    rows = [
        ("t1", "4/18/2015 2:47", "34", "0"),
        ("t2", "4/18/2015 2:47", "34", "2"),
        ("t3", "4/18/2015 2:47", "-1", "1"),
    ]
    out = classify(landed(spark, cols, rows), N.TRANSACTIONS, RULES).select(
        "_row_number", "_outcome", "_reason", N.LABEL
    )
    expected = [
        (1, "silver", None, 0),
        (2, "quarantine", N.R_BAD_VALUE, 2),
        (3, "quarantine", N.R_BAD_VALUE, 1),
    ]
    assertDataFrameEqual(out, spark.createDataFrame(expected, out.schema))


def test_image_paths_resolved_against_the_landing_folder(spark):
    from lakecart.ingest.clean import resolve_path

    given = [
        "images/a.png",
        "./images/b.png",
        "/data/c.png",
        "file:///data/d.png",
        "s3a://bkt/e.png",
        None,
    ]
    df = spark.createDataFrame([(g,) for g in given], "image string")
    local = df.select(resolve_path(F.col("image"), "file:/land/shop/").alias("image"))
    assertDataFrameEqual(
        local,
        spark.createDataFrame(
            [("file:/land/shop/images/a.png",), ("file:/land/shop/images/b.png",),
             ("file:/data/c.png",), ("file:/data/d.png",), ("s3a://bkt/e.png",), (None,)],
            "image string",
        ),
    )  # fmt: skip
    remote = df.select(resolve_path(F.col("image"), "hdfs://nn:8020/land").alias("image"))
    assertDataFrameEqual(
        remote.limit(3),
        spark.createDataFrame(
            [("hdfs://nn:8020/land/images/a.png",), ("hdfs://nn:8020/land/images/b.png",),
             ("hdfs://nn:8020/data/c.png",)],
            "image string",
        ),
    )  # fmt: skip
