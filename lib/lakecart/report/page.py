"""The report as one self-contained HTML file, and where it is written.

Plotly's JavaScript is embedded once in the page's head; every chart is a ``<div>`` and an
inline script calling ``Plotly.newPlot`` with its data. Nothing refers to the network: no
``<script src>``, no stylesheet or font links (system fonts), no map traces (they fetch
tiles), the Plotly logo link is off, and the favicon is an empty data URI so that the
browser does not ask for one.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlparse

import plotly.io as pio
import plotly.offline as po
from pyspark.sql import SparkSession

from lakecart.report.figures import Chart, Table
from lakecart.report.sections import Section

log = logging.getLogger("lakecart")

PLOT_CONFIG = {
    "displaylogo": False,
    "responsive": True,
    "showLink": False,
    "showSendToCloud": False,
}

STYLE = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
  color: #0f172a; background: #f8fafc; }
header { background: #0f172a; color: #f8fafc; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 22px; }
header p { margin: 0; color: #cbd5e1; }
nav { padding: 10px 32px; background: #e2e8f0; position: sticky; top: 0; z-index: 10; }
nav a { margin-right: 16px; color: #1e3a8a; text-decoration: none; font-weight: 600; }
main { padding: 8px 32px 40px; max-width: 1500px; }
section { margin-top: 22px; }
section > h2 { font-size: 19px; border-bottom: 2px solid #cbd5e1; padding-bottom: 4px; }
.intro { color: #334155; margin: 6px 0 12px; }
.grid { align-items: start; display: grid; grid-template-columns: repeat(auto-fit, minmax(620px, 1fr)); gap: 16px; }
.grid > * { min-width: 0; }
figure { margin: 0; overflow: hidden; background: #fff; border: 1px solid #e2e8f0; border-radius: 8px;
  padding: 10px 12px; }
figure.wide { grid-column: 1 / -1; }
figcaption { color: #475569; font-size: 13px; margin: 4px 2px 2px; }
figure h3 { font-size: 15px; margin: 2px 0 4px; }
table { border-collapse: collapse; font-size: 12.5px; width: 100%; }
th, td { border-bottom: 1px solid #e2e8f0; padding: 3px 8px; text-align: right; }
th { background: #f1f5f9; }
td:first-child, th:first-child { text-align: left; }
.scroll { max-height: 460px; overflow: auto; }
.skipped li { color: #64748b; }
footer { color: #64748b; padding: 0 32px 30px; font-size: 12px; }
"""


@dataclass
class Page:
    """What the page says about itself."""

    title: str
    subtitle: str
    sections: Sequence[Section]
    footer: str


def chart_html(c: Chart, div_id: str, wide: bool = False) -> str:
    """One chart: the sentence and the plot (Plotly's JavaScript is not included)."""
    plot = pio.to_html(
        c.figure,
        full_html=False,
        include_plotlyjs=False,
        include_mathjax=False,
        div_id=div_id,
        config=PLOT_CONFIG,
        default_width="100%",
    )
    cls = ' class="wide"' if wide else ""
    return (
        f'<figure{cls} data-chart="{html.escape(c.title)}">'
        f"{plot}<figcaption>{html.escape(c.sentence)}</figcaption></figure>"
    )


def table_html(t: Table) -> str:
    """One small table with its title and sentence."""
    body = t.frame.to_html(
        index=False, border=0, escape=True, na_rep="", float_format=lambda v: f"{v:,.4g}"
    )
    return (
        f'<figure class="wide"><h3>{html.escape(t.title)}</h3>'
        f'<figcaption>{html.escape(t.sentence)}</figcaption><div class="scroll">{body}</div></figure>'
    )


# charts are drawn while the page is parsed, before the grid's final widths are known: size
# them again to their boxes once everything is laid out
RESIZE = (
    "<script>window.addEventListener('load', function () {"
    " document.querySelectorAll('.js-plotly-plot').forEach(function (d) {"
    " Plotly.Plots.resize(d); }); });</script>"
)
WIDE_CHARTS = ("Sales trend", "Forecast vs actuals", "Cohort retention")


def render(page: Page) -> str:
    """The whole HTML document."""
    shown = [s for s in page.sections if s.skipped is None and s.items]
    skipped = [s for s in page.sections if s not in shown]
    nav = "".join(f'<a href="#{s.key}">{html.escape(s.title)}</a>' for s in shown)
    body: list[str] = []
    n = 0
    for s in shown:
        parts = []
        for item in s.items:
            if isinstance(item, Chart):
                n += 1
                wide = item.title.startswith(WIDE_CHARTS)
                parts.append(chart_html(item, f"chart-{n}", wide))
            else:
                parts.append(table_html(item))
        body.append(
            f'<section id="{s.key}"><h2>{html.escape(s.title)}</h2>'
            f'<p class="intro">{html.escape(s.intro)}</p><div class="grid">{"".join(parts)}</div>'
            "</section>"
        )
    if skipped:
        lis = "".join(
            f"<li>{html.escape(s.title)}: {html.escape(s.skipped or 'nothing to show')}</li>"
            for s in skipped
        )
        body.append(
            '<section id="not-shown"><h2>Not shown</h2><p class="intro">Sections whose tables '
            f'are not in this lakehouse (their stage did not run or published nothing).</p><ul class="skipped">{lis}</ul></section>'
        )
    js = po.get_plotlyjs().replace("</script", "<\\/script")
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<link rel="icon" href="data:,">'
        f"<title>{html.escape(page.title)}</title><style>{STYLE}</style>"
        f'<script type="text/javascript">{js}</script></head><body>'
        f"<header><h1>{html.escape(page.title)}</h1><p>{html.escape(page.subtitle)}</p></header>"
        f"<nav>{nav}</nav><main>{''.join(body)}</main>"
        f"<footer>{html.escape(page.footer)}</footer>{RESIZE}</body></html>"
    )


# ------------------------------------------------------------------ self-containment check
URL_ATTRS = {
    "src",
    "href",
    "xlink:href",
    "action",
    "formaction",
    "poster",
    "data",
    "srcset",
    "background",
    "manifest",
}
CSS_URL = re.compile(r"(?:url\(\s*['\"]?|@import\s+['\"])\s*([^'\")\s]+)", re.I)


class _Refs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.refs: list[str] = []
        self._style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for k, v in attrs:
            key = k.lower()
            if v is None:
                continue
            if key == "srcset":
                self.refs.extend(part.strip().split(" ")[0] for part in v.split(","))
            elif key in URL_ATTRS:
                self.refs.append(v.strip())
            elif key == "style":
                self.refs.extend(CSS_URL.findall(v))
        self._style = tag.lower() == "style"

    def handle_endtag(self, tag: str) -> None:
        self._style = False

    def handle_data(self, data: str) -> None:
        if self._style:
            self.refs.extend(CSS_URL.findall(data))


def external_references(document: str) -> list[str]:
    """URLs the document's markup or styles would load from outside the file: every
    ``src``/``href``-like attribute and CSS ``url()``/``@import`` whose target is not an
    in-page anchor, a ``data:`` URI or ``javascript:``. Script text is not markup: URL
    strings inside Plotly's bundle (map tile servers it never uses here) do not count."""
    p = _Refs()
    p.feed(document)
    out = []
    for ref in p.refs:
        low = ref.lower()
        if not low or low.startswith(("#", "data:", "javascript:", "about:blank")):
            continue
        out.append(ref)
    return out


# ------------------------------------------------------------------ writing
def local_path(uri: str) -> Path | None:
    """The local path of ``uri`` (a plain path or a ``file:`` URI), None for other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and os.name == "nt"):
        if parsed.scheme == "file":
            return Path(parsed.path)
        return Path(uri)
    return None


def write_text(spark: SparkSession, uri: str, text: str) -> None:
    """Write ``text`` (UTF-8) to ``uri``: plain file IO for local paths (atomically, by a
    rename), Hadoop's FileSystem for any other URI (HDFS, object stores, DBFS)."""
    path = local_path(uri)
    data = text.encode("utf-8")
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        return
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    conf = spark.sparkContext._jsc.hadoopConfiguration()  # noqa: SLF001
    hpath = jvm.org.apache.hadoop.fs.Path(uri)
    fs = hpath.getFileSystem(conf)
    fs.mkdirs(hpath.getParent())
    out = fs.create(hpath, True)
    try:
        step = 8 << 20
        for i in range(0, len(data), step):
            out.write(bytearray(data[i : i + step]))
    finally:
        out.close()


def exists(spark: SparkSession, uri: str) -> bool:
    """Whether a file exists at ``uri`` (local path, ``file:`` URI or any Hadoop URI)."""
    path = local_path(uri)
    if path is not None:
        return path.is_file()
    jvm = spark.sparkContext._jvm  # noqa: SLF001
    hpath = jvm.org.apache.hadoop.fs.Path(uri)
    return bool(hpath.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(hpath))  # noqa: SLF001


def reports_root(lakehouse_root: str, reports_dir: str | None) -> str:
    """Folder of the reports: ``reports_dir`` or ``<lakehouse root>/_reports``."""
    return (reports_dir or f"{lakehouse_root.rstrip('/')}/_reports").rstrip("/")


def report_uris(root: str, as_of: dt.date) -> tuple[str, str]:
    """(``<root>/<as_of>/index.html``, ``<root>/latest/index.html``)."""
    return f"{root}/{as_of.isoformat()}/index.html", f"{root}/latest/index.html"
