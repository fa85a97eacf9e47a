"""How much of the Hillstrom proof figure is the encoding: one learner, many equal choices.

Issue 16's targets (women's e-mail top-30 % share >= 0.37, any e-mail >= 0.45) were set from
one logistic two-model learner. This script refits exactly that learner (scikit-learn
``LogisticRegression`` per offer, treated and control models, uplift = difference) on the
bench's split (stratified segment x visit 70/30, seed 42) under standard, equally defensible
encodings of the same eight columns, and scores each with the bench's top-30 % share
(random targeting: 0.30). Independent of lakecart.

Usage: .venv/bin/python bench/marketing_sensitivity.py
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from marketing import HILLSTROM, top_share
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import StandardScaler

CATEGORIES = ["history_segment", "zip_code", "channel"]


def encode(d: pd.DataFrame, kind: str) -> np.ndarray:
    """The attributes as numbers under one encoding."""
    x = d[["recency", "history_segment", "history", "mens", "womens", "zip_code", "newbie", "channel"]].copy()  # fmt: skip
    cats = list(CATEGORIES)
    if kind == "without history_segment (a binning of history)":
        x, cats = x.drop(columns="history_segment"), cats[1:]
    if kind.startswith("log history"):
        x["history"] = np.log1p(x["history"])
    if kind == "log history, recency as category":
        x["recency"] = x["recency"].astype(str)
        cats = ["recency", *cats]
    return pd.get_dummies(x, columns=cats).astype(float).to_numpy()


def main() -> None:
    warnings.filterwarnings("ignore")
    d = pd.read_csv(HILLSTROM)
    y, seg = d["visit"].to_numpy(), d["segment"].to_numpy()
    strata = d["segment"].astype(str) + d["visit"].astype(str)
    tr, te = train_test_split(np.arange(len(d)), test_size=0.3, stratify=strata, random_state=42)
    offers = {"womens": "Womens E-Mail", "mens": "Mens E-Mail"}
    print(f"{'encoding':<50}{'C':>6}{'womens':>9}{'mens':>9}{'any':>9}")
    kinds = ["raw history", "without history_segment (a binning of history)", "log history", "log history, recency as category"]  # fmt: skip
    for kind in kinds:
        x = StandardScaler().fit(encode(d, kind)[tr]).transform(encode(d, kind))
        for c in (0.1, 1.0, 100.0):
            up = {}
            for name, offer in offers.items():
                t, k = tr[seg[tr] == offer], tr[seg[tr] == "No E-Mail"]
                p_t = LogisticRegression(C=c, max_iter=5000).fit(x[t], y[t]).predict_proba(x)[:, 1]
                p_c = LogisticRegression(C=c, max_iter=5000).fit(x[k], y[k]).predict_proba(x)[:, 1]
                up[name] = p_t - p_c
            shares = []
            for name, offer in offers.items():
                s = te[np.isin(seg[te], [offer, "No E-Mail"])]
                shares.append(top_share(up[name][s], seg[s] == offer, y[s])["share"])
            mean_up = (up["womens"] + up["mens"]) / 2
            shares.append(top_share(mean_up[te], seg[te] != "No E-Mail", y[te])["share"])
            print(f"{kind:<50}{c:>6}" + "".join(f"{v:>9.3f}" for v in shares))


if __name__ == "__main__":
    main()
