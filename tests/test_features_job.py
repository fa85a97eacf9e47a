"""The features job on a slice of real Online Retail data: no leakage (features as of D
from all the data equal features from silver truncated at D), idempotent re-runs, and
snapshots side by side."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import shutil

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import names as N
from lakecart.asof import resolve_as_of
from lakecart.config import LakehouseConfig
from lakecart.features.build import FeatureInputs, build_features, read_inputs
from lakecart.features.specs import FEATURE_SPECS, ITEM_DEMAND
from lakecart.jobs.features import snapshot_condition
from lakecart.tables import Lakehouse
from tests.conftest import ONLINE_RETAIL_DAYS, need
from tests.helpers import run_cli

FIRST, LAST = dt.date(2011, 2, 24), dt.date(2011, 3, 10)  # 13 trading days
AS_OF = dt.date(2011, 3, 3)  # a Thursday: the last ISO week is partial
AS_OF_2 = dt.date(2011, 2, 28)  # an earlier snapshot, built first
# the time column of every silver entity that has one (others are kept whole when truncating)
FACT_TIMES = {
    N.ORDERS: N.ORDER_TS,
    N.EVENTS: N.EVENT_TS,
    N.RATINGS: N.RATING_TS,
    N.REVIEWS: N.REVIEW_TS,
    N.CAMPAIGNS: N.SENT_TS,
    N.TRANSACTIONS: N.TXN_TS,
    N.INVENTORY: N.SNAPSHOT_DATE,
}
SMALL = ["--set", "spark.shuffle_partitions=2"]


def snapshot(lh: Lakehouse, spec, as_of: dt.date, version: int | None = None):
    if version is None:
        df = lh.read(spec)
    else:
        df = lh.spark.read.format("delta").option("versionAsOf", version).load(lh.path(spec))
    return df.filter(F.col(N.AS_OF) == F.lit(as_of))


def features(root: str, as_of: dt.date) -> str:
    code, err = run_cli("features", ["--lakehouse", root, "--as-of", as_of.isoformat(), *SMALL])
    assert code == 0, err
    return err


@pytest.fixture(scope="module")
def full_lake(spark, tmp_root):
    """Online Retail FIRST..LAST ingested; features built as of AS_OF_2, then AS_OF."""
    src = need(ONLINE_RETAIL_DAYS)
    folder = tmp_root / "features_or_days"
    folder.mkdir(exist_ok=True)
    names = sorted(
        p.name for p in src.glob("*.csv") if FIRST <= dt.date.fromisoformat(p.stem) <= LAST
    )
    assert len(names) == 13
    for name in names:
        shutil.copy(src / name, folder / name)
    root = str(tmp_root / "features_full")
    code, err = run_cli(
        "ingest", ["--source", "online_retail", "--path", str(folder), "--lakehouse", root, *SMALL]
    )
    assert code == 0, err
    lh = Lakehouse(spark, LakehouseConfig(root=root))
    features(root, AS_OF_2)
    first = {s.full_name: lh.version(s) for s in FEATURE_SPECS}
    log = features(root, AS_OF)
    return lh, log, first


def test_job_logs_one_line_per_table(spark, full_lake):
    _, log, _ = full_lake
    for spec in FEATURE_SPECS:
        pattern = rf"\[features\] features: write {re.escape(spec.full_name)}\s+[0-9.]+s rows=[1-9][0-9]* as_of={AS_OF}"
        assert re.search(pattern, log), log


def test_no_leakage_on_online_retail(spark, full_lake, base_config):
    """Features as of D from all the data (the job's tables) equal, row for row, features
    computed from the same silver truncated at D."""
    lh, _, _ = full_lake
    midnight = F.lit(AS_OF).cast("timestamp")
    inputs = read_inputs(lh)
    truncated = {}
    for f in dataclasses.fields(inputs):
        df = getattr(inputs, f.name)
        if df is not None and f.name in FACT_TIMES:
            df = df.filter(F.col(FACT_TIMES[f.name]) < midnight)
        truncated[f.name] = df
    cut = FeatureInputs(**truncated)
    n_full, n_cut = inputs.orders.count(), cut.orders.count()
    assert 0 < n_cut < n_full  # the data really goes on after D
    assert cut.orders.agg(F.max(N.ORDER_TS)).first()[0] < dt.datetime(2011, 3, 3)

    built = build_features(cut, AS_OF, base_config.features)
    for spec in FEATURE_SPECS:
        want = built[spec.name]
        got = snapshot(lh, spec, AS_OF)
        assertDataFrameEqual(got, want)


def test_rerun_and_snapshots_side_by_side(spark, full_lake):
    lh, _, first = full_lake
    # building AS_OF after AS_OF_2 left the AS_OF_2 snapshot as it was
    for spec in FEATURE_SPECS:
        assertDataFrameEqual(
            snapshot(lh, spec, AS_OF_2), snapshot(lh, spec, AS_OF_2, first[spec.full_name])
        )
    before = {s.full_name: lh.version(s) for s in FEATURE_SPECS}

    features(lh.config.root, AS_OF)  # the same as_of again: same rows, no duplicates
    for spec in FEATURE_SPECS:
        now = snapshot(lh, spec, AS_OF)
        assertDataFrameEqual(now, snapshot(lh, spec, AS_OF, before[spec.full_name]))
        assert now.groupBy(*spec.keys).count().filter(F.col("count") > 1).count() == 0
        # the re-run's one commit replaced only its own snapshot
        last = lh.delta(spec).history(1).first()
        assert last["version"] == before[spec.full_name] + 1
        assert last["operationParameters"]["predicate"] == snapshot_condition(AS_OF)
    # nothing on or after a snapshot's as_of is in it; the last ISO week is partial
    weeks = lh.read(ITEM_DEMAND).filter(F.col(N.GRAIN) == N.WEEK).groupBy(N.AS_OF)
    got = {
        r[0]: (r[1], r[2])
        for r in weeks.agg(F.max(N.PERIOD_START), F.min(N.DAYS_OBSERVED)).collect()
    }
    assert got == {AS_OF: (dt.date(2011, 2, 28), 3), AS_OF_2: (dt.date(2011, 2, 21), 7)}


def test_default_as_of_is_the_day_after_the_latest_order(spark, full_lake, base_config):
    lh, _, _ = full_lake
    cfg = dataclasses.replace(base_config, lakehouse=lh.config)
    assert resolve_as_of(lh, cfg) == LAST + dt.timedelta(days=1)
    explicit = dataclasses.replace(cfg, run=dataclasses.replace(cfg.run, as_of="2011-03-01"))
    assert resolve_as_of(lh, explicit) == dt.date(2011, 3, 1)
