"""generate --scale N --seed K: write a synthetic shop in the canonical landing format
(every shop entity; with ``generate.profile=longtail`` the one-year long-tail marketplace of
:mod:`lakecart.generate_longtail`: orders, products, customers, events) under
<lakehouse>/landing/, then ingest it.

The same scale and seed give the same data; when that landing folder is already complete
(its marker's parameters match, including the version of the default shop's product photos)
it is not written again, so a re-run changes no table.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from typing import Any

from pyspark.sql import SparkSession

from lakecart import names as N
from lakecart.config import Config
from lakecart.jobs import ingest as ingest_job
from lakecart.runlog import RunContext
from lakecart.tables import Lakehouse

log = logging.getLogger("lakecart")
MARKER = "_lakecart_generated.json"


def landing_dir(config: Config, scale: int, seed: int) -> str:
    """Where the synthetic shop for (scale, seed) and ``generate.profile`` lands."""
    profile = config.generate.profile
    kind = "" if profile == N.GEN_PROFILE_DEFAULT else f"-{profile}"
    return f"{config.lakehouse.root.rstrip('/')}/landing/synthetic{kind}-s{scale}-seed{seed}"


def _read_marker(spark: SparkSession, path: str) -> dict[str, Any] | None:
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    hp = jvm.org.apache.hadoop.fs.Path(f"{path}/{MARKER}")
    fs = hp.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # noqa: SLF001
    if not fs.exists(hp):
        return None
    stream = fs.open(hp)
    try:
        data = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    return json.loads(data)


def _write_marker(spark: SparkSession, path: str, content: dict[str, Any]) -> None:
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    hp = jvm.org.apache.hadoop.fs.Path(f"{path}/{MARKER}")
    fs = hp.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())  # noqa: SLF001
    out = fs.create(hp, True)
    try:
        out.write(bytearray(json.dumps(content, sort_keys=True).encode()))
    finally:
        out.close()


def generate(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, scale: int, seed: int
) -> dict[str, Any]:
    """Write the synthetic landing folder (unless already complete) and ingest it."""
    from lakecart.generate import generate_landing
    from lakecart.generate_images import IMAGES_VERSION

    g = config.generate
    params = {
        "scale": scale,
        "seed": seed,
        "start_date": g.start_date,
        "days": g.days,
        "format": g.landing_format,
    }
    if g.profile == N.GEN_PROFILE_LONGTAIL:  # long-tail markers written before stay valid
        params.update(profile=g.profile, days=None)
    elif g.profile == N.GEN_PROFILE_SKEW:
        params.update(
            profile=g.profile,
            images=IMAGES_VERSION,
            skew_customer_orders=g.skew_customer_orders,
            skew_item_share=g.skew_item_share,
        )
    else:  # the default shop has product photos: a folder landed without them is written again
        params.update(images=IMAGES_VERSION)
    out = landing_dir(config, scale, seed)
    t0 = time.perf_counter()
    with ctx.stage("generate") as st:
        marker = _read_marker(spark, out)
        if marker and marker.get("params") == params:
            rows = marker["rows"]
            st.update(reused=out)
        else:
            rows = generate_landing(
                spark,
                out,
                scale=scale,
                seed=seed,
                start_date=g.start_date,
                days=g.days,
                fmt=g.landing_format,
                profile=g.profile,
                skew_customer_orders=g.skew_customer_orders,
                skew_item_share=g.skew_item_share,
            )
            _write_marker(spark, out, {"params": params, "rows": rows})
            st.update(**{k: v for k, v in rows.items()})
    t1 = time.perf_counter()
    results = ingest_job.ingest(spark, config, lh, ctx, N.SRC_CANONICAL, out)
    ctx.summary.update(generate_seconds=t1 - t0, ingest_seconds=time.perf_counter() - t1)
    return {"landing": out, "generated": rows, "ingested": {r.entity: r.__dict__ for r in results}}


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Options of the generate job."""
    p.add_argument(
        "--scale",
        type=int,
        default=None,
        help="size multiplier (1 = small demo; default generate.scale)",
    )
    p.add_argument("--seed", type=int, default=None, help="random seed (default generate.seed)")


def run(
    spark: SparkSession, config: Config, lh: Lakehouse, ctx: RunContext, args: argparse.Namespace
) -> dict[str, Any]:
    """Job entry point."""
    scale = args.scale if args.scale is not None else config.generate.scale
    seed = args.seed if args.seed is not None else config.generate.seed
    if scale < 1:
        raise ValueError(f"--scale must be >= 1, got {scale}")
    return generate(spark, config, lh, ctx, scale, seed)


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point."""
    from lakecart.cli import job_main

    job_main("generate", __doc__, add_arguments, run, argv)
