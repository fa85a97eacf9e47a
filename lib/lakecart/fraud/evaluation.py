"""Fraud metrics (SPEC section 5): ROC-AUC, PR-AUC, and precision / recall at review
budgets, for models and rule baselines alike, in one Spark job for all scores.

The rows are put in long form (score name, score value, label) and aggregated per
distinct score value; cumulative sums from the highest value down (a window per score
name) then give every metric:

* ROC-AUC by the rank formula, ties counting one half:
  ``sum_v pos(v) x (neg(< v) + neg(v) / 2) / (P x N)``;
* PR-AUC as average precision, ties forming one threshold (scikit-learn's
  ``average_precision_score``): ``sum_v pos(v) / P x precision(>= v)``;
* precision and recall at a budget of ``k`` % of the rows: the ``k % x rows`` highest
  scores are reviewed; when the budget ends inside a group of tied scores (a 0/1 rule),
  that group is reviewed in proportion, i.e. at its expected precision.

Only one row per score name comes back to the driver. (Column names differ by more than
case: Spark resolves them case-insensitively.)
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

AUC = "auc"
PR_AUC = "pr_auc"
PRECISION = "precision"
RECALL = "recall"
BUDGETS = (1, 5)
"""Review budgets in percent of the evaluated transactions (``k`` in ops.model_metrics)."""

Values = dict[tuple[str, int | None], float | None]


def classification_metrics(
    df: DataFrame, label: str, scores: Sequence[str], budgets: Sequence[int] = BUDGETS
) -> dict[str, Values]:
    """ROC-AUC, PR-AUC and precision / recall at each budget for every score column.

    Args:
        df: Rows with a 0/1 ``label`` (rows with a NULL label or score are ignored).
        label: Label column.
        scores: Score columns (higher = riskier).
        budgets: Review budgets in percent.

    Returns:
        ``{score: {(metric, k): value}}`` with ``k`` None for the AUCs and the budget in
        percent otherwise; None where a metric is undefined (one class only, no rows).
    """
    y = F.col(label).cast("double")
    long = df.select(
        y.alias("_y"),
        F.explode(
            F.array(
                *[
                    F.struct(F.lit(s).alias("name"), F.col(s).cast("double").alias("v"))
                    for s in scores
                ]
            )
        ).alias("_s"),
    ).filter(F.col("_y").isNotNull() & F.col("_s.v").isNotNull())
    g = long.groupBy(F.col("_s.name").alias("_name"), F.col("_s.v").alias("_v")).agg(
        F.sum("_y").alias("_pos"), F.count(F.lit(1)).cast("double").alias("_n")
    )
    down = Window.partitionBy("_name").orderBy(F.desc("_v"))
    upto = down.rowsBetween(Window.unboundedPreceding, 0)
    every = Window.partitionBy("_name")
    g = g.withColumns(
        {
            "_cum_n": F.sum("_n").over(upto),
            "_cum_pos": F.sum("_pos").over(upto),
            "_tot_pos": F.sum("_pos").over(every),
            "_tot": F.sum("_n").over(every),
        }
    ).withColumns(
        {
            "_neg": F.col("_n") - F.col("_pos"),
            "_cum_neg": F.col("_cum_n") - F.col("_cum_pos"),
            "_tot_neg": F.col("_tot") - F.col("_tot_pos"),
        }
    )
    aggs = [
        F.sum(F.col("_pos") * (F.col("_tot_neg") - F.col("_cum_neg") + F.col("_neg") / 2.0)).alias(
            "_u"
        ),
        F.sum(F.col("_pos") * F.col("_cum_pos") / F.col("_cum_n")).alias("_ap"),
        F.first("_tot_pos").alias("_tot_pos"),
        F.first("_tot_neg").alias("_tot_neg"),
        F.first("_tot").alias("_tot"),
    ]
    for k in budgets:
        b = F.col("_tot") * (k / 100.0)
        before = F.col("_cum_n") - F.col("_n")
        inside = (before < b) & (b <= F.col("_cum_n"))
        tp = F.col("_cum_pos") - F.col("_pos") + F.col("_pos") * (b - before) / F.col("_n")
        aggs.append(F.max(F.when(inside, tp)).alias(f"_tp{k}"))
    rows = g.groupBy("_name").agg(*aggs).collect()  # one row per score
    out: dict[str, Values] = {}
    for r in rows:
        p, n, t = r["_tot_pos"] or 0.0, r["_tot_neg"] or 0.0, r["_tot"] or 0.0
        vals: Values = {
            (AUC, None): r["_u"] / (p * n) if p > 0 and n > 0 else None,
            (PR_AUC, None): r["_ap"] / p if p > 0 else None,
        }
        for k in budgets:
            tp = r[f"_tp{k}"]
            budget = t * k / 100.0
            vals[(PRECISION, k)] = tp / budget if tp is not None and budget > 0 else None
            vals[(RECALL, k)] = tp / p if tp is not None and p > 0 else None
        out[r["_name"]] = vals
    empty: Values = {(AUC, None): None, (PR_AUC, None): None}
    for k in budgets:
        empty[(PRECISION, k)] = empty[(RECALL, k)] = None
    return {s: out.get(s, dict(empty)) for s in scores}
