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

from lakecart.identifiers import is_identifier


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
    commit_retries: int = 5  # retries of an idempotent write whose Delta commit conflicted

    def __post_init__(self) -> None:
        # catalog and schema names are spliced into SQL text (CREATE SCHEMA, table names):
        # only plain identifiers may get there
        for key in ("catalog", "schema_prefix"):
            value = getattr(self, key)
            if value is not None and not is_identifier(value):
                raise ConfigError(
                    f"lakehouse.{key}: {value!r} is not a plain identifier "
                    "(letters, digits and underscore, not starting with a digit)"
                )


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
    parallelism: int = 4  # entities read, classified and written at the same time

    def __post_init__(self) -> None:
        if self.parallelism < 1:
            raise ConfigError("ingest.parallelism: must be >= 1")


@dataclass
class GenerateConfig:
    """The synthetic shop."""

    scale: int = 1
    seed: int = 42
    start_date: str = "2023-01-02"
    days: int = 730
    landing_format: str = "csv"  # csv | parquet | json
    profile: str = "default"  # default | longtail (one year, one-off buyers, long-tail catalogue)
    skew_customer_orders: int = 200_000  # profile skew: one-line orders of its one huge customer
    skew_item_share: float = 0.8  # profile skew: share of orders holding its hub item

    def __post_init__(self) -> None:
        from lakecart.names import GEN_PROFILES

        if self.profile not in GEN_PROFILES:
            raise ConfigError(
                f"generate.profile: expected one of {', '.join(GEN_PROFILES)}, got {self.profile!r}"
            )
        if self.skew_customer_orders < 0:
            raise ConfigError("generate.skew_customer_orders: must be >= 0")
        if not 0.0 <= self.skew_item_share <= 1.0:
            raise ConfigError("generate.skew_item_share: must be within [0, 1]")


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
        fit_parallelism: Models fitted at the same time (driver threads sharing the
            session): the ALS candidates, and the holdout's evaluation beside the final fit.
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
        basket_weights: Weights of the bought-together source (items bought in the same
            order, scored as the basket job scores them, over the baskets ``basket.*``
            defines) tried on top of the chosen hybrid; it joins the hybrid only when one
            of them raises validation NDCG. Empty: the source is off.
        last_items: The "last item" source (``last_item``) scores the neighbours of each
            user's this many most recent items; 0: the source is off.
        last_item_decay: Weight of the user's i-th most recent item is ``decay ** i``
            (the latest counts 1).
        last_item_weights: Weights of the ``last_item`` source tried on top of the chosen
            hybrid on validation (it also competes alone and with popularity); kept only
            when validation NDCG improves.
        context_max_items: Orders and sessions with more distinct items than this are left
            out of the co-view / co-purchase counts of the ``last_item`` neighbours.
        context_content_weight: Weight of the TF-IDF content neighbours beside the
            co-view / co-purchase neighbours (each scaled to 1 per item) in ``last_item``;
            default 0: its rows publish as ``item_cf``, so they come from co-occurrence
            only (content similarity is the ``content`` source's).
        truth_users: Whose purchases in a chronological validation / holdout period are the
            truth: ``buyers`` (customers who bought before it) or ``known`` (also users who
            only browsed before it: the users a shop of one-off buyers serves).
        popular_segments: Popularity baselines by segment evaluated beside the overall one
            (``country``: the user's country, ``category``: the category the user
            interacted with most). The hybrid is published only when its validation NDCG
            beats the best of them; otherwise that baseline is.
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
    fit_parallelism: int = 2
    cf_similarities: list[str] = field(default_factory=lambda: ["ease", "cosine", "jaccard"])
    ease_factors: list[float] = field(default_factory=lambda: [10.0, 30.0, 100.0])
    ease_max_items: int = 6000
    cf_top_k: int = 100
    cf_max_user_items: int = 300
    content_max_df: float = 0.05
    blend_step: float = 0.25
    basket_weights: list[float] = field(default_factory=lambda: [0.1, 0.3, 1.0])
    last_items: int = 3
    last_item_decay: float = 0.5
    last_item_weights: list[float] = field(default_factory=lambda: [0.3, 1.0])
    context_max_items: int = 50
    context_content_weight: float = 0.0
    popular_segments: list[str] = field(default_factory=lambda: ["country", "category"])
    truth_users: str = "known"
    min_users: int = 10
    min_items: int = 10

    def __post_init__(self) -> None:
        if self.fit_parallelism < 1:
            raise ConfigError("recommend.fit_parallelism: must be >= 1")
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
        if any(w <= 0 for w in self.basket_weights):
            raise ConfigError("recommend.basket_weights: must be > 0 (an empty list: off)")
        if any(w <= 0 for w in self.last_item_weights):
            raise ConfigError("recommend.last_item_weights: must be > 0")
        if self.last_items < 0 or self.context_max_items < 2:
            raise ConfigError("recommend.last_items must be >= 0, context_max_items >= 2")
        if not 0.0 < self.last_item_decay <= 1.0:
            raise ConfigError("recommend.last_item_decay: must be in (0, 1]")
        if self.context_content_weight < 0:
            raise ConfigError("recommend.context_content_weight: must be >= 0")
        if self.truth_users not in ("buyers", "known"):
            raise ConfigError(
                f"recommend.truth_users: expected buyers or known, got {self.truth_users!r}"
            )
        bad = [x for x in self.popular_segments if x not in ("country", "category")]
        if bad:
            raise ConfigError(
                f"recommend.popular_segments: expected country and/or category, got {bad}"
            )
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


# the forecast's candidate methods (lakecart.forecast.model.METHODS; a test keeps them equal)
FORECAST_METHODS = (
    "gbt",
    "naive",
    "seasonal_naive",
    "moving_mean",
    "moving_median",
    "moving_median_short",
    "croston",
    "sba",
    "tsb",
    "adida",
    "zero",
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
        backtest_step: Periods between backtest cutoffs; null: the cutoffs are spread over
            ``backtest_span_days`` (closer together when the history is shorter), so the
            choice is not decided by the most recent weeks alone.
        backtest_span_days: Days before as_of the default cutoffs are spread over.
        target: ``log`` (log(1 + units)), ``ratio`` (units / item level, weighted by the
            level) or ``units``.
        loss: GBT loss, ``squared`` or ``absolute`` (WAPE's; on the ``log`` target it would
            learn the median of the units, but MLlib's absolute-loss trees move by the sign of
            the residual only and learn it slower: squared on log scored better in the
            backtests).
        combine: Methods whose mean forecast is the ``combination`` candidate (the GBT with
            the median rules by default); empty: no combination.
        count_median: Also backtest the median of a Poisson count with the GBT's (and the
            combination's) forecast as its mean (``gbt_median``, ``combination_median``):
            WAPE's best point forecast is the median of the units, which is 0 for an item
            selling under 0.69 units a period.
        target_cap: Targets are capped at this many times the item's level.
        max_iter: GBT iterations.
        max_depth: GBT tree depth.
        step_size: GBT learning rate.
        subsampling_rate: Share of rows each tree sees.
        fit_parallelism: Backtest cutoffs whose GBTs are fitted at the same time (driver
            threads sharing the session; 1 = one after the other).
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
        croston_alpha: Smoothing of Croston's and SBA's demand sizes and intervals.
        tsb_alpha: Smoothing of TSB's demand size.
        tsb_beta: Smoothing of TSB's demand probability (updated every period).
        adida_periods: Periods per ADIDA bucket; null: 4 for weeks, 7 for days.
        adida_alpha: Smoothing of the ADIDA bucket totals.
        class_days: Days of history before an origin that give an item's demand class.
        class_adi: ADI (periods per period with demand) from which demand is intermittent
            or lumpy (Syntetos-Boylan 1.32).
        class_cv2: CV² of the non-zero sizes from which demand is erratic or lumpy (0.49).
        class_min_items: A demand class with fewer backtest items publishes the overall
            choice.
        class_min_gain: A class departs from the overall choice only when its own best
            method's backtest WAPE there is lower by more than this share (backtest noise);
            a class where the overall choice is worse than zero publishes zero regardless.
        select_by_class: Choose the published method per demand class on the backtest;
            False: one method for every item (the overall choice).
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
    backtest_span_days: int = 182
    target: str = "log"
    loss: str = "squared"
    target_cap: float = 8.0
    combine: list[str] = field(
        default_factory=lambda: ["gbt", "moving_median_short", "moving_median"]
    )
    count_median: bool = True
    max_iter: int = 40
    max_depth: int = 5
    step_size: float = 0.1
    subsampling_rate: float = 0.8
    fit_parallelism: int = 2
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
    croston_alpha: float = 0.1
    tsb_alpha: float = 0.1
    tsb_beta: float = 0.1
    adida_periods: int | None = None
    adida_alpha: float = 0.1
    class_days: int = 364
    class_adi: float = 1.32
    class_cv2: float = 0.49
    class_min_items: int = 30
    class_min_gain: float = 0.05
    select_by_class: bool = True

    def __post_init__(self) -> None:
        if self.grain not in ("day", "week"):
            raise ConfigError(f"forecast.grain: expected day or week, got {self.grain!r}")
        for key in ("croston_alpha", "tsb_alpha", "tsb_beta", "adida_alpha"):
            if not 0 < getattr(self, key) <= 1:
                raise ConfigError(f"forecast.{key}: expected a smoothing weight in (0, 1]")
        if self.adida_periods is not None and self.adida_periods < 1:
            raise ConfigError("forecast.adida_periods: must be >= 1 or null")
        if self.class_days < 2 or self.class_adi < 1 or self.class_cv2 < 0:
            raise ConfigError("forecast.class_days/class_adi/class_cv2: out of range")
        if self.class_min_items < 0:
            raise ConfigError("forecast.class_min_items: must be >= 0")
        if self.fit_parallelism < 1:
            raise ConfigError("forecast.fit_parallelism: must be >= 1")
        if not 0.0 <= self.class_min_gain < 1.0:
            raise ConfigError("forecast.class_min_gain: must be in [0, 1)")
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
        if self.target not in ("log", "ratio", "units"):
            raise ConfigError(f"forecast.target: expected log, ratio or units, got {self.target!r}")
        self.combine = list(dict.fromkeys(self.combine))
        unknown = [m for m in self.combine if m not in FORECAST_METHODS]
        if unknown or len(self.combine) == 1:
            raise ConfigError(
                f"forecast.combine: expected none or two or more of {', '.join(FORECAST_METHODS)}"
                + (f"; unknown {unknown}" if unknown else "")
            )
        if self.backtest_span_days < 1 or (
            self.backtest_step is not None and self.backtest_step < 1
        ):
            raise ConfigError("forecast.backtest_span_days/backtest_step: must be >= 1")
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
        fit_parallelism: Models fitted at the same time (driver threads sharing the
            session): the k-means candidates, the horizons' validations, then their
            final classifiers.
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
        selection_z: Normal quantile of the skill test of a validation AUC
            (``lakecart.selection.auc_has_skill``): churn and propensity publish their model
            only when its AUC beats the calibrated recency rule's and exceeds 0.5 by more
            than ``selection_z`` standard errors; when neither has skill, the training base
            rate is published.
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
    fit_parallelism: int = 2
    linear_reg: float = 0.01
    clv_clip_quantile: float = 0.99
    clusters_k_min: int = 2
    clusters_k_max: int = 8
    fairness_attribute: str = "main_country"
    fairness_min_group: int = 50
    reliability_bins: int = 10
    selection_z: float = 1.96
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
        if self.selection_z < 0:
            raise ConfigError("customers.selection_z: must be >= 0")
        if self.fit_parallelism < 1:
            raise ConfigError("customers.fit_parallelism: must be >= 1")
        q = self.value_tier_quantiles
        if len(q) != 2 or not 0.0 < q[0] < q[1] < 1.0:
            raise ConfigError(
                f"customers.value_tier_quantiles: expected [q_medium, q_high] in (0, 1), got {q!r}"
            )


@dataclass
class BasketConfig:
    """The ``basket`` job (issue 13): baskets, FP-growth rules and bought-together lists.

    Attributes:
        seed: Seed of every random choice (items kept from large baskets, the validation
            baskets and their hidden items).
        days: Baskets are the orders of this many days before as_of; null: all history.
        exclude_categories: Items whose silver.products category is one of these are not
            merchandise (postage, fees, manual adjustments) and leave every basket.
        exclude_items: Further item ids left out of every basket.
        max_basket_items: Larger baskets keep this many of their items (a seeded sample)
            for pair counts, FP-growth and validation: bounds the pairs (quadratic in basket
            size) and the itemsets of wholesale-sized orders.
        min_support: FP-growth minimum support as a share of the baskets ...
        min_support_count: ... but at least this many baskets (the count adapts to size).
        max_itemset_size: Longest itemset turned into rules (antecedent + consequent).
        min_confidence: Rules below this confidence are not published.
        top_k: Other items per item in gold.bought_together.
        candidate_pool: Per item, the most co-occurring items this many deep are the
            candidates every scoring ranks (bounds the sort); null: all co-occurring items.
        shrinkages: Candidate shrinkage strengths beta of the score
            ``(co(a,b) + beta x p(b)) / (n(a) + beta) / p(b) ^ gamma`` (P(b|a) shrunk toward
            b's basket share p(b)); 0 = the plain conditional probability.
        popularity_exponents: Candidate gammas of that score (0 = a probability; 1 with
            beta 0 = lift).
        half_lives: Candidate half-lives in days of a basket's weight before the fit's end
            (0 = no decay). The joint score (weighted co-occurrence) of every half-life is
            a candidate too.
        validation_days: The last this many days before as_of are the validation window
            that chooses the score; the lists published are refit on all baskets.
        validation_max_baskets: At most this many validation baskets (seeded) are scored.
        eval_k: Cut-off of hit rate and MRR.
        min_baskets: Fewer baskets (with 2+ items) before as_of: the job skips.
        cart_days: Open carts of sessions whose last cart event is this many days before
            as_of or fewer get completions.
        cart_top_n: Completions per open cart.
    """

    seed: int = 42
    days: int | None = 365
    exclude_categories: list[str] = field(default_factory=lambda: ["non-merchandise"])
    exclude_items: list[str] = field(default_factory=list)
    max_basket_items: int = 50
    min_support: float = 0.005
    min_support_count: int = 10
    max_itemset_size: int = 3
    min_confidence: float = 0.05
    top_k: int = 50
    candidate_pool: int | None = 200
    shrinkages: list[float] = field(default_factory=lambda: [0.0, 3.0, 10.0, 30.0])
    popularity_exponents: list[float] = field(default_factory=lambda: [0.0])
    half_lives: list[float] = field(default_factory=lambda: [0.0, 120.0])
    validation_days: int = 28
    validation_max_baskets: int = 2000
    eval_k: int = 10
    min_baskets: int = 20
    cart_days: int = 7
    cart_top_n: int = 10

    def __post_init__(self) -> None:
        if self.days is not None and self.days < 1:
            raise ConfigError("basket.days: must be >= 1 or null")
        if self.max_basket_items < 2 or self.max_itemset_size < 2:
            raise ConfigError("basket.max_basket_items and max_itemset_size: must be >= 2")
        if not 0.0 < self.min_support < 1.0 or self.min_support_count < 1:
            raise ConfigError("basket.min_support in (0, 1) and min_support_count >= 1")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError("basket.min_confidence: must be in [0, 1]")
        if self.top_k < 1 or self.eval_k < 1 or self.cart_top_n < 1:
            raise ConfigError("basket.top_k, eval_k and cart_top_n: must be >= 1")
        if self.candidate_pool is not None and self.candidate_pool < self.top_k:
            raise ConfigError("basket.candidate_pool: must be >= top_k or null")
        for name in ("shrinkages", "popularity_exponents", "half_lives"):
            values = getattr(self, name)
            if not values or any(float(v) < 0 for v in values):
                raise ConfigError(f"basket.{name}: a non-empty list of numbers >= 0")
            setattr(self, name, [float(v) for v in values])
        if self.validation_days < 1 or self.validation_max_baskets < 1:
            raise ConfigError("basket.validation_days and validation_max_baskets: must be >= 1")
        if self.min_baskets < 1 or self.cart_days < 1:
            raise ConfigError("basket.min_baskets and cart_days: must be >= 1")


@dataclass
class FraudConfig:
    """The ``fraud`` job (issue 14): transaction features, models, decisions and reasons.

    Attributes:
        seed: Seed of every random choice (tree subsampling).
        review_share: Share of the scored transactions sent to manual review (the review
            budget), after the blocked ones.
        block_share: Share of the scored transactions blocked outright (the riskiest ones,
            and only when their calibrated probability reaches ``block_min_probability``).
        block_min_probability: Nothing with a lower calibrated fraud probability is blocked
            (without a model nothing is blocked).
        validation_share: The chronological validation window: this share of the labelled
            training transactions, the latest by time.
        min_train_positives: Fewer fraud labels before as_of (or fewer than a fifth of this
            in the validation window): no supervised model; rules and anomaly score only.
        selection_metric: ``pr_auc`` or ``auc``: how the published model is chosen on the
            validation window.
        calibration: ``platt`` (a logistic map of the score's logit: keeps the ranking) or
            ``isotonic`` (steps: ties scores), fitted on the validation window.
        refit: Refit the chosen model on every labelled transaction before as_of (the
            validation window included) and apply the validation window's calibration to it.
        gbt_max_iter: Boosting iterations.
        gbt_max_depth: Tree depth.
        gbt_step_size: Learning rate.
        gbt_subsampling_rate: Row share per tree.
        gbt_min_instances: Fewest training rows in a tree leaf.
        lr_reg: L2 penalty of the logistic regression (standardised features).
        max_categories: Source, browser and country are one-hot encoded over their most
            frequent values (at most this many each, at least ``min_category_rows`` rows).
        min_category_rows: A category needs this many transactions to get its own column.
        shop_history_days: Days of the shop's earlier transactions the amount is compared to.
        graph_max_iterations: Bound of the label-propagation rounds of the linked-account
            components (a warning is logged when they have not converged).
        graph_max_key_accounts: Devices or IP addresses used by more accounts than this
            (public terminals, carrier NAT) do not link accounts.
        rule_signup_seconds: Baseline rule 1: paid within this many seconds of sign-up.
        rule_device_accounts: Baseline rule 2: the device has been used by at least this
            many accounts so far.
        max_reasons: Most reasons listed per transaction (strongest first).
        anomaly_clip: Each one-sided robust z-score of the anomaly score is capped at this.
    """

    seed: int = 42
    review_share: float = 0.05
    block_share: float = 0.005
    block_min_probability: float = 0.5
    validation_share: float = 0.2
    min_train_positives: int = 20
    selection_metric: str = "pr_auc"
    calibration: str = "platt"
    refit: bool = True
    gbt_max_iter: int = 60
    gbt_max_depth: int = 4
    gbt_step_size: float = 0.1
    gbt_subsampling_rate: float = 0.8
    gbt_min_instances: int = 20
    lr_reg: float = 0.01
    max_categories: int = 8
    min_category_rows: int = 20
    shop_history_days: int = 30
    graph_max_iterations: int = 20
    graph_max_key_accounts: int = 50
    rule_signup_seconds: int = 3600
    rule_device_accounts: int = 2
    max_reasons: int = 3
    anomaly_clip: float = 10.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.block_share <= self.review_share + self.block_share <= 1.0:
            raise ConfigError("fraud.review_share/block_share: must be >= 0 and sum to <= 1")
        if self.review_share < 0 or not 0.0 <= self.block_min_probability <= 1.0:
            raise ConfigError("fraud.review_share >= 0 and block_min_probability in [0, 1]")
        if not 0.0 < self.validation_share < 1.0:
            raise ConfigError("fraud.validation_share: must be between 0 and 1")
        if self.selection_metric not in ("pr_auc", "auc"):
            raise ConfigError("fraud.selection_metric: pr_auc or auc")
        if self.calibration not in ("platt", "isotonic"):
            raise ConfigError("fraud.calibration: platt or isotonic")
        if self.gbt_max_iter < 1 or self.gbt_max_depth < 1 or self.gbt_step_size <= 0:
            raise ConfigError("fraud.gbt_*: iterations, depth and step size must be > 0")
        if not 0.0 < self.gbt_subsampling_rate <= 1.0 or self.gbt_min_instances < 1:
            raise ConfigError("fraud.gbt_subsampling_rate in (0, 1], gbt_min_instances >= 1")
        if self.lr_reg < 0 or self.min_train_positives < 1:
            raise ConfigError("fraud.lr_reg >= 0 and min_train_positives >= 1")
        if self.max_categories < 0 or self.min_category_rows < 1 or self.shop_history_days < 1:
            raise ConfigError("fraud.max_categories >= 0, min_category_rows/shop_history_days >= 1")
        if self.graph_max_iterations < 1 or self.graph_max_key_accounts < 2:
            raise ConfigError("fraud.graph_max_iterations >= 1 and graph_max_key_accounts >= 2")
        if self.rule_signup_seconds < 1 or self.rule_device_accounts < 2:
            raise ConfigError("fraud.rule_signup_seconds >= 1 and rule_device_accounts >= 2")
        if self.max_reasons < 1 or self.anomaly_clip <= 0:
            raise ConfigError("fraud.max_reasons >= 1 and anomaly_clip > 0")


@dataclass
class SentimentConfig:
    """The ``sentiment`` job (issue 15): review sentiment, aspects and item alerts.

    Attributes:
        seed: Seed of the validation split.
        positive_min_rating: Ratings at or above are positive (training class 1).
        negative_max_rating: Ratings at or below are negative (class 0); those between
            (3 stars) are no training class but tune the neutral band.
        validation_share: Share of the learnable reviews (the latest by review_ts; undated
            ones by a seeded hash) that choose the model, calibrate it and set thresholds.
        min_train_reviews: Fewer learnable positive + negative reviews (or fewer than 5 of a
            class): the job skips.
        models: Model kinds tried: ``lr`` (logistic regression) and/or ``svc`` (LinearSVC).
        c_values: Inverse L2 strengths tried (scikit-learn's C; regParam = 1 / (C x rows)).
        max_iter: Optimiser iterations per fit.
        fit_parallelism: Candidates fitted at the same time (driver threads sharing the
            session).
        balance_classes: Class weights n / (2 n_class) in training.
        refit: Refit the chosen candidate on training + validation reviews (calibration and
            thresholds stay those of the validation split).
        word_ngrams: Largest word n-gram.
        char_ngrams: ``[n_min, n_max]`` of the character n-grams; ``[]`` for none.
        title_block: A separate word block for the review title.
        min_df: Word n-grams in fewer training reviews (or this share when < 1) are dropped.
        vocab_size: Largest word vocabulary.
        hash_bits: Character n-grams are hashed into 2^hash_bits buckets.
        neutral_band: Assign ``neutral`` between the two thresholds (tuned on 3-star
            validation reviews); false: only positive / negative.
        aspects_file: Aspect lexicon (YAML; relative paths also looked up in ``conf/``).
        window_days: Length of the current and previous windows of gold.item_sentiment.
        alert_alpha: Significance level of the alert's one-sided binomial test.
        alert_min_reviews: No alert with fewer reviews in the current window.
        alert_prior_reviews: Pseudo-reviews at the shop's negative share added to an item's
            history before the window (shrinks short histories towards the shop).
        top_terms: Terms per list in top_positive_terms / top_negative_terms.
    """

    seed: int = 42
    positive_min_rating: float = 4.0
    negative_max_rating: float = 2.0
    validation_share: float = 0.2
    min_train_reviews: int = 20
    models: list[str] = field(default_factory=lambda: ["lr"])
    c_values: list[float] = field(default_factory=lambda: [1.0, 4.0])
    max_iter: int = 50
    fit_parallelism: int = 2
    balance_classes: bool = True
    refit: bool = True
    word_ngrams: int = 2
    char_ngrams: list[int] = field(default_factory=lambda: [2, 5])
    title_block: bool = True
    min_df: float = 2.0
    vocab_size: int = 262144
    hash_bits: int = 15
    neutral_band: bool = True
    aspects_file: str = "aspects.yaml"
    window_days: int = 90
    alert_alpha: float = 0.01
    alert_min_reviews: int = 5
    alert_prior_reviews: float = 20.0
    top_terms: int = 5

    def __post_init__(self) -> None:
        self.check_model("sentiment", self)
        if self.negative_max_rating >= self.positive_min_rating:
            raise ConfigError("sentiment.negative_max_rating must be below positive_min_rating")
        if self.min_train_reviews < 2 or self.window_days < 1 or self.top_terms < 0:
            raise ConfigError("sentiment.min_train_reviews >= 2, window_days >= 1, top_terms >= 0")
        if not 0.0 < self.alert_alpha < 1.0 or self.alert_min_reviews < 1:
            raise ConfigError("sentiment.alert_alpha in (0, 1) and alert_min_reviews >= 1")
        if self.alert_prior_reviews < 0:
            raise ConfigError("sentiment.alert_prior_reviews: must be >= 0")

    @staticmethod
    def check_model(section: str, cfg: Any) -> None:
        """Validation shared by :class:`SentimentConfig` and :class:`SupportConfig`."""
        if not 0.0 < cfg.validation_share < 0.5:
            raise ConfigError(f"{section}.validation_share: must be in (0, 0.5)")
        bad = [m for m in cfg.models if m not in ("lr", "svc")]
        if bad or not cfg.models:
            raise ConfigError(f"{section}.models: expected lr and/or svc, got {cfg.models!r}")
        if not cfg.c_values or any(c <= 0 for c in cfg.c_values):
            raise ConfigError(f"{section}.c_values: expected positive numbers")
        if cfg.max_iter < 1 or cfg.word_ngrams < 1 or cfg.min_df <= 0:
            raise ConfigError(f"{section}.max_iter/word_ngrams must be >= 1 and min_df > 0")
        if cfg.fit_parallelism < 1:
            raise ConfigError(f"{section}.fit_parallelism: must be >= 1")
        if cfg.char_ngrams and (
            len(cfg.char_ngrams) != 2 or not 1 <= cfg.char_ngrams[0] <= cfg.char_ngrams[1]
        ):
            raise ConfigError(
                f"{section}.char_ngrams: expected [] or [n_min, n_max] with 1 <= n_min <= n_max"
            )
        if not 10 <= cfg.hash_bits <= 24 or cfg.vocab_size < 10:
            raise ConfigError(f"{section}.hash_bits: must be in [10, 24]; vocab_size >= 10")


@dataclass
class SupportConfig:
    """The ``support`` job (issue 15): message intents, entities, queues and answers.

    Attributes:
        seed: Seed of the validation split.
        validation_share: Share of the labelled messages (the latest by sent_ts, ties and
            undated ones by a seeded hash) that choose and calibrate the model.
        min_train_messages: Fewer labelled messages before as_of (or fewer than 2 intents):
            the job skips.
        models: ``lr`` (multinomial logistic regression) and/or ``svc`` (one-vs-rest
            LinearSVC).
        c_values: Inverse L2 strengths tried (scikit-learn's C).
        max_iter: Optimiser iterations per fit.
        fit_parallelism: Candidates fitted at the same time (driver threads sharing the
            session).
        balance_classes: Class weights n / (k n_intent) in training.
        refit: Refit the chosen candidate on all labelled messages.
        word_ngrams: Largest word n-gram.
        char_ngrams: ``[n_min, n_max]`` of the character n-grams; ``[]`` for none.
        min_df: Word n-grams in fewer training messages are dropped.
        vocab_size: Largest word vocabulary.
        hash_bits: Character n-grams are hashed into 2^hash_bits buckets.
        routing_file: Intent -> queue / base priority rules (YAML, see conf/support_routing.yaml).
        answers_file: Intent -> answer templates (YAML, see conf/support_answers.yaml).
        human_threshold: Messages whose confidence is below go to the ``human`` queue.
        negative_tone: VADER compound at or below this is a negative tone (+1 priority).
        keyword_terms: Keywords per intent of the keyword baseline.
    """

    seed: int = 42
    validation_share: float = 0.2
    min_train_messages: int = 20
    models: list[str] = field(default_factory=lambda: ["lr"])
    c_values: list[float] = field(default_factory=lambda: [10.0, 30.0])
    max_iter: int = 50
    fit_parallelism: int = 2
    balance_classes: bool = True
    refit: bool = True
    word_ngrams: int = 2
    char_ngrams: list[int] = field(default_factory=lambda: [2, 5])
    min_df: float = 1.0
    vocab_size: int = 262144
    hash_bits: int = 14
    routing_file: str = "support_routing.yaml"
    answers_file: str = "support_answers.yaml"
    human_threshold: float = 0.5
    negative_tone: float = -0.3
    keyword_terms: int = 5

    def __post_init__(self) -> None:
        SentimentConfig.check_model("support", self)
        if self.min_train_messages < 2 or self.keyword_terms < 1:
            raise ConfigError("support.min_train_messages >= 2 and keyword_terms >= 1")
        if not 0.0 <= self.human_threshold <= 1.0 or not -1.0 <= self.negative_tone <= 1.0:
            raise ConfigError("support.human_threshold in [0, 1], negative_tone in [-1, 1]")


@dataclass
class ImagesConfig:
    """The ``images`` job (issue 21): categories from product photos and visual neighbours.

    Attributes:
        seed: Seed of the validation split and of the multilayer perceptron.
        size: Side of the square grey image HOG reads (pixels).
        hog_cells: Pixels per HOG cell, one HOG block per entry.
        detail: Add the detail blocks (``lakecart.images.pixels.detail_blocks``): about 3x
            the feature cost.
        levels: Deepest category level learned (levels are split on ' > ').
        validation_share: Share of the categorised photos (by a seeded hash of item_id)
            that chooses the classifier at each level.
        min_class_items: Categories with fewer photographed products are not learned at
            that level (their products still train the levels above).
        min_train_items: Fewer categorised photos at a level: that level is not learned.
        models: ``lr`` (multinomial logistic regression) and/or ``mlp`` (multilayer
            perceptron), each fitted per level and chosen by validation accuracy.
        reg_params: L2 strengths of the logistic regressions tried.
        mlp_hidden: Hidden layer sizes of the perceptron.
        max_iter: Optimiser iterations per fit.
        refit: Refit each level's chosen model on every categorised photo.
        use_title: Products with a title: a TF-IDF logistic regression of the title joins
            the photo's probabilities (a product of the two, learned on the same split).
        title_max_iter: Optimiser iterations of the title models (sparse: they converge fast).
        top_k: Visual neighbours per product.
        block_rows: Products per block of the neighbour search.
        probability_weight: Weight of the predicted-category probabilities beside the pixel
            features in the neighbour embedding (0: pixels only).
        disagree_confidence: The photo's deepest-level confidence at or above which ...
        disagree_given_max: ... and the given path's probability below which a given
            category is flagged as disagreeing with the photo.
        disagree_folds: The flag reads each product's photo through models fitted without
            its fold (cross-fitting; 0 or 1: the refitted model, which has seen it).
        batch_rows: Photos per Arrow batch of the feature UDF (bounds executor memory).
    """

    seed: int = 42
    size: int = 96
    hog_cells: list[int] = field(default_factory=lambda: [12, 24])
    detail: bool = True
    levels: int = 3
    validation_share: float = 0.2
    min_class_items: int = 10
    min_train_items: int = 20
    models: list[str] = field(default_factory=lambda: ["lr"])
    reg_params: list[float] = field(default_factory=lambda: [0.002, 0.01])
    mlp_hidden: list[int] = field(default_factory=lambda: [256])
    max_iter: int = 100
    refit: bool = True
    use_title: bool = True
    title_max_iter: int = 30
    top_k: int = 10
    block_rows: int = 2048
    probability_weight: float = 1.0
    disagree_confidence: float = 0.9
    disagree_given_max: float = 0.05
    disagree_folds: int = 2
    batch_rows: int = 256

    def __post_init__(self) -> None:
        bad = [m for m in self.models if m not in ("lr", "mlp")]
        if bad or not self.models:
            raise ConfigError(f"images.models: lr and/or mlp, got {self.models}")
        if (
            self.size < 16
            or not self.hog_cells
            or any(c < 2 or c > self.size for c in self.hog_cells)
        ):
            raise ConfigError("images.size >= 16 and every hog_cells entry in [2, size]")
        if self.levels < 1 or not 0.0 < self.validation_share < 1.0:
            raise ConfigError("images.levels >= 1 and validation_share in (0, 1)")
        if self.min_class_items < 2 or self.min_train_items < 2 or self.top_k < 1:
            raise ConfigError("images.min_class_items, min_train_items >= 2 and top_k >= 1")
        if not self.reg_params or any(r < 0 for r in self.reg_params) or self.max_iter < 1:
            raise ConfigError("images.reg_params non-empty and >= 0, max_iter >= 1")
        if self.block_rows < 16 or self.batch_rows < 1 or self.probability_weight < 0:
            raise ConfigError("images.block_rows >= 16, batch_rows >= 1, probability_weight >= 0")
        if not 0.0 <= self.disagree_given_max <= self.disagree_confidence <= 1.0:
            raise ConfigError("images: 0 <= disagree_given_max <= disagree_confidence <= 1")


@dataclass
class MarketingConfig:
    """The ``marketing`` job (issue 16): uplift targeting and promotion effects.

    Attributes:
        seed: Seed of the validation split, the trees and the bootstrap.
        margin: Share of incremental revenue that is profit (expected_profit = margin x
            expected_incremental_revenue - cost).
        contact_cost: Cost of one contact when the offer's campaigns carry no cost.
        budget: At most this many customers get ``send`` (the most profitable); null: no cap.
        response_value: Revenue of one response when the campaigns carry no revenue; null:
            expected revenue and profit are NULL then and ``send`` follows a positive uplift.
        response_days: Contacts sent in the last this many days before as_of are not
            learned from (their responses may still come in; responses are taken as
            recorded on the contact).
        validation_share: Share of each (offer, treated, responded) stratum held out to
            choose the model.
        top_percent: Cut-off of uplift@k and the share captured (percent targeted).
        meta_learners: Uplift meta-learners tried: two_model, s_learner, transformed_outcome.
        learners: Base learners tried with each: logistic (linear regression for the
            transformed outcome) and gbt.
        min_offer_contacts: An offer gets its own models when its training contacts hold
            at least this many treated and this many control rows; other offers share one
            pooled model with the offer as a feature.
        max_dedicated_offers: At most this many offers (the most contacted) get their own
            models.
        refit: Refit the chosen models on all randomised contacts (training + validation).
        fit_parallelism: Candidates (and chosen models' refits) fitted at the same time
            (driver threads sharing the session).
        lr_max_iter: Iterations of the logistic / linear learners.
        lr_reg: Their L2 penalty.
        gbt_max_iter: Boosting iterations of the tree learners.
        gbt_max_depth: Tree depth.
        gbt_step_size: Learning rate.
        gbt_min_instances: Fewest training rows in a tree leaf.
        max_categories: Categorical features keep their most frequent values up to this
            many (the rest become ``other``); attributes with more distinct values than
            ``max_distinct`` are ignored (identifiers, free text).
        max_distinct: See ``max_categories``.
        bins: Score bins of the uplift curves (ties stay in one bin).
        bootstrap: Bootstrap replicates of the metric intervals (Poisson weights).
        interval: Coverage of the bootstrap intervals.
        promo_window_weeks: An item's baseline in a promotion week is its mean units over
            the non-promotion weeks within this many weeks either side.
    """

    seed: int = 42
    margin: float = 0.3
    contact_cost: float = 0.05
    budget: int | None = None
    response_value: float | None = None
    response_days: int = 0
    validation_share: float = 0.25
    top_percent: int = 30
    meta_learners: list[str] = field(
        default_factory=lambda: ["two_model", "s_learner", "transformed_outcome"]
    )
    learners: list[str] = field(default_factory=lambda: ["logistic", "gbt"])
    min_offer_contacts: int = 1000
    max_dedicated_offers: int = 5
    refit: bool = True
    fit_parallelism: int = 2
    lr_max_iter: int = 50
    lr_reg: float = 0.01
    gbt_max_iter: int = 30
    gbt_max_depth: int = 3
    gbt_step_size: float = 0.1
    gbt_min_instances: int = 50
    max_categories: int = 30
    max_distinct: int = 1000
    bins: int = 100
    bootstrap: int = 100
    interval: float = 0.95
    promo_window_weeks: int = 4

    def __post_init__(self) -> None:
        if self.fit_parallelism < 1:
            raise ConfigError("marketing.fit_parallelism: must be >= 1")
        if self.margin < 0 or self.contact_cost < 0:
            raise ConfigError("marketing.margin and contact_cost: must be >= 0")
        if self.budget is not None and self.budget < 0:
            raise ConfigError("marketing.budget: must be >= 0 or null")
        if self.response_value is not None and self.response_value < 0:
            raise ConfigError("marketing.response_value: must be >= 0 or null")
        if self.response_days < 0 or self.promo_window_weeks < 1:
            raise ConfigError("marketing.response_days >= 0 and promo_window_weeks >= 1")
        if not 0.0 < self.validation_share < 1.0:
            raise ConfigError("marketing.validation_share: must be between 0 and 1")
        if not 0 < self.top_percent < 100:
            raise ConfigError("marketing.top_percent: must be between 1 and 99")
        metas = ("two_model", "s_learner", "transformed_outcome")
        bad = [m for m in self.meta_learners if m not in metas]
        if bad or not self.meta_learners:
            raise ConfigError(
                f"marketing.meta_learners: {bad or 'empty'} (known: two_model, s_learner, "
                "transformed_outcome)"
            )
        bad = [m for m in self.learners if m not in ("logistic", "gbt")]
        if bad or not self.learners:
            raise ConfigError(f"marketing.learners: {bad or 'empty'} (known: logistic, gbt)")
        if self.min_offer_contacts < 1 or self.max_dedicated_offers < 0:
            raise ConfigError("marketing.min_offer_contacts >= 1 and max_dedicated_offers >= 0")
        if self.lr_max_iter < 1 or self.lr_reg < 0:
            raise ConfigError("marketing.lr_max_iter >= 1 and lr_reg >= 0")
        if self.gbt_max_iter < 1 or self.gbt_max_depth < 1 or self.gbt_step_size <= 0:
            raise ConfigError("marketing.gbt_*: iterations, depth and step size must be > 0")
        if self.gbt_min_instances < 1 or self.max_categories < 1 or self.max_distinct < 1:
            raise ConfigError("marketing.gbt_min_instances, max_categories, max_distinct: >= 1")
        if self.bins < 2 or self.bootstrap < 0 or not 0.5 < self.interval < 1.0:
            raise ConfigError("marketing.bins >= 2, bootstrap >= 0, interval in (0.5, 1)")


@dataclass
class ReportConfig:
    """The ``report`` job (issue 17): analytics marts and the HTML report.

    Attributes:
        seed: Unused (the report has no randomness); kept for uniformity.
        marts: Build and publish the marts before rendering (false: render only).
        reports_dir: Folder of the HTML reports (any Hadoop URI or local path); null:
            ``<lakehouse.root>/_reports``.
        top_n: Countries, categories and items shown in the ranked charts.
        trend_weeks: Window (weeks) of the top and declining items: the last ``trend_weeks``
            weeks before as_of against the ``trend_weeks`` before them.
        forecast_items: Items whose forecast is drawn against their actual sales.
        cohort_months: Cohorts (and months since the first order) in the heatmap.
    """

    seed: int = 42
    marts: bool = True
    reports_dir: str | None = None
    top_n: int = 15
    trend_weeks: int = 13
    forecast_items: int = 4
    cohort_months: int = 24

    def __post_init__(self) -> None:
        for name in ("top_n", "trend_weeks", "forecast_items", "cohort_months"):
            if not 1 <= getattr(self, name) <= 200:
                raise ConfigError(f"report.{name}: must be between 1 and 200")


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
    images: ImagesConfig = field(default_factory=ImagesConfig)
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
