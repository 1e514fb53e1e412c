"""Analysis configuration: one pydantic model per analyzer, composed per model.

Where settings come from, later ones winning (deep-merged):

1. the documented defaults of each analyzer's config class;
2. ``defaults:`` in ``driftwarden.yaml`` (the file in ``DRIFTWARDEN_CONFIG`` or the
   current directory);
3. ``models: {NAME: ...}`` in that file;
4. the config stored with the model (``Client.register_model(config=...)`` /
   ``Client.configure``).

Example ``driftwarden.yaml``::

    defaults:
      drift: {stattest_threshold_split: 1000}
    models:
      credit:
        drift:
          features:
            income: {method: psi, threshold: 0.2}
        fairness: {min_group_size: 50}
        estimated: {thresholds: {estimated_f1: {lower: 0.7}}}
        summaries: {store: false}   # default true: keep each window's summary

A bad key or value raises :class:`~monitors.errors.ConfigError` naming the key.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticValidationError

from monitors.analyzers.anomalies import AnomalyConfig
from monitors.analyzers.drift import DriftConfig
from monitors.analyzers.estimated import EstimatedConfig
from monitors.analyzers.explain import ExplainConfig
from monitors.analyzers.fairness import FairnessConfig
from monitors.analyzers.performance import PerformanceConfig
from monitors.analyzers.quality import QualityConfig
from monitors.errors import ConfigError

CONFIG_ENV = "DRIFTWARDEN_CONFIG"
CONFIG_FILE = "driftwarden.yaml"


class SummariesConfig(BaseModel):
    """Keeping window summaries (``summaries:`` in a model's config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    store: bool = True
    """Store the summary of every window the default in-memory pass analyses (in the same
    transaction as its metrics), so that reports read it and still work after ``purge``
    (docs/scale.md, "Stored summaries"). The ``postgres`` and ``spark`` executors always
    store theirs."""


class MonitorConfig(BaseModel):
    """Settings of every analyzer for one model."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    drift: DriftConfig = Field(default_factory=DriftConfig)
    quality: QualityConfig = Field(default_factory=QualityConfig)
    performance: PerformanceConfig = Field(default_factory=PerformanceConfig)
    fairness: FairnessConfig = Field(default_factory=FairnessConfig)
    explain: ExplainConfig = Field(default_factory=ExplainConfig)
    estimated: EstimatedConfig = Field(default_factory=EstimatedConfig)
    """Performance estimation without labels (CBPE / DLE); see
    ``docs/estimated-performance.md`` for every key and its default."""
    anomalies: AnomalyConfig = Field(default_factory=AnomalyConfig)
    """Prediction anomalies (volume, stuck scores, class collapse, score jumps, outliers,
    latency); see ``docs/anomalies.md`` for every key and its default."""
    summaries: SummariesConfig = Field(default_factory=SummariesConfig)
    """Window summaries kept for reports: ``{store: true}`` by default."""


def _describe(exc: PydanticValidationError, where: str) -> str:
    parts = []
    for err in exc.errors()[:5]:
        key = ".".join(str(p) for p in err["loc"])
        got = err.get("input")
        got_text = "" if isinstance(got, dict) else f"; got {got!r}"
        parts.append(f"{where}key '{key}': {err['msg']}{got_text}")
    return "; ".join(parts)


def load_config(mapping: Mapping[str, Any] | None, *, where: str = "") -> MonitorConfig:
    """Validate a config mapping; :class:`ConfigError` names the bad key."""
    try:
        return MonitorConfig.model_validate(dict(mapping or {}))
    except PydanticValidationError as exc:
        raise ConfigError(f"invalid config: {_describe(exc, where)}") from exc


def deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """``override`` merged into ``base`` recursively (mappings merge, other values replace)."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def config_file(path: str | os.PathLike[str] | None = None) -> Path | None:
    """The ``driftwarden.yaml`` in use, if any."""
    candidate = Path(path) if path else Path(os.environ.get(CONFIG_ENV, CONFIG_FILE))
    return candidate if candidate.is_file() else None


def read_config_file(path: str | os.PathLike[str] | None = None) -> dict[str, Any]:
    """The parsed config file (``{}`` if none); structure errors name the key."""
    found = config_file(path)
    if found is None:
        if path:
            raise ConfigError(f"config file {str(path)!r} does not exist")
        if os.environ.get(CONFIG_ENV):
            raise ConfigError(
                f"config file {os.environ[CONFIG_ENV]!r} (from {CONFIG_ENV}) does not exist"
            )
        return {}
    try:
        data = yaml.safe_load(found.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{found}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict) or set(data) - {"defaults", "models"}:
        raise ConfigError(f"{found}: expected top-level keys 'defaults' and/or 'models'")
    load_config(data.get("defaults"), where=f"{found}: defaults: ")
    for name, section in (data.get("models") or {}).items():
        load_config(section, where=f"{found}: models.{name}: ")
    return data


def model_config(
    name: str, stored: Mapping[str, Any] | None = None, *, file: Mapping[str, Any] | None = None
) -> MonitorConfig:
    """The effective config of model ``name`` (defaults < file < stored)."""
    file = read_config_file() if file is None else file
    merged = deep_merge(file.get("defaults") or {}, (file.get("models") or {}).get(name) or {})
    merged = deep_merge(merged, stored or {})
    return load_config(merged, where=f"model {name!r}: ")
