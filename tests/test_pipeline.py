"""The synthetic demo end to end: generate -> ingest -> later stages, with a summary."""

from __future__ import annotations

from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.schemas import DATA_QUALITY, RUNS, SILVER
from tests.helpers import run_cli, table_versions

SMALL = ["--set", "generate.days=120", "--set", "spark.shuffle_partitions=2"]


def test_pipeline_on_small_synthetic_shop(spark, lake, capsys):
    cfg, lh = lake
    code, err = run_cli("pipeline", ["--lakehouse", cfg.lakehouse.root, *SMALL])
    assert code == 0, err
    out = capsys.readouterr().out
    assert "lakecart pipeline summary" in out and "silver.orders" in out

    for entity in N.ENTITIES:  # all nine entities landed and were cleaned
        assert lh.read(SILVER[entity]).count() > 0, entity
    dq = lh.read(DATA_QUALITY).filter(F.col(N.CHECK) == "row_accounting")
    assert dq.count() == len(N.ENTITIES)
    assert dq.filter(~F.col(N.PASSED)).count() == 0
    runs = {r[N.JOB]: r[N.STATUS] for r in lh.read(RUNS).collect()}
    assert runs["pipeline"] == runs["generate"] == N.SUCCEEDED

    # the same demo again: generation reused, nothing new to ingest, data tables unchanged
    before = table_versions(lh)
    code, err = run_cli("generate", ["--lakehouse", cfg.lakehouse.root, *SMALL])
    assert code == 0, err
    after = table_versions(lh)
    assert {k: v for k, v in after.items() if k.startswith(("bronze.", "silver."))} == {
        k: v for k, v in before.items() if k.startswith(("bronze.", "silver."))
    }
