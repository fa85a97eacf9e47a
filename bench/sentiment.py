"""Sentiment benchmark: ``bench/text.py --parts womens,scales``.

The ``sentiment`` job on Women's reviews (80/20 stratified, test ratings not landed; ROC-AUC
and macro-F1 of gold.review_sentiment computed with scikit-learn beside scikit-learn's
TF-IDF logistic regression and VADER, times side by side) and at synthetic scales. Every
option of ``bench/text.py`` is accepted (``--parts`` defaults to ``womens,scales``).

Usage: .venv/bin/python bench/sentiment.py [--scales 1,4,16] [--set key=value ...]
"""

from __future__ import annotations

import sys

import text

if __name__ == "__main__":
    if not any(a.startswith("--parts") for a in sys.argv[1:]):
        sys.argv[1:1] = ["--parts", "womens,scales"]
    text.main()
