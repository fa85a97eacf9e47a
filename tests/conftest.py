"""Shared fixtures: one local[2] Spark + Delta session for the whole test run."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DATASETS = Path(os.environ.get("LAKECART_DATASETS", REPO.parent / "shared" / "datasets"))
ONLINE_RETAIL_DAYS = DATASETS / "online_retail" / "by-day"
ML100K = DATASETS / "movielens_100k" / "ml-100k"
ML_LATEST = DATASETS / "movielens_latest_small" / "ml-latest-small"
WOMENS = DATASETS / "womens_clothing_reviews"
FRAUD = DATASETS / "ecommerce_fraud_sample"


def need(path: Path) -> Path:
    """Skip the test when a shared dataset is not present."""
    if not path.exists():
        pytest.skip(f"dataset not available: {path}")
    return path


@pytest.fixture(scope="session")
def tmp_root():
    d = tempfile.mkdtemp(prefix="lakecart-tests-")
    yield Path(d)
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="session")
def base_config(tmp_root):
    from lakecart.config import load_config

    return load_config(
        "local",
        overrides=[
            "spark.master=local[2]",
            "spark.shuffle_partitions=2",
            "spark.conf.spark.ui.enabled=false",
            "spark.conf.spark.ui.showConsoleProgress=false",
            "spark.conf.spark.driver.memory=4g",
            f"lakehouse.root={tmp_root / 'default'}",
        ],
    )


@pytest.fixture(scope="session")
def spark(base_config):
    from lakecart.session import get_spark

    s = get_spark(base_config)
    yield s
    s.stop()


@pytest.fixture()
def make_config(base_config, tmp_path):
    """A config whose lakehouse is a fresh folder (or the one given)."""
    import dataclasses

    def make(root: Path | None = None, **ingest):
        lake = dataclasses.replace(base_config.lakehouse, root=str(root or tmp_path / "lake"))
        ing = dataclasses.replace(base_config.ingest, **ingest)
        return dataclasses.replace(base_config, lakehouse=lake, ingest=ing)

    return make


@pytest.fixture()
def lake(spark, make_config):
    """(config, Lakehouse) on a fresh folder."""
    from lakecart.tables import Lakehouse

    cfg = make_config()
    return cfg, Lakehouse(spark, cfg.lakehouse)


# ---- lakehouses that several modules read (built once per test session) ----


@pytest.fixture(scope="session")
def recommend_shop(spark, tmp_root):
    """test_recommend_job's hand-built shop after one ``recommend`` run (its SMALL grid):
    ``(Lakehouse, recommendations as pandas, order rows, the run's log)``. Also the
    uninterrupted reference of the concurrent-runs test in test_faults."""
    from lakecart.config import LakehouseConfig
    from lakecart.recommend.specs import RECOMMENDATIONS
    from lakecart.tables import Lakehouse
    from tests.helpers import run_cli
    from tests.test_recommend_job import AS_OF, SMALL, write_shop

    root = str(tmp_root / "recommend_job")
    lh = Lakehouse(spark, LakehouseConfig(root=root))
    orders = write_shop(spark, lh)
    code, err = run_cli("recommend", ["--lakehouse", root, "--as-of", AS_OF.isoformat(), *SMALL])
    assert code == 0, err
    recs = lh.read(RECOMMENDATIONS).toPandas()  # ~100 rows
    return lh, recs, orders, err


@pytest.fixture(scope="session")
def forecast_lakes(spark, tmp_root):
    """test_forecast_job's synthetic shop forecast at its AS_OF (FAST settings), once with
    the orders after AS_OF present (``full``) and once without (``cut``):
    ``(full, cut, the full run's log)``. ``full`` is also the uninterrupted reference of
    the killed-forecast test in test_faults."""
    from tests.test_forecast_job import AS_OF, END, forecast, make_lake

    full = make_lake(spark, str(tmp_root / "fc_full"), END)
    cut = make_lake(spark, str(tmp_root / "fc_cut"), AS_OF)
    log_full = forecast(full.config.root)
    forecast(cut.config.root)
    return full, cut, log_full
