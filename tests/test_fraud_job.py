"""The fraud job end to end: a small synthetic shop landed as transactions only (its
fraud rings, card-testing bursts and sign-up-and-buy accounts found far above the two
rules), the scoring set, metrics beside the rules, an identical re-run, a shop without
labels (rules + anomaly score, nothing blocked) and clean skips without transactions."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from lakecart import generate as G
from lakecart import names as N
from lakecart.fraud.specs import FRAUD_SCORES
from lakecart.jobs.fraud import build, run
from lakecart.runlog import tracked_run
from lakecart.schemas import MODEL_METRICS, SILVER
from lakecart.tables import Lakehouse
from tests.helpers import run_cli

AS_OF = dt.date(2024, 7, 1)


def small_config(base, root, **fraud):
    cfg = dataclasses.replace(
        base.fraud,
        gbt_max_iter=8,
        gbt_max_depth=3,
        min_train_positives=10,
        graph_max_iterations=8,
        **fraud,
    )
    lake = dataclasses.replace(base.lakehouse, root=str(root))
    return dataclasses.replace(base, lakehouse=lake, fraud=cfg)


def run_job(spark, cfg, as_of=AS_OF):
    lh = Lakehouse(spark, cfg.lakehouse)
    with tracked_run(lh, "fraud", {"test": True}) as ctx:
        result = build(spark, cfg, lh, ctx, as_of)
    return lh, ctx, result


@pytest.fixture(scope="module")
def shop(spark, base_config, tmp_root):
    """A generated shop's transactions ingested alone, and two runs of the job."""
    # the generator's own transactions (CustomerBlock.transactions, what generate_landing
    # writes) for a 700-customer shop, landed alone as CSV: no other entity is needed
    world = G.World(customers=700, items=60, label_delay_days=0)
    blocks = [G.customer_block(world, b).transactions() for b in range(world.customer_blocks)]
    land = tmp_root / "fraud_land"
    land.mkdir()
    pd.concat(blocks, ignore_index=True).to_csv(land / "transactions.csv", index=False)
    root = tmp_root / "fraud_lake"
    code, err = run_cli(
        "ingest", ["--source", "canonical", "--path", str(land), "--lakehouse", str(root)]
    )
    assert code == 0, err
    cfg = small_config(base_config, root)
    first = run_job(spark, cfg)
    gold_1 = first[0].read(FRAUD_SCORES).drop(N.GENERATED_AT, N.MODEL_VERSION).localCheckpoint()
    second = run_job(spark, cfg)
    return cfg, first, second, gold_1


def test_scoring_set_and_columns(shop):
    cfg, (lh, _, result), _, _ = shop
    tx = lh.read(SILVER[N.TRANSACTIONS]).toPandas()
    ts = pd.to_datetime(tx[N.TXN_TS])
    want = set(tx.loc[tx[N.LABEL].isna() | (ts >= pd.Timestamp(AS_OF)), N.TRANSACTION_ID])
    gold = lh.read(FRAUD_SCORES).toPandas()
    assert set(gold[N.TRANSACTION_ID]) == want and len(gold) == len(want) > 100
    assert result["model"] in (N.M_FRAUD_GBT, N.M_FRAUD_LOGISTIC)
    assert gold[N.FRAUD_PROBABILITY].between(0, 1).all()
    assert gold[N.ANOMALY_SCORE].between(0, 1).all()
    n = len(gold)
    counts = gold[N.DECISION].value_counts()
    assert abs(counts.get(N.DECISION_REVIEW, 0) - cfg.fraud.review_share * n) <= 1
    assert counts.get(N.DECISION_BLOCK, 0) <= np.ceil(cfg.fraud.block_share * n)
    blocked = gold[gold[N.DECISION] == N.DECISION_BLOCK]
    assert (blocked[N.FRAUD_PROBABILITY] >= cfg.fraud.block_min_probability).all()
    flagged = gold[gold[N.DECISION] != N.DECISION_APPROVE]
    assert flagged[N.FRAUD_REASONS].map(len).gt(0).mean() > 0.8


def _device_accounts_so_far(tx: pd.DataFrame) -> pd.Series:
    """Accounts whose first payment from the device is at or before each payment (pandas,
    independent of the job's window functions)."""
    acct = tx[N.CUSTOMER_ID].fillna("guest:" + tx[N.TRANSACTION_ID])
    first = (
        tx.assign(_a=acct)
        .groupby([N.DEVICE_ID, "_a"])[N.TXN_TS]
        .min()
        .rename("_first")
        .reset_index()
    )
    out = pd.Series(0, index=tx.index, dtype=float)
    for device, g in tx.groupby(N.DEVICE_ID):
        starts = np.sort(first.loc[first[N.DEVICE_ID] == device, "_first"].to_numpy())
        out[g.index] = np.searchsorted(starts, g[N.TXN_TS].to_numpy(), side="right")
    return out


def test_model_finds_synthetic_fraud_far_above_the_rules(shop):
    """On the scored period (labels known to the generator, never read by the job's
    models), the published probability beats both rules by a wide margin."""
    from sklearn.metrics import average_precision_score, roc_auc_score

    _, (lh, _, _), _, _ = shop
    tx = lh.read(SILVER[N.TRANSACTIONS]).toPandas()
    tx[N.TXN_TS] = pd.to_datetime(tx[N.TXN_TS])
    tx["_dev"] = _device_accounts_so_far(tx)
    gap = (tx[N.TXN_TS] - pd.to_datetime(tx[N.SIGNUP_TS])).dt.total_seconds()
    tx["_rule_signup"] = (gap < 3600).astype(float)
    tx["_rule_device"] = (tx["_dev"] >= 2).astype(float)
    gold = lh.read(FRAUD_SCORES).toPandas().merge(tx, on=N.TRANSACTION_ID)
    y = gold[N.LABEL].astype(int)
    assert y.sum() >= 20
    model = average_precision_score(y, gold[N.FRAUD_PROBABILITY])
    rules = max(average_precision_score(y, gold[c]) for c in ("_rule_signup", "_rule_device"))
    assert model > rules + 0.2, (model, rules)
    assert roc_auc_score(y, gold[N.FRAUD_PROBABILITY]) > 0.9
    assert roc_auc_score(y, gold[N.ANOMALY_SCORE]) > 0.7


def test_metrics_beside_both_rules(shop):
    _, (lh, ctx, _), _, _ = shop
    m = lh.read(MODEL_METRICS).filter(F.col(N.RUN_ID) == ctx.run_id).toPandas()
    for model in (N.M_FRAUD_GBT, N.M_FRAUD_LOGISTIC, N.M_FRAUD_ANOMALY):
        rows = m[(m[N.MODEL] == model) & m[N.BASELINE].notna()]
        got = {
            (r.metric, None if pd.isna(r.k) else int(r.k), r.baseline) for r in rows.itertuples()
        }
        for metric, k in [("auc", None), ("pr_auc", None)] + [
            (x, b) for x in ("precision", "recall") for b in (1, 5)
        ]:
            for rule in (N.B_SIGNUP_1H, N.B_SHARED_DEVICE):
                assert (metric, k, rule) in got
        assert rows[N.VALUE].notna().all() and rows[N.BASELINE_VALUE].notna().all()
    assert (m[N.SPLIT].dropna() == N.SPLIT_VALIDATION).all()
    published = m[m[N.METRIC] == "published"]
    assert sorted(published[N.VALUE]) == [0.0, 1.0]


def test_rerun_is_identical(shop):
    _, _, (lh, _, result), gold_1 = shop
    assert result["gold.fraud_scores"] == gold_1.count()
    gold_2 = lh.read(FRAUD_SCORES).drop(N.GENERATED_AT, N.MODEL_VERSION)
    assertDataFrameEqual(gold_2, gold_1, checkRowOrder=False)


def test_no_labels_rules_and_anomaly_only(spark, shop, base_config, tmp_root):
    cfg0, (lh0, _, _), _, _ = shop
    root = tmp_root / "fraud_unlabelled"
    lh = Lakehouse(spark, dataclasses.replace(cfg0.lakehouse, root=str(root)))
    tx = lh0.read(SILVER[N.TRANSACTIONS]).filter(F.col(N.TXN_TS) < F.lit("2023-05-01"))
    lh.append(tx.withColumn(N.LABEL, F.lit(None).cast("int")), SILVER[N.TRANSACTIONS])
    cfg = small_config(base_config, root)
    _, _, result = run_job(spark, cfg, as_of=dt.date(2023, 5, 1))
    assert "skipped_models" in result
    gold = lh.read(FRAUD_SCORES).toPandas()
    assert len(gold) == tx.count()
    assert gold[N.FRAUD_PROBABILITY].isna().all()
    assert N.DECISION_BLOCK not in set(gold[N.DECISION])
    assert abs((gold[N.DECISION] == N.DECISION_REVIEW).sum() - 0.05 * len(gold)) <= 1
    # payments that hit a rule (paid within the hour; device of 2+ accounts) come first
    tx_p = tx.toPandas()
    tx_p[N.TXN_TS] = pd.to_datetime(tx_p[N.TXN_TS])
    gap = (tx_p[N.TXN_TS] - pd.to_datetime(tx_p[N.SIGNUP_TS])).dt.total_seconds()
    hit = (gap < 3600) | (_device_accounts_so_far(tx_p) >= 2)
    hits = set(tx_p.loc[hit, N.TRANSACTION_ID])
    reviewed = set(gold.loc[gold[N.DECISION] == N.DECISION_REVIEW, N.TRANSACTION_ID])
    assert hits and (hits <= reviewed or reviewed <= hits)


def test_skips_without_transactions(spark, lake, base_config):
    cfg, lh = lake
    args = __import__("argparse").Namespace()
    with tracked_run(lh, "fraud", {}) as ctx:
        assert "skipped" in run(spark, cfg, lh, ctx, args)
    lh.create(SILVER[N.TRANSACTIONS])  # present but empty
    with tracked_run(lh, "fraud", {}) as ctx:
        assert "skipped" in run(spark, cfg, lh, ctx, args)
    assert not lh.exists(FRAUD_SCORES)
