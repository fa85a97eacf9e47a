"""What the customers job publishes for churn and purchase propensity: the calibrated model
only when it beats its baselines on the validation window, otherwise the best baseline.

Two baselines are fitted on the same training snapshots as the model (label windows ending
by the validation snapshot for the validation, every complete window for the published
scores):

* the **calibrated recency rule** (``recency_calibrated``): days since the last order mapped
  to the label's rate by isotonic regression (increasing for churn, decreasing for a
  purchase), i.e. the observed rate of the customers who were as recent, pooled so that it
  is monotone;
* the **base rate** (``base_rate``): every customer gets the training positive rate. Its
  AUC is 0.5 by construction (every pair tied).

The rule (:func:`classifier_choice`, on the validation AUC, through
:func:`lakecart.selection.choose`): the model is published when its AUC beats the recency
rule's and has skill (:func:`lakecart.selection.auc_has_skill` with the validation class
counts); otherwise the recency rule when it has skill; otherwise (no candidate ranks above
chance beyond noise) the base rate, a calibrated constant rather than a ranking of noise.
Brier scores of all three are reported beside each other, not used to choose.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

from pyspark.ml.regression import IsotonicRegressionModel
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.customers.models import fit_isotonic
from lakecart.selection import Choice, auc_has_skill, choose

BASE_RATE_AUC = 0.5
"""AUC of a constant score (every positive-negative pair is a tie, counted one half)."""


def fit_recency_rule(train: DataFrame, label: str, increasing: bool) -> IsotonicRegressionModel:
    """The calibrated recency rule: isotonic regression of ``label`` on ``recency_days``.

    Args:
        train: Training rows with ``recency_days`` and the 0/1 ``label``.
        label: Label column.
        increasing: True when the label's rate grows with recency (churn), False when it
            falls (a purchase).

    Returns:
        The fitted MLlib model (feature column ``recency_days``).
    """
    return fit_isotonic(train, N.RECENCY_DAYS, label, increasing=increasing)


def apply_recency_rule(
    rule: IsotonicRegressionModel, df: DataFrame, out: str, keys: Sequence[str]
) -> DataFrame:
    """``keys`` and the rule's probability (clipped to [0, 1]) in ``out`` for the rows of ``df``."""
    x = df.select(*keys, F.col(N.RECENCY_DAYS).cast("double").alias(N.RECENCY_DAYS))
    p = F.col(rule.getPredictionCol())
    return rule.transform(x).select(
        *keys, F.least(F.greatest(p, F.lit(0.0)), F.lit(1.0)).alias(out)
    )


def training_rate(train: DataFrame, label: str) -> float:
    """The base rate: mean of the 0/1 ``label`` over the training rows (0 when empty)."""
    rate = train.agg(F.avg(F.col(label).cast("double"))).first()[0]  # one row
    return 0.0 if rate is None else float(rate)


def classifier_choice(
    target: str,
    model: str,
    model_auc: float | None,
    recency_auc: float | None,
    n_pos: int,
    n_neg: int,
    z: float = 1.96,
) -> Choice:
    """What to publish for a probability target, from validation AUCs.

    Args:
        target: ``churn`` or ``propensity`` (for the messages and the decision row).
        model: Name of the model candidate.
        model_auc: Its validation AUC (None / NaN: unknown, never published).
        recency_auc: The calibrated recency rule's validation AUC.
        n_pos: Positive validation rows (of the label the AUCs rank).
        n_neg: Negative validation rows.
        z: Normal quantile of the skill test.

    Returns:
        The model when its AUC beats the recency rule's and has skill; else the recency rule
        when it has skill; else the base rate (``Choice.note`` says why).
    """
    model_skill = auc_has_skill(model_auc, n_pos, n_neg, z)
    if auc_has_skill(recency_auc, n_pos, n_neg, z):
        return choose(
            target, "auc", {model: model_auc}, {N.B_RECENCY_CALIBRATED: recency_auc},
            skill=model_skill,
        )  # fmt: skip
    # the recency rule ranks no better than chance: the model competes with the constant,
    # and loses to it without skill
    c = choose(target, "auc", {model: model_auc}, {N.B_BASE_RATE: BASE_RATE_AUC}, skill=model_skill)
    r = "n/a" if recency_auc is None or math.isnan(recency_auc) else f"{recency_auc:.4f}"
    note = f"{N.B_RECENCY_CALIBRATED} has no skill either (auc {r}, {n_pos} positive / {n_neg} negative)"
    if c.model_won:
        note = f"{N.B_RECENCY_CALIBRATED} has no skill (auc {r})"
    return dataclasses.replace(c, note="; ".join(x for x in (c.note, note) if x))


def rule_probability(
    published: str,
    train: DataFrame,
    label: str,
    increasing: bool,
    df: DataFrame,
    out: str,
    keys: Sequence[str],
) -> tuple[DataFrame, IsotonicRegressionModel | None]:
    """The probability a baseline publishes for the rows of ``df``, fitted on ``train``.

    Args:
        published: ``recency_calibrated`` or ``base_rate``.
        train: Training rows with ``recency_days`` and ``label``.
        label: 0/1 label column.
        increasing: Direction of the recency rule (True for churn).
        df: Rows to score (``keys`` and ``recency_days``).
        out: Output column.
        keys: Key columns kept.

    Returns:
        (``keys`` + ``out``, the fitted recency rule or None for the base rate). A base rate
        gives every row the same value: rankings by it are all ties.

    Raises:
        ValueError: for another name.
    """
    if published == N.B_RECENCY_CALIBRATED:
        rule = fit_recency_rule(train, label, increasing)
        return apply_recency_rule(rule, df, out, keys), rule
    if published == N.B_BASE_RATE:
        return df.select(*keys, F.lit(training_rate(train, label)).alias(out)), None
    raise ValueError(f"not a probability baseline: {published!r}")
