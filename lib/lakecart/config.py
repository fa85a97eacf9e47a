"""Typed configuration: ``conf/base.yaml`` overlaid with ``conf/<env>.yaml``, extra files
and ``--set a.b=v`` overrides.

Unknown keys and values of the wrong type are errors that name the key, so a typo in a
YAML file fails the run before Spark starts instead of being silently ignored.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A configuration key is unknown, missing or has the wrong type."""


@dataclass
class SparkConfig:
    """How the session is built (ignored where the platform provides one)."""

    master: str | None = None  # only applied when neither spark-submit nor the platform set one
    app_name: str = "lakecart"
    shuffle_partitions: int = 8
    delta_packages: bool = True  # resolve Delta's jars from Maven Central when not on the classpath
    log_level: str = "WARN"
    conf: dict[str, str] = field(default_factory=dict)


@dataclass
class LakehouseConfig:
    """Where tables live: a path-based root, or a metastore catalog/schema."""

    root: str = "./lakehouse"
    catalog: str | None = None
    schema_prefix: str = "lakecart"
    use_metastore: bool = False  # true with catalog unset: metastore tables in the default catalog
    models_root: str | None = None  # where fitted models are saved; default <root>/_models


@dataclass
class IngestConfig:
    """Parsing and data-quality rules for `ingest`."""

    max_reject_share: float = 0.10
    timestamp_formats: list[str] = field(
        default_factory=lambda: [
            "yyyy-MM-dd HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ss",
            "yyyy-MM-dd'T'HH:mm:ssXXX",
            "yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
            "yyyy-MM-dd HH:mm:ss.SSS",
            "yyyy-MM-dd HH:mm",
            "yyyy-MM-dd",
            "M/d/yyyy H:mm:ss",
            "M/d/yyyy H:mm",
            "M/d/yyyy",
        ]
    )
    rating_min: float = 0.5
    rating_max: float = 5.0
    csv_encoding: str = "UTF-8"
    landing_format: str = "auto"  # auto | csv | parquet | json


@dataclass
class GenerateConfig:
    """The synthetic shop."""

    scale: int = 1
    seed: int = 42
    start_date: str = "2023-01-02"
    days: int = 730
    landing_format: str = "csv"  # csv | parquet | json


@dataclass
class RunConfig:
    """Per-run settings set from the command line."""

    as_of: str | None = None
    debug: bool = False


@dataclass
class FeaturesConfig:
    """The ``features`` job: windows, implicit-feedback weights and the calendar.

    Attributes:
        windows: Look-back windows in days for the windowed counts (``orders_30d``...).
            They name columns, so changing them changes the feature tables' schemas.
        event_weights: Weight of one interaction in ``features.interactions.weight``, by
            event type (``view``, ``cart``, ``purchase``, ...) and for ``order`` (an order;
            a return counts negatively), ``rating`` (multiplied by the rating) and
            ``review``. Kinds not listed weigh 0.
        log_scaling: ``weight = ln(1 + weighted sum)`` instead of the weighted sum.
        decay_half_life_days: Each interaction's weight halves every this many days
            before as_of; null or 0 disables time decay.
        price_change_days: ``item_features.price_change`` compares the last price with
            the last price at least this many days before as_of.
        holidays: Holiday dates (``YYYY-MM-DD``) flagged in ``features.item_demand``.
        grains: Demand grains to build: ``day`` and/or ``week`` (ISO weeks from Monday).
        write_parallelism: Feature tables computed and written at the same time (1 = one
            after the other); they share one cached read of silver.
    """

    windows: list[int] = field(default_factory=lambda: [7, 30, 90, 365])
    event_weights: dict[str, float] = field(
        default_factory=lambda: {
            "order": 4.0,
            "purchase": 4.0,
            "cart": 2.0,
            "view": 1.0,
            "rating": 1.0,
            "review": 1.0,
        }
    )
    log_scaling: bool = True
    decay_half_life_days: float | None = 90.0
    price_change_days: int = 30
    holidays: list[str] = field(default_factory=list)
    grains: list[str] = field(default_factory=lambda: ["day", "week"])
    write_parallelism: int = 4

    def __post_init__(self) -> None:
        # the generic loader reads mapping values as strings: make the weights numbers
        weights = {}
        for k, v in self.event_weights.items():
            try:
                weights[str(k)] = float(v)
            except (TypeError, ValueError):
                raise ConfigError(
                    f"features.event_weights.{k}: expected a number, got {v!r}"
                ) from None
        self.event_weights = weights
        if (
            not self.windows
            or any(w <= 0 for w in self.windows)
            or len(set(self.windows)) != len(self.windows)
        ):
            raise ConfigError(
                f"features.windows: expected distinct positive day counts, got {self.windows!r}"
            )
        bad = [g for g in self.grains if g not in ("day", "week")]
        if bad or not self.grains:
            raise ConfigError(f"features.grains: expected day and/or week, got {self.grains!r}")
        for i, h in enumerate(self.holidays):
            parse_date(h, f"features.holidays[{i}]")
        if self.decay_half_life_days is not None and self.decay_half_life_days < 0:
            raise ConfigError("features.decay_half_life_days: must be >= 0 or null")
        if self.write_parallelism < 1:
            raise ConfigError("features.write_parallelism: must be >= 1")
        if self.price_change_days <= 0:
            raise ConfigError("features.price_change_days: must be > 0")

    def holiday_dates(self) -> list[dt.date]:
        """The holiday calendar, parsed."""
        return sorted({parse_date(h, "features.holidays") for h in self.holidays})


@dataclass
class RecommendConfig:
    """The ``recommend`` job (issue 4). Owned by the recommend module; see its docs.

    Attributes:
        top_n: Recommendations per user in ``gold.recommendations``.
        similar_k: Similar items per item and method in ``gold.similar_items``.
        popular_n: Items per segment in ``gold.popular_items``.
        eval_k: Cut-off of the ranking metrics in ``ops.model_metrics``.
        exclude_purchased: Drop items the user already interacted with (false for
            repeat-purchase shops).
        inactive_item_days: Items not sold (or interacted with) in this many days before
            as_of are not recommended; null disables.
        seed: Seed of every random choice (splits, ALS initialisation).
        split: How validation and holdout are carved from the data before as_of:
            ``chronological`` (the last periods), ``random`` (per-user random, for
            ratings-only data) or ``auto`` (random when silver has only ratings).
        holdout_days: Chronological holdout: the last this many days before as_of.
        validation_days: Chronological validation: this many days before the holdout.
        holdout_share: Random splits: each user's share of rows held out (holdout, then
            validation from the rest).
        popular_days: Popularity counts distinct users in this many days before the cut
            (ties broken by all-time users).
        als_ranks: ALS rank candidates (the first value of each list is the starting point
            of the one-at-a-time search on the validation split).
        als_reg_params: ALS regParam candidates.
        als_alphas: ALS alpha (confidence scaling) candidates.
        als_max_iters: ALS maxIter candidates.
        als_confidences: ALS confidence candidates: ``weight`` (interactions.weight) and/or
            ``binary`` (1 per interaction).
        checkpoint_interval: ALS checkpoint interval (iterations) so long runs cannot
            overflow the stack.
        cf_similarities: Item-to-item candidates: ``ease``, ``cosine``, ``jaccard``, ``lift``.
        ease_factors: EASE regularisation candidates, as multiples of the mean item count.
        ease_max_items: Largest catalogue for EASE and dense item-to-item scoring (an
            items x items matrix is inverted and broadcast); larger catalogues use top-K
            co-occurrence neighbours computed in Spark.
        cf_top_k: Neighbours kept per item for sparse item-to-item and content scoring.
        cf_max_user_items: Each user's most recent items counted in co-occurrences.
        content_max_df: Terms in more than this share of items are not used to pair items
            in the TF-IDF similarity (they weigh little and pair almost everything).
        blend_step: Grid step of the ALS / item-CF share of the hybrid.
        min_users: Fewer users with interactions than this: the job skips.
        min_items: Fewer items with interactions than this: the job skips.
    """

    top_n: int = 20
    similar_k: int = 20
    popular_n: int = 50
    eval_k: int = 10
    exclude_purchased: bool = True
    inactive_item_days: int | None = 180
    seed: int = 42
    split: str = "auto"
    holdout_days: int = 28
    validation_days: int = 28
    holdout_share: float = 0.2
    popular_days: int = 90
    als_ranks: list[int] = field(default_factory=lambda: [64])
    als_reg_params: list[float] = field(default_factory=lambda: [0.5, 2.0])
    als_alphas: list[float] = field(default_factory=lambda: [10.0, 30.0])
    als_max_iters: list[int] = field(default_factory=lambda: [10])
    als_confidences: list[str] = field(default_factory=lambda: ["weight"])
    checkpoint_interval: int = 5
    cf_similarities: list[str] = field(default_factory=lambda: ["ease", "cosine", "jaccard"])
    ease_factors: list[float] = field(default_factory=lambda: [10.0, 30.0, 100.0])
    ease_max_items: int = 6000
    cf_top_k: int = 100
    cf_max_user_items: int = 300
    content_max_df: float = 0.05
    blend_step: float = 0.25
    min_users: int = 10
    min_items: int = 10

    def __post_init__(self) -> None:
        for key in (
            "top_n",
            "similar_k",
            "popular_n",
            "eval_k",
            "holdout_days",
            "validation_days",
            "popular_days",
            "checkpoint_interval",
            "cf_top_k",
            "cf_max_user_items",
            "ease_max_items",
        ):
            if getattr(self, key) < 1:
                raise ConfigError(f"recommend.{key}: must be >= 1")
        if self.inactive_item_days is not None and self.inactive_item_days < 1:
            raise ConfigError("recommend.inactive_item_days: must be >= 1 or null")
        if self.split not in ("auto", "chronological", "random"):
            raise ConfigError(
                f"recommend.split: expected auto, chronological or random, got {self.split!r}"
            )
        if not 0.0 < self.holdout_share < 0.5:
            raise ConfigError("recommend.holdout_share: must be in (0, 0.5)")
        if not 0.0 < self.content_max_df <= 1.0:
            raise ConfigError("recommend.content_max_df: must be in (0, 1]")
        if not 0.0 < self.blend_step <= 1.0:
            raise ConfigError("recommend.blend_step: must be in (0, 1]")
        lists = {
            "als_ranks": self.als_ranks,
            "als_reg_params": self.als_reg_params,
            "als_alphas": self.als_alphas,
            "als_max_iters": self.als_max_iters,
            "als_confidences": self.als_confidences,
            "cf_similarities": self.cf_similarities,
            "ease_factors": self.ease_factors,
        }
        for key, values in lists.items():
            if not values:
                raise ConfigError(f"recommend.{key}: needs at least one value")
        if any(x < 1 for x in self.als_ranks + self.als_max_iters):
            raise ConfigError("recommend.als_ranks / als_max_iters: must be >= 1")
        if any(x < 0 for x in self.als_reg_params + self.als_alphas) or any(
            x <= 0 for x in self.ease_factors
        ):
            raise ConfigError(
                "recommend.als_reg_params / als_alphas must be >= 0, ease_factors > 0"
            )
        bad = [c for c in self.als_confidences if c not in ("weight", "binary")]
        if bad:
            raise ConfigError(
                f"recommend.als_confidences: expected weight and/or binary, got {bad}"
            )
        bad = [c for c in self.cf_similarities if c not in ("ease", "cosine", "jaccard", "lift")]
        if bad:
            raise ConfigError(
                f"recommend.cf_similarities: expected ease, cosine, jaccard or lift, got {bad}"
            )


@dataclass
class ForecastConfig:
    """The ``forecast`` job (issue 5). Owned by the forecast module; see its docs.

    Attributes:
        grain: ``week`` (ISO weeks from Monday) or ``day``.
        horizon: Periods ahead (1..H); null: 4 for weeks, 28 for days.
        seed: Seed of every random choice.
        active_days: Items sold in this many days before as_of are forecast; it is also
            the window of each item's level (mean demand) that scales its features.
        min_history_days: Items first sold fewer days before the origin get the moving-mean
            fallback forecast (``model_version`` ends with ``-fallback``).
        train_origins: Forecast origins (periods) before a cutoff the model is trained on.
        origin_step: Periods between training origins; null: 1 for weeks, 7 for days.
        backtest_cutoffs: Rolling-origin backtest cutoffs before as_of (fewer are used when
            the history is short; none: the job skips).
        backtest_step: Periods between backtest cutoffs; null: 2 for weeks, 7 for days.
        target: ``ratio`` (units / item level, weighted by the level) or ``units``.
        loss: GBT loss, ``absolute`` (WAPE's) or ``squared``.
        target_cap: Targets are capped at this many times the item's level.
        max_iter: GBT iterations.
        max_depth: GBT tree depth.
        step_size: GBT learning rate.
        subsampling_rate: Share of rows each tree sees.
        interval_low: Lower quantile of the published interval (``yhat_p10``).
        interval_high: Upper quantile of the published interval (``yhat_p90``).
        abc_cutoffs: Cumulative revenue shares closing class A and class B (C is the rest).
        abc_days: Days of revenue before as_of that rank items into ABC classes.
        service_levels: Target cycle service level per ABC class.
        lead_time_days: Supplier lead time when silver.inventory has none.
        lead_time_std_days: Standard deviation of the lead time when silver.inventory has none.
        order_cost: Fixed cost of one replenishment order when silver.inventory has none.
        unit_cost_share: Unit cost as a share of the last selling price when silver.inventory
            has no unit cost.
        holding_rate: Yearly holding cost as a share of the unit cost (H in EOQ).
        safety_calibration: Scale each ABC class's safety stock by a factor fitted on the
            backtest (the quantile of the standardised lead-time excess demand at the class's
            service level over z), so that the plan meets its target on history; False:
            the normal-theory safety stock.
        safety_factor_bounds: Smallest and largest calibrated factor.
    """

    grain: str = "week"
    horizon: int | None = None
    seed: int = 42
    active_days: int = 91
    min_history_days: int = 28
    train_origins: int = 26
    origin_step: int | None = None
    backtest_cutoffs: int = 4
    backtest_step: int | None = None
    target: str = "ratio"
    loss: str = "absolute"
    target_cap: float = 8.0
    max_iter: int = 40
    max_depth: int = 5
    step_size: float = 0.1
    subsampling_rate: float = 0.8
    interval_low: float = 0.1
    interval_high: float = 0.9
    abc_cutoffs: list[float] = field(default_factory=lambda: [0.8, 0.95])
    abc_days: int = 365
    service_levels: dict[str, float] = field(
        default_factory=lambda: {"A": 0.98, "B": 0.95, "C": 0.90}
    )
    lead_time_days: float = 14.0
    lead_time_std_days: float = 3.0
    order_cost: float = 50.0
    unit_cost_share: float = 0.6
    holding_rate: float = 0.25
    safety_calibration: bool = True
    safety_factor_bounds: list[float] = field(default_factory=lambda: [0.5, 5.0])

    def __post_init__(self) -> None:
        if self.grain not in ("day", "week"):
            raise ConfigError(f"forecast.grain: expected day or week, got {self.grain!r}")
        if self.horizon is None:
            self.horizon = 4 if self.grain == "week" else 28
        if self.horizon < 1:
            raise ConfigError("forecast.horizon: must be >= 1")
        levels = {}
        for k, v in self.service_levels.items():
            try:
                levels[str(k)] = float(v)
            except (TypeError, ValueError):
                raise ConfigError(f"forecast.service_levels.{k}: expected a number") from None
        if sorted(levels) != ["A", "B", "C"] or not all(0.5 <= x < 1 for x in levels.values()):
            raise ConfigError("forecast.service_levels: expected A, B and C in [0.5, 1)")
        self.service_levels = levels
        if self.target not in ("ratio", "units"):
            raise ConfigError(f"forecast.target: expected ratio or units, got {self.target!r}")
        if self.loss not in ("absolute", "squared"):
            raise ConfigError(f"forecast.loss: expected absolute or squared, got {self.loss!r}")
        a = self.abc_cutoffs
        if len(a) != 2 or not 0 < a[0] < a[1] <= 1:
            raise ConfigError("forecast.abc_cutoffs: expected two shares 0 < A < B <= 1")
        f = self.safety_factor_bounds
        if len(f) != 2 or not 0 < f[0] <= f[1]:
            raise ConfigError("forecast.safety_factor_bounds: expected two factors 0 < min <= max")
        self.safety_factor_bounds = [float(x) for x in f]
        if not 0 < self.interval_low < self.interval_high < 1:
            raise ConfigError("forecast.interval_low/high: expected 0 < low < high < 1")
        for key in ("active_days", "min_history_days", "train_origins", "max_iter", "max_depth"):
            if getattr(self, key) < 1:
                raise ConfigError(f"forecast.{key}: must be >= 1")
        for key in ("origin_step", "backtest_step"):
            if getattr(self, key) is not None and getattr(self, key) < 1:
                raise ConfigError(f"forecast.{key}: must be >= 1 or null")
        if self.backtest_cutoffs < 0:
            raise ConfigError("forecast.backtest_cutoffs: must be >= 0")
        if self.target_cap <= 0 or self.step_size <= 0 or not 0 < self.subsampling_rate <= 1:
            raise ConfigError("forecast.target_cap/step_size/subsampling_rate: out of range")
        if self.lead_time_days <= 0 or self.lead_time_std_days < 0 or self.order_cost < 0:
            raise ConfigError("forecast.lead_time_days/lead_time_std_days/order_cost: out of range")
        if not 0 < self.unit_cost_share or not 0 < self.holding_rate:
            raise ConfigError("forecast.unit_cost_share/holding_rate: must be > 0")


@dataclass
class CustomersConfig:
    """The ``customers`` job (issue 6). Owned by the customers module; see its docs.

    Attributes:
        churn_days: Churn = no purchase within this many days after as_of.
        clv_days: CLV horizon in days (net spend in the next clv_days).
        propensity_days: Purchase-propensity horizon in days.
        seed: Seed of every random choice.
        snapshot_step_days: Days between two training snapshots (past decision dates).
        max_snapshots: Training snapshots per model: the latest complete label window and
            the ones before it, ``snapshot_step_days`` apart.
        min_history_days: A snapshot needs this many days of orders before it.
        min_train_snapshots: Fewer snapshots than this before the validation window: the
            supervised models are skipped (segments only, logged).
        calibration_share: Share of customers (by a seeded hash of the id) held out of the
            tree training to fit the isotonic calibration.
        gbt_max_iter: Boosting iterations of every gradient-boosted model.
        gbt_max_depth: Tree depth.
        gbt_step_size: Learning rate.
        gbt_subsampling_rate: Row share per tree.
        gbt_min_instances: Fewest training rows in a tree leaf.
        linear_reg: L2 penalty of the logistic model averaged with the trees.
        clv_clip_quantile: The CLV regressors train on the target capped at this quantile
            of positive spend (a few huge accounts otherwise dominate the squared loss).
        clusters_k_min: Smallest k tried by k-means.
        clusters_k_max: Largest k tried; the k with the best silhouette wins.
        fairness_attribute: Column of the customer snapshot (``main_country``, the most
            frequent order country) whose groups get their own AUC and calibration rows in
            ``ops.model_metrics``.
        fairness_min_group: Groups with fewer customers are pooled into ``other``.
        reliability_bins: Equal-width probability bins of the reliability table.
        value_tier_min_clv: ``value_tier`` is ``none`` below this expected spend.
        value_tier_quantiles: Quantiles of clv_90d (over customers at or above
            value_tier_min_clv) where ``low`` becomes ``medium`` and ``medium`` ``high``.
        pseudonymise: Replace customer_id in the gold tables by HMAC-SHA256(key, id) (hex).
        pseudonym_key: The HMAC key; null: read it from the ``pseudonym_key_env`` variable.
        pseudonym_key_env: Environment variable holding the key.
    """

    churn_days: int = 90
    clv_days: int = 90
    propensity_days: int = 30
    seed: int = 42
    snapshot_step_days: int = 30
    max_snapshots: int = 6
    min_history_days: int = 30
    min_train_snapshots: int = 2
    calibration_share: float = 0.25
    gbt_max_iter: int = 50
    gbt_max_depth: int = 3
    gbt_step_size: float = 0.1
    gbt_subsampling_rate: float = 0.8
    gbt_min_instances: int = 20
    linear_reg: float = 0.01
    clv_clip_quantile: float = 0.99
    clusters_k_min: int = 2
    clusters_k_max: int = 8
    fairness_attribute: str = "main_country"
    fairness_min_group: int = 50
    reliability_bins: int = 10
    value_tier_min_clv: float = 1.0
    value_tier_quantiles: list[float] = field(default_factory=lambda: [0.5, 0.8])
    pseudonymise: bool = False
    pseudonym_key: str | None = None
    pseudonym_key_env: str = "LAKECART_PSEUDONYM_KEY"

    def __post_init__(self) -> None:
        for name in ("churn_days", "clv_days", "propensity_days", "snapshot_step_days"):
            if getattr(self, name) < 1:
                raise ConfigError(f"customers.{name}: must be >= 1")
        if self.max_snapshots < 1 or self.min_train_snapshots < 1:
            raise ConfigError("customers.max_snapshots and min_train_snapshots: must be >= 1")
        if self.min_history_days < 0:
            raise ConfigError("customers.min_history_days: must be >= 0")
        if not 0.0 < self.calibration_share < 1.0:
            raise ConfigError("customers.calibration_share: must be between 0 and 1")
        if self.gbt_max_iter < 1 or self.gbt_max_depth < 1 or self.gbt_step_size <= 0:
            raise ConfigError("customers.gbt_*: iterations, depth and step size must be > 0")
        if self.gbt_min_instances < 1 or self.linear_reg < 0:
            raise ConfigError("customers.gbt_min_instances >= 1 and linear_reg >= 0")
        if not 0.0 < self.gbt_subsampling_rate <= 1.0:
            raise ConfigError("customers.gbt_subsampling_rate: must be in (0, 1]")
        if not 0.5 < self.clv_clip_quantile <= 1.0:
            raise ConfigError("customers.clv_clip_quantile: must be in (0.5, 1]")
        if not 2 <= self.clusters_k_min <= self.clusters_k_max:
            raise ConfigError("customers.clusters_k_min/k_max: need 2 <= k_min <= k_max")
        if self.fairness_min_group < 1 or self.reliability_bins < 2:
            raise ConfigError("customers.fairness_min_group >= 1 and reliability_bins >= 2")
        q = self.value_tier_quantiles
        if len(q) != 2 or not 0.0 < q[0] < q[1] < 1.0:
            raise ConfigError(
                f"customers.value_tier_quantiles: expected [q_medium, q_high] in (0, 1), got {q!r}"
            )


@dataclass
class BasketConfig:
    """The ``basket`` job (issue 13): baskets, FP-growth rules and bought-together lists."""

    seed: int = 42


@dataclass
class FraudConfig:
    """The ``fraud`` job (issue 14): transaction features, models, decisions and reasons."""

    seed: int = 42


@dataclass
class SentimentConfig:
    """The ``sentiment`` job (issue 15): review sentiment, aspects and item alerts."""

    seed: int = 42


@dataclass
class SupportConfig:
    """The ``support`` job (issue 15): message intents, entities, queues and answers."""

    seed: int = 42


@dataclass
class MarketingConfig:
    """The ``marketing`` job (issue 16): uplift targeting and promotion effects."""

    seed: int = 42


@dataclass
class ReportConfig:
    """The ``report`` job (issue 17): analytics marts and the HTML report."""

    seed: int = 42


@dataclass
class Config:
    """The whole configuration, passed explicitly to every job and transform that needs it."""

    env: str = "local"
    spark: SparkConfig = field(default_factory=SparkConfig)
    lakehouse: LakehouseConfig = field(default_factory=LakehouseConfig)
    ingest: IngestConfig = field(default_factory=IngestConfig)
    generate: GenerateConfig = field(default_factory=GenerateConfig)
    run: RunConfig = field(default_factory=RunConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    forecast: ForecastConfig = field(default_factory=ForecastConfig)
    customers: CustomersConfig = field(default_factory=CustomersConfig)
    basket: BasketConfig = field(default_factory=BasketConfig)
    fraud: FraudConfig = field(default_factory=FraudConfig)
    sentiment: SentimentConfig = field(default_factory=SentimentConfig)
    support: SupportConfig = field(default_factory=SupportConfig)
    marketing: MarketingConfig = field(default_factory=MarketingConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def as_of_date(self) -> dt.date | None:
        """The decision date, parsed, or None when it is derived from the data."""
        return parse_date(self.run.as_of, "run.as_of") if self.run.as_of else None


def parse_date(value: str, key: str) -> dt.date:
    """Parse ``YYYY-MM-DD`` or raise a :class:`ConfigError` naming ``key``."""
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{key}: {value!r} is not a date (YYYY-MM-DD)") from None


def _check(tp: Any, value: Any, key: str) -> Any:
    """Validate (and lightly coerce) ``value`` against the annotation ``tp``."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        inner = [a for a in args if a is not type(None)]
        return _check(inner[0], value, key)
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
        return _build(tp, value, key)
    if origin is list:
        if not isinstance(value, list):
            raise ConfigError(f"{key}: expected a list, got {value!r}")
        return [_check(args[0], v, f"{key}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{key}: expected a mapping, got {value!r}")
        return {
            str(k): (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in value.items()
        }
    if tp is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if tp is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if tp is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        raise ConfigError(f"{key}: expected a number, got {value!r}")
    if tp is str:
        if isinstance(value, (str, int, float, dt.date)) and not isinstance(value, bool):
            return str(value)
        raise ConfigError(f"{key}: expected a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported type {tp}")  # pragma: no cover


def _build(cls: type, data: dict[str, Any], prefix: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for k, v in data.items():
        key = f"{prefix}.{k}" if prefix else str(k)
        if k not in names:
            raise ConfigError(f"unknown config key '{key}' (known: {', '.join(sorted(names))})")
        kwargs[k] = _check(hints[k], v, key)
    return cls(**kwargs)


def _merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in (overlay or {}).items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = v
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML ({e.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping")
    return data


def _parse_override(item: str) -> tuple[list[str], Any]:
    if "=" not in item:
        raise ConfigError(f"--set {item!r}: expected key=value")
    key, raw = item.split("=", 1)
    try:
        value = yaml.safe_load(raw) if raw != "" else None
    except (yaml.YAMLError, ValueError):  # e.g. '2011-13-45' looks like a date to YAML
        value = raw
    return _key_path(key.strip().split(".")), value


def _key_path(parts: list[str]) -> list[str]:
    """Split ``a.b.c`` along the dataclass tree: once a mapping field is reached (such as
    ``spark.conf``), the rest of the key is one mapping key (``spark.ui.enabled``)."""
    cls: Any = Config
    for i, part in enumerate(parts[:-1]):
        if not dataclasses.is_dataclass(cls):
            return parts
        hints = typing.get_type_hints(cls)
        tp = hints.get(part)
        if tp is None:
            return parts
        if typing.get_origin(tp) is dict:
            return [*parts[: i + 1], ".".join(parts[i + 1 :])]
        cls = tp
    return parts


def default_conf_dir() -> Path:
    """The repository's ``conf/`` folder (next to ``lib/``), or ``./conf``."""
    here = Path(__file__).resolve().parents[2] / "conf"
    return here if here.is_dir() else Path("conf")


def load_config(
    env: str = "local",
    conf_files: list[str] | None = None,
    overrides: list[str] | None = None,
    conf_dir: str | Path | None = None,
) -> Config:
    """Load ``base.yaml`` + ``<env>.yaml`` + extra files + ``key=value`` overrides.

    Args:
        env: Environment overlay name (``local``, ``cluster``, ``databricks``...).
        conf_files: Extra YAML overlays applied in order after the environment.
        overrides: ``a.b=value`` strings applied last; values are parsed as YAML scalars.
        conf_dir: Folder holding ``base.yaml``; defaults to the repository's ``conf/``.

    Returns:
        The validated :class:`Config`.

    Raises:
        ConfigError: on an unknown key, a wrong type or a missing file.
    """
    folder = Path(conf_dir) if conf_dir else default_conf_dir()
    data: dict[str, Any] = {}
    base = folder / "base.yaml"
    if base.is_file():
        data = _read_yaml(base)
    env_file = folder / f"{env}.yaml"
    if env_file.is_file():
        data = _merge(data, _read_yaml(env_file))
    elif env != "local":
        raise ConfigError(f"--env {env}: no such file {env_file}")
    for f in conf_files or []:
        p = Path(f)
        if not p.is_file():
            raise ConfigError(f"--conf {f}: no such file")
        data = _merge(data, _read_yaml(p))
    for item in overrides or []:
        keys, value = _parse_override(item)
        node = data
        for k in keys[:-1]:
            node = node.setdefault(k, {})
            if not isinstance(node, dict):
                raise ConfigError(f"--set {item}: '{k}' is not a section")
        node[keys[-1]] = value
    data["env"] = env
    cfg = _build(Config, data)
    if cfg.run.as_of:
        parse_date(cfg.run.as_of, "--as-of")
    return cfg


def to_dict(cfg: Config) -> dict[str, Any]:
    """The configuration as plain data (for logging and ``ops.runs.args``)."""
    return dataclasses.asdict(cfg)
