"""Test helpers."""

from __future__ import annotations

import contextlib
import hashlib
import io
from pathlib import Path

import pandas as pd

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


def read(root: Path, entity: str) -> pd.DataFrame:
    """One landed entity's CSV part files as text columns."""
    files = sorted((root / entity).glob("part-*.csv"))
    assert files, f"no part files for {entity}"
    return pd.concat(
        [pd.read_csv(f, dtype=str, keep_default_na=False) for f in files], ignore_index=True
    )


def digest(root: Path) -> dict[str, str]:
    """Content hash per entity (part files in order; their names carry a random job id)."""
    out = {}
    for d in sorted(p for p in root.iterdir() if p.is_dir()):
        h = hashlib.sha256()
        for f in sorted(d.glob("part-*")):
            h.update(f.read_bytes())
        out[d.name] = h.hexdigest()
    return out
