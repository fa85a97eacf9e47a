"""Uplift evaluation on randomised contacts (SPEC section 5).

Customers are ordered by predicted uplift, best first; rows with the same score form one
group (a model cannot order them). With ``n_t``/``n_c`` treated/control rows and
``y_t``/``y_c`` their summed outcome (responses, or revenue) in the top ``f`` of the rows:

* **uplift@f** = ``y_t / n_t - y_c / n_c``: treated minus control response rate among the
  top ``f`` (random targeting: the overall difference);
* **incremental responses** at ``f`` = ``(y_t / n_t - y_c / n_c) x (n_t + n_c)``: what
  treating the top ``f`` adds (0 while either group is empty);
* **share captured at f** = incremental responses at ``f`` / incremental responses of
  treating everyone (``f = 1``); random targeting captures ``f`` (0.30 at 30 %); NaN when
  treating everyone adds nothing (``<= 0``);
* **Qini coefficient** = area between the normalised incremental-response curve (the share
  captured as a function of ``f``, trapezoids between group boundaries, from (0, 0)) and
  the random diagonal: 0 for random targeting, higher is better.

The cut at ``f`` usually falls inside a group; that group's counts are taken pro rata
(ties are split evenly, whatever order the rows had).

The pure functions take a frame of groups, best first, with columns ``n_t, n_c, y_t, y_c``.
:func:`binned_outcomes` builds such frames in Spark: scores are cut into bins at
approximate per-offer quantiles (ties never straddle a bin boundary), and the bins of the
observed sample (``rep`` 0) and of ``B`` Poisson-bootstrap replicates (``rep`` 1..B, each
row weighted by a seeded Poisson(1) draw) are aggregated, so that only bins x replicates
rows reach the driver.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

GROUP_COLUMNS = ("n_t", "n_c", "y_t", "y_c")

# Poisson(1) cumulative probabilities P(X <= k), k = 0..7: weight = #{k : u > cdf_k}
_POISSON1_CDF = tuple(
    sum(math.exp(-1.0) / math.factorial(j) for j in range(k + 1)) for k in range(8)
)


def _cum(groups: pd.DataFrame) -> np.ndarray:
    """Cumulative (n_t, n_c, y_t, y_c) at each group boundary, with a leading zero row."""
    arr = groups[list(GROUP_COLUMNS)].to_numpy(dtype=float)
    return np.vstack([np.zeros((1, 4)), np.cumsum(arr, axis=0)])


def _rate_diff(c: np.ndarray) -> np.ndarray:
    n_t, n_c, y_t, y_c = c[..., 0], c[..., 1], c[..., 2], c[..., 3]
    ok = (n_t > 0) & (n_c > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = np.where(ok, y_t / np.where(ok, n_t, 1.0) - y_c / np.where(ok, n_c, 1.0), 0.0)
    return d


def incremental(c: np.ndarray) -> np.ndarray:
    """Incremental outcome ``(y_t/n_t - y_c/n_c) x (n_t + n_c)`` of cumulative counts."""
    return _rate_diff(c) * (c[..., 0] + c[..., 1])


def at_fraction(groups: pd.DataFrame, frac: float) -> np.ndarray:
    """Cumulative (n_t, n_c, y_t, y_c) of the top ``frac`` of the rows (pro rata inside the
    group the cut falls in)."""
    c = _cum(groups)
    size = c[:, 0] + c[:, 1]
    target = frac * size[-1]
    j = int(np.searchsorted(size, target, side="left"))  # first boundary >= target
    if j == 0:
        return c[0]
    lo, hi = c[j - 1], c[j]
    width = size[j] - size[j - 1]
    alpha = 0.0 if width <= 0 else (target - size[j - 1]) / width
    return lo + alpha * (hi - lo)


def uplift_at(groups: pd.DataFrame, frac: float) -> float:
    """Treated minus control outcome rate among the top ``frac`` (NaN if a group is empty)."""
    c = at_fraction(groups, frac)
    if c[0] <= 0 or c[1] <= 0:
        return float("nan")
    return float(c[2] / c[0] - c[3] / c[1])


def share_captured(groups: pd.DataFrame, frac: float) -> float:
    """Share of the incremental outcome of treating everyone that the top ``frac`` bring."""
    total = float(incremental(_cum(groups)[-1]))
    if not total > 0:
        return float("nan")
    return float(incremental(at_fraction(groups, frac)) / total)


def qini_coefficient(groups: pd.DataFrame) -> float:
    """Area between the normalised incremental curve and the random diagonal."""
    c = _cum(groups)
    total = float(incremental(c[-1]))
    if not total > 0:
        return float("nan")
    size = c[:, 0] + c[:, 1]
    f = size / size[-1]
    curve = incremental(c) / total - f
    return float(np.sum((curve[1:] + curve[:-1]) / 2.0 * np.diff(f)))


def uplift_metrics(groups: pd.DataFrame, frac: float) -> dict[str, float]:
    """``uplift_at``, ``share_captured`` and ``qini`` of one ordered group frame."""
    if len(groups) == 0:
        nan = float("nan")
        return {"uplift_at": nan, "share_captured": nan, "qini": nan}
    return {
        "uplift_at": uplift_at(groups, frac),
        "share_captured": share_captured(groups, frac),
        "qini": qini_coefficient(groups),
    }


def rows_to_groups(
    score: Sequence[float], treated: Sequence[bool], outcome: Sequence[float]
) -> pd.DataFrame:
    """Row-level arrays -> the group frame (one group per distinct score, best first)."""
    df = pd.DataFrame(
        {"s": np.asarray(score, float), "t": np.asarray(treated, bool), "y": np.asarray(outcome)}
    )
    g = df.groupby("s", sort=True).apply(
        lambda x: pd.Series(
            {
                "n_t": float(x["t"].sum()),
                "n_c": float((~x["t"]).sum()),
                "y_t": float(x.loc[x["t"], "y"].sum()),
                "y_c": float(x.loc[~x["t"], "y"].sum()),
            }
        ),
        include_groups=False,
    )
    return g.iloc[::-1].reset_index(drop=True)


def interval(values: Sequence[float], coverage: float) -> tuple[float, float]:
    """Percentile interval of bootstrap values (NaNs ignored; NaN when none is finite)."""
    v = np.asarray([x for x in values if x == x], dtype=float)
    if len(v) == 0:
        return float("nan"), float("nan")
    a = (1.0 - coverage) / 2.0
    return float(np.quantile(v, a)), float(np.quantile(v, 1.0 - a))


def metrics_with_intervals(
    bins: pd.DataFrame, frac: float, outcome: str, coverage: float
) -> dict[str, dict[str, float]]:
    """Metrics of the observed sample and their bootstrap intervals, per group key.

    Args:
        bins: Output of :func:`binned_outcomes` (``key, rep, bin, n_t, n_c`` and
            ``y_t_<outcome>``, ``y_c_<outcome>``).
        frac: Targeted share.
        outcome: Which outcome's sums to use.
        coverage: Interval coverage (e.g. 0.95).

    Returns:
        ``{key: {metric: value, metric_lo: ..., metric_hi: ...}}`` (no ``_lo``/``_hi``
        without replicates).
    """
    out: dict[str, dict[str, float]] = {}
    if len(bins) == 0:
        return out
    frame = bins.rename(columns={f"y_t_{outcome}": "y_t", f"y_c_{outcome}": "y_c"})
    for key, kd in frame.groupby("key", sort=True):
        per_rep: dict[int, dict[str, float]] = {}
        for rep, rd in kd.groupby("rep", sort=True):
            groups = rd.sort_values("bin", ascending=False)
            per_rep[int(rep)] = uplift_metrics(groups, frac)
        point = dict(per_rep.get(0, uplift_metrics(kd.iloc[0:0], frac)))
        reps = [m for r, m in per_rep.items() if r > 0]
        if reps:
            for name in list(point):
                lo, hi = interval([m[name] for m in reps], coverage)
                point[f"{name}_lo"], point[f"{name}_hi"] = lo, hi
        out[str(key)] = point
    return out


# ---------------------------------------------------------------- Spark side
def poisson_one(u: Column) -> Column:
    """A Poisson(1) draw from a uniform ``u`` in [0, 1) (inverse CDF, capped at 8)."""
    w = F.lit(0)
    for cdf in _POISSON1_CDF:
        w = w + F.when(u >= F.lit(cdf), 1).otherwise(0)
    return w.cast("double")


def binned_outcomes(
    df: DataFrame,
    *,
    key: str,
    score: str,
    treated: str,
    outcomes: Sequence[str],
    row_keys: Sequence[str],
    bins: int,
    replicates: int,
    seed: int,
) -> pd.DataFrame:
    """Per (key, replicate, score bin) sums of treated/control rows and outcomes.

    Bins are cut at approximate quantiles of ``score`` within each ``key`` (e.g. the
    offer); equal scores share a bin, and a higher bin holds higher scores.

    Args:
        df: Scored evaluation rows.
        key: Column grouping the evaluation (metrics are computed per value).
        score: Predicted uplift (higher = target first).
        treated: Boolean or 0/1 treatment column.
        outcomes: Outcome columns to sum (responses, revenue).
        row_keys: Columns identifying a row (seed the bootstrap weights).
        bins: Number of quantile bins.
        replicates: Bootstrap replicates (0: the observed sample only).
        seed: Seed of the weights.

    Returns:
        A pandas frame ``key, rep, bin, n_t, n_c, y_t_<o>, y_c_<o>`` (rep 0 = observed);
        its size is keys x bins x (replicates + 1) rows at most.
    """
    probs = [i / bins for i in range(1, bins)]
    thresholds = df.groupBy(F.col(key).alias("_key")).agg(
        F.array_distinct(F.percentile_approx(F.col(score), probs, 10 * bins)).alias("_thr")
    )
    t = F.col(treated).cast("double")
    base = df.join(F.broadcast(thresholds), F.col(key) == F.col("_key")).select(
        F.col(key).cast("string").alias("key"),
        F.size(F.filter(F.col("_thr"), lambda x: x < F.col(score))).alias("bin"),
        t.alias("_t"),
        *[
            F.coalesce(F.col(o).cast("double"), F.lit(0.0)).alias(f"_o{i}")
            for i, o in enumerate(outcomes)
        ],
        F.xxhash64(*[F.col(k).cast("string") for k in row_keys]).alias("_h"),
    )
    reps = base.select("*", F.explode(F.sequence(F.lit(0), F.lit(int(replicates)))).alias("rep"))
    u = F.pmod(F.xxhash64(F.col("_h"), F.col("rep"), F.lit(int(seed))), F.lit(1 << 30)) / float(
        1 << 30
    )
    w = F.when(F.col("rep") == 0, F.lit(1.0)).otherwise(poisson_one(u))
    aggs = [
        F.sum(w * F.col("_t")).alias("n_t"),
        F.sum(w * (1.0 - F.col("_t"))).alias("n_c"),
    ]
    for i, o in enumerate(outcomes):
        aggs.append(F.sum(w * F.col("_t") * F.col(f"_o{i}")).alias(f"y_t_{o}"))
        aggs.append(F.sum(w * (1.0 - F.col("_t")) * F.col(f"_o{i}")).alias(f"y_c_{o}"))
    pdf = reps.groupBy("key", "rep", "bin").agg(*aggs).toPandas()  # keys x bins x reps rows
    return pdf.sort_values(["key", "rep", "bin"]).reset_index(drop=True)
