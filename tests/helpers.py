"""Test helpers."""

from __future__ import annotations

import contextlib
import io

from lakecart.schemas import all_specs
from lakecart.tables import Lakehouse


def run_cli(job: str, argv: list[str]) -> tuple[int, str]:
    """Run a job's command line in-process (reusing the test session); (exit code, stderr)."""
    import importlib

    module = importlib.import_module(f"lakecart.jobs.{job}")
    err = io.StringIO()
    code = 0
    with contextlib.redirect_stderr(err):
        try:
            module.main(argv)
        except SystemExit as e:
            code = int(e.code or 0)
    return code, err.getvalue()


def table_versions(lh: Lakehouse) -> dict[str, int | None]:
    """Delta version of every declared table (None when absent)."""
    return {s.full_name: lh.version(s) for s in all_specs()}
