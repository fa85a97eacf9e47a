"""Intermittent-demand rules and Syntetos-Boylan demand classes (plain numpy / pandas, run
per group of items with ``applyInPandas``).

Every function takes a units matrix ``u`` (items x periods, oldest first, NaN before an
item's first period, zero-filled after it) or one item's series (a 1-D array is one row) and
returns the forecast made after each period: column ``j`` of the result is the forecast for
every period from ``j + 1`` on, computed from columns ``0..j`` only. The forecast for origin
``o`` (the first forecast period) is therefore column ``o - 1``: nothing at or after the
origin is read, and the forecast is flat over the horizon.

Rules (the textbook forms; Syntetos & Boylan 2005, Teunter, Syntetos & Babai 2011,
Nikolopoulos et al. 2011):

* Croston: exponential smoothing (``alpha``) of the non-zero demand sizes ``z`` and of the
  intervals ``x`` between them, both updated only in periods with demand; forecast ``z / x``.
  Initialised at the item's first demand: ``z`` = that demand, ``x`` = periods from the
  item's first period up to and including it.
* SBA: Croston times ``1 - alpha / 2`` (removes Croston's positive bias).
* TSB: the size ``z`` is smoothed (``alpha``) in periods with demand, the demand probability
  ``p`` (``beta``) in EVERY period towards 1 (demand) or 0 (none); forecast ``p * z``. An
  item sold once decays geometrically towards zero. Initialised at the first demand:
  ``z`` = that demand, ``p`` = 1 / (periods up to and including it).
* ADIDA: the periods before the origin are cut into non-overlapping buckets of ``m``
  periods ending at the origin, bucket totals are smoothed by simple exponential smoothing
  (``alpha``, initialised at the oldest complete bucket) and the forecast per period is the
  smoothed total / ``m`` (temporal aggregation removes most zeros).
* zero: always 0 (a sanity floor: any rule worse than it in a class is useless there).

Demand classes (Syntetos, Boylan & Croston 2005) from the periods before the origin within a
window: ADI = periods observed / periods with demand, CV² = squared coefficient of variation
(population) of the non-zero sizes; smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32),
intermittent (CV² < 0.49) and lumpy.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lakecart import names as N

CROSTON = "croston"
SBA = "sba"
TSB = "tsb"
ADIDA = "adida"
ZERO = "zero"
RULES = (CROSTON, SBA, TSB, ADIDA, ZERO)
"""The intermittent-demand candidates, in the order of the output columns."""

DEMAND_CLASS = "demand_class"
ADI = "adi"
CV2 = "cv2"
SMOOTH = "smooth"
ERRATIC = "erratic"
INTERMITTENT = "intermittent"
LUMPY = "lumpy"
CLASSES = (SMOOTH, ERRATIC, INTERMITTENT, LUMPY)
ADI_CUTOFF = 1.32  # Syntetos-Boylan cut-offs (defaults of forecast.class_adi / class_cv2)
CV2_CUTOFF = 0.49

ORIGIN = "origin"  # the same column name as lakecart.forecast.panel.ORIGIN


@dataclass(frozen=True)
class RuleParams:
    """Parameters of the rules and of the classification.

    Attributes:
        period_days: Days per period (7 for weeks, 1 for days): partly observed periods are
            scaled to a full period, as in the feature rows.
        croston_alpha: Smoothing of Croston's and SBA's sizes and intervals.
        tsb_alpha: Smoothing of TSB's demand size.
        tsb_beta: Smoothing of TSB's demand probability.
        adida_periods: Periods per ADIDA bucket.
        adida_alpha: Smoothing of the ADIDA bucket totals.
        class_periods: Periods before the origin the demand class looks at.
        adi_cutoff: ADI at and above which demand is intermittent or lumpy.
        cv2_cutoff: CV² at and above which demand is erratic or lumpy.
        origins: Origins (period starts) to emit.
    """

    period_days: int = 7
    croston_alpha: float = 0.1
    tsb_alpha: float = 0.1
    tsb_beta: float = 0.1
    adida_periods: int = 4
    adida_alpha: float = 0.1
    class_periods: int = 52
    adi_cutoff: float = ADI_CUTOFF
    cv2_cutoff: float = CV2_CUTOFF
    origins: tuple[pd.Timestamp, ...] = ()


def _matrix(u: np.ndarray) -> np.ndarray:
    m = np.asarray(u, dtype="float64")
    return m[None, :] if m.ndim == 1 else m


def _out(res: np.ndarray, u: np.ndarray) -> np.ndarray:
    return res[0] if np.asarray(u).ndim == 1 else res


def croston(u: np.ndarray, alpha: float = 0.1, sba: bool = False) -> np.ndarray:
    """Croston's forecast (SBA with ``sba``) after each period; NaN before the first demand.

    Args:
        u: Units, items x periods (or one series), NaN before each item's first period.
        alpha: Smoothing of the sizes and of the intervals.
        sba: Multiply by ``1 - alpha / 2`` (Syntetos-Boylan approximation).
    """
    m = _matrix(u)
    n, t = m.shape
    z = np.full(n, np.nan)  # smoothed size
    x = np.full(n, np.nan)  # smoothed interval
    q = np.zeros(n)  # periods since the last demand (or since the first period)
    out = np.full((n, t), np.nan)
    for j in range(t):
        col = m[:, j]
        seen = ~np.isnan(col)
        q = np.where(seen, q + 1, q)
        d = seen & (col > 0)
        first = d & np.isnan(z)
        later = d & ~first
        z = np.where(first, col, np.where(later, z + alpha * (col - z), z))
        x = np.where(first, q, np.where(later, x + alpha * (q - x), x))
        q = np.where(d, 0, q)
        out[:, j] = z / x
    if sba:
        out = out * (1.0 - alpha / 2.0)
    return _out(out, u)


def tsb(u: np.ndarray, alpha: float = 0.1, beta: float = 0.1) -> np.ndarray:
    """TSB's forecast ``p * z`` after each period; NaN before the first demand.

    Args:
        u: Units, items x periods (or one series), NaN before each item's first period.
        alpha: Smoothing of the demand size (periods with demand only).
        beta: Smoothing of the demand probability (every period).
    """
    m = _matrix(u)
    n, t = m.shape
    z = np.full(n, np.nan)
    p = np.full(n, np.nan)
    age = np.zeros(n)
    out = np.full((n, t), np.nan)
    for j in range(t):
        col = m[:, j]
        seen = ~np.isnan(col)
        age = np.where(seen, age + 1, age)
        d = seen & (col > 0)
        first = d & np.isnan(z)
        started = ~np.isnan(z) & seen & ~first  # a period after the first demand
        p = np.where(first, 1.0 / np.maximum(age, 1), p)
        p = np.where(started, p + beta * (d.astype("float64") - p), p)
        z = np.where(first, col, np.where(started & d, z + alpha * (col - z), z))
        out[:, j] = p * z
    return _out(out, u)


def adida(
    u: np.ndarray, periods: int = 4, alpha: float = 0.1, at: list[int] | None = None
) -> np.ndarray:
    """ADIDA's per-period forecast after each period (buckets end at the next origin).

    Args:
        u: Units, items x periods (or one series), NaN before each item's first period.
        periods: Periods per bucket.
        alpha: Simple exponential smoothing of the bucket totals.
        at: Only these columns are computed (the others stay NaN); None: all.

    Returns:
        The forecast after each period; NaN while an item has no complete bucket.
    """
    m = _matrix(u)
    n, t = m.shape
    out = np.full((n, t), np.nan)
    csum = np.concatenate([np.zeros((n, 1)), np.nancumsum(m, axis=1)], axis=1)
    first = np.argmax(~np.isnan(m), axis=1)  # each item's first period
    for j in range(t) if at is None else [j for j in at if 0 <= j < t]:
        end = j + 1  # buckets [end - k*m, end - (k-1)*m), oldest first
        k_max = (end - first) // periods  # complete buckets per item
        kk = int(k_max.max(initial=0))
        if kk <= 0:
            continue
        level = np.full(n, np.nan)
        for k in range(kk, 0, -1):  # oldest bucket first
            lo, hi = end - k * periods, end - (k - 1) * periods
            ok = k <= k_max
            total = csum[:, hi] - csum[:, lo]
            level = np.where(
                ok, np.where(np.isnan(level), total, level + alpha * (total - level)), level
            )
        out[:, j] = level / periods
    return _out(out, u)


def demand_class(
    u: np.ndarray,
    window: int = 52,
    adi_cutoff: float = ADI_CUTOFF,
    cv2_cutoff: float = CV2_CUTOFF,
    at: list[int] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ADI, CV² and class after each period, from the last ``window`` observed periods.

    Args:
        u: Units, items x periods (or one series), NaN before each item's first period.
        window: Periods looked at (fewer when the item is younger).
        adi_cutoff: ADI at and above which demand is intermittent or lumpy.
        cv2_cutoff: CV² at and above which demand is erratic or lumpy.
        at: Only these columns are computed (the others: NaN / None); None: all.

    Returns:
        ``(adi, cv2, cls)``, each items x periods (or one series): ADI = observed periods /
        periods with demand (inf without demand), CV² of the non-zero sizes (0 with one
        demand or none), and the class name (None before the first period).
    """
    m = _matrix(u)
    n, t = m.shape
    adi = np.full((n, t), np.nan)
    cv2 = np.full((n, t), np.nan)
    cls = np.full((n, t), None, dtype=object)
    for j in range(t) if at is None else [j for j in at if 0 <= j < t]:
        view = m[:, max(0, j - window + 1) : j + 1]
        observed = np.sum(~np.isnan(view), axis=1).astype("float64")
        pos = np.where(view > 0, view, np.nan)
        count = np.sum(~np.isnan(pos), axis=1).astype("float64")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            a = np.where(count > 0, observed / np.maximum(count, 1), np.inf)
            c = np.where(count > 1, np.nanvar(pos, axis=1) / np.nanmean(pos, axis=1) ** 2, 0.0)
        k = np.where(
            a >= adi_cutoff,
            np.where(c >= cv2_cutoff, LUMPY, INTERMITTENT),
            np.where(c >= cv2_cutoff, ERRATIC, SMOOTH),
        ).astype(object)
        seen = observed > 0
        adi[:, j] = np.where(seen, a, np.nan)
        cv2[:, j] = np.where(seen, c, np.nan)
        cls[:, j] = np.where(seen, k, None)
    return _out(adi, u), _out(cv2, u), _out(cls, u)


def output_columns() -> list[str]:
    """Columns of :func:`item_rules`' frame, in order."""
    return [N.ITEM_ID, ORIGIN, *RULES, ADI, CV2, DEMAND_CLASS]


def output_schema() -> str:
    """The Spark DDL schema of :func:`item_rules`' output."""
    types = {N.ITEM_ID: "string", ORIGIN: "date", DEMAND_CLASS: "string"}
    return ", ".join(f"`{c}` {types.get(c, 'double')}" for c in output_columns())


def item_rules(pdf: pd.DataFrame, params: RuleParams) -> pd.DataFrame:
    """Every rule's forecast and the demand class of the items in ``pdf`` at each origin.

    Args:
        pdf: Periods of one or more items: ``item_id``, ``period_start``, ``units``,
            ``days_observed``; each item's periods contiguous (zero-filled) from its first
            period; any row order.
        params: Rule parameters and the origins to emit.

    Returns:
        One row per (item, origin) for the origins after the item's first period, with the
        forecast of every rule from the periods strictly before the origin (NaN where a rule
        has nothing to go on yet), ADI, CV² and the demand class.
    """
    cols = output_columns()
    empty = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    if pdf.empty or not params.origins:
        return empty
    p_days = params.period_days
    ps = pd.to_datetime(pdf[N.PERIOD_START])
    start = ps.min()
    col = ((ps - start).dt.days // p_days).to_numpy()
    t = int(col.max()) + 1
    items, row = np.unique(pdf[N.ITEM_ID].to_numpy(dtype=object), return_inverse=True)
    n = len(items)
    raw = np.full((n, t), np.nan)
    raw[row, col] = pdf[N.UNITS].to_numpy(dtype="float64")
    observed = np.full(t, float(p_days))
    observed[col] = pdf[N.DAYS_OBSERVED].to_numpy(dtype="float64")
    scale = np.where(
        observed >= p_days, 1.0, np.where(observed > 0, p_days / np.maximum(observed, 1), 0.0)
    )
    u = np.maximum(raw * scale, 0.0)  # NaN stays NaN
    step = pd.Timedelta(days=p_days)
    at = [(o, int(round((pd.Timestamp(o) - start) / step))) for o in params.origins]
    srcs = [i - 1 for _, i in at]
    a = params.croston_alpha
    fc = {
        CROSTON: croston(u, a),
        SBA: croston(u, a, sba=True),
        TSB: tsb(u, params.tsb_alpha, params.tsb_beta),
        ADIDA: adida(u, params.adida_periods, params.adida_alpha, at=srcs),
    }
    adi, cv2, cls = demand_class(
        u, params.class_periods, params.adi_cutoff, params.cv2_cutoff, at=srcs
    )
    first = np.argmax(~np.isnan(u), axis=1)
    parts = []
    for o_ts, o in at:  # the backtest cutoffs and the forecast origin: a handful
        if o < 1 or o > t:
            continue
        ok = first < o  # at least one period of history
        if not ok.any():
            continue
        src = o - 1
        part = {N.ITEM_ID: items[ok], ORIGIN: [pd.Timestamp(o_ts).date()] * int(ok.sum())}
        for r in RULES:
            part[r] = np.zeros(int(ok.sum())) if r == ZERO else fc[r][ok, src]
        part[ADI] = adi[ok, src]
        part[CV2] = cv2[ok, src]
        part[DEMAND_CLASS] = cls[ok, src]
        parts.append(pd.DataFrame(part))
    if not parts:
        return empty
    return pd.concat(parts, ignore_index=True)[cols]
