"""How far the fraud sample's columns can take any model: ceilings for issue 14's proof goals.

The goals are PR-AUC >= 0.66 on the notebooks' random stratified 75/25 split (seed 42) and
ROC-AUC >= 0.58 on the chronological split (train on the first 75 % of time, score the rest).
This script is independent of lakecart (pandas + scikit-learn + LightGBM on the raw CSV) and
scores, on the same test rows as ``bench/fraud.py``:

* the two rule baselines (sign-up to payment under 1 h; a device already used by another
  account);
* honest models on point-in-time features (each transaction sees only transactions at or
  before its own time: seconds from sign-up, hour, weekday, amount, accounts so far per
  device and per IP, source, browser), logistic regression and gradient boosting, with and
  without the sample's ``age`` and ``sex`` columns (which the canonical transactions entity
  does not carry; the public notebooks use them);
* **peeking** variants, which are upper bounds and not results: device / IP account counts
  over the *whole* file (later transactions included), and gradient boosting cross-validated
  on the *test rows' own labels* (5 folds, so each test row is scored by a model that saw
  80 % of the test period's fraud).

Usage: .venv/bin/python bench/fraud_ceiling.py
"""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, roc_auc_score
from sklearn.model_selection import StratifiedKFold, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

DATA = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "ecommerce_fraud_sample"
SEED = 42


def load() -> pd.DataFrame:
    """The labelled rows with point-in-time and whole-file features."""
    d = pd.read_csv(DATA / "fraud_data.csv", encoding="utf-8-sig")
    d = d[d["class"].notna()].copy()
    d["signup"] = pd.to_datetime(d.signup_time, format="%m/%d/%Y %H:%M")
    d["ts"] = pd.to_datetime(d.purchase_time, format="%m/%d/%Y %H:%M")
    d = d.sort_values(["ts", "user_id"], kind="stable").reset_index(drop=True)
    gap = (d.ts - d.signup).dt.total_seconds().clip(lower=0)
    d["log_gap"] = np.log1p(gap)
    d["under_1h"] = (gap < 3600).astype(float)
    d["hour"] = d.ts.dt.hour
    d["weekday"] = d.ts.dt.weekday
    d["log_amount"] = np.log1p(d.purchase_value)
    for key in ("device_id", "ip_address"):
        # accounts so far: transactions at the same minute see each other (same rule as the job)
        first = d.groupby(key)["ts"].rank(method="max")
        d[f"{key}_so_far"] = first
        d[f"{key}_whole_file"] = d.groupby(key)[key].transform("size")
    d["device_shared_before"] = (d.device_id_so_far > 1).astype(float)
    return d


HONEST = ["log_gap", "under_1h", "hour", "weekday", "log_amount", "device_id_so_far", "ip_address_so_far"]  # fmt: skip
CATS = ["source", "browser"]


def matrix(d: pd.DataFrame, numbers: list[str], cats: list[str]) -> pd.DataFrame:
    return pd.get_dummies(d[numbers + cats], columns=cats).astype(float)


def gbm(x: pd.DataFrame, y: np.ndarray) -> lgb.LGBMClassifier:
    return lgb.LGBMClassifier(
        n_estimators=200, learning_rate=0.05, num_leaves=15, random_state=SEED, verbose=-1
    ).fit(x, y)


def logistic(x: pd.DataFrame, y: np.ndarray):
    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=3000, class_weight="balanced")).fit(x, y)  # fmt: skip


def scores(y: np.ndarray, p: np.ndarray) -> tuple[float, float]:
    return roc_auc_score(y, p), average_precision_score(y, p)


def protocol(name: str, d: pd.DataFrame, tr: np.ndarray, te: np.ndarray) -> list[tuple]:
    y = d["class"].to_numpy()
    out = [
        (name, "rule: sign-up < 1 h", "honest", *scores(y[te], d.under_1h.to_numpy()[te])),
        (
            name,
            "rule: shared device",
            "honest",
            *scores(y[te], d.device_shared_before.to_numpy()[te]),
        ),  # fmt: skip
    ]
    variants = [
        ("point-in-time", HONEST, CATS, "honest"),
        ("point-in-time + age, sex", HONEST + ["age"], CATS + ["sex"], "honest"),
        (
            "whole-file device/IP counts",
            HONEST + ["device_id_whole_file", "ip_address_whole_file"],
            CATS + ["sex"],
            "peeks",
        ),  # fmt: skip
    ]
    for label, nums, cats, kind in variants:
        x = matrix(d, nums + (["age"] if "sex" in cats and "age" not in nums else []), cats)
        for learner, fit in (("logistic", logistic), ("LightGBM", gbm)):
            p = fit(x.iloc[tr], y[tr]).predict_proba(x.iloc[te])[:, 1]
            out.append((name, f"{learner}, {label}", kind, *scores(y[te], p)))
    # in-period: 5-fold CV over the test rows, on their own labels
    x = matrix(d, HONEST + ["age", "device_id_whole_file", "ip_address_whole_file"], CATS + ["sex"])
    xt, yt = x.iloc[te].reset_index(drop=True), y[te]
    p = np.zeros(len(te))
    for a, b in StratifiedKFold(5, shuffle=True, random_state=SEED).split(xt, yt):
        p[b] = gbm(xt.iloc[a], yt[a]).predict_proba(xt.iloc[b])[:, 1]
    out.append((name, "LightGBM CV on the test rows' own labels", "peeks", *scores(yt, p)))
    return out


def main() -> None:
    d = load()
    y = d["class"].to_numpy()
    idx = np.arange(len(d))
    tr, te = train_test_split(idx, test_size=0.25, stratify=y, random_state=SEED)
    cut = d.ts.quantile(0.75)
    rows = protocol("(a) random 75/25", d, tr, te)
    rows += protocol("(b) chronological", d, idx[d.ts < cut], idx[d.ts >= cut])
    print(f"{len(d):,} labelled transactions, fraud share {y.mean():.4f}")
    print(f"{'protocol':<20}{'method':<46}{'kind':<8}{'ROC-AUC':>9}{'PR-AUC':>9}")
    for proto, method, kind, roc, pr in rows:
        print(f"{proto:<20}{method:<46}{kind:<8}{roc:>9.4f}{pr:>9.4f}")


if __name__ == "__main__":
    main()
