"""Per-item feature rows for direct multi-horizon forecasting (plain pandas, run per item
with ``applyInPandas``).

One item's demand series (zero-filled, one row per period, oldest first) becomes one row
per (origin, horizon): the features describe the periods strictly before the origin, the
target is the units of period ``origin + horizon - 1``. The same function produces the
training rows, the backtest rows and the rows scored for as_of, so a forecast made at an
origin never sees a period on or after it.

Unit features are divided by the item's level (its mean demand over the activity window
before the origin), so one global model serves slow and fast movers; the level is also the
training weight, which makes absolute loss on the ratio equal to absolute loss on units
(the numerator of WAPE).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lakecart import names as N

# columns of the per-item input frame (besides the features.item_demand ones)
SHOP_UNITS = "shop_units"  # all items' units in the period
# columns of the output rows
ORIGIN = "origin"  # start of the first forecast period (the cutoff)
TARGET_START = "target_start"  # start of the forecast period origin + horizon - 1
Y = "y"  # units of the target period; NaN when not (fully) observed
LEVEL = "level"
HISTORY = "history"  # periods from the item's first period to the origin
MISSING = -1.0  # value of a feature that cannot be computed (trees split on it)

B_NAIVE = "naive"
B_SNAIVE = "seasonal_naive"
B_MEAN = "moving_mean"
B_MEDIAN = "moving_median"
B_MEDIAN_SHORT = "moving_median_short"  # the same rule over a shorter window
BASELINES = (B_NAIVE, B_SNAIVE, B_MEAN, B_MEDIAN, B_MEDIAN_SHORT)


@dataclass(frozen=True)
class GrainSpec:
    """Look-backs of one grain, in periods.

    Attributes:
        period_days: Days in a period.
        lags: Lags of the level-scaled units used as features.
        windows: Windows of the rolling mean features.
        median_windows: Windows of the rolling median features.
        std_window: Window of the rolling standard deviation.
        zero_windows: Windows of the share-of-zero-periods features, and of the order and
            buyer counts (mean per period, and units per order over the longest).
        season: Periods in a year (seasonal naive and the year-ago feature).
        mean_window: Window of the moving-mean baseline.
        median_window: Window of the moving-median baseline.
        median_short_window: Window of the short moving-median baseline (reacts sooner
            to a level change, noisier on lumpy demand; the backtest decides).
    """

    period_days: int
    lags: tuple[int, ...]
    windows: tuple[int, ...]
    median_windows: tuple[int, ...]
    std_window: int
    zero_windows: tuple[int, ...]
    season: int
    mean_window: int
    median_window: int
    median_short_window: int


GRAINS = {
    N.WEEK: GrainSpec(
        7, (1, 2, 3, 4, 5, 6, 8, 13, 26), (4, 8, 13, 26), (4, 8, 13), 8, (4, 13), 52, 4, 8, 4
    ),
    N.DAY: GrainSpec(
        1,
        (1, 2, 3, 4, 5, 6, 7, 14, 21, 28),
        (7, 14, 28, 56, 91),
        (7, 28, 56),
        28,
        (7, 28, 91),
        364,
        28,
        56,
        28,
    ),
}


@dataclass(frozen=True)
class PanelParams:
    """What :func:`item_rows` needs besides the series.

    Attributes:
        grain: ``week`` or ``day``.
        horizon: Periods ahead (1..H).
        level_periods: Window of the level (the activity window, in periods).
        first_origin: Earliest origin to emit (a period start).
        last_origin: Latest origin to emit: the first forecast period for as_of.
    """

    grain: str
    horizon: int
    level_periods: int
    first_origin: pd.Timestamp
    last_origin: pd.Timestamp

    @property
    def spec(self) -> GrainSpec:
        """Look-backs of the grain."""
        return GRAINS[self.grain]


def feature_names(grain: str) -> list[str]:
    """The model's feature columns, in order."""
    g = GRAINS[grain]
    names = [f"lag_{k}" for k in g.lags]
    names += [f"mean_{w}" for w in g.windows]
    names += [f"median_{w}" for w in g.median_windows]
    names += [f"std_{g.std_window}", "max_13"]
    names += [f"zero_share_{w}" for w in g.zero_windows]
    names += [f"orders_{w}" for w in g.zero_windows]
    names += [f"buyers_{w}" for w in g.zero_windows]
    names += ["units_per_order", "orders_trend"]
    names += ["since_last_sale", "age", "log_level", "year_ago", "year_ago_level"]
    names += ["price_rel", "price_change", "log_price", "promo_last"]
    names += ["shop_momentum", "shop_last", "shop_year_ago"]
    names += [N.HORIZON, "target_week", "target_month", "target_dow", "holiday_days_last"]
    return names


def output_columns(grain: str) -> list[str]:
    """Columns of the frame :func:`item_rows` returns, in order."""
    return [
        N.ITEM_ID,
        ORIGIN,
        N.HORIZON,
        TARGET_START,
        Y,
        LEVEL,
        HISTORY,
        *BASELINES,
        *[f for f in feature_names(grain) if f != N.HORIZON],
    ]


def output_schema(grain: str) -> str:
    """The Spark DDL schema of :func:`item_rows`' output."""
    types = {
        N.ITEM_ID: "string",
        ORIGIN: "date",
        TARGET_START: "date",
        N.HORIZON: "int",
        HISTORY: "int",
    }
    return ", ".join(f"`{c}` {types.get(c, 'double')}" for c in output_columns(grain))


def _window(m: np.ndarray, w: int, fn, min_count: int = 1) -> np.ndarray:
    """``fn`` over the last ``w`` columns ending at each column (NaN-aware; NaN where fewer
    than ``min_count`` values)."""
    n, t = m.shape
    pad = np.concatenate([np.full((n, w - 1), np.nan), m], axis=1)
    view = np.lib.stride_tricks.sliding_window_view(pad, w, axis=1)  # n x t x w
    count = np.sum(~np.isnan(view), axis=2)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            out = fn(view, axis=2)
    return np.where(count >= min_count, out, np.nan)


def _shift(m: np.ndarray, k: int) -> np.ndarray:
    """Columns moved right by ``k`` (column j holds column j - k; NaN where undefined)."""
    out = np.full(m.shape, np.nan)
    if k < m.shape[1]:
        out[:, k:] = m[:, : m.shape[1] - k] if k > 0 else m
    return out


def _scaled(x: np.ndarray, level: np.ndarray) -> np.ndarray:
    """``x / level`` with :data:`MISSING` where either is undefined."""
    with np.errstate(divide="ignore", invalid="ignore"):
        r = x / level
    return np.where(np.isfinite(r), r, MISSING)


def item_rows(pdf: pd.DataFrame, params: PanelParams) -> pd.DataFrame:
    """Feature rows of the items in ``pdf`` for every origin in ``[first_origin, last_origin]``.

    Args:
        pdf: Periods of one or more items: ``item_id``, ``period_start``, ``units``,
            ``avg_price``, ``days_observed``, ``promo_active``, ``holiday_days`` and
            ``shop_units`` (all items' units in the period), optionally ``orders`` and
            ``buyers`` (their features are missing without); each item's periods are
            contiguous (zero-filled) up to the same last period; any row order.
        params: Grain, horizon, level window and the range of origins.

    Returns:
        One row per (item, origin, horizon) with :func:`output_columns`: features from
        periods before the origin, the baselines' forecasts, the level, and ``y``, the
        target period's units (NaN when that period is not in the data or only partly
        observed). A partly observed period (``days_observed`` below the period's length) is
        scaled up to a full period in the features. Origins before an item's second period
        are not emitted.
    """
    g = params.spec
    p_days = g.period_days
    cols = output_columns(params.grain)
    if pdf.empty:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    ps = pd.to_datetime(pdf[N.PERIOD_START])
    start = ps.min()
    col = ((ps - start).dt.days // p_days).to_numpy()
    t = int(col.max()) + 1
    items, row = np.unique(pdf[N.ITEM_ID].to_numpy(dtype=object), return_inverse=True)
    n = len(items)

    def matrix(values: np.ndarray) -> np.ndarray:
        m = np.full((n, t), np.nan)
        m[row, col] = values
        return m

    def per_period(values: np.ndarray, fill: float = np.nan) -> np.ndarray:
        v = np.full(t, fill)
        v[col] = values
        return v

    raw = matrix(pdf[N.UNITS].to_numpy(dtype="float64"))
    observed = per_period(pdf[N.DAYS_OBSERVED].to_numpy(dtype="float64"), p_days)
    full = observed >= p_days
    scale = np.where(full, 1.0, np.where(observed > 0, p_days / np.maximum(observed, 1), 0.0))
    u = raw * scale  # NaN before each item's first period
    shop = per_period(pdf[SHOP_UNITS].to_numpy(dtype="float64"), 0.0) * scale
    promo = per_period(
        pd.to_numeric(pdf[N.PROMO_ACTIVE], errors="coerce").to_numpy(dtype="float64")
    )
    hol = per_period(pd.to_numeric(pdf[N.HOLIDAY_DAYS], errors="coerce").to_numpy(dtype="float64"))
    price = (
        pd.DataFrame(matrix(pdf[N.AVG_PRICE].to_numpy(dtype="float64"))).ffill(axis=1).to_numpy()
    )
    first = np.argmax(~np.isnan(u), axis=1)  # each item's first period

    def counts(name: str) -> np.ndarray:
        if name not in pdf.columns:
            return np.full((n, t), np.nan)
        return matrix(pd.to_numeric(pdf[name], errors="coerce").to_numpy(dtype="float64")) * scale

    # column j of a "stat" matrix describes the periods up to j: the origin j + 1 uses it
    lv = params.level_periods
    level = _window(u, lv, np.nanmean)
    stats: dict[str, np.ndarray] = {}
    for k in g.lags:
        stats[f"lag_{k}"] = _scaled(_shift(u, k - 1), level)
    for w in g.windows:
        stats[f"mean_{w}"] = _scaled(_window(u, w, np.nanmean), level)
    for w in g.median_windows:
        stats[f"median_{w}"] = _scaled(_window(u, w, np.nanmedian), level)
    stats[f"std_{g.std_window}"] = _scaled(_window(u, g.std_window, np.nanstd, 2), level)
    stats["max_13"] = _scaled(_window(u, 13, np.nanmax), level)
    zero = np.where(np.isnan(u), np.nan, (u <= 0).astype("float64"))
    for w in g.zero_windows:
        stats[f"zero_share_{w}"] = np.nan_to_num(_window(zero, w, np.nanmean), nan=MISSING)
    # how many orders and buyers the units came from: a week of one wholesale order
    # differs from a week of thirty small ones with the same units
    orders, buyers = counts(N.ORDER_COUNT), counts(N.BUYERS)
    for w in g.zero_windows:
        stats[f"orders_{w}"] = np.nan_to_num(_window(orders, w, np.nanmean), nan=MISSING)
        stats[f"buyers_{w}"] = np.nan_to_num(_window(buyers, w, np.nanmean), nan=MISSING)
    longest, shortest = max(g.zero_windows), min(g.zero_windows)
    orders_long = _window(orders, longest, np.nansum)
    stats["units_per_order"] = _scaled(_window(u, longest, np.nansum), orders_long)
    stats["orders_trend"] = _scaled(
        _window(orders, shortest, np.nanmean), _window(orders, longest, np.nanmean)
    )
    idx = np.broadcast_to(np.arange(t), (n, t))
    last_sale = np.maximum.accumulate(np.where(u > 0, idx, -1), axis=1)
    age = idx - first[:, None] + 1  # periods of history up to and including the column
    stats["since_last_sale"] = np.where(last_sale >= 0, idx - last_sale, age).astype("float64")
    stats["age"] = age.astype("float64")
    stats["log_level"] = np.log1p(np.nan_to_num(level, nan=0.0))
    stats["year_ago_level"] = _scaled(_shift(level, g.season), level)
    price_mean = _window(price, 13, np.nanmean)
    stats["price_change"] = np.nan_to_num(_scaled(price, price_mean) - 1.0, nan=0.0)
    with np.errstate(all="ignore"):
        expanding = np.nancumsum(price, axis=1) / np.cumsum(~np.isnan(price), axis=1)
    stats["price_rel"] = _scaled(price, expanding)
    stats["log_price"] = np.where(np.isfinite(price), np.log1p(np.abs(price)), MISSING)
    stats["promo_last"] = np.broadcast_to(np.nan_to_num(promo, nan=MISSING), (n, t))
    stats["holiday_days_last"] = np.broadcast_to(np.nan_to_num(hol, nan=MISSING), (n, t))
    shop_m = shop[None, :]
    shop_level = _window(shop_m, lv, np.nanmean)[0]
    shop_short = _window(shop_m, g.mean_window, np.nanmean)[0]
    stats["shop_momentum"] = np.broadcast_to(_scaled(shop_short, shop_level), (n, t))
    stats["shop_last"] = np.broadcast_to(_scaled(shop, shop_level), (n, t))
    base = {
        B_NAIVE: u,
        B_MEAN: _window(u, g.mean_window, np.nanmean),
        B_MEDIAN: _window(u, g.median_window, np.nanmedian),
        B_MEDIAN_SHORT: _window(u, g.median_short_window, np.nanmedian),
    }

    # origins o (index of the first forecast period): features from column o - 1
    step = pd.Timedelta(days=p_days)
    lo = max(1, int(np.ceil((params.first_origin - start) / step)))
    hi = min(int((params.last_origin - start) / step), t)
    if hi < lo:
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    origins = np.arange(lo, hi + 1)
    ii, oo = np.meshgrid(np.arange(n), origins, indexing="ij")
    ii, oo = ii.ravel(), oo.ravel()
    ok = oo > first[ii]  # at least one period of history
    ii, oo = ii[ok], oo[ok]
    h = np.arange(1, params.horizon + 1)
    n_h = len(h)
    ii, oo = np.repeat(ii, n_h), np.repeat(oo, n_h)
    hh = np.tile(h, len(origins) * n)[np.repeat(ok, n_h)]
    src = oo - 1
    target = oo + hh - 1
    in_data = target < t
    tc = np.minimum(target, t - 1)
    y = np.where(in_data & full[tc], raw[ii, tc], np.nan)
    season = target - g.season
    sc = np.clip(season, 0, t - 1)
    snaive = np.where((season >= 0) & (season < t), u[ii, sc], np.nan)
    lvl = level[ii, src]
    target_start = start + pd.to_timedelta(target * p_days, unit="D")
    out = {
        N.ITEM_ID: items[ii],
        ORIGIN: (start + pd.to_timedelta(oo * p_days, unit="D")).date,
        N.HORIZON: hh.astype("int32"),
        TARGET_START: target_start.date,
        Y: y,
        LEVEL: lvl,
        HISTORY: (oo - first[ii]).astype("int32"),
        B_NAIVE: base[B_NAIVE][ii, src],
        B_SNAIVE: snaive,
        B_MEAN: base[B_MEAN][ii, src],
        B_MEDIAN: base[B_MEDIAN][ii, src],
        B_MEDIAN_SHORT: base[B_MEDIAN_SHORT][ii, src],
    }
    for name in feature_names(params.grain):
        if name in out or name == N.HORIZON:
            continue
        if name == "year_ago":
            out[name] = _scaled(snaive, lvl)
        elif name == "shop_year_ago":
            out[name] = _scaled(
                np.where((season >= 0) & (season < t), shop[sc], np.nan), shop_level[src]
            )
        elif name == "target_week":
            out[name] = target_start.isocalendar().week.to_numpy(dtype="float64")
        elif name == "target_month":
            out[name] = target_start.month.to_numpy(dtype="float64")
        elif name == "target_dow":
            out[name] = (
                (target_start.dayofweek + 1).to_numpy(dtype="float64")
                if p_days == 1
                else np.full(len(hh), MISSING)
            )
        else:
            out[name] = stats[name][ii, src]
    return pd.DataFrame(out)[cols]


def with_params(params: PanelParams, **changes) -> PanelParams:
    """A copy of ``params`` with some fields changed."""
    return dataclasses.replace(params, **changes)
