"""Helpers the benchmark scripts share (run as ``python bench/<name>.py``, so this folder is
on ``sys.path``)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakecart.config import Config, load_config


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    """Seconds ``fn()`` took, and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def config_for(root: Path | str, a: argparse.Namespace, *extra: str) -> Config:
    """The ``local`` configuration on ``root`` with the bench's ``--master`` and
    ``--shuffle-partitions``, Spark's console progress off, then ``extra`` overrides."""
    return load_config(
        "local",
        overrides=[
            f"spark.master={a.master}",
            f"spark.shuffle_partitions={a.shuffle_partitions}",
            f"lakehouse.root={root}",
            "spark.conf.spark.ui.showConsoleProgress=false",
            *extra,
        ],
    )
