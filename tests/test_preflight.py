"""Fail fast: mistakes that need no Spark are reported by ``spark-submit.sh`` before the JVM
starts, with the job's one-line error (issue 18)."""

from __future__ import annotations

import os
import subprocess

import pytest

from tests.conftest import REPO

# Lines only a started JVM prints (spark-submit's dependency resolution, Spark's logging).
JVM_MARKS = (":: retrieving ::", "Ivy Default Cache", "log4j", "SparkContext", "NativeCodeLoader")


def _submit(*args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYSPARK_GATEWAY")}
    return subprocess.run(
        [str(REPO / "spark-submit.sh"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["ingest", "--source", "online_retail", "--path", "/no/such/folder"],
            "lakecart ingest: error: path not found: /no/such/folder",
        ),
        (
            ["features", "--set", "features.nope=1"],
            "lakecart features: error: unknown config key 'features.nope'",
        ),
        (
            ["forecast", "--as-of", "2011-13-45"],
            "lakecart forecast: error: --as-of: '2011-13-45' is not a date",
        ),
        (
            ["features", "--set", "features.windows=seven"],
            "lakecart features: error: features.windows: expected a list",
        ),
        (
            ["ingest", "--source", "nosuch", "--path", "/tmp"],
            "argument --source: invalid choice: 'nosuch'",
        ),
        (["nosuchjob"], "spark-submit.sh: error: unknown job 'nosuchjob'"),
    ],
)
def test_errors_before_the_jvm_starts(args, message):
    p = _submit(*args)
    assert p.returncode == 2, p.stderr
    assert message in p.stderr
    assert not any(m in p.stderr + p.stdout for m in JVM_MARKS), p.stderr


def test_preflight_accepts_a_valid_command_without_starting_spark():
    from lakecart.cli import preflight

    assert preflight(["ingest", "--source", "canonical", "--path", str(REPO)]) == 0
    assert preflight(["features", "--as-of", "2011-11-01", "--set", "features.windows=[7]"]) == 0
    assert preflight(["nosuchjob"]) == 2
