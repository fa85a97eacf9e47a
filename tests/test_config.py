from __future__ import annotations

import pytest

from lakecart.config import ConfigError, load_config


def test_base_and_env_overlay():
    cfg = load_config("local")
    assert cfg.spark.master == "local[*]"
    assert cfg.lakehouse.root == "./lakehouse"
    cluster = load_config("cluster")
    assert cluster.spark.master is None
    assert cluster.spark.shuffle_partitions == 64


def test_set_overrides_are_typed():
    cfg = load_config(
        "local",
        overrides=["ingest.max_reject_share=0.2", "generate.scale=4", "run.as_of=2011-11-01"],
    )
    assert cfg.ingest.max_reject_share == 0.2
    assert cfg.generate.scale == 4
    assert str(cfg.as_of_date()) == "2011-11-01"


def test_set_reaches_dotted_keys_of_mappings():
    # spark.conf keys contain dots themselves: the rest of the key is one mapping key
    cfg = load_config(
        "local",
        overrides=[
            "spark.conf.spark.ui.showConsoleProgress=false",
            "features.event_weights.view=2",
            "forecast.service_levels.A=0.99",
        ],
    )
    assert cfg.spark.conf["spark.ui.showConsoleProgress"] == "false"
    assert "spark" not in cfg.spark.conf
    assert cfg.features.event_weights["view"] == 2.0
    assert cfg.forecast.service_levels["A"] == 0.99


def test_unknown_key_names_the_key():
    with pytest.raises(ConfigError, match="ingest.max_rejects"):
        load_config("local", overrides=["ingest.max_rejects=0.2"])


def test_wrong_type_names_the_key():
    with pytest.raises(ConfigError, match="generate.scale: expected an integer"):
        load_config("local", overrides=["generate.scale=big"])
    with pytest.raises(ConfigError, match="spark.delta_packages"):
        load_config("local", overrides=["spark.delta_packages=maybe"])


def test_malformed_as_of():
    with pytest.raises(ConfigError, match="2011-13-45"):
        load_config("local", overrides=["run.as_of=2011-13-45"])


def test_conf_file_overlay(tmp_path):
    f = tmp_path / "x.yaml"
    f.write_text("lakehouse:\n  root: /data/lake\n")
    assert load_config("local", [str(f)]).lakehouse.root == "/data/lake"
    f.write_text("lakehouse:\n  rooot: /data/lake\n")
    with pytest.raises(ConfigError, match="lakehouse.rooot"):
        load_config("local", [str(f)])


def test_unknown_env():
    with pytest.raises(ConfigError, match="nosuch"):
        load_config("nosuch")


def test_notebook_widgets_become_overrides():
    from lakecart.notebook import widget_overrides

    widgets = {"overrides": " a.b=1, ,c.d=x ", "lakehouse": " /mnt/lake ", "as_of": "2011-11-14"}
    got = widget_overrides(widgets.__getitem__, ["forecast.grain=day"])
    assert got == [
        "a.b=1",
        "c.d=x",
        "lakehouse.root=/mnt/lake",
        "run.as_of=2011-11-14",
        "forecast.grain=day",
    ]
    empty = {"overrides": "", "lakehouse": "  ", "as_of": ""}
    assert widget_overrides(empty.__getitem__) == []


@pytest.mark.parametrize(
    "section", ["recommend", "forecast", "customers", "marketing", "sentiment", "support"]
)
def test_fit_parallelism_is_at_least_one(section):
    assert getattr(load_config(), section).fit_parallelism == 2
    assert (
        getattr(load_config(overrides=[f"{section}.fit_parallelism=1"]), section).fit_parallelism
        == 1
    )
    with pytest.raises(ConfigError, match=f"{section}.fit_parallelism"):
        load_config(overrides=[f"{section}.fit_parallelism=0"])
