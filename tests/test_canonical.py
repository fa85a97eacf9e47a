"""The canonical landing format in CSV, JSON lines and Parquet."""

from __future__ import annotations

import json

from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.schemas import QUARANTINE, SILVER
from tests.helpers import run_cli


def test_canonical_three_formats(spark, lake, tmp_path):
    cfg, lh = lake
    land = tmp_path / "landing"
    (land / "orders").mkdir(parents=True)
    (land / "orders" / "part-0.csv").write_text(
        "order_id,customer_id,order_ts,item_id,quantity,unit_price,country,channel,status,extra\n"
        "o1,c1,2024-03-01T10:00:00,i1,2,5.0,DE,web,completed,x\n"
        "o1,c1,2024-03-01T10:00:00,i2,1,3.5,DE,web,completed,x\n"
        "o2,,2024-03-02 11:00:00,i1,1,5.0,FR,app,completed,x\n"
        "o3,c2,2024-03-03 12:00:00,i3,-1,4.0,DE,web,returned,x\n"
        "o4,c2,not a date,i3,1,4.0,DE,web,completed,x\n"
    )
    (land / "products.jsonl").write_text(
        "\n".join(
            json.dumps(r)
            for r in [
                {"item_id": "i1", "title": " Red  mug ", "category": "Kitchen", "price": 5.0},
                {"item_id": "i2", "title": "Blue cup", "category": "Kitchen", "price": 3.5},
                {"item_id": "i3", "title": "Lamp", "category": "Home", "price": -4},
            ]
        )
        + "\n"
    )
    spark.createDataFrame(
        [("i1", "2024-03-01", 10.0, 7.0), ("i2", "2024-03-01", 0.0, 3.0)],
        "item_id string, snapshot_date string, on_hand double, lead_time_days double",
    ).write.parquet(str(land / "inventory"))

    code, err = run_cli(
        "ingest",
        [
            "--source",
            "canonical",
            "--path",
            str(land),
            "--lakehouse",
            cfg.lakehouse.root,
            "--set",
            "ingest.max_reject_share=0.5",
        ],
    )
    assert code == 0, err
    import datetime as dt

    orders = lh.read(SILVER[N.ORDERS]).select(
        N.ORDER_ID,
        N.CUSTOMER_ID,
        N.ORDER_TS,
        N.ITEM_ID,
        N.QUANTITY,
        N.REVENUE,
        N.IS_RETURN,
        N.STATUS,
    )
    expected = [
        ("o1", "c1", dt.datetime(2024, 3, 1, 10), "i1", 2.0, 10.0, False, "completed"),
        ("o1", "c1", dt.datetime(2024, 3, 1, 10), "i2", 1.0, 3.5, False, "completed"),
        ("o2", None, dt.datetime(2024, 3, 2, 11), "i1", 1.0, 5.0, False, "completed"),
        ("o3", "c2", dt.datetime(2024, 3, 3, 12), "i3", -1.0, -4.0, True, "returned"),
    ]
    assertDataFrameEqual(orders, spark.createDataFrame(expected, orders.schema))
    products = lh.read(SILVER[N.PRODUCTS]).select(N.ITEM_ID, N.TITLE, N.PRICE)
    assertDataFrameEqual(
        products,
        spark.createDataFrame([("i1", "Red mug", 5.0), ("i2", "Blue cup", 3.5)], products.schema),
    )
    inv = lh.read(SILVER[N.INVENTORY]).select(N.ITEM_ID, N.SNAPSHOT_DATE, N.ON_HAND)
    assertDataFrameEqual(
        inv,
        spark.createDataFrame(
            [("i1", dt.date(2024, 3, 1), 10.0), ("i2", dt.date(2024, 3, 1), 0.0)], inv.schema
        ),
    )
    q = lh.read(QUARANTINE).select(
        N.ENTITY, N.REASON, F.col(N.RAW)["order_id"].alias("o"), F.col(N.RAW)["item_id"].alias("i")
    )
    assertDataFrameEqual(
        q,
        spark.createDataFrame(
            [(N.ORDERS, N.R_BAD_TS, "o4", "i3"), (N.PRODUCTS, N.R_BAD_PRICE, None, "i3")], q.schema
        ),
    )
