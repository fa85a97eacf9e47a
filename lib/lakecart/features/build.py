"""Reading silver for the feature transforms and building every feature table of one
``as_of`` snapshot (used by the ``features`` job, the notebook and the benchmark)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from pyspark import StorageLevel
from pyspark.sql import DataFrame

from lakecart import names as N
from lakecart.config import FeaturesConfig
from lakecart.features.common import prepare_events, prepare_orders
from lakecart.features.demand import item_demand
from lakecart.features.interactions import interactions
from lakecart.features.items import item_features
from lakecart.features.users import user_features
from lakecart.schemas import SILVER
from lakecart.tables import Lakehouse


@dataclass
class FeatureInputs:
    """Silver entities the features read; None when the entity is absent from silver."""

    orders: DataFrame | None = None
    events: DataFrame | None = None
    ratings: DataFrame | None = None
    reviews: DataFrame | None = None
    campaigns: DataFrame | None = None
    products: DataFrame | None = None
    customers: DataFrame | None = None

    @property
    def has_facts(self) -> bool:
        """Whether there is anything to build features from (orders, events or ratings)."""
        return any(x is not None for x in (self.orders, self.events, self.ratings))


def read_inputs(lh: Lakehouse) -> FeatureInputs:
    """The silver tables that exist (an absent table stays None and is not created)."""
    kw = {}
    for f in dataclasses.fields(FeatureInputs):
        spec = SILVER[f.name]
        kw[f.name] = lh.read(spec) if lh.exists(spec) else None
    return FeatureInputs(**kw)


def prepare_inputs(
    inputs: FeatureInputs, as_of: dt.date, persist: bool = True
) -> tuple[FeatureInputs, list[DataFrame]]:
    """Cut orders and events at ``as_of`` once (orders collapsed to order level) and cache
    them, so that the four tables share one scan of each.

    Returns:
        The inputs with prepared orders/events, and the cached frames to unpersist later.
    """
    cached: list[DataFrame] = []
    orders = prepare_orders(inputs.orders, as_of)
    events = prepare_events(inputs.events, as_of)
    if persist:
        for df in (orders, events):
            if df is not None:
                df.persist(StorageLevel.MEMORY_AND_DISK)
                cached.append(df)
    return dataclasses.replace(inputs, orders=orders, events=events), cached


def build_features(
    inputs: FeatureInputs,
    as_of: dt.date,
    config: FeaturesConfig,
    tables: Iterable[str] | None = None,
) -> dict[str, DataFrame]:
    """The feature DataFrames of one snapshot, by table name (lazy: nothing runs yet).

    Args:
        inputs: Silver entities (raw or prepared by :func:`prepare_inputs`).
        as_of: The decision date.
        config: The ``features`` configuration.
        tables: A subset of :data:`lakecart.names.FEATURE_TABLES`; default all.

    Returns:
        ``{table name: DataFrame}`` in :data:`~lakecart.names.FEATURE_TABLES` order.
    """
    wanted = list(tables) if tables else list(N.FEATURE_TABLES)
    unknown = [t for t in wanted if t not in N.FEATURE_TABLES]
    if unknown:
        raise ValueError(
            f"unknown feature table(s) {unknown} (known: {', '.join(N.FEATURE_TABLES)})"
        )
    i = inputs
    builders = {
        N.INTERACTIONS: lambda: interactions(
            i.orders,
            i.events,
            i.ratings,
            i.reviews,
            as_of=as_of,
            event_weights=config.event_weights,
            log_scaling=config.log_scaling,
            half_life_days=config.decay_half_life_days,
        ),
        N.USER_FEATURES: lambda: user_features(
            i.orders,
            i.events,
            i.ratings,
            i.reviews,
            i.customers,
            i.products,
            as_of=as_of,
            windows=config.windows,
        ),
        N.ITEM_FEATURES: lambda: item_features(
            i.orders,
            i.events,
            i.ratings,
            i.reviews,
            i.products,
            as_of=as_of,
            windows=config.windows,
            price_change_days=config.price_change_days,
        ),
        N.ITEM_DEMAND: lambda: item_demand(
            i.orders,
            i.campaigns,
            as_of=as_of,
            grains=config.grains,
            holidays=config.holiday_dates(),
        ),
    }
    return {t: builders[t]() for t in N.FEATURE_TABLES if t in wanted}
