"""Bad input: one-line error, non-zero exit, and every existing table exactly as it was."""

from __future__ import annotations

import random
import shutil

import pytest

from lakecart import names as N
from lakecart.schemas import RUNS
from tests.conftest import ONLINE_RETAIL_DAYS, need
from tests.helpers import run_cli, table_versions

DAY = "2010-12-01.csv"


@pytest.fixture(scope="module")
def populated(spark, tmp_root):
    """A lakehouse with one ingested day; returns (lakehouse root, Lakehouse, versions)."""
    from lakecart.config import LakehouseConfig
    from lakecart.tables import Lakehouse

    root = tmp_root / "bad_input_lake"
    src = tmp_root / "bad_input_src"
    src.mkdir()
    shutil.copy(need(ONLINE_RETAIL_DAYS) / DAY, src / DAY)
    code, err = run_cli(
        "ingest",
        [
            "--source",
            "online_retail",
            "--path",
            str(src),
            "--lakehouse",
            str(root),
            "--set",
            "spark.shuffle_partitions=2",
        ],
    )
    assert code == 0, err
    lh = Lakehouse(spark, LakehouseConfig(root=str(root)))
    return str(root), lh


def _check_untouched(lh, before, err, code, expect_code=1):
    assert code == expect_code, err
    lines = [x for x in err.strip().splitlines() if "lakecart ingest: error:" in x]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    after = table_versions(lh)
    assert {k: v for k, v in after.items() if k != RUNS.full_name} == {
        k: v for k, v in before.items() if k != RUNS.full_name
    }
    return lines[0]


def _ingest(root, path, source="online_retail", *extra):
    return run_cli(
        "ingest",
        [
            "--source",
            source,
            "--path",
            str(path),
            "--lakehouse",
            root,
            "--set",
            "spark.shuffle_partitions=2",
            *extra,
        ],
    )


def test_missing_path(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    code, err = _ingest(root, tmp_path / "nope")
    assert "path not found" in _check_untouched(lh, before, err, code, expect_code=2)
    # checked before Spark is used, like any usage error: no run is even started
    assert table_versions(lh)[RUNS.full_name] == before[RUNS.full_name]


def test_empty_folder(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    (tmp_path / "empty").mkdir()
    code, err = _ingest(root, tmp_path / "empty")
    assert "no input files" in _check_untouched(lh, before, err, code)


def test_truncated_csv(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    text = (ONLINE_RETAIL_DAYS / DAY).read_text()
    d = tmp_path / "trunc"
    d.mkdir()
    cut = text.rindex("\n", 0, len(text) - 10) + 1  # start of the last line
    last = text[cut:]
    (d / "2099-01-01.csv").write_text(text[:cut] + last[: last.index(",", last.index(",") + 1) + 3])
    code, err = _ingest(root, d)
    assert "truncated" in _check_untouched(lh, before, err, code)


def test_wrong_delimiter(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    d = tmp_path / "semi"
    d.mkdir()
    text = (ONLINE_RETAIL_DAYS / DAY).read_text()
    (d / "day.csv").write_text("\n".join(line.replace(",", ";") for line in text.splitlines()[:50]))
    code, err = _ingest(root, d)
    msg = _check_untouched(lh, before, err, code)
    assert "required columns" in msg and "wrong delimiter" in msg


def test_binary_file_renamed_csv(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    d = tmp_path / "bin"
    d.mkdir()
    rnd = random.Random(7)
    (d / "day.csv").write_bytes(bytes(rnd.randrange(256) for _ in range(20000)))
    code, err = _ingest(root, d)
    assert "required columns" in _check_untouched(lh, before, err, code)


def test_reject_threshold(populated, tmp_path):
    root, lh = populated
    before = table_versions(lh)
    d = tmp_path / "bad_rows"
    d.mkdir()
    lines = (ONLINE_RETAIL_DAYS / DAY).read_text().splitlines()
    bad = [lines[0]] + [line.replace("2010-12-01", "2010-99-01") for line in lines[1:]]
    (d / "day.csv").write_text("\n".join(bad) + "\n")
    code, err = _ingest(root, d)
    msg = _check_untouched(lh, before, err, code)
    assert "max_reject_share" in msg and N.R_BAD_TS in msg


def test_usage_errors(populated):
    root, lh = populated
    before = table_versions(lh)
    code, err = run_cli("ingest", ["--source", "nosuch", "--path", "/tmp", "--lakehouse", root])
    assert code == 2 and "invalid choice" in err
    code, err = run_cli(
        "ingest",
        ["--source", "canonical", "--path", "/tmp", "--lakehouse", root, "--as-of", "2011-13-45"],
    )
    assert code == 2 and "2011-13-45" in err
    code, err = run_cli(
        "ingest",
        ["--source", "canonical", "--path", "/tmp", "--lakehouse", root, "--set", "ingest.nope=1"],
    )
    assert code == 2 and "ingest.nope" in err
    assert table_versions(lh) == before  # usage errors do not even start a run
