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
        similar_k: Similar items per item in ``gold.similar_items``.
        popular_n: Items per segment in ``gold.popular_items``.
        eval_k: Cut-off of the ranking metrics in ``ops.model_metrics``.
        exclude_purchased: Drop items the user already interacted with (false for
            repeat-purchase shops).
        inactive_item_days: Items not sold (or interacted with) in this many days before
            as_of are not recommended; null disables.
        seed: Seed of every random choice (splits, ALS initialisation).
    """

    top_n: int = 20
    similar_k: int = 20
    popular_n: int = 50
    eval_k: int = 10
    exclude_purchased: bool = True
    inactive_item_days: int | None = 180
    seed: int = 42


@dataclass
class ForecastConfig:
    """The ``forecast`` job (issue 5). Owned by the forecast module; see its docs.

    Attributes:
        grain: ``week`` (ISO weeks from Monday) or ``day``.
        horizon: Periods ahead (1..H).
        seed: Seed of every random choice.
    """

    grain: str = "week"
    horizon: int = 4
    seed: int = 42

    def __post_init__(self) -> None:
        if self.grain not in ("day", "week"):
            raise ConfigError(f"forecast.grain: expected day or week, got {self.grain!r}")
        if self.horizon < 1:
            raise ConfigError("forecast.horizon: must be >= 1")


@dataclass
class CustomersConfig:
    """The ``customers`` job (issue 6). Owned by the customers module; see its docs.

    Attributes:
        churn_days: Churn = no purchase within this many days after as_of.
        clv_days: CLV horizon in days (net spend in the next clv_days).
        propensity_days: Purchase-propensity horizon in days.
        seed: Seed of every random choice.
    """

    churn_days: int = 90
    clv_days: int = 90
    propensity_days: int = 30
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
        return {str(k): str(v) for k, v in value.items()}
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
    return key.strip().split("."), value


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
