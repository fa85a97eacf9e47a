"""The report's charts: small pandas frames in, Plotly figures out (no Spark here).

Every builder returns a :class:`Chart` (a figure with a title, axis titles with units and
one sentence saying what it shows) or None when the frame has nothing to draw. The
frames are the bounded aggregates :mod:`lakecart.report.sections` collects from the gold
and ops tables; their columns are named in each builder's docstring.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MONEY = "shop currency"
PALETTE = (
    "#2563eb",
    "#f59e0b",
    "#10b981",
    "#ef4444",
    "#8b5cf6",
    "#06b6d4",
    "#f97316",
    "#84cc16",
    "#ec4899",
    "#64748b",
)
MAX_DAILY_BARS = 1100  # beyond ~3 years of days the trend's bars become weekly means
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass
class Chart:
    """One chart of the report.

    Attributes:
        title: Shown above the chart (also the figure's title).
        sentence: One sentence saying what the chart shows.
        figure: The Plotly figure (axis titles carry the units).
    """

    title: str
    sentence: str
    figure: go.Figure


@dataclass
class Table:
    """A small table of the report (at most a few dozen rows)."""

    title: str
    sentence: str
    frame: pd.DataFrame


def layout(
    fig: go.Figure, title: str, x: str, y: str, height: int = 380, legend: bool = True
) -> go.Figure:
    """Common look: the title, axis titles (with units), margins, fonts, no external assets."""
    fig.update_layout(
        title={"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 15}},
        xaxis_title=x,
        yaxis_title=y,
        height=height,
        margin={"l": 70, "r": 20, "t": 50, "b": 55},
        font={"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 12},
        template="plotly_white",
        colorway=list(PALETTE),
        showlegend=legend,
    )
    return fig


def chart(title: str, sentence: str, fig: go.Figure) -> Chart:
    """A :class:`Chart` whose figure carries ``title``."""
    return Chart(title, sentence, fig)


def money(v: float) -> str:
    """``1234567.8`` -> ``1.23M`` (for sentences)."""
    a = abs(v)
    for div, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if a >= div:
            return f"{v / div:.2f}{suffix}"
    return f"{v:.2f}"


def pct(v: float) -> str:
    """``0.1234`` -> ``12.3 %``."""
    return f"{100 * v:.1f} %"


def top_with_other(df: pd.DataFrame, label: str, value: str, n: int) -> pd.DataFrame:
    """The ``n`` largest rows by ``value``, the rest summed into one ``other`` row."""
    df = df.sort_values(value, ascending=False)
    head = df.head(n)
    rest = df.iloc[n:]
    if len(rest):
        other = pd.DataFrame({label: [f"other ({len(rest)})"], value: [rest[value].sum()]})
        head = pd.concat([head[[label, value]], other], ignore_index=True)
    return head[[label, value]]


# ------------------------------------------------------------------ run and data quality
def stage_durations(runs: pd.DataFrame) -> Chart | None:
    """Latest run of each job: columns ``job``, ``seconds``, ``status``, ``started_at``."""
    if runs.empty:
        return None
    runs = runs.sort_values("started_at", ascending=False)
    fig = go.Figure()
    for status, part in runs.groupby("status", sort=True):
        fig.add_bar(
            x=part["seconds"], y=part["job"], orientation="h", name=str(status), text=part["status"]
        )
    fig.update_traces(textposition="none")
    fig.update_yaxes(categoryorder="array", categoryarray=list(runs["job"])[::-1])
    total = float(runs["seconds"].sum())
    title = "Run time of the latest run of each job"
    return chart(
        title,
        f"Wall-clock seconds of each job's latest run from ops.runs ({total:,.0f} s in all), "
        "coloured by its status.",
        layout(fig, title, "duration (seconds)", "job", height=max(260, 28 * len(runs) + 120)),
    )


def row_accounting(acc: pd.DataFrame) -> Chart | None:
    """Rows per entity: columns ``entity``, ``silver``, ``quarantine``, ``duplicates``."""
    if acc.empty:
        return None
    acc = acc.sort_values("silver", ascending=True)
    fig = go.Figure()
    for col in ("silver", "quarantine", "duplicates"):
        fig.add_bar(x=acc[col].clip(lower=0), y=acc["entity"], orientation="h", name=col)
    fig.update_layout(barmode="group")
    fig.update_xaxes(type="log")
    bronze = int(acc[["silver", "quarantine", "duplicates"]].to_numpy().sum())
    rejected = int(acc["quarantine"].sum())
    title = "Ingest row accounting per entity"
    return chart(
        title,
        f"Every bronze record ends in silver, in quarantine or as a removed duplicate "
        f"({bronze:,} records, {rejected:,} quarantined), summed over the ingest runs in "
        "ops.data_quality.",
        layout(fig, title, "rows (log scale)", "entity", height=max(280, 60 * len(acc) + 120)),
    )


def quarantine_reasons(q: pd.DataFrame) -> Chart | None:
    """Quarantined rows: columns ``entity``, ``reason``, ``rows``."""
    if q.empty:
        return None
    q = q.sort_values("rows", ascending=True).tail(25)
    labels = q["entity"] + ": " + q["reason"]
    fig = go.Figure(go.Bar(x=q["rows"], y=labels, orientation="h", marker_color=PALETTE[3]))
    top = q.iloc[-1]
    title = "Quarantined records by entity and reason"
    return chart(
        title,
        f"Why records were rejected into silver.quarantine; the most frequent is "
        f"{top['entity']}: {top['reason']} ({int(top['rows']):,} records).",
        layout(fig, title, "records (count)", "entity: reason", 80 + 26 * len(q) + 120, False),
    )


# ------------------------------------------------------------------ sales
def sales_trend(daily: pd.DataFrame, window: int = 28) -> Chart | None:
    """Daily sales: columns ``day`` (date), ``revenue``, ``returned_revenue``."""
    if daily.empty:
        return None
    d = daily.sort_values("day").set_index("day")[["revenue", "returned_revenue"]]
    full = pd.date_range(d.index.min(), d.index.max(), freq="D")
    d = d.reindex(full, fill_value=0.0)
    rolling = d["revenue"].rolling(window, min_periods=1).mean()
    fig = go.Figure()
    bars = d["revenue"]
    per = "day"
    if len(d) > MAX_DAILY_BARS:  # long histories: weekly bars (in daily units), same mean line
        bars = d["revenue"].resample("W-MON", label="left", closed="left").mean()
        per = "day, weekly mean"
    fig.add_bar(x=bars.index, y=bars, name=f"net revenue per {per}", marker_color="#93c5fd")
    fig.add_scatter(
        x=d.index, y=rolling, name=f"{window}-day mean", mode="lines", line_color=PALETTE[0]
    )
    fig.add_scatter(
        x=d.index,
        y=-d["returned_revenue"].rolling(window, min_periods=1).mean(),
        name=f"returns ({window}-day mean)",
        mode="lines",
        line_color=PALETTE[3],
    )
    first = d["revenue"].iloc[: min(len(d), 91)].sum()
    last = d["revenue"].iloc[-min(len(d), 91) :].sum()
    change = (last / first - 1) if first > 0 and len(d) >= 182 else None
    extra = f"; the last 91 days sold {change:+.0%} vs the first 91" if change is not None else ""
    title = "Sales trend: net revenue per day"
    return chart(
        title,
        f"Net revenue (sales minus returns) per day from gold.sales_daily, with its {window}-day "
        f"mean and the returned value below zero{extra}.",
        layout(fig, title, "date", f"net revenue ({MONEY} per day)"),
    )


def weekday_profile(daily: pd.DataFrame) -> Chart | None:
    """Columns ``day``, ``revenue``: mean net revenue by weekday (days without sales count 0)."""
    if len(daily) < 14:
        return None
    d = daily.set_index("day")["revenue"]
    d = d.reindex(pd.date_range(d.index.min(), d.index.max(), freq="D"), fill_value=0.0)
    prof = d.groupby(d.index.dayofweek).mean().reindex(range(7), fill_value=0.0)
    fig = go.Figure(go.Bar(x=list(WEEKDAYS), y=prof.to_numpy(), marker_color=PALETTE[0]))
    best = WEEKDAYS[int(prof.to_numpy().argmax())]
    title = "Weekly seasonality: mean revenue by weekday"
    return chart(
        title,
        f"Mean net revenue per calendar day by day of the week; {best} sells the most.",
        layout(fig, title, "day of the week", f"mean net revenue ({MONEY} per day)", legend=False),
    )


def monthly_seasonality(daily: pd.DataFrame) -> Chart | None:
    """Columns ``day``, ``revenue``: net revenue per calendar month, one line per year."""
    if daily.empty:
        return None
    d = daily.copy()
    d["day"] = pd.to_datetime(d["day"])
    m = d.groupby([d["day"].dt.year.rename("year"), d["day"].dt.month.rename("month")])[
        "revenue"
    ].sum()
    if len(m) < 3:
        return None
    fig = go.Figure()
    for year, part in m.groupby(level=0):
        months = part.index.get_level_values(1)
        fig.add_scatter(
            x=[MONTHS[i - 1] for i in months],
            y=part.to_numpy(),
            mode="lines+markers",
            name=str(year),
        )
    fig.update_xaxes(categoryorder="array", categoryarray=list(MONTHS))
    peak = MONTHS[int(m.groupby(level=1).mean().idxmax()) - 1]
    title = "Yearly seasonality: net revenue per month"
    return chart(
        title,
        f"Net revenue per calendar month, one line per year (first and last months may be "
        f"partial); {peak} is the strongest month on average.",
        layout(fig, title, "month", f"net revenue ({MONEY} per month)"),
    )


def countries(df: pd.DataFrame, n: int) -> Chart | None:
    """Columns ``country``, ``revenue``, ``orders``: the top ``n`` countries and the rest."""
    if df.empty:
        return None
    total = float(df["revenue"].sum())
    top = top_with_other(df, "country", "revenue", n).iloc[::-1]
    fig = go.Figure(go.Bar(x=top["revenue"], y=top["country"], orientation="h"))
    lead = df.sort_values("revenue", ascending=False).iloc[0]
    share = float(lead["revenue"]) / total if total else 0.0
    title = "Countries by net revenue"
    return chart(
        title,
        f"Net revenue per order country (top {n}, the rest as 'other'); {lead['country']} "
        f"brings {pct(share)} of the total.",
        layout(fig, title, f"net revenue ({MONEY})", "country", 120 + 24 * len(top), False),
    )


def categories_by_channel(df: pd.DataFrame, n: int) -> Chart | None:
    """Columns ``category``, ``channel``, ``revenue``: stacked bars per category."""
    if df.empty:
        return None
    tot = df.groupby("category")["revenue"].sum().sort_values(ascending=False)
    keep = list(tot.index[:n])
    d = df.copy()
    d.loc[~d["category"].isin(keep), "category"] = "other"
    d = d.groupby(["category", "channel"], as_index=False)["revenue"].sum()
    order = keep + (["other"] if "other" in set(d["category"]) else [])
    fig = go.Figure()
    for ch, part in d.groupby("channel"):
        fig.add_bar(x=part["category"], y=part["revenue"], name=str(ch))
    fig.update_layout(barmode="stack")
    fig.update_xaxes(categoryorder="array", categoryarray=order)
    title = "Categories and channels"
    return chart(
        title,
        f"Net revenue per top-level category, split by sales channel; {tot.index[0]} leads with "
        f"{money(float(tot.iloc[0]))}.",
        layout(fig, title, "category", f"net revenue ({MONEY})"),
    )


def top_items(df: pd.DataFrame, weeks: int) -> Chart | None:
    """Columns ``label``, ``revenue``, ``units``: best sellers of the last ``weeks`` weeks."""
    if df.empty:
        return None
    d = df.sort_values("revenue")
    fig = go.Figure(
        go.Bar(x=d["revenue"], y=d["label"], orientation="h", text=d["units"].round(0), name="")
    )
    fig.update_traces(texttemplate="%{text:,} units", textposition="auto")
    title = f"Top items of the last {weeks} weeks"
    return chart(
        title,
        f"The {len(d)} items with the highest net revenue in the last {weeks} weeks before as_of "
        "(from gold.item_sales_weekly), labelled with the units sold.",
        layout(fig, title, f"net revenue ({MONEY})", "item", 120 + 26 * len(d), False),
    )


def declining_items(df: pd.DataFrame, weeks: int) -> Chart | None:
    """Columns ``label``, ``previous``, ``last``: the largest revenue drops."""
    if df.empty:
        return None
    d = df.iloc[::-1]
    fig = go.Figure()
    fig.add_bar(
        x=d["previous"],
        y=d["label"],
        orientation="h",
        name=f"previous {weeks} weeks",
        marker_color="#cbd5e1",
    )
    fig.add_bar(
        x=d["last"],
        y=d["label"],
        orientation="h",
        name=f"last {weeks} weeks",
        marker_color=PALETTE[3],
    )
    fig.update_layout(barmode="group")
    drop = float((df["previous"] - df["last"]).sum())
    title = f"Declining items: last {weeks} weeks vs the {weeks} before"
    return chart(
        title,
        f"The items whose net revenue fell the most between the two {weeks}-week windows "
        f"({money(drop)} lost in all).",
        layout(fig, title, f"net revenue ({MONEY} per {weeks} weeks)", "item", 140 + 40 * len(d)),
    )


def cohort_heatmap(df: pd.DataFrame) -> Chart | None:
    """Columns ``cohort_month`` (date), ``months_since``, ``retention``, ``cohort_customers``."""
    if df.empty:
        return None
    df = df[df["months_since"] >= 1]  # month 0 is 100 % by definition
    if df.empty:
        return None
    piv = df.pivot_table(index="cohort_month", columns="months_since", values="retention")
    piv = piv.sort_index()
    sizes = df.groupby("cohort_month")["cohort_customers"].first().reindex(piv.index)
    ylabels = [
        f"{pd.Timestamp(c):%Y-%m} ({int(s):,})" for c, s in zip(piv.index, sizes, strict=True)
    ]
    z = 100 * piv.to_numpy(dtype=float)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=list(piv.columns),
            y=ylabels,
            colorscale="Blues",
            colorbar={"title": {"text": "retained (%)"}},
            hovertemplate="cohort %{y}<br>month %{x}: %{z:.1f} %<extra></extra>",
            zmin=0,
            zmax=max(1.0, float(np.nanmax(z))),
        )
    )
    fig.update_xaxes(dtick=1)
    m1 = df[df["months_since"] == 1]
    m1_rate = (
        float((m1["retention"] * m1["cohort_customers"]).sum() / m1["cohort_customers"].sum())
        if len(m1) and m1["cohort_customers"].sum()
        else None
    )
    extra = f"; on average {pct(m1_rate)} come back in the month after" if m1_rate else ""
    title = "Cohort retention"
    fig.update_yaxes(autorange="reversed")
    return chart(
        title,
        "Share of each first-order cohort (customers in brackets) that orders again N months "
        f"after its first month (month 0, always 100 %, is left out){extra}.",
        layout(
            fig,
            title,
            "months since the first order (months)",
            "cohort (first-order month)",
            height=max(320, 22 * len(piv) + 140),
            legend=False,
        ),
    )


def funnel_steps(tot: dict[str, float]) -> Chart | None:
    """Keys ``sessions``, ``view_sessions``, ``cart_sessions``, ``purchase_sessions``."""
    if not tot or not tot.get("sessions"):
        return None
    steps = ["sessions", "view_sessions", "cart_sessions", "purchase_sessions"]
    names = ["any event", "with a view", "with a cart", "with a purchase"]
    vals = [float(tot.get(s) or 0) for s in steps]
    fig = go.Figure(
        go.Bar(
            x=names,
            y=vals,
            text=[pct(v / vals[0]) for v in vals],
            textposition="outside",
            marker_color=[PALETTE[0], PALETTE[5], PALETTE[1], PALETTE[2]],
        )
    )
    title = "Shopping funnel: sessions reaching each step"
    return chart(
        title,
        f"Sessions in gold.funnel_daily with a view, a cart and a purchase event; "
        f"{pct(vals[3] / vals[0])} of {int(vals[0]):,} sessions end in a purchase.",
        layout(fig, title, "funnel step", "sessions (count)", legend=False),
    )


def conversion_by(df: pd.DataFrame, dim: str, n: int) -> Chart | None:
    """Columns ``dim``, ``sessions``, ``view_sessions``, ``cart_sessions``,
    ``purchase_sessions``: step rates per value of ``dim`` (the ``n`` largest)."""
    if df.empty:
        return None
    d = df.sort_values("sessions", ascending=False).head(n)
    fig = go.Figure()
    fig.add_bar(
        x=d[dim],
        y=100 * d["cart_sessions"] / d["view_sessions"].where(d["view_sessions"] > 0),
        name="view to cart",
    )
    fig.add_bar(
        x=d[dim],
        y=100 * d["purchase_sessions"] / d["cart_sessions"].where(d["cart_sessions"] > 0),
        name="cart to purchase",
    )
    fig.add_bar(x=d[dim], y=100 * d["purchase_sessions"] / d["sessions"], name="session conversion")
    fig.update_layout(barmode="group")
    label = "entry category" if dim == "category" else dim
    title = f"Conversion by {label}"
    return chart(
        title,
        f"Step conversion rates of the sessions per {label} (the {len(d)} with the most "
        "sessions), from the summed counts of gold.funnel_daily.",
        layout(fig, title, label, "conversion (%)"),
    )


def conversion_trend(weekly: pd.DataFrame) -> Chart | None:
    """Columns ``week``, ``sessions``, ``view_sessions``, ``cart_sessions``,
    ``purchase_sessions``: weekly step rates."""
    d = weekly[weekly["sessions"] > 0].sort_values("week")
    if len(d) < 2:
        return None
    fig = go.Figure()
    fig.add_scatter(
        x=d["week"],
        y=100 * d["purchase_sessions"] / d["sessions"],
        name="session conversion",
        mode="lines",
    )
    views = d["view_sessions"].where(d["view_sessions"] > 0)
    fig.add_scatter(
        x=d["week"], y=100 * d["cart_sessions"] / views, name="view to cart", mode="lines"
    )
    title = "Conversion per week"
    return chart(
        title,
        "Share of sessions ending in a purchase and of viewing sessions adding to the cart, per "
        "ISO week of the session's start (the first and last weeks may be partial).",
        layout(fig, title, "week (start date)", "conversion (%)"),
    )


# ------------------------------------------------------------------ customers
def rfm_segments(df: pd.DataFrame) -> Chart | None:
    """Columns ``segment``, ``customers``, ``monetary``: share of customers and of spend."""
    if df.empty:
        return None
    d = df.sort_values("monetary", ascending=False)
    n, m = float(d["customers"].sum()), float(d["monetary"].clip(lower=0).sum())
    fig = go.Figure()
    fig.add_bar(x=d["segment"], y=100 * d["customers"] / n, name="share of customers")
    fig.add_bar(
        x=d["segment"], y=100 * d["monetary"].clip(lower=0) / (m or 1.0), name="share of net spend"
    )
    fig.update_layout(barmode="group")
    top = d.iloc[0]
    title = "RFM segments: size and value"
    return chart(
        title,
        f"Share of customers and of their net spend before as_of per RFM segment "
        f"(gold.customer_segments); {top['segment']} ({pct(top['customers'] / n)} of customers) "
        f"hold {pct(max(0.0, top['monetary']) / (m or 1.0))} of the spend.",
        layout(fig, title, "RFM segment", "share (%)"),
    )


def reliability(
    df: pd.DataFrame,
    model: str,
    baseline: pd.DataFrame | None = None,
    baseline_name: str | None = None,
) -> Chart | None:
    """Columns ``predicted``, ``observed``, ``count``: one row per probability bin (and the
    same for the baseline, drawn beside)."""
    d = df.dropna(subset=["predicted", "observed"]).sort_values("predicted")
    if d.empty:
        return None
    fig = go.Figure()
    fig.add_scatter(
        x=[0, 100],
        y=[0, 100],
        mode="lines",
        name="perfect calibration",
        line={"dash": "dash", "color": "#94a3b8"},
    )
    fig.add_scatter(
        x=100 * d["predicted"],
        y=100 * d["observed"],
        mode="lines+markers",
        name=model,
        marker={"size": 6 + 14 * np.sqrt(d["count"] / d["count"].max())},
        text=d["count"],
        hovertemplate="predicted %{x:.1f} %<br>observed %{y:.1f} %<br>%{text} customers",
    )
    if baseline is not None and len(baseline):
        b = baseline.sort_values("predicted")
        fig.add_scatter(
            x=100 * b["predicted"],
            y=100 * b["observed"],
            mode="lines+markers",
            name=f"baseline: {baseline_name}",
            line={"color": "#94a3b8"},
            marker={"size": 5},
        )
    w = d["count"] / d["count"].sum()
    ece = float((w * (d["predicted"] - d["observed"]).abs()).sum())
    title = "Churn calibration (reliability curve)"
    return chart(
        title,
        f"Observed churn against the predicted probability of {model} per probability bin on "
        f"the validation window (ops.model_metrics; marker size = customers); mean gap "
        f"{pct(ece)}.",
        layout(fig, title, "predicted churn probability (%)", "observed churn (%)"),
    )


def clv_histogram(df: pd.DataFrame) -> Chart | None:
    """Columns ``lower``, ``upper``, ``customers``: a histogram binned in Spark."""
    if df.empty or not df["customers"].sum():
        return None
    d = df.sort_values("lower")
    mid = (d["lower"] + d["upper"]) / 2
    fig = go.Figure(
        go.Bar(
            x=mid,
            y=d["customers"],
            width=(d["upper"] - d["lower"]) * 0.95,
            marker_color=PALETTE[4],
            name="",
        )
    )
    title = "Expected 90-day value (CLV) distribution"
    zero = int(d.loc[d["upper"] <= d["upper"].iloc[0], "customers"].sum())
    return chart(
        title,
        f"Customers by expected net spend in the next 90 days (gold.customer_scores.clv_90d; the "
        f"last bar holds everything above the 99th percentile); {zero:,} are in the lowest bin.",
        layout(fig, title, f"expected 90-day spend ({MONEY})", "customers (count)", legend=False),
    )


# ------------------------------------------------------------------ forecast
def wape_by_horizon(df: pd.DataFrame) -> Chart | None:
    """Columns ``method``, ``horizon``, ``wape``: backtest WAPE per method and horizon."""
    if df.empty:
        return None
    fig = go.Figure()
    for method, part in df.sort_values("horizon").groupby("method"):
        fig.add_scatter(
            x=part["horizon"], y=100 * part["wape"], mode="lines+markers", name=str(method)
        )
    fig.update_xaxes(dtick=1)
    best = df.groupby("method")["wape"].mean().sort_values()
    title = "Forecast backtest: WAPE per method and horizon"
    return chart(
        title,
        f"Weighted absolute percentage error of each forecasting method by horizon on the "
        f"backtest (ops.model_metrics, lower is better); {best.index[0]} is best on average "
        f"({pct(float(best.iloc[0]))}).",
        layout(fig, title, "horizon (periods ahead)", "WAPE (%)"),
    )


def forecast_vs_actuals(
    actual: pd.DataFrame, forecast: pd.DataFrame, labels: dict[str, str], unit: str
) -> Chart | None:
    """``actual``: ``item_id``, ``period_start``, ``units``; ``forecast``: ``item_id``,
    ``period_start``, ``yhat``, ``yhat_p10``, ``yhat_p90``; one panel per item."""
    items = [i for i in labels if i in set(forecast["item_id"])]
    if not items:
        return None
    cols = 2 if len(items) > 1 else 1
    rows = (len(items) + cols - 1) // cols
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[labels[i] for i in items],
        vertical_spacing=0.14,
        horizontal_spacing=0.08,
    )
    for k, item in enumerate(items):
        r, c = k // cols + 1, k % cols + 1
        a = actual[actual["item_id"] == item].sort_values("period_start")
        f = forecast[forecast["item_id"] == item].sort_values("period_start")
        show = k == 0
        fig.add_scatter(
            x=list(f["period_start"]) + list(f["period_start"])[::-1],
            y=list(f["yhat_p90"]) + list(f["yhat_p10"])[::-1],
            fill="toself",
            mode="lines",
            fillcolor="rgba(245,158,11,0.25)",
            line={"width": 0},
            name="P10-P90",
            showlegend=show,
            hoverinfo="skip",
            row=r,
            col=c,
        )
        fig.add_scatter(
            x=a["period_start"],
            y=a["units"],
            mode="lines+markers",
            name="actual units",
            line_color=PALETTE[0],
            showlegend=show,
            row=r,
            col=c,
            marker_size=4,
        )
        fig.add_scatter(
            x=f["period_start"],
            y=f["yhat"],
            mode="lines+markers",
            name="forecast (median)",
            line={"color": PALETTE[1], "dash": "dot"},
            showlegend=show,
            row=r,
            col=c,
            marker_size=4,
        )
        fig.update_xaxes(title_text="period start (date)", row=r, col=c)
        fig.update_yaxes(title_text=f"units per {unit}", row=r, col=c)
    title = "Forecast vs actuals for the top items"
    out = layout(fig, title, "", "", height=300 * rows + 120)
    out.update_layout(xaxis_title="period start (date)", yaxis_title=f"units per {unit}")
    return chart(
        title,
        f"Units sold per {unit} before as_of (gold.item_sales_weekly) and the published forecast "
        "from as_of on (gold.demand_forecast) with its P10-P90 band, for the best-selling items.",
        out,
    )


def reorder_overview(df: pd.DataFrame) -> Chart | None:
    """Columns ``abc_class``, ``reorder_now``, ``items``."""
    if df.empty:
        return None
    fig = go.Figure()
    for flag, name, color in (
        (True, "reorder now", PALETTE[3]),
        (False, "enough stock", "#cbd5e1"),
    ):
        part = df[df["reorder_now"] == flag]
        fig.add_bar(x=part["abc_class"], y=part["items"], name=name, marker_color=color)
    fig.update_layout(barmode="stack")
    fig.update_xaxes(categoryorder="category ascending")
    n = int(df.loc[df["reorder_now"] == True, "items"].sum())  # noqa: E712
    title = "Inventory plan: items to reorder by ABC class"
    return chart(
        title,
        f"Items of gold.inventory_plan per ABC class (A = top revenue), split by whether stock on "
        f"hand is at or below the reorder point; {n:,} items should be reordered now.",
        layout(fig, title, "ABC class", "items (count)"),
    )


# ------------------------------------------------------------------ metrics beside baselines
def metrics_vs_baseline(df: pd.DataFrame, title: str, what: str) -> Chart | None:
    """Columns ``label`` (metric and cut-off), ``model``, ``value``, ``baseline``,
    ``baseline_value``: the model's value beside its baseline's."""
    d = df.dropna(subset=["value"]).head(24)
    if d.empty:
        return None
    fig = go.Figure()
    fig.add_bar(x=d["label"], y=d["value"], name="model", text=d["model"], marker_color=PALETTE[0])
    if d["baseline_value"].notna().any():
        fig.add_bar(
            x=d["label"],
            y=d["baseline_value"],
            name="baseline",
            text=d["baseline"].fillna(""),
            marker_color="#94a3b8",
        )
    fig.update_traces(textposition="none", hovertemplate="%{text}: %{y:.4f}<extra></extra>")
    fig.update_layout(barmode="group")
    wins = int((d["value"] > d["baseline_value"]).sum())
    return chart(
        title,
        f"{what} from the latest run's ops.model_metrics rows, each beside its baseline's value "
        f"on the same split ({wins} of {int(d['baseline_value'].notna().sum())} above the "
        "baseline; for error metrics lower is better).",
        layout(fig, title, "metric (@ cut-off)", "metric value (unitless)"),
    )


def recommend_models(df: pd.DataFrame, k: int | None) -> Chart | None:
    """Columns ``model``, ``metric``, ``value``: every model's ranking metrics at ``k``."""
    if df.empty:
        return None
    fig = go.Figure()
    for model, part in df.groupby("model", sort=True):
        fig.add_bar(x=part["metric"], y=part["value"], name=str(model))
    fig.update_layout(barmode="group")
    at = f"@{k}" if k else ""
    title = f"Recommendation models{(' at ' + str(k)) if k else ''}: accuracy, coverage, diversity"
    return chart(
        title,
        f"Every evaluated recommendation model's metrics{at} on the latest holdout "
        "(ops.model_metrics), popularity included as the baseline.",
        layout(fig, title, "metric", "metric value (share, 0-1)"),
    )


# ------------------------------------------------------------------ other stages
def scatter_rules(df: pd.DataFrame) -> Chart | None:
    """Columns ``rule``, ``support``, ``confidence``, ``lift``: association rules."""
    if df.empty:
        return None
    fig = go.Figure(
        go.Scatter(
            x=100 * df["support"],
            y=100 * df["confidence"],
            mode="markers",
            text=df["rule"],
            marker={
                "color": df["lift"],
                "colorscale": "Viridis",
                "size": 8,
                "colorbar": {"title": {"text": "lift (x)"}},
            },
            hovertemplate="%{text}<br>support %{x:.2f} %<br>confidence %{y:.1f} %<extra></extra>",
        )
    )
    title = "Basket rules: support, confidence and lift"
    return chart(
        title,
        f"The {len(df)} association rules with the highest lift in gold.basket_rules: how often "
        "the whole rule occurs (support) against how often the consequent follows (confidence).",
        layout(fig, title, "support (% of baskets)", "confidence (%)", legend=False),
    )


def bars(
    df: pd.DataFrame,
    x: str,
    y: str,
    title: str,
    sentence: str,
    xt: str,
    yt: str,
    color: str | None = None,
    horizontal: bool = False,
) -> Chart | None:
    """A plain (optionally stacked by ``color``) bar chart."""
    if df.empty:
        return None
    fig = go.Figure()
    groups = df.groupby(color, sort=True) if color else [(None, df)]
    for name, part in groups:
        if horizontal:
            fig.add_bar(x=part[y], y=part[x], orientation="h", name=str(name))
        else:
            fig.add_bar(x=part[x], y=part[y], name=str(name))
    fig.update_layout(barmode="stack")
    if horizontal:
        return chart(
            title, sentence, layout(fig, title, yt, xt, 140 + 24 * df[x].nunique(), bool(color))
        )
    return chart(title, sentence, layout(fig, title, xt, yt, legend=bool(color)))


def histogram(df: pd.DataFrame, title: str, sentence: str, xt: str, yt: str) -> Chart | None:
    """Columns ``lower``, ``upper``, ``count``: pre-binned values."""
    if df.empty or not df["count"].sum():
        return None
    mid = (df["lower"] + df["upper"]) / 2
    fig = go.Figure(go.Bar(x=mid, y=df["count"], width=(df["upper"] - df["lower"]) * 0.95))
    return chart(title, sentence, layout(fig, title, xt, yt, legend=False))


def sentiment_scatter(df: pd.DataFrame) -> Chart | None:
    """Columns ``label``, ``reviews``, ``share_negative``, ``share_negative_prev``, ``alert``."""
    d = df.dropna(subset=["share_negative"])
    if d.empty:
        return None
    fig = go.Figure()
    for flag, name, color in ((False, "no alert", "#94a3b8"), (True, "alert", PALETTE[3])):
        part = d[d["alert"] == flag]
        fig.add_scatter(
            x=100 * part["share_negative_prev"].fillna(0),
            y=100 * part["share_negative"],
            mode="markers",
            name=name,
            text=part["label"],
            marker={"color": color, "size": 5 + 20 * np.sqrt(part["reviews"] / d["reviews"].max())},
            hovertemplate="%{text}<br>before %{x:.1f} %<br>now %{y:.1f} %<extra></extra>",
        )
    fig.add_scatter(
        x=[0, 100],
        y=[0, 100],
        mode="lines",
        name="no change",
        line={"dash": "dash", "color": "#cbd5e1"},
    )
    n = int(d["alert"].sum())
    title = "Review sentiment: negative share now vs before"
    return chart(
        title,
        f"Share of negative reviews per item in the current window against the previous one "
        f"(gold.item_sentiment; marker size = reviews); {n} items raise an alert.",
        layout(fig, title, "negative reviews before (%)", "negative reviews now (%)"),
    )


def uplift_curves(df: pd.DataFrame) -> Chart | None:
    """Columns ``offer``, ``share``, ``incremental_revenue``, ``profit`` (cumulative)."""
    if df.empty:
        return None
    fig = go.Figure()
    for offer, part in df.sort_values("share").groupby("offer"):
        fig.add_scatter(
            x=[0.0, *list(100 * part["share"])],
            y=[0.0, *list(part["incremental_revenue"])],
            mode="lines",
            name=f"{offer}: incremental revenue",
        )
        fig.add_scatter(
            x=[0.0, *list(100 * part["share"])],
            y=[0.0, *list(part["profit"])],
            mode="lines",
            line={"dash": "dot"},
            name=f"{offer}: profit",
        )
    title = "Campaign uplift: cumulative expected gain by share targeted"
    return chart(
        title,
        "Expected incremental revenue and profit when the customers of gold.campaign_targets are "
        "contacted in decreasing order of predicted uplift, per offer.",
        layout(
            fig, title, "customers contacted (% of the offer's list)", f"expected gain ({MONEY})"
        ),
    )


def all_charts(items: Sequence[Chart | Table | None]) -> list[Chart | Table]:
    """The items that are not None."""
    return [i for i in items if i is not None]
