"""Shared command line for every job: common options, config, session, run tracking and
one-line errors (full traceback only with ``--debug``)."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lakecart.config import Config, ConfigError, load_config

COMMON_HELP = """
common options (every job):
  --env NAME         conf/base.yaml overlaid with conf/NAME.yaml (default: local)
  --conf FILE        an extra YAML overlay, applied after --env (repeatable)
  --set a.b=v        override one config key (repeatable)
  --lakehouse DIR    root of path-based tables (default ./lakehouse in local)
  --as-of DATE       decision date YYYY-MM-DD: models learn only from data strictly before it
  --master URL       Spark master (passed to spark-submit by spark-submit.sh)
  --debug            full tracebacks on error
"""

RunFn = Callable[..., dict[str, Any]]


def setup_logging(debug: bool = False) -> None:
    """One line per stage on stderr; Spark's own progress bar stays visible."""
    logging.basicConfig(
        level=logging.DEBUG if debug else logging.INFO,
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
        force=True,
    )
    for noisy in ("py4j", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


def build_parser(
    job: str, description: str | None, add_args: Callable[[argparse.ArgumentParser], None]
) -> argparse.ArgumentParser:
    """The job's argument parser with the common options."""
    p = argparse.ArgumentParser(
        prog=f"./spark-submit.sh {job}",
        description=(description or "").replace("``", "").strip() or None,
        epilog=COMMON_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_args(p)
    g = p.add_argument_group("common")
    g.add_argument("--env", default="local")
    g.add_argument("--conf", action="append", default=[], dest="conf_files")
    g.add_argument("--set", action="append", default=[], dest="overrides", metavar="KEY=VALUE")
    g.add_argument("--lakehouse", default=None)
    g.add_argument("--as-of", default=None, dest="as_of")
    g.add_argument("--master", default=None)
    g.add_argument("--debug", action="store_true")
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    """Load the configuration the common options describe."""
    overrides = list(args.overrides)
    if args.lakehouse:
        overrides.append(f"lakehouse.root={args.lakehouse}")
    if args.as_of:
        overrides.append(f"run.as_of={args.as_of}")
    if args.master:
        overrides.append(f"spark.master={args.master}")
    if args.debug:
        overrides.append("run.debug=true")
    return load_config(args.env, args.conf_files, overrides)


class InputError(ValueError):
    """A command-line input that can be checked without Spark is wrong (a missing path)."""


def _is_local(path: str) -> bool:
    return "://" not in path or path.startswith("file:")


def check_inputs(args: argparse.Namespace) -> None:
    """Checks that need no Spark: a local ``--path`` exists and is readable, and a
    ``--source`` comes with a ``--path``.

    Raises:
        InputError: naming the problem (the same one-line message the job would give).
    """
    source, path = getattr(args, "source", None), getattr(args, "path", None)
    if source and not path:
        raise InputError("--source needs --path")
    if path and _is_local(path):
        local = Path(path.removeprefix("file://").removeprefix("file:"))
        if not local.exists():
            raise InputError(f"path not found: {path}")
        if not os.access(local, os.R_OK):
            raise InputError(f"path not readable: {path}")


def prepare(
    job: str,
    description: str | None,
    add_args: Callable[[argparse.ArgumentParser], None],
    argv: list[str] | None = None,
) -> tuple[argparse.Namespace, Config]:
    """Parse the command line, load the configuration and check the inputs, all without
    starting Spark (``spark-submit.sh`` runs this before the JVM, so mistakes fail in a
    second or two).

    Raises:
        SystemExit: on an argparse error (usage and message, exit 2).
        ConfigError: on an unknown config key, a wrong type or a malformed ``--as-of``.
        InputError: on a missing or unreadable local ``--path``.
    """
    parser = build_parser(job, description, add_args)
    args = parser.parse_args(argv)
    config = config_from_args(args)
    check_inputs(args)
    return args, config


def job_args(args: argparse.Namespace) -> dict[str, Any]:
    """The arguments recorded in ``ops.runs.args``."""
    return {k: v for k, v in vars(args).items() if v not in (None, [], False)}


def job_main(
    job: str,
    description: str | None,
    add_args: Callable[[argparse.ArgumentParser], None],
    run: RunFn,
    argv: list[str] | None = None,
) -> None:
    """Parse, configure, start Spark, run ``run(spark, config, lh, ctx, args)`` tracked in
    ``ops.runs``, and exit non-zero with a one-line reason on any failure."""
    setup_logging("--debug" in (argv if argv is not None else sys.argv[1:]))
    log = logging.getLogger("lakecart")
    try:
        args, config = prepare(job, description, add_args, argv)
    except (ConfigError, InputError) as e:
        print(f"lakecart {job}: error: {e}", file=sys.stderr)
        sys.exit(2)
    try:
        from lakecart.runlog import tracked_run
        from lakecart.session import get_spark
        from lakecart.tables import Lakehouse

        spark = get_spark(config)
        lh = Lakehouse(spark, config.lakehouse)
        with tracked_run(lh, job, job_args(args)) as ctx:
            run(spark, config, lh, ctx, args)
    except SystemExit:
        raise
    except BaseException as e:  # noqa: BLE001 - the CLI's job is to report every failure
        from lakecart.runlog import one_line

        if args.debug:
            traceback.print_exc()
        log.debug("failed", exc_info=True)
        print(f"lakecart {job}: error: {one_line(e)}", file=sys.stderr)
        sys.exit(1)


def preflight(argv: list[str]) -> int:
    """``python -m lakecart.cli JOB [ARGS...]``: run :func:`prepare` for a job without
    starting Spark; print the job's one-line error and return non-zero when it fails."""
    if not argv:
        print("usage: python -m lakecart.cli JOB [ARGS...]", file=sys.stderr)
        return 2
    job, rest = argv[0], argv[1:]
    try:
        module = importlib.import_module(f"lakecart.jobs.{job}")
    except ModuleNotFoundError:
        print(f"lakecart: error: unknown job '{job}'", file=sys.stderr)
        return 2
    try:
        prepare(job, module.__doc__, module.add_arguments, rest)
    except (ConfigError, InputError) as e:
        print(f"lakecart {job}: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # argparse has printed its usage and message
        return int(e.code or 0)
    return 0


if __name__ == "__main__":
    sys.exit(preflight(sys.argv[1:]))
