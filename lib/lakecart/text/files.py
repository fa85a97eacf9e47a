"""The data files the text jobs read (aspect lexicon, routing rules, answer templates).

A configured path is used as given when it is absolute or exists relative to the working
directory; otherwise it is looked up in the repository's ``conf/`` folder (so the default
``aspects.yaml`` works from any directory). Files are small and read on the driver.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from lakecart.config import ConfigError, default_conf_dir


def resolve(path: str) -> Path:
    """The file a configured path names (see the module docstring).

    Raises:
        ConfigError: when neither location has the file.
    """
    p = Path(path)
    if p.is_file():
        return p
    if not p.is_absolute():
        q = default_conf_dir() / p
        if q.is_file():
            return q
    raise ConfigError(f"{path}: no such file (also looked in {default_conf_dir()})")


def read_yaml(path: str) -> dict[str, Any]:
    """The mapping a YAML data file holds.

    Raises:
        ConfigError: on a missing file, invalid YAML or a top level that is not a mapping.
    """
    f = resolve(path)
    try:
        data = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as e:
        raise ConfigError(f"{f}: not valid YAML ({e.__class__.__name__})") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{f}: the top level must be a mapping")
    return data
