"""Support benchmark: ``bench/text.py --parts bitext``.

The ``support`` job on the Bitext official split (test intents not landed; accuracy and
macro-F1 of gold.support_tickets computed with scikit-learn beside scikit-learn's character
n-gram LinearSVC, times side by side; share of test messages routed to the human queue and
with extracted entities). Every option of ``bench/text.py`` is accepted.

Usage: .venv/bin/python bench/support.py [--set key=value ...]
"""

from __future__ import annotations

import sys

import text

if __name__ == "__main__":
    if not any(a.startswith("--parts") for a in sys.argv[1:]):
        sys.argv[1:1] = ["--parts", "bitext"]
    text.main()
