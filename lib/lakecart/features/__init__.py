"""Point-in-time feature tables (layer ``features``).

Pure ``DataFrame -> DataFrame`` transforms with explicit arguments, one per table:

* :func:`interactions` -> ``features.interactions`` (user x item),
* :func:`user_features` -> ``features.user_features`` (customer),
* :func:`item_features` -> ``features.item_features`` (item),
* :func:`item_demand` -> ``features.item_demand`` (item x day / ISO week).

Each takes silver-shaped DataFrames (an optional entity may be None) and an ``as_of``
date, and uses only rows whose timestamps are strictly before ``as_of``; the output has
exactly the declared schema of its table (:mod:`lakecart.features.specs`).
:mod:`lakecart.features.build` reads silver and builds all four;
``lakecart.jobs.features`` writes them as one ``as_of`` snapshot.
"""

from __future__ import annotations

from lakecart.features.common import prepare_events, prepare_orders
from lakecart.features.demand import item_demand
from lakecart.features.interactions import interactions
from lakecart.features.items import item_features
from lakecart.features.users import user_features

__all__ = [
    "interactions",
    "item_demand",
    "item_features",
    "prepare_events",
    "prepare_orders",
    "user_features",
]
