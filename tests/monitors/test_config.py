"""Analysis config: bad keys name their path; per-model and per-feature overrides take effect."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pipeline.pipeline_support import CHEAP, MODEL, START, production, register
from typer.testing import CliRunner

from monitors.cli import app
from monitors.collectors import Client
from monitors.config import CONFIG_ENV, deep_merge, load_config, model_config, read_config_file
from monitors.errors import ConfigError
from monitors.export import metric_records
from monitors.pipeline.run import run_pass

DAY = timedelta(days=1)


def _yaml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "driftwarden.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_key_in_model_section_of_the_file(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "models:\n  loans:\n    drift:\n      thresholdz: {ks: 0.01}\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: models.loans: key 'drift.thresholdz'")
    ):
        read_config_file(path)


def test_bad_nested_key_in_defaults_of_the_file(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "defaults:\n  drift:\n    features:\n      x1: {treshold: 0.2}\n")
    with pytest.raises(
        ConfigError, match=re.escape(f"{path}: defaults: key 'drift.features.x1.treshold'")
    ):
        read_config_file(path)


def test_bad_value_in_the_file_names_key_and_value(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "models:\n  loans:\n    fairness: {min_group_size: -3}\n")
    with pytest.raises(
        ConfigError, match=re.escape("models.loans: key 'fairness.min_group_size'")
    ) as info:
        read_config_file(path)
    assert "got -3" in str(info.value)


def test_bad_top_level_key_in_the_file(tmp_path: Path) -> None:
    path = _yaml(tmp_path, "model:\n  loans: {}\n")
    with pytest.raises(
        ConfigError,
        match=re.escape(f"{path}: expected top-level keys 'defaults' and/or 'models'"),
    ):
        read_config_file(path)


def test_file_from_environment_is_used_and_checked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _yaml(tmp_path, "defaults:\n  quality: {bogus: 1}\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    with pytest.raises(ConfigError, match=re.escape("defaults: key 'quality.bogus'")):
        model_config(MODEL)


def test_missing_file_named_by_the_environment_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "nope.yaml"
    monkeypatch.setenv(CONFIG_ENV, str(missing))
    with pytest.raises(
        ConfigError,
        match=re.escape(f"config file {str(missing)!r} (from {CONFIG_ENV}) does not exist"),
    ):
        model_config(MODEL)
    with pytest.raises(ConfigError, match=re.escape(f"config file {str(missing)!r} does not")):
        read_config_file(missing)


def test_bad_key_in_register_model_config(sqlite_url: str) -> None:
    client = Client(sqlite_url)
    with pytest.raises(
        ConfigError,
        match=re.escape("invalid config: key 'drift.features.x1.treshold': Extra inputs"),
    ):
        register(sqlite_url, config={"drift": {"features": {"x1": {"treshold": 0.2}}}})
    assert client.models() == []  # nothing registered


def test_bad_value_in_configure_changes_nothing(sqlite_url: str) -> None:
    client = register(sqlite_url)
    before = client.model(MODEL).config
    with pytest.raises(ConfigError, match=re.escape("key 'drift.thresholds.ks'")):
        client.configure(MODEL, config={"drift": {"thresholds": {"ks": 1.5}}})
    assert client.model(MODEL).config == before


def test_precedence_defaults_file_stored() -> None:
    file: dict[str, Any] = {
        "defaults": {"drift": {"n_bins": 20, "min_rows": 40}},
        "models": {MODEL: {"drift": {"n_bins": 15}}, "other": {"drift": {"n_bins": 5}}},
    }
    cfg = model_config(MODEL, {"drift": {"min_rows": 50}}, file=file)
    assert (cfg.drift.n_bins, cfg.drift.min_rows) == (15, 50)
    assert model_config("third", None, file=file).drift.n_bins == 20
    assert model_config("third", None, file={}).drift == load_config({}).drift
    assert deep_merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}


def _thresholds(url: str) -> dict[tuple[str, str], float | None]:
    return {
        (r["feature"], r["metric"]): r["threshold"]
        for r in metric_records(url, MODEL)
        if r["analyzer"] == "drift" and r["feature"] in ("x1", "x2")
    }


def test_per_feature_override_changes_only_that_feature(sqlite_url: str) -> None:
    config = deep_merge(CHEAP, {"drift": {"features": {"x1": {"thresholds": {"ks": 0.01}}}}})
    client = register(sqlite_url, config=config)
    client.log(MODEL, production(1, labels=True))
    run_pass(url=sqlite_url, now=START + DAY, alerts=False)
    found = _thresholds(sqlite_url)
    defaults = load_config({}).drift.thresholds
    assert found[("x1", "ks")] == 0.01
    assert found[("x2", "ks")] == defaults.ks
    # the deciding metric of x1 (KS: 300 reference rows <= size_split) uses the override
    assert found[("x1", "drift_detected")] == 0.01
    assert found[("x2", "drift_detected")] == defaults.ks
    for metric in ("psi", "jensenshannon", "wasserstein_normed"):
        assert found[("x1", metric)] == found[("x2", metric)] == getattr(defaults, metric)


def test_file_override_for_one_model_and_feature(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = _yaml(
        tmp_path,
        "models:\n"
        "  loans:\n"
        "    drift:\n"
        "      features:\n"
        "        x2: {method: psi, threshold: 0.3}\n",
    )
    monkeypatch.setenv(CONFIG_ENV, str(path))
    client = register(sqlite_url)
    client.log(MODEL, production(1, labels=True))
    run_pass(url=sqlite_url, now=START + DAY, alerts=False)
    found = _thresholds(sqlite_url)
    assert found[("x2", "drift_detected")] == 0.3
    assert found[("x1", "drift_detected")] == load_config({}).drift.thresholds.ks
    detected = {
        r["feature"]: r["details"]["method"]
        for r in metric_records(sqlite_url, MODEL)
        if r["metric"] == "drift_detected" and r["feature"] in ("x1", "x2")
    }
    assert detected == {"x1": "ks", "x2": "psi"}


def test_cli_run_with_a_bad_file_is_a_one_line_error(
    sqlite_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    register(sqlite_url)
    path = _yaml(tmp_path, "models:\n  loans:\n    drift: {n_binz: 3}\n")
    monkeypatch.setenv(CONFIG_ENV, str(path))
    result = CliRunner().invoke(app, ["run", "--database-url", sqlite_url])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("error: ")
    assert "models.loans: key 'drift.n_binz'" in result.stderr
