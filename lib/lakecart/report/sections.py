"""The report's sections: bounded aggregates of gold and ops tables -> charts and tables.

Each ``*_section`` function reads what it needs through a
:class:`~lakecart.report.reader.ConsumerReader`, brings only small aggregates to the driver
(group counts, at most a few thousand rows) and returns a :class:`Section`; a section whose
tables are absent returns a skipped section saying which. The charts are built by the
pure pandas functions of :mod:`lakecart.report.figures`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd
from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from lakecart import names as N
from lakecart.config import ReportConfig
from lakecart.report import figures as G
from lakecart.report.reader import ConsumerReader

MAX_ROWS = 5_000  # hard cap on any frame collected for one chart


@dataclass
class Section:
    """One section of the report.

    Attributes:
        key: Anchor id.
        title: Heading.
        intro: One or two sentences above the charts.
        items: Charts and tables, in order.
        skipped: Why the section is not shown (absent tables), or None.
    """

    key: str
    title: str
    intro: str
    items: list[G.Chart | G.Table] = field(default_factory=list)
    skipped: str | None = None

    @property
    def charts(self) -> list[G.Chart]:
        """The section's charts."""
        return [i for i in self.items if isinstance(i, G.Chart)]


@dataclass(frozen=True)
class Context:
    """What every section builder gets."""

    reader: ConsumerReader
    cfg: ReportConfig
    as_of: dt.date


def collect(df: DataFrame, cap: int = MAX_ROWS) -> pd.DataFrame:
    """At most ``cap`` rows of an aggregate as pandas."""
    return df.limit(cap).toPandas()


def absent(key: str, title: str, tables: list[str]) -> Section:
    """A skipped section naming the tables it needs."""
    return Section(key, title, "", skipped=f"no {' / '.join(tables)} in this lakehouse")


def label(item: Column, title: Column) -> Column:
    """``title (item)`` with the title cut at 38 characters, or the item id alone."""
    t = F.when(F.length(title) > 38, F.concat(F.substring(title, 1, 36), F.lit("…"))).otherwise(
        title
    )
    return F.when(t.isNull() | (F.trim(t) == ""), item).otherwise(
        F.concat(t, F.lit(" ("), item, F.lit(")"))
    )


# ------------------------------------------------------------------ run and data quality
GOLD_TABLES = (
    N.SALES_DAILY,
    N.ITEM_SALES_WEEKLY,
    N.COHORT_RETENTION,
    N.FUNNEL_DAILY,
    N.RECOMMENDATIONS,
    N.SIMILAR_ITEMS,
    N.POPULAR_ITEMS,
    N.DEMAND_FORECAST,
    N.INVENTORY_PLAN,
    N.CUSTOMER_SEGMENTS,
    N.CUSTOMER_SCORES,
    N.CUSTOMER_CLUSTERS,
    N.BASKET_RULES,
    N.BOUGHT_TOGETHER,
    N.CART_COMPLETIONS,
    N.FRAUD_SCORES,
    N.REVIEW_SENTIMENT,
    N.ITEM_SENTIMENT,
    N.SUPPORT_TICKETS,
    N.CAMPAIGN_TARGETS,
    N.PROMOTION_EFFECTS,
)
ACCOUNTING = re.compile(r"bronze=(\d+) silver=(\d+) quarantine=(\d+) duplicates=(\d+)")


def table_rows(ctx: Context) -> pd.DataFrame:
    """Rows, as_of and publication time of every gold and ops table that exists (one job)."""
    r = ctx.reader
    names = list(
        dict.fromkeys([*(s.name for (lay, _), s in r.specs.items() if lay == N.GOLD), *GOLD_TABLES])
    )
    parts = []
    for layer, name in [
        *((N.GOLD, n) for n in names),
        *((N.OPS, n) for n in (N.RUNS, N.DATA_QUALITY, N.MODEL_METRICS)),
    ]:
        df = r.table(name, layer)
        if df is None:
            continue
        as_of = (
            F.max(N.AS_OF).cast("string") if N.AS_OF in df.columns else F.lit(None).cast("string")
        )
        gen = (
            F.max(N.GENERATED_AT).cast("string")
            if N.GENERATED_AT in df.columns
            else F.lit(None).cast("string")
        )
        parts.append(
            df.agg(
                F.lit(f"{layer}.{name}").alias("table"),
                F.count(F.lit(1)).alias("rows"),
                as_of.alias("as_of"),
                gen.alias("published (UTC)"),
            )
        )
    if not parts:
        return pd.DataFrame(columns=["table", "rows", "as_of", "published (UTC)"])
    out = parts[0]
    for p in parts[1:]:
        out = out.unionByName(p)
    pdf = out.toPandas()
    pdf["published (UTC)"] = pdf["published (UTC)"].str.slice(0, 19)
    return pdf.fillna("")


def quality_section(ctx: Context) -> Section:
    """Runs, row accounting per entity, quarantine reasons, tables and rows."""
    r = ctx.reader
    s = Section(
        "quality",
        "Run and data quality",
        "What ran, how long it took, and what ingest accepted, quarantined or removed as "
        "duplicates (bronze = silver + quarantine + duplicates for every entity).",
    )
    runs = r.table(N.RUNS, N.OPS, [N.JOB, N.STATUS, N.STARTED_AT, N.FINISHED_AT])
    if runs is not None:
        last = (
            runs.filter(F.col(N.FINISHED_AT).isNotNull() & (F.col(N.JOB) != "pipeline"))
            .groupBy(N.JOB)
            .agg(F.max_by(F.struct(N.STATUS, N.STARTED_AT, N.FINISHED_AT), N.STARTED_AT).alias("r"))
            .select(
                N.JOB,
                F.col("r.status").alias("status"),
                F.col("r.started_at").alias("started_at"),
                (F.unix_micros("r.finished_at") - F.unix_micros("r.started_at")).alias("_us"),
            )
        )
        pdf = collect(last, 200)
        pdf["seconds"] = pdf["_us"] / 1e6
        s.items.append(G.stage_durations(pdf))
    dq = r.table(N.DATA_QUALITY, N.OPS, [N.TABLE, N.CHECK, N.DETAIL])
    if dq is not None:
        acc = collect(dq.filter(F.col(N.CHECK) == "row_accounting").select(N.TABLE, N.DETAIL))
        rows = []
        for t, detail in zip(acc[N.TABLE], acc[N.DETAIL], strict=True):
            m = ACCOUNTING.search(detail or "")
            if m:
                b, si, q, d = (int(x) for x in m.groups())
                rows.append((t.split(".")[-1], b, si, q, d))
        frame = pd.DataFrame(
            rows, columns=["entity", "bronze", "silver", "quarantine", "duplicates"]
        )
        frame = frame.groupby("entity", as_index=False).sum()
        s.items.append(G.row_accounting(frame))
        if len(frame):
            frame["bronze = silver + quarantine + duplicates"] = (
                frame["bronze"] == frame["silver"] + frame["quarantine"] + frame["duplicates"]
            )
            s.items.append(
                G.Table(
                    "Row accounting per entity",
                    "Records per entity summed over the ingest runs in ops.data_quality.",
                    frame.sort_values("bronze", ascending=False),
                )
            )
    q = r.table(N.QUARANTINE, N.SILVER, [N.ENTITY, N.REASON])
    if q is not None:
        qr = collect(q.groupBy(N.ENTITY, N.REASON).agg(F.count(F.lit(1)).alias("rows")), 500)
        s.items.append(G.quarantine_reasons(qr))
    tables = table_rows(ctx)
    if len(tables):
        s.items.append(
            G.Table(
                "Published tables",
                "Rows of every gold and ops table, with the as_of and time of its latest "
                "publication.",
                tables,
            )
        )
    s.items = G.all_charts(s.items)
    if not s.items:
        s.skipped = "no ops.runs, ops.data_quality or silver.quarantine yet"
    return s


# ------------------------------------------------------------------ sales
def sales_section(ctx: Context) -> Section:
    """Trend, seasonality, countries, categories x channels and key figures."""
    title = "Sales"
    sd = ctx.reader.table(N.SALES_DAILY, columns=[N.ORDER_DATE, N.REVENUE, N.ORDERS_ATTRIBUTED])
    if sd is None:
        return absent("sales", title, ["gold.sales_daily"])
    s = Section(
        "sales",
        title,
        "From gold.sales_daily: net revenue is sales minus returns and cancellations, orders "
        "are counted once each (orders_attributed) and customers once, at their first order.",
    )
    daily = collect(
        sd.groupBy(F.col(N.ORDER_DATE).alias("day")).agg(
            F.sum(N.REVENUE).alias("revenue"),
            F.sum(N.RETURNED_REVENUE).alias("returned_revenue"),
            F.sum(N.GROSS_REVENUE).alias("gross_revenue"),
            F.sum(N.ORDERS_ATTRIBUTED).alias("orders"),
            F.sum(N.NEW_CUSTOMERS).alias("new_customers"),
        ),
        20_000,
    )
    if daily.empty:
        s.skipped = "gold.sales_daily is empty"
        return s
    daily["day"] = pd.to_datetime(daily["day"])
    orders, gross = float(daily["orders"].sum()), float(daily["gross_revenue"].sum())
    kpis = pd.DataFrame(
        {
            "figure": [
                "net revenue",
                "gross revenue",
                "returned value",
                "orders",
                "customers",
                "average order value",
                "days with sales",
            ],
            "value": [
                f"{daily['revenue'].sum():,.2f}",
                f"{gross:,.2f}",
                f"{daily['returned_revenue'].sum():,.2f}",
                f"{orders:,.0f}",
                f"{daily['new_customers'].sum():,.0f}",
                f"{gross / orders:,.2f}" if orders else "-",
                f"{len(daily):,}",
            ],
        }
    )
    s.items.append(
        G.Table(
            "Key figures",
            f"Totals of gold.sales_daily from {daily['day'].min():%Y-%m-%d} to "
            f"{daily['day'].max():%Y-%m-%d} (as_of {ctx.as_of}).",
            kpis,
        )
    )
    s.items.append(G.sales_trend(daily))
    s.items.append(G.weekday_profile(daily))
    s.items.append(G.monthly_seasonality(daily))
    countries = collect(
        sd.groupBy(N.COUNTRY).agg(F.sum(N.REVENUE).alias("revenue")).orderBy(F.desc("revenue"))
    )
    s.items.append(G.countries(countries, ctx.cfg.top_n))
    cats = collect(
        sd.groupBy(N.CATEGORY, N.CHANNEL)
        .agg(F.sum(N.REVENUE).alias("revenue"))
        .orderBy(F.desc("revenue"))
    )
    if cats[N.CATEGORY].nunique() > 1 or cats[N.CHANNEL].nunique() > 1:
        s.items.append(G.categories_by_channel(cats, ctx.cfg.top_n))
    s.items = G.all_charts(s.items)
    return s


def items_section(ctx: Context) -> Section:
    """Top and declining items from gold.item_sales_weekly."""
    title = "Items"
    cols = [N.ITEM_ID, N.PERIOD_START, N.TITLE, N.REVENUE, N.UNITS]
    w = ctx.reader.table(N.ITEM_SALES_WEEKLY, columns=cols)
    if w is None:
        return absent("items", title, ["gold.item_sales_weekly"])
    weeks = ctx.cfg.trend_weeks
    last_start = ctx.as_of - dt.timedelta(days=7 * weeks)
    prev_start = ctx.as_of - dt.timedelta(days=14 * weeks)
    p = F.col(N.PERIOD_START)
    in_last = p >= F.lit(last_start)
    in_prev = (p >= F.lit(prev_start)) & ~in_last
    per_item = (
        w.filter(p >= F.lit(prev_start))
        .groupBy(N.ITEM_ID)
        .agg(
            F.max(N.TITLE).alias(N.TITLE),
            F.sum(F.when(in_last, F.col(N.REVENUE)).otherwise(0.0)).alias("last"),
            F.sum(F.when(in_prev, F.col(N.REVENUE)).otherwise(0.0)).alias("previous"),
            F.sum(F.when(in_last, F.col(N.UNITS)).otherwise(0.0)).alias("units"),
        )
        .withColumn("label", label(F.col(N.ITEM_ID), F.col(N.TITLE)))
    )
    n = ctx.cfg.top_n
    top = collect(per_item.filter(F.col("last") > 0).orderBy(F.desc("last"), N.ITEM_ID).limit(n))
    top = top.rename(columns={"last": "revenue"})
    down = collect(
        per_item.filter((F.col("previous") > 0) & (F.col("last") < F.col("previous")))
        .orderBy(F.col("last") - F.col("previous"), N.ITEM_ID)
        .limit(min(n, 12))
    )
    s = Section(
        "items",
        title,
        f"Best sellers and the biggest decliners, comparing the last {weeks} weeks before as_of "
        f"with the {weeks} weeks before them (gold.item_sales_weekly).",
        G.all_charts([G.top_items(top, weeks), G.declining_items(down, weeks)]),
    )
    if not s.items:
        s.skipped = f"no item sold in the last {2 * weeks} weeks before as_of"
    return s


def cohorts_section(ctx: Context) -> Section:
    """The cohort retention heatmap."""
    title = "Cohort retention"
    cols = [N.COHORT_MONTH, N.MONTHS_SINCE, N.RETENTION, N.COHORT_CUSTOMERS]
    c = ctx.reader.table(N.COHORT_RETENTION, columns=cols)
    if c is None:
        return absent("cohorts", title, ["gold.cohort_retention"])
    m = ctx.cfg.cohort_months
    first = dt.date(ctx.as_of.year, ctx.as_of.month, 1)
    since = F.add_months(F.lit(first), -m)
    pdf = collect(
        c.filter((F.col(N.COHORT_MONTH) >= since) & (F.col(N.MONTHS_SINCE) <= m)).select(*cols)
    )
    s = Section(
        "cohorts",
        title,
        f"Customers grouped by the month of their first order (the last {m} cohorts): the share "
        "that ordered again in each later month (gold.cohort_retention).",
        G.all_charts([G.cohort_heatmap(pdf)]),
    )
    if not s.items:
        s.skipped = "gold.cohort_retention is empty"
    return s


def funnel_section(ctx: Context) -> Section:
    """Funnel steps, conversion by channel and entry category, and its weekly trend."""
    title = "Funnel"
    steps = [N.SESSIONS, N.VIEW_SESSIONS, N.CART_SESSIONS, N.PURCHASE_SESSIONS]
    f = ctx.reader.table(N.FUNNEL_DAILY, columns=[N.SESSION_DATE, N.CHANNEL, N.CATEGORY, *steps])
    if f is None:
        return absent("funnel", title, ["gold.funnel_daily"])
    sums = [F.sum(c).alias(c) for c in steps]
    tot = f.agg(*sums).first().asDict()
    by_channel = collect(f.groupBy(N.CHANNEL).agg(*sums).orderBy(F.desc(N.SESSIONS)), 200)
    by_cat = collect(f.groupBy(N.CATEGORY).agg(*sums).orderBy(F.desc(N.SESSIONS)), 200)
    weekly = collect(
        f.groupBy(F.date_trunc("week", N.SESSION_DATE).cast("date").alias("week")).agg(*sums), 3000
    )
    items: list = [G.funnel_steps(tot)]
    if len(by_channel) > 1:
        items.append(G.conversion_by(by_channel, N.CHANNEL, ctx.cfg.top_n))
    if len(by_cat) > 1:
        items.append(G.conversion_by(by_cat, N.CATEGORY, ctx.cfg.top_n))
    items.append(G.conversion_trend(weekly))
    s = Section(
        "funnel",
        title,
        "Sessions of the clickstream (gold.funnel_daily) and how many reach a view, a cart and a "
        "purchase event; each session counts once, in its entry category and its user's channel.",
        G.all_charts(items),
    )
    if not s.items:
        s.skipped = "gold.funnel_daily is empty"
    return s


# ------------------------------------------------------------------ customers
def customers_section(ctx: Context) -> Section:
    """RFM segments, churn calibration, CLV distribution and the cluster profiles."""
    title = "Customers"
    r = ctx.reader
    seg = r.table(N.CUSTOMER_SEGMENTS, columns=[N.RFM_SEGMENT, N.MONETARY])
    scores = r.table(N.CUSTOMER_SCORES, columns=[N.CLV_90D])
    metrics = r.job_metrics("customers")
    rel = metrics[
        (metrics[N.MODEL] == N.M_CHURN)
        & metrics[N.METRIC].str.startswith("reliability_")
        & ~metrics[N.DATASET].fillna("").str.contains("=")
    ]
    if seg is None and scores is None and rel.empty:
        return absent("customers", title, ["gold.customer_segments", "gold.customer_scores"])
    items: list = []
    if seg is not None:
        pdf = collect(
            seg.groupBy(F.col(N.RFM_SEGMENT).alias("segment")).agg(
                F.count(F.lit(1)).alias("customers"), F.sum(N.MONETARY).alias("monetary")
            )
        )
        items.append(G.rfm_segments(pdf))
    if not rel.empty:
        items.append(reliability_chart(rel))
    if scores is not None:
        items.append(G.clv_histogram(binned(scores, N.CLV_90D, 30, "customers")))
    clusters = r.table(N.CUSTOMER_CLUSTERS, columns=[N.CLUSTER, N.CUSTOMERS_COUNT])
    if clusters is not None:
        keep = [
            c
            for c in (
                N.CLUSTER,
                N.CUSTOMERS_COUNT,
                N.SHARE,
                N.MEAN_RECENCY_DAYS,
                N.MEAN_FREQUENCY,
                N.MEAN_MONETARY,
                N.TOP_RFM_SEGMENT,
            )
            if c in clusters.columns
        ]
        items.append(
            G.Table(
                "Behavioural clusters",
                "Size and mean behaviour of each k-means cluster (gold.customer_clusters).",
                collect(clusters.select(*keep).orderBy(N.CLUSTER), 50),
            )
        )
    return Section(
        "customers",
        title,
        "Who the customers are (RFM segments), how well the churn probabilities are calibrated, "
        "and the expected value of the next 90 days.",
        G.all_charts(items),
    )


RELIABILITY = {
    "reliability_predicted": "predicted",
    "reliability_observed": "observed",
    "reliability_count": "count",
}


def reliability_chart(rel: pd.DataFrame) -> G.Chart | None:
    """The churn reliability curve (and its baseline's) from ``reliability_*`` metric rows
    (``k`` = probability bin)."""
    curves = []
    for col in (N.VALUE, N.BASELINE_VALUE):
        piv = rel.pivot_table(index=N.K, columns=N.METRIC, values=col, aggfunc="first")
        if not set(RELIABILITY) <= set(piv.columns):
            curves.append(None)
            continue
        frame = piv[list(RELIABILITY)].rename(columns=RELIABILITY).dropna().reset_index(drop=True)
        curves.append(frame if len(frame) else None)
    if curves[0] is None:
        return None
    baseline = rel[N.BASELINE].dropna()
    name = str(baseline.iloc[0]) if len(baseline) and curves[1] is not None else None
    return G.reliability(curves[0], N.M_CHURN, curves[1] if name else None, name)


def binned(df: DataFrame, col: str, bins: int, count: str = "count") -> pd.DataFrame:
    """A histogram of ``col`` with ``bins`` equal bins from its minimum to its 99th
    percentile (the last bin holds the rest): columns ``lower``, ``upper``, ``count``."""
    v = df.select(F.col(col).cast("double").alias("v")).filter(F.col("v").isNotNull())
    lo_hi = v.agg(F.min("v"), F.percentile_approx("v", 0.99, 1000)).first()
    lo, hi = lo_hi[0], lo_hi[1]
    if lo is None:
        return pd.DataFrame(columns=["lower", "upper", count])
    lo, hi = float(lo), float(hi)
    width = (hi - lo) / bins if hi > lo else 1.0
    b = F.least(F.floor((F.col("v") - lo) / width), F.lit(bins - 1)).cast("int")
    pdf = collect(v.groupBy(b.alias("b")).agg(F.count(F.lit(1)).alias(count)), bins + 1)
    pdf["lower"] = lo + pdf["b"] * width
    pdf["upper"] = pdf["lower"] + width
    return pdf.sort_values("b")[["lower", "upper", count]].reset_index(drop=True)


# ------------------------------------------------------------------ forecast
def forecast_section(ctx: Context) -> Section:
    """Backtest WAPE, forecasts against actuals with bands, and the reorder list."""
    title = "Forecast and inventory"
    r = ctx.reader
    m = r.job_metrics("forecast")
    wape = m[(m[N.METRIC] == "wape") & (m[N.SPLIT] == N.SPLIT_BACKTEST) & m[N.K].notna()]
    fc = r.table(
        N.DEMAND_FORECAST,
        columns=[N.ITEM_ID, N.PERIOD_START, N.GRAIN, N.YHAT, N.YHAT_P10, N.YHAT_P90],
    )
    plan = r.table(N.INVENTORY_PLAN, columns=[N.ITEM_ID, N.ABC_CLASS, N.REORDER_NOW])
    if wape.empty and fc is None and plan is None:
        return absent("forecast", title, ["gold.demand_forecast", "gold.inventory_plan"])
    items: list = []
    if not wape.empty:
        frame = wape.rename(columns={N.MODEL: "method", N.K: "horizon", N.VALUE: "wape"})
        items.append(G.wape_by_horizon(frame[["method", "horizon", "wape"]]))
    if fc is not None:
        items.append(forecast_chart(ctx, fc))
    if plan is not None:
        counts = collect(
            plan.groupBy(N.ABC_CLASS, N.REORDER_NOW).agg(F.count(F.lit(1)).alias("items")), 50
        )
        items.append(G.reorder_overview(counts))
        cols = [
            c
            for c in (
                N.ITEM_ID,
                N.ABC_CLASS,
                N.ON_HAND,
                N.REORDER_POINT,
                N.SAFETY_STOCK,
                N.EOQ,
                N.DAYS_OF_COVER,
                N.MEAN_DEMAND,
            )
            if c in plan.columns
        ]
        order = [
            N.ABC_CLASS,
            *([N.DAYS_OF_COVER] if N.DAYS_OF_COVER in plan.columns else []),
            N.ITEM_ID,
        ]
        reorder = collect(plan.filter(F.col(N.REORDER_NOW)).select(*cols).orderBy(*order), 25)
        if len(reorder):
            items.append(
                G.Table(
                    "Reorder list",
                    "Items whose stock on hand is at or below the reorder point "
                    "(gold.inventory_plan), class A first, fewest days of cover first; "
                    "at most 25 rows.",
                    reorder,
                )
            )
    return Section(
        "forecast",
        title,
        "How accurate the demand forecast was on the backtest, what it expects for the best "
        "sellers, and what to reorder now.",
        G.all_charts(items),
    )


def forecast_chart(ctx: Context, fc: DataFrame) -> G.Chart | None:
    """Forecast vs actuals of the top items (by recent revenue, else by forecast volume)."""
    grains = [g[0] for g in fc.select(N.GRAIN).distinct().collect()]
    if not grains:
        return None
    grain = N.WEEK if N.WEEK in grains else sorted(grains)[0]
    fc = fc.filter(F.col(N.GRAIN) == grain)
    weekly = ctx.reader.table(
        N.ITEM_SALES_WEEKLY, columns=[N.ITEM_ID, N.PERIOD_START, N.UNITS, N.REVENUE]
    )
    n = ctx.cfg.forecast_items
    since = ctx.as_of - dt.timedelta(days=7 * 2 * ctx.cfg.trend_weeks)
    forecast_items = fc.select(N.ITEM_ID).distinct()
    if weekly is not None:
        ranked = (
            weekly.filter(F.col(N.PERIOD_START) >= F.lit(since))
            .join(forecast_items, N.ITEM_ID)
            .groupBy(N.ITEM_ID)
            .agg(F.sum(N.REVENUE).alias("_v"))
        )
    else:
        ranked = fc.groupBy(N.ITEM_ID).agg(F.sum(N.YHAT).alias("_v"))
    top = [row[N.ITEM_ID] for row in ranked.orderBy(F.desc("_v"), N.ITEM_ID).limit(n).collect()]
    if not top:
        return None
    f = collect(
        fc.filter(F.col(N.ITEM_ID).isin(top)).select(
            N.ITEM_ID, N.PERIOD_START, N.YHAT, N.YHAT_P10, N.YHAT_P90
        )
    )
    titles = {i: i for i in top}
    if weekly is not None:
        complete = ctx.as_of - dt.timedelta(days=7)  # the week holding as_of is partial
        period = F.col(N.PERIOD_START)
        a = collect(
            weekly.filter(
                F.col(N.ITEM_ID).isin(top) & (period >= F.lit(since)) & (period <= F.lit(complete))
            ).select(
                N.ITEM_ID,
                N.PERIOD_START,
                N.UNITS,
                *([N.TITLE] if N.TITLE in weekly.columns else []),
            )
        )
        if N.TITLE in a.columns:
            for i, t in a.dropna(subset=[N.TITLE]).groupby(N.ITEM_ID)[N.TITLE].first().items():
                titles[i] = f"{t[:34]} ({i})"
        if grain != N.WEEK:  # weekly actuals shown as a daily mean beside a daily forecast
            a[N.UNITS] = a[N.UNITS] / 7.0
    else:
        a = pd.DataFrame(columns=[N.ITEM_ID, N.PERIOD_START, N.UNITS])
    unit = "week" if grain == N.WEEK else "day"
    return G.forecast_vs_actuals(a, f, {i: titles[i] for i in top}, unit)


# ------------------------------------------------------------------ recommendations
# shares in [0, 1] drawn on one axis (novelty, in bits, is left out)
REC_METRICS = ("precision", "recall", "ndcg", "map", "hit_rate", "mrr", "coverage", "diversity")


def recommend_section(ctx: Context) -> Section:
    """Every recommendation model's holdout metrics beside popularity, and the sources."""
    title = "Recommendations"
    r = ctx.reader
    m = r.job_metrics("recommend")
    recs = r.table(N.RECOMMENDATIONS, columns=[N.SOURCE])
    if m.empty and recs is None:
        return absent("recommend", title, ["gold.recommendations", "recommend metrics"])
    items: list = []
    if not m.empty:
        split = next(
            (sp for sp in (N.SPLIT_HOLDOUT, N.SPLIT_VALIDATION) if (m[N.SPLIT] == sp).any()), None
        )
        d = m[m[N.SPLIT] == split] if split else m
        k = int(d[N.K].mode().iloc[0]) if d[N.K].notna().any() else None
        if k is not None:
            d = d[d[N.K] == k]
        d = d[
            d[N.VALUE].notna()
            & d[N.METRIC].isin(REC_METRICS)
            & ~d[N.DATASET].fillna("").str.contains("=")
        ]
        items.append(
            G.recommend_models(
                d[[N.MODEL, N.METRIC, N.VALUE]].drop_duplicates([N.MODEL, N.METRIC]), k
            )
        )
    if recs is not None:
        src = collect(recs.groupBy(N.SOURCE).agg(F.count(F.lit(1)).alias("rows")), 50)
        items.append(
            G.bars(
                src.sort_values("rows", ascending=False),
                N.SOURCE,
                "rows",
                "Published recommendations by source",
                "Rows of gold.recommendations per source (the model or rule that put the item "
                "in the user's list).",
                "source",
                "recommendations (rows)",
            )
        )
    return Section(
        "recommend",
        title,
        "Ranking quality of every recommendation model on the latest holdout, beside the "
        "popularity baseline, with catalogue coverage and list diversity.",
        G.all_charts(items),
    )


# ------------------------------------------------------------------ stages in progress
def metrics_chart(ctx: Context, job: str, title: str, what: str, pattern: str | None = None):
    """The latest run's metrics of ``job`` beside their baselines (None without rows)."""
    m = ctx.reader.job_metrics(job)
    if m.empty:
        return None
    m = m[m[N.VALUE].notna()]
    if pattern:
        hit = m[m[N.METRIC].str.contains(pattern, regex=True)]
        m = hit if len(hit) else m
    # rows with a baseline first
    m = m.assign(_nb=m[N.BASELINE_VALUE].isna()).sort_values(["_nb", N.METRIC, N.K])
    kk = m[N.K].map(lambda v: "" if pd.isna(v) else f"@{int(v)}")
    # a dataset 'name group=value' (per offer, per country...) labels its rows by the group
    group = m[N.DATASET].fillna("").map(lambda d: f" [{d.split('=', 1)[1]}]" if "=" in d else "")
    frame = pd.DataFrame(
        {
            "label": m[N.METRIC] + kk + group,
            "model": m[N.MODEL],
            "value": m[N.VALUE],
            "baseline": m[N.BASELINE],
            "baseline_value": m[N.BASELINE_VALUE],
        }
    ).drop_duplicates("label")
    return G.metrics_vs_baseline(frame, title, what)


def text(col: str, df: DataFrame) -> Column:
    """A column as readable text (arrays joined with ', ')."""
    dtype = df.schema[col].dataType
    if isinstance(dtype, T.ArrayType):
        return F.concat_ws(", ", F.col(col).cast("array<string>"))
    return F.col(col).cast("string")


def basket_section(ctx: Context) -> Section:
    """Association rules and bought-together lists."""
    title = "Basket analysis"
    r = ctx.reader
    rules = r.table(
        N.BASKET_RULES, columns=["antecedent", "consequent", "support", "confidence", "lift"]
    )
    bt = r.table(N.BOUGHT_TOGETHER, columns=[N.ITEM_ID, N.RANK, "other_item_id", N.SCORE])
    mchart = metrics_chart(
        ctx,
        "basket",
        "Basket completion beside popularity",
        "Hit rate and MRR of hide-one basket completion",
    )
    if rules is None and bt is None and mchart is None:
        return absent("basket", title, ["gold.basket_rules", "gold.bought_together"])
    items: list = []
    if rules is not None:
        rule = F.concat(
            F.lit("{"), text("antecedent", rules), F.lit("} → "), text("consequent", rules)
        )
        best = rules.select(
            rule.alias("rule"),
            "support",
            "confidence",
            "lift",
            *(["baskets"] if "baskets" in rules.columns else []),
        ).orderBy(F.desc("lift"), F.desc("support"))
        top = collect(best, 200)
        items.append(G.scatter_rules(top))
        items.append(
            G.Table(
                "Strongest rules",
                "The 15 rules of gold.basket_rules with the highest lift.",
                top.head(15).round(4),
            )
        )
    if bt is not None:
        cols = [
            c for c in (N.ITEM_ID, "other_item_id", N.SCORE, "baskets", "lift") if c in bt.columns
        ]
        pairs = collect(bt.filter(F.col(N.RANK) == 1).select(*cols).orderBy(F.desc(N.SCORE)), 15)
        items.append(
            G.Table(
                "Bought together",
                "The 15 items whose first bought-together suggestion scores highest "
                "(gold.bought_together, rank 1).",
                pairs.round(4),
            )
        )
    items.append(mchart)
    return Section(
        "basket",
        title,
        "Which items are bought together (FP-growth rules) and how well the bought-together "
        "lists complete held-out baskets.",
        G.all_charts(items),
    )


def fraud_section(ctx: Context) -> Section:
    """Decisions, the score distribution and precision/recall beside the rules."""
    title = "Fraud"
    r = ctx.reader
    fs = r.table(N.FRAUD_SCORES, columns=["fraud_probability", "decision"])
    mchart = metrics_chart(
        ctx,
        "fraud",
        "Fraud model: precision and recall beside the rule baselines",
        "Precision and recall at the review budgets (and the ranking metrics)",
        pattern="precision|recall",
    )
    if fs is None and mchart is None:
        return absent("fraud", title, ["gold.fraud_scores"])
    items: list = [mchart]
    if fs is not None:
        dec = collect(fs.groupBy("decision").agg(F.count(F.lit(1)).alias("transactions")), 20)
        items.append(
            G.bars(
                dec.sort_values("transactions", ascending=False),
                "decision",
                "transactions",
                "Fraud decisions",
                "Scored transactions per decision (gold.fraud_scores).",
                "decision",
                "transactions (count)",
            )
        )
        p = F.col("fraud_probability").cast("double")
        hist = collect(
            fs.groupBy(F.least(F.floor(p * 20), F.lit(19)).alias("b")).agg(
                F.count(F.lit(1)).alias("count")
            ),
            21,
        ).dropna()
        hist["lower"], hist["upper"] = hist["b"] / 20, (hist["b"] + 1) / 20
        hist["lower"], hist["upper"] = 100 * hist["lower"], 100 * hist["upper"]
        items.append(
            G.histogram(
                hist.sort_values("b"),
                "Fraud probability distribution",
                "Scored transactions by calibrated fraud probability (gold.fraud_scores).",
                "fraud probability (%)",
                "transactions (count)",
            )
        )
    return Section(
        "fraud",
        title,
        "How the payment transactions were scored and decided.",
        G.all_charts(items),
    )


def sentiment_section(ctx: Context) -> Section:
    """Items whose share of negative reviews rose, and the sentiment model's metrics."""
    title = "Review sentiment"
    r = ctx.reader
    it = r.table(N.ITEM_SENTIMENT, columns=[N.ITEM_ID, "reviews", "share_negative", "alert"])
    mchart = metrics_chart(
        ctx,
        "sentiment",
        "Sentiment model beside the lexicon baseline",
        "ROC-AUC and macro-F1 of the sentiment classifier",
    )
    if it is None and mchart is None:
        return absent("sentiment", title, ["gold.item_sentiment"])
    items: list = []
    if it is not None:
        prev = F.col("share_negative_prev") if "share_negative_prev" in it.columns else F.lit(None)
        top = collect(
            it.select(
                F.col(N.ITEM_ID).alias("label"),
                "reviews",
                "share_negative",
                prev.cast("double").alias("share_negative_prev"),
                F.col("alert").cast("boolean").alias("alert"),
            ).orderBy(F.desc("alert"), F.desc("reviews")),
            500,
        )
        items.append(G.sentiment_scatter(top))
        alerts = top[top["alert"] == True].head(15)  # noqa: E712
        if len(alerts):
            items.append(
                G.Table(
                    "Sentiment alerts",
                    "Items with an alert (gold.item_sentiment), most reviewed first.",
                    alerts.rename(columns={"label": "item_id"}).round(3),
                )
            )
    items.append(mchart)
    return Section(
        "sentiment",
        title,
        "What the reviews say, per item, and which items need a look.",
        G.all_charts(items),
    )


def support_section(ctx: Context) -> Section:
    """Tickets per queue and priority, intents and the classifier's metrics."""
    title = "Customer support"
    r = ctx.reader
    t = r.table(N.SUPPORT_TICKETS, columns=["queue", "priority", N.INTENT])
    mchart = metrics_chart(
        ctx,
        "support",
        "Intent classifier beside its baseline",
        "Accuracy and macro-F1 of the intent classifier",
    )
    if t is None and mchart is None:
        return absent("support", title, ["gold.support_tickets"])
    items: list = []
    if t is not None:
        q = collect(
            t.groupBy("queue", F.col("priority").cast("string").alias("priority")).agg(
                F.count(F.lit(1)).alias("tickets")
            ),
            500,
        )
        items.append(
            G.bars(
                q,
                "queue",
                "tickets",
                "Support queues by priority",
                "Messages routed to each queue (gold.support_tickets), stacked by priority.",
                "queue",
                "tickets (count)",
                color="priority",
            )
        )
        conf = F.avg("confidence") if "confidence" in t.columns else F.lit(None)
        intents = collect(
            t.groupBy(N.INTENT)
            .agg(F.count(F.lit(1)).alias("tickets"), conf.alias("mean confidence"))
            .orderBy(F.desc("tickets")),
            ctx.cfg.top_n,
        )
        items.append(
            G.bars(
                intents.iloc[::-1],
                N.INTENT,
                "tickets",
                "Most frequent intents",
                f"The {len(intents)} most frequent predicted intents of the messages.",
                "intent",
                "tickets (count)",
                horizontal=True,
            )
        )
    items.append(mchart)
    return Section(
        "support",
        title,
        "What customers write to the service desk, and where it is routed.",
        G.all_charts(items),
    )


def marketing_section(ctx: Context) -> Section:
    """Uplift curves per offer and the uplift model's metrics."""
    title = "Campaign targeting"
    r = ctx.reader
    cols = ["offer", "uplift", "expected_incremental_revenue", "expected_profit"]
    ct = r.table(N.CAMPAIGN_TARGETS, columns=cols)
    mchart = metrics_chart(
        ctx,
        "marketing",
        "Uplift model beside random targeting",
        "Uplift at 30 % and the share of incremental response captured",
    )
    if ct is None and mchart is None:
        return absent("marketing", title, ["gold.campaign_targets"])
    items: list = []
    if ct is not None:
        buckets = 50
        w = Window.partitionBy("offer").orderBy(F.desc("uplift"))
        b = (
            ct.select(
                "offer",
                F.ntile(buckets).over(w).alias("b"),
                F.col("expected_incremental_revenue").cast("double").alias("r"),
                F.col("expected_profit").cast("double").alias("p"),
            )
            .groupBy("offer", "b")
            .agg(F.sum("r").alias("r"), F.sum("p").alias("p"), F.count(F.lit(1)).alias("n"))
        )
        pdf = collect(b, 50 * buckets).sort_values(["offer", "b"])
        g = pdf.groupby("offer")
        pdf["share"] = g["n"].cumsum() / g["n"].transform("sum")
        pdf["incremental_revenue"] = g["r"].cumsum()
        pdf["profit"] = g["p"].cumsum()
        items.append(G.uplift_curves(pdf[["offer", "share", "incremental_revenue", "profit"]]))
    items.append(mchart)
    return Section(
        "marketing",
        title,
        "Who to send which offer: the expected gain of contacting the "
        "customers with the highest predicted uplift first.",
        G.all_charts(items),
    )


SECTIONS: tuple[Callable[[Context], Section], ...] = (
    quality_section,
    sales_section,
    items_section,
    cohorts_section,
    funnel_section,
    customers_section,
    forecast_section,
    recommend_section,
    basket_section,
    fraud_section,
    sentiment_section,
    support_section,
    marketing_section,
)
