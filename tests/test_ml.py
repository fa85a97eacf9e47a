"""lakecart.ml: training rows land in the same partitions, in the same order, whatever the
input's partitioning."""

from __future__ import annotations

import pytest

from lakecart.ml import fit_partitions, task_slots


def _layout(df) -> list[list[tuple]]:
    return [[tuple(r) for r in part] for part in df.rdd.glom().collect()]


def test_fit_partitions_is_deterministic_in_content(spark):
    rows = [(f"i{i % 7}", i // 7, float(i)) for i in range(60)]
    schema = "item_id string, origin int, y double"
    a = spark.createDataFrame(rows, schema).repartition(5)
    b = spark.createDataFrame(list(reversed(rows)), schema).coalesce(1)
    la = _layout(fit_partitions(a, ["item_id", "origin"], slots=3))
    lb = _layout(fit_partitions(b, ["item_id", "origin"], slots=3))
    assert len(la) == 3
    assert la == lb
    assert sorted(r for p in la for r in p) == sorted(rows)
    for part in la:  # sorted by the keys within each partition
        assert [r[:2] for r in part] == sorted(r[:2] for r in part)


def test_fit_partitions_defaults_to_task_slots_and_checks_keys(spark):
    df = spark.createDataFrame([(1, 2.0)], "k int, v double")
    assert task_slots(spark) == spark.sparkContext.defaultParallelism
    assert fit_partitions(df, ["k"]).rdd.getNumPartitions() == task_slots(spark)
    with pytest.raises(ValueError, match="no column"):
        fit_partitions(df, ["missing"])
