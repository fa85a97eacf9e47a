"""Table naming, declared-schema checks and idempotent writes."""

from __future__ import annotations

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart.config import LakehouseConfig
from lakecart.schemas import DATA_QUALITY, SILVER_ORDERS, TableSpec
from lakecart.tables import Lakehouse, SchemaMismatch, conform


def test_names_path_and_catalog(spark):
    path = Lakehouse(spark, LakehouseConfig(root="/data/lake/"))
    assert path.ident(SILVER_ORDERS) == "delta.`/data/lake/silver/orders`"
    uc = Lakehouse(spark, LakehouseConfig(catalog="main", schema_prefix="shop"))
    assert uc.ident(SILVER_ORDERS) == "main.shop_silver.orders"
    hive = Lakehouse(spark, LakehouseConfig(use_metastore=True))
    assert hive.ident(DATA_QUALITY) == "lakecart_ops.data_quality"


def test_conform_rejects_drift(spark):
    ok = spark.createDataFrame(
        [("r", "t", "c", True, 1, "d")],
        "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string",
    )
    assert conform(ok.select(*reversed(ok.columns)), DATA_QUALITY).columns == ok.columns
    with pytest.raises(SchemaMismatch, match="missing \\['detail'\\]"):
        conform(ok.drop("detail"), DATA_QUALITY)
    with pytest.raises(SchemaMismatch, match="unexpected \\['x'\\]"):
        conform(ok.withColumn("x", F.lit(1)), DATA_QUALITY)
    with pytest.raises(SchemaMismatch, match="failed_rows is int, declared bigint"):
        conform(ok.withColumn("failed_rows", F.lit(1)), DATA_QUALITY)


def test_create_declared_and_replace_where_idempotent(spark, tmp_path):
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    lh.create(DATA_QUALITY)
    fields = {f.name: f for f in lh.read(DATA_QUALITY).schema.fields}
    assert fields["passed"].metadata["comment"] == "whether the check passed"
    assert not fields["run_id"].nullable
    rows = spark.createDataFrame(
        [("r1", "t", "a", True, 0, None), ("r1", "t", "b", False, 3, "x")],
        "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string",
    )
    for _ in range(2):  # the same write twice: replaced, not duplicated
        lh.replace_where(rows, DATA_QUALITY, "run_id = 'r1'")
    other = rows.withColumn("run_id", F.lit("r2"))
    lh.replace_where(other, DATA_QUALITY, "run_id = 'r2'")
    assertDataFrameEqual(lh.read(DATA_QUALITY), rows.unionByName(other))
    # a NOT NULL violation fails the write and leaves the table as it was
    v = lh.version(DATA_QUALITY)
    bad = rows.withColumn("check", F.lit(None).cast("string"))
    with pytest.raises(Exception, match="(?i)null"):
        lh.replace_where(bad, DATA_QUALITY, "run_id = 'r1'")
    assert lh.version(DATA_QUALITY) == v
    assertDataFrameEqual(lh.read(DATA_QUALITY), rows.unionByName(other))


def test_check_constraint_enforced(spark, tmp_path):
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    spec = TableSpec(
        "ops", "t", "test", DATA_QUALITY.columns, checks={"non_negative": "failed_rows >= 0"}
    )
    lh.create(spec)
    bad = spark.createDataFrame(
        [("r", "t", "c", True, -1, None)],
        "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string",
    )
    with pytest.raises(Exception, match="(?i)constraint"):
        lh.append(bad, spec)
    assert lh.read(spec).count() == 0
    # the constraint is in the table's first commit: one version, no ALTER TABLE
    assert lh.version(spec) == 0


def test_a_table_from_an_older_release_gains_a_new_constraint(spark, tmp_path):
    cols = DATA_QUALITY.columns
    old = TableSpec("ops", "t", "test", cols)
    new = TableSpec("ops", "t", "test", cols, checks={"non_negative": "failed_rows >= 0"})
    row = "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string"
    Lakehouse(spark, LakehouseConfig(root=str(tmp_path))).append(
        spark.createDataFrame([("r", "t", "c", True, -1, None)], row), old
    )  # accepted: the older release declared no constraint
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    with pytest.raises(Exception, match="(?i)constraint|violate"):
        lh.create(new)  # the existing row breaks it: Delta refuses to add it
    lh.delta(old).delete("failed_rows < 0")
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    lh.create(new)
    with pytest.raises(Exception, match="(?i)constraint"):
        lh.append(spark.createDataFrame([("r", "t", "c", True, -2, None)], row), new)


@pytest.mark.parametrize("retries", [2, 0])
def test_a_conflicting_commit_is_retried_or_stops_with_one_line(spark, tmp_path, retries):
    """Two runs replace the same rows at once: run A computes its rows inside its Delta
    transaction while run B commits. A's commit conflicts; with retries it is redone (the
    write is idempotent: the table holds A's rows once), without it the run stops with
    "another run is writing <table>" and B's rows stand."""
    import threading

    from pyspark.sql.functions import udf

    from lakecart.tables import ConcurrentRunError

    started, go = tmp_path / "a_started", tmp_path / "b_committed"

    @udf("string")
    def held(check: str) -> str:  # runs in a Python worker, inside A's transaction
        import pathlib
        import time

        pathlib.Path(str(started)).touch()
        for _ in range(6000):  # at most 5 minutes
            if pathlib.Path(str(go)).exists():
                break
            time.sleep(0.05)
        return check

    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path / "lake"), commit_retries=retries))
    schema = "run_id string, table string, check string, passed boolean, failed_rows bigint, detail string"  # fmt: skip
    lh.replace_where(spark.createDataFrame([("r1", "t", "old", True, 0, None)], schema), DATA_QUALITY, "run_id = 'r1'")  # fmt: skip
    rows_a = spark.createDataFrame([("r1", "t", "a1", True, 0, None), ("r1", "t", "a2", False, 2, "x")], schema)  # fmt: skip
    rows_b = spark.createDataFrame([("r1", "t", "b", True, 0, None)], schema)
    errors: list[BaseException] = []

    def run_a() -> None:
        try:
            # one partition: A holds one of local[2]'s two task slots, B gets the other
            held_rows = rows_a.coalesce(1).withColumn("check", held("check"))
            lh.replace_where(held_rows, DATA_QUALITY, "run_id = 'r1'")
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    a = threading.Thread(target=run_a)
    a.start()
    for _ in range(1200):  # until A's rows are being computed inside its transaction
        if started.exists() or not a.is_alive():
            break
        threading.Event().wait(0.05)
    assert started.exists()
    try:
        lh.replace_where(rows_b, DATA_QUALITY, "run_id = 'r1'")  # B commits meanwhile
    finally:
        go.touch()
    a.join(900)
    assert not a.is_alive()
    if retries:
        assert not errors
        assertDataFrameEqual(lh.read(DATA_QUALITY), rows_a)
    else:
        assert len(errors) == 1 and isinstance(errors[0], ConcurrentRunError)
        assert str(errors[0]).startswith("another run is writing ops.data_quality")
        assertDataFrameEqual(lh.read(DATA_QUALITY), rows_b)


def test_a_table_from_an_older_release_gains_the_new_nullable_columns(spark, tmp_path):
    from lakecart.schemas import DBL, Col, S

    cols = (Col("item_id", S, "id", False), Col("price", DBL, "price"))
    old = TableSpec("silver", "t", "a table", cols, keys=("item_id",))
    new = TableSpec("silver", "t", "a table", (*cols, Col("image", S, "photo")), keys=("item_id",))
    older = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))
    older.append(spark.createDataFrame([("i1", 4.5)], "item_id string, price double"), old)
    lh = Lakehouse(spark, LakehouseConfig(root=str(tmp_path)))  # a new release's process
    lh.merge(
        spark.createDataFrame(
            [("i2", 3.0, "file:/x/i2.png")], "item_id string, price double, image string"
        ),
        new,
    )
    got = lh.read(new)
    assert got.columns == ["item_id", "price", "image"]
    assert [f.metadata.get("comment") for f in got.schema.fields][-1] == "photo"
    assertDataFrameEqual(
        got,
        spark.createDataFrame(
            [("i1", 4.5, None), ("i2", 3.0, "file:/x/i2.png")],
            "item_id string, price double, image string",
        ),
    )
    required = TableSpec(
        "silver", "t", "a table", (*cols, Col("sku", S, "sku", False)), keys=("item_id",)
    )
    with pytest.raises(ValueError, match="required columns"):
        Lakehouse(spark, LakehouseConfig(root=str(tmp_path))).create(required)


def test_two_runs_creating_the_same_tables_at_once_both_go_on(spark, tmp_path):
    """Two runs (two Lakehouse objects, so two creation locks) create the same new tables
    at the same moment. Delta lets one first commit through and refuses the other
    (ProtocolChangedException); the refused run finds the table and uses it, as a real
    second process must (CI once stopped an ingest on exactly this)."""
    import threading

    from lakecart.schemas import Col, S

    specs = [
        TableSpec("silver", f"t{i}", "a table", (Col("k", S, "key", False),), keys=("k",))
        for i in range(8)
    ]
    runs = [Lakehouse(spark, LakehouseConfig(root=str(tmp_path))) for _ in range(2)]
    barrier, errors = threading.Barrier(2), []

    def create_all(lh: Lakehouse) -> None:
        for spec in specs:
            barrier.wait(60)
            try:
                lh.create(spec)
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

    threads = [threading.Thread(target=create_all, args=(lh,)) for lh in runs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(300)
    assert not errors, [str(e)[:1500] for e in errors]
    for spec in specs:
        history = runs[0].delta(spec).history().select("version", "operation").collect()
        assert [(r["version"], r["operation"]) for r in history] == [(0, "CREATE TABLE")]
