"""Spreadsheet landing files: the original UCI Online Retail is a single .xlsx.

Spark has no built-in Excel reader, so an .xlsx is converted once, streaming row by row
(constant memory), into a CSV in the lakehouse's staging folder; the CSV keeps the
workbook's modification time so incremental ingest treats it as unchanged on re-runs.
"""

from __future__ import annotations

import csv
import datetime as dt
import os
from pathlib import Path


def _cell(v: object) -> str:
    if v is None:
        return ""
    if isinstance(v, dt.datetime):
        return v.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(v, dt.date):
        return v.isoformat()
    return str(v)


def xlsx_to_csv(src: str | Path, dst: str | Path) -> Path:
    """Convert the first sheet of ``src`` to a UTF-8 CSV at ``dst`` (skipped when current).

    Args:
        src: Local path of the workbook.
        dst: Local path of the CSV to write.

    Returns:
        ``dst`` as a Path.
    """
    from openpyxl import load_workbook

    src, dst = Path(src), Path(dst)
    st = src.stat()
    if dst.exists() and dst.stat().st_mtime == st.st_mtime:
        return dst
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".csv.tmp")
    wb = load_workbook(src, read_only=True, data_only=True)
    try:
        with tmp.open("w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            for row in wb.worksheets[0].iter_rows(values_only=True):
                w.writerow([_cell(v) for v in row])
    finally:
        wb.close()
    os.utime(tmp, (st.st_atime, st.st_mtime))
    tmp.replace(dst)
    return dst
