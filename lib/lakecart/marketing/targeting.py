"""From uplift to a decision: expected incremental revenue, profit, rank and ``send``.

* expected_incremental_revenue = uplift x the expected revenue of one response (a model of
  revenue fitted on responding contacts, treated and control, with the offer as a
  feature; ``marketing.response_value`` when the campaigns carry no revenue). The
  assumption is that the offer changes whether a customer responds, not how much a
  response is worth.
* expected_profit = ``marketing.margin`` x expected_incremental_revenue - cost.
* rank (within the offer, 1 = best) orders by expected_profit, or by uplift where profit
  is unknown, then uplift, then customer_id.
* send: each customer's best offer (same order) when its expected profit (else uplift) is
  positive; with ``marketing.budget`` only the ``budget`` best such customers.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from lakecart import names as N
from lakecart.config import MarketingConfig
from lakecart.marketing.contacts import RESPONSE, VALUE
from lakecart.marketing.uplift_models import regressor

VALUE_PER_RESPONSE = "_value"
_SCORE = "_score"


def fit_value_model(rows: DataFrame, features: str, cfg: MarketingConfig) -> Any | None:
    """Revenue per response: a tree regressor on responding rows (revenue capped at its
    99th percentile); None when no response carries revenue."""
    resp = rows.filter((F.col(RESPONSE) == 1.0) & F.col(VALUE).isNotNull())
    cap = resp.filter(F.col(VALUE) > 0).agg(F.percentile_approx(VALUE, 0.99).alias("q")).first()
    if cap is None or cap["q"] is None:
        return None
    capped = resp.withColumn("_vcap", F.least(F.col(VALUE), F.lit(float(cap["q"]))))
    return regressor(N.LEARNER_GBT, cfg, features, "_vcap", "value").fit(capped)


def predict_value(model: Any | None, df: DataFrame, response_value: float | None) -> DataFrame:
    """``df`` with ``_value`` (expected revenue of one response; NULL when unknown)."""
    if model is None:
        v = F.lit(response_value).cast("double")
        return df.withColumn(VALUE_PER_RESPONSE, v)
    cols = df.columns
    out = model.transform(df)
    return out.select(*cols, F.greatest(F.col("_pred_value"), F.lit(0.0)).alias(VALUE_PER_RESPONSE))


def decide(scored: DataFrame, margin: float, budget: int | None) -> DataFrame:
    """Profit, rank and send of every (customer, offer).

    Args:
        scored: ``customer_id, offer, uplift, p_response, _value, cost``.
        margin: Profit share of revenue.
        budget: Most customers sent to (None: no cap).

    Returns:
        The gold.campaign_targets columns (without the common gold columns).
    """
    eir = F.col(N.UPLIFT) * F.col(VALUE_PER_RESPONSE)
    df = scored.withColumn(N.EXPECTED_INCREMENTAL_REVENUE, eir).withColumn(
        N.EXPECTED_PROFIT, F.lit(margin) * F.col(N.EXPECTED_INCREMENTAL_REVENUE) - F.col(N.COST)
    )
    df = df.withColumn(_SCORE, F.coalesce(F.col(N.EXPECTED_PROFIT), F.col(N.UPLIFT)))
    order = [F.desc(_SCORE), F.desc(N.UPLIFT)]
    df = df.withColumn(
        N.RANK,
        F.row_number()
        .over(Window.partitionBy(N.OFFER).orderBy(*order, F.asc(N.CUSTOMER_ID)))
        .cast("int"),
    ).withColumn(
        "_best",
        F.row_number().over(Window.partitionBy(N.CUSTOMER_ID).orderBy(*order, F.asc(N.OFFER))) == 1,
    )
    candidate = F.col("_best") & (F.col(_SCORE) > 0)
    send = candidate
    if budget is not None:
        if budget == 0:
            send = F.lit(False)
        else:
            last = (
                df.filter(candidate)
                .orderBy(*order, F.asc(N.CUSTOMER_ID))
                .limit(int(budget))
                .orderBy(F.asc(_SCORE), F.asc(N.UPLIFT), F.desc(N.CUSTOMER_ID))
                .select(_SCORE, N.UPLIFT, N.CUSTOMER_ID)
                .first()
            )  # the budget-th customer (one row)
            if last is not None:
                s, u, c = last
                within = (F.col(_SCORE) > F.lit(s)) | (
                    (F.col(_SCORE) == F.lit(s))
                    & (
                        (F.col(N.UPLIFT) > F.lit(u))
                        | ((F.col(N.UPLIFT) == F.lit(u)) & (F.col(N.CUSTOMER_ID) <= F.lit(c)))
                    )
                )
                send = candidate & within
    return df.select(
        N.CUSTOMER_ID,
        N.OFFER,
        N.UPLIFT,
        N.P_RESPONSE,
        N.EXPECTED_INCREMENTAL_REVENUE,
        N.COST,
        N.EXPECTED_PROFIT,
        N.RANK,
        F.coalesce(send, F.lit(False)).alias(N.SEND),
    )
