"""Association rules: MLlib FP-growth over the baskets, rules from capped itemsets.

FP-growth (Spark's parallel PFP) mines every frequent itemset across the cluster. The
minimum support is a count of baskets that adapts to the data:
``max(min_support_count, ceil(min_support x baskets))``. MLlib's FP-growth has no length
cap, so the run time is bounded where it explodes: large baskets keep a seeded sample of
their items (:func:`lakecart.basket.baskets.capped_lines`) and the support never goes
below the floor. Rules are built here from the itemsets of at most ``max_itemset_size``
items (one consequent, the rest sorted as the antecedent), with support, confidence, lift
and the basket count.
"""

from __future__ import annotations

import math

from pyspark.ml.fpm import FPGrowth
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from lakecart import names as N

ITEMS = "items"
FREQ = "freq"


def min_support_count(n_baskets: int, share: float, floor: int) -> int:
    """Baskets an itemset needs to be frequent: ``max(floor, ceil(share x n_baskets))``."""
    return max(int(floor), math.ceil(share * n_baskets - 1e-9))


def basket_arrays(lines: DataFrame) -> DataFrame:
    """``order_id, items``: each basket's distinct items as a sorted array."""
    return lines.groupBy(N.ORDER_ID).agg(F.array_sort(F.collect_set(N.ITEM_ID)).alias(ITEMS))


def frequent_itemsets(
    baskets: DataFrame, n_baskets: int, min_count: int, partitions: int | None = None
) -> DataFrame:
    """``items`` (sorted array), ``freq``: the itemsets of at least ``min_count`` baskets.

    Args:
        baskets: ``items`` arrays (:func:`basket_arrays`).
        n_baskets: Number of baskets (FP-growth takes the support as a share of them).
        min_count: Minimum support in baskets.
        partitions: FP-growth's ``numPartitions`` (None: the input's).
    """
    # Spark keeps itemsets with freq >= ceil(minSupport x count): half a basket below the
    # count keeps float rounding from raising it by one
    fp = FPGrowth(itemsCol=ITEMS, minSupport=(min_count - 0.5) / n_baskets, minConfidence=1.0)
    if partitions:
        fp = fp.setNumPartitions(partitions)
    model = fp.fit(baskets.select(ITEMS))
    # the model's itemsets are a lazy RDD: every use would mine again, so materialise once
    return model.freqItemsets.select(
        F.array_sort(ITEMS).alias(ITEMS), F.col(FREQ).cast("long")
    ).localCheckpoint(eager=True)


def rules_from_itemsets(
    itemsets: DataFrame, n_baskets: int, max_size: int, min_confidence: float
) -> DataFrame:
    """Rules ``antecedent => consequent`` from the itemsets of 2..``max_size`` items.

    Returns:
        ``antecedent`` (sorted array), ``consequent``, ``support``, ``confidence``,
        ``lift``, ``baskets``, with confidence >= ``min_confidence``.
    """
    sized = itemsets.filter(F.size(ITEMS) <= max_size)
    singles = sized.filter(F.size(ITEMS) == 1).select(
        F.col(ITEMS)[0].alias(N.CONSEQUENT), F.col(FREQ).alias("_fc")
    )
    parents = sized.select(F.col(ITEMS).alias(N.ANTECEDENT), F.col(FREQ).alias("_fa"))
    rules = (
        sized.filter(F.size(ITEMS) >= 2)
        .select(ITEMS, FREQ, F.explode(ITEMS).alias(N.CONSEQUENT))
        .withColumn(N.ANTECEDENT, F.array_sort(F.array_remove(ITEMS, F.col(N.CONSEQUENT))))
        .join(parents, N.ANTECEDENT)
        .join(singles, N.CONSEQUENT)
    )
    n = float(n_baskets)
    conf = F.col(FREQ) / F.col("_fa")
    return rules.select(
        F.col(N.ANTECEDENT).cast("array<string>").alias(N.ANTECEDENT),
        N.CONSEQUENT,
        (F.col(FREQ) / F.lit(n)).alias(N.SUPPORT),
        conf.alias(N.CONFIDENCE),
        (conf / (F.col("_fc") / F.lit(n))).alias(N.LIFT),
        F.col(FREQ).alias(N.BASKETS),
    ).filter(F.col(N.CONFIDENCE) >= F.lit(min_confidence))
