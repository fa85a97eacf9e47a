"""``recommend``: train implicit ALS, item-to-item CF, content similarity and popularity on
the interactions before ``--as-of``, choose their hyperparameters and the hybrid's weights
on a validation split, evaluate every model beside the popularity baseline on a holdout
(``ops.model_metrics``), refit on all data before as_of and publish
``gold.recommendations``, ``gold.similar_items`` and ``gold.popular_items``.

``--model-version V`` reuses a saved model (no training): the current interactions are
re-scored with it. Without enough data (no orders/events/ratings, or fewer than
``recommend.min_users`` users / ``recommend.min_items`` items) the job logs why and skips.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

from pyspark.sql import SparkSession

from lakecart.asof import resolve_as_of
from lakecart.config import Config
from lakecart.recommend.build import run_recommend
from lakecart.runlog import RunContext
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the recommend job."""
    p.add_argument(
        "--model-version",
        default=None,
        dest="model_version",
        help="reuse this saved model version (skip training, re-score and publish)",
    )


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point (also used by ``pipeline`` and the notebook)."""
    as_of = resolve_as_of(lh, config)
    out = run_recommend(spark, config, lh, ctx, as_of, getattr(args, "model_version", None))
    log.info("[recommend] %s", {k: v for k, v in out.items() if k != "choice"})
    return out


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("recommend", __doc__, add_arguments, run, argv)
