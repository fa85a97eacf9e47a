"""One rule for every stage: publish a model only when it beats its baseline.

Each model stage evaluates its candidate models and its baselines on data the model did not
see (a validation window, a backtest). :func:`choose` returns what is published: the best
model when it beats the best baseline, otherwise that baseline. Ties, missing values and
models without skill go to the baseline, which is simpler and cannot overfit.
:meth:`Choice.metrics` turns the decision into ``ops.model_metrics`` rows (metric
``published``) so that the log, the table and the pipeline's run summary say the same thing.

Pure Python: unit-tested without Spark.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from lakecart.gold import Metric

PUBLISHED = "published"
"""``ops.model_metrics.metric`` of the decision row: value 1 when the model was published,
0 when the baseline was; ``model`` names what was published, ``baseline`` the best
baseline; ``dataset`` ends with ``target=<what is predicted>``."""

SELECTION_PREFIX = "selection:"
"""Prefix of the metric of the comparison row (``selection:auc``): the best model's value
beside the best baseline's, on the data the choice was made on."""


def _usable(x: float | None) -> bool:
    return x is not None and not math.isnan(float(x))


@dataclass(frozen=True)
class Choice:
    """What a stage publishes for one target, and why.

    Attributes:
        target: What is predicted (``recommendations``, ``churn``, ``forecast``...).
        metric: The selection metric (``ndcg``, ``auc``, ``brier``, ``wape``...).
        higher_is_better: Direction of ``metric``.
        published: Name of the published model or baseline.
        model: The best model candidate (empty when there was none).
        model_value: Its value of ``metric`` (NaN when unknown).
        baseline: The best baseline.
        baseline_value: Its value of ``metric``.
        note: Why, when the reason is not the comparison itself (no skill...).
    """

    target: str
    metric: str
    higher_is_better: bool
    published: str
    model: str
    model_value: float
    baseline: str
    baseline_value: float
    note: str = ""

    @property
    def model_won(self) -> bool:
        """Whether a model (not a baseline) is published."""
        return bool(self.model) and self.published == self.model

    def reason(self) -> str:
        """One line for the log and the run summary."""

        def fmt(x: float) -> str:
            return "n/a" if not _usable(x) else f"{x:.4f}"

        cmp = (
            f"{self.metric} {fmt(self.model_value)} vs {fmt(self.baseline_value)}"
            f" ({'higher' if self.higher_is_better else 'lower'} is better)"
        )
        if self.model and self.note:  # the note says why, whichever side is published
            kind = "model" if self.model_won else "baseline"
            return f"{self.target}: published {kind} {self.published}, {self.note}: {cmp}"
        if self.model_won:
            return f"{self.target}: published model {self.model}, it beat baseline {self.baseline}: {cmp}"
        if self.model:
            return f"{self.target}: published baseline {self.published}, model {self.model} did not beat it: {cmp}"
        return f"{self.target}: published baseline {self.published} (no model candidate)" + (
            f"; {self.note}" if self.note else ""
        )

    def metrics(
        self, model_version: str, dataset: str | None, as_of, split: str | None
    ) -> list[Metric]:
        """The decision as ``ops.model_metrics`` rows.

        Two rows, both with ``dataset`` ending in ``target=<target>``: metric ``published``
        (``model`` = what was published, value 1 when it is a model and 0 when it is a
        baseline, ``baseline`` = the best baseline) and metric ``selection:<metric>``
        (``model`` = the best model candidate and its value, beside the best baseline's).
        """
        where = f"{dataset or ''} target={self.target}".strip()
        rows = [
            Metric(
                model=self.published,
                model_version=model_version,
                metric=PUBLISHED,
                value=1.0 if self.model_won else 0.0,
                dataset=where,
                as_of=as_of,
                split=split,
                baseline=self.baseline,
                baseline_value=None,
            )
        ]
        if self.model:
            rows.append(
                Metric(
                    model=self.model,
                    model_version=model_version,
                    metric=f"{SELECTION_PREFIX}{self.metric}",
                    value=self.model_value,
                    dataset=where,
                    as_of=as_of,
                    split=split,
                    baseline=self.baseline,
                    baseline_value=self.baseline_value,
                )
            )
        return rows


def choose(
    target: str,
    metric: str,
    models: Mapping[str, float | None],
    baselines: Mapping[str, float | None],
    higher_is_better: bool = True,
    min_gain: float = 0.0,
    skill: bool | None = None,
) -> Choice:
    """The published candidate: the best model if it beats the best baseline, else that baseline.

    Args:
        target: What is predicted, for messages.
        metric: Name of the selection metric.
        models: Model candidates and their metric values (NaN / None: unknown, never chosen).
        baselines: Baselines and their values; at least one. A baseline with an unknown
            value is used only when no baseline has a value.
        higher_is_better: Direction of the metric.
        min_gain: The model must beat the baseline by more than this (absolute), e.g. the
            metric's noise; 0 means strictly better.
        skill: ``False`` when the caller established that no model has skill (e.g. AUC within
            noise of 0.5): the baseline is published whatever the comparison.

    Returns:
        The :class:`Choice`. Ties go to the baseline; among equal values, the first name in
        sorted order.

    Raises:
        ValueError: when no baseline is given.
    """
    if not baselines:
        raise ValueError(f"{target}: a baseline is needed to choose what to publish")
    sign = 1.0 if higher_is_better else -1.0

    def best(cands: Mapping[str, float | None]) -> tuple[str, float]:
        known = {k: float(v) for k, v in cands.items() if _usable(v)}
        if not known:
            return (sorted(cands)[0], math.nan) if cands else ("", math.nan)
        name = min(known, key=lambda k: (-sign * known[k], k))
        return name, known[name]

    b_name, b_val = best(baselines)
    m_name, m_val = best(models)
    note = ""
    won = _usable(m_val) and (not _usable(b_val) or sign * (m_val - b_val) > min_gain)
    if won and skill is False:
        won, note = False, f"model {m_name} has no skill (within noise of chance)"
    return Choice(
        target=target,
        metric=metric,
        higher_is_better=higher_is_better,
        published=m_name if won else b_name,
        model=m_name,
        model_value=m_val,
        baseline=b_name,
        baseline_value=b_val,
        note=note,
    )


def auc_standard_error(auc: float, n_pos: int, n_neg: int) -> float:
    """Hanley and McNeil's (1982) standard error of a ROC-AUC.

    Args:
        auc: The AUC.
        n_pos: Positive examples.
        n_neg: Negative examples.

    Returns:
        The standard error; ``inf`` when either class is empty.
    """
    if n_pos <= 0 or n_neg <= 0 or not _usable(auc):
        return math.inf
    q1 = auc / (2.0 - auc)
    q2 = 2.0 * auc * auc / (1.0 + auc)
    var = (auc * (1.0 - auc) + (n_pos - 1) * (q1 - auc * auc) + (n_neg - 1) * (q2 - auc * auc)) / (
        n_pos * n_neg
    )
    return math.sqrt(max(var, 0.0))


def auc_has_skill(auc: float | None, n_pos: int, n_neg: int, z: float = 1.96) -> bool:
    """Whether an AUC is above chance beyond its noise: ``auc - z * se > 0.5``.

    Args:
        auc: The validation AUC (None / NaN: no skill).
        n_pos: Positive validation examples.
        n_neg: Negative validation examples.
        z: Normal quantile of the one-sided test (1.96: about 97.5 %).
    """
    if not _usable(auc):
        return False
    return float(auc) - z * auc_standard_error(float(auc), n_pos, n_neg) > 0.5
