"""Stored metrics and alert states as Prometheus gauges (``GET /metrics``).

==================================================  =============================================
gauge                                               labels
==================================================  =============================================
``driftwarden_metric_value``                        model, analyzer, metric, feature, group
``driftwarden_model_last_window_end_seconds``       model (end of the newest analysed window)
``driftwarden_alert_state``                         rule, model, feature, group, severity, state
``driftwarden_alert_firing``                        rule, model, feature, group, severity (0/1)
``driftwarden_stored_metrics_up``                   (1: the database was read; 0: it was not)
==================================================  =============================================

``driftwarden_metric_value`` is the latest stored value of each series
(:func:`storage.latest.latest_values`; ``feature``/``group`` are ``""`` where they do
not apply). Cardinality is bounded three ways, each documented in
docs/collector-service.md:

1. per-group series only for groups that reached their minimum size: a group value
   whose status is ``insufficient_data`` (fairness groups below ``min_group_size``) is
   left out and counted in ``driftwarden_metric_series_dropped_total{reason="small_group"}``;
2. only windows of the last ``metrics_lookback_days`` (default 90) feed the gauges;
3. at most ``metrics_max_series`` (default 10,000) value series per scrape, whole-model
   and per-feature series first, then per-group ones, each in name order; the rest are
   counted in ``driftwarden_metric_series_dropped_total{reason="cap"}``.

Series without a value (``null``) are left out. The database is read at most every
``metrics_cache_s`` seconds. ``driftwarden_alert_state`` has one series per alert
series, labelled with its current state (``ok``, ``pending``, ``firing``, ``resolved``).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pandas as pd
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from monitors.service.problems import database_unavailable
from monitors.service.settings import ServiceSettings
from monitors.service.telemetry import Telemetry
from storage.alerts import series as alert_series
from storage.engine import get_engine, read_engine, session_scope
from storage.latest import last_window_ends, latest_values

__all__ = ["StoredMetrics", "registry_of"]

_VALUE_LABELS = ["model", "analyzer", "metric", "feature", "group"]
_ALERT_LABELS = ["rule", "model", "feature", "group", "severity"]


@dataclass
class _Snapshot:
    """What one read of the database gave."""

    at: float
    up: bool
    values: pd.DataFrame = field(default_factory=pd.DataFrame)
    ends: dict[str, datetime] = field(default_factory=dict)
    alerts: list[tuple[str, str, str, str, str, str]] = field(default_factory=list)


class _Static(Collector):
    """A collector that yields given families (to render them with ``generate_latest``)."""

    def __init__(self, families: list[Metric]) -> None:
        self.families = families

    def collect(self) -> Iterable[Metric]:
        return self.families


def registry_of(families: list[Metric]) -> CollectorRegistry:
    """A throwaway registry holding ``families``."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Static(families))
    return registry


class StoredMetrics:
    """Reads the latest stored values and alert states; renders them as gauge families."""

    def __init__(self, settings: ServiceSettings, telemetry: Telemetry) -> None:
        self.settings = settings
        self.telemetry = telemetry
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def _read(self) -> _Snapshot:
        """One read of the database (values, window ends, alert series)."""
        days = self.settings.metrics_lookback_days
        since = None if days is None else datetime.now(UTC) - timedelta(days=days)
        engine = read_engine(get_engine(self.settings.database_url))
        with session_scope(engine) as session:
            values = latest_values(session, since=since)
            ends = last_window_ends(session)
            alerts = [
                (rule.name, rule.model, s.feature, s.group, rule.severity, s.state)
                for s, rule in alert_series(session)
            ]
        return _Snapshot(at=time.monotonic(), up=True, values=values, ends=ends, alerts=alerts)

    def snapshot(self) -> _Snapshot:
        """The cached read, refreshed when older than ``metrics_cache_s``."""
        with self._lock:
            current = self._snapshot
            fresh = current is not None and (
                time.monotonic() - current.at < self.settings.metrics_cache_s
            )
            if current is not None and fresh:
                return current
            try:
                current = self._read()
            except Exception as exc:
                if not database_unavailable(exc):
                    raise
                current = _Snapshot(at=time.monotonic(), up=False)
            self._snapshot = current
            return current

    def _value_family(self, values: pd.DataFrame) -> GaugeMetricFamily:
        """``driftwarden_metric_value`` within the cardinality bounds (drops counted)."""
        family = GaugeMetricFamily(
            "driftwarden_metric_value",
            "Latest stored value of each metric series (model, analyzer, metric, feature, group).",
            labels=_VALUE_LABELS,
        )
        if values.empty:
            return family
        present = values[values["value"].notna()]
        grouped = present["group"] != ""
        small = grouped & (present["status"] == "insufficient_data")
        if n_small := int(small.sum()):
            self.telemetry.dropped.labels(reason="small_group").inc(n_small)
        kept = present[~small]
        kept = pd.concat([kept[kept["group"] == ""], kept[kept["group"] != ""]])
        cap = self.settings.metrics_max_series
        if len(kept) > cap:
            self.telemetry.dropped.labels(reason="cap").inc(len(kept) - cap)
            kept = kept.iloc[:cap]
        columns = [kept[c].astype(str).tolist() for c in _VALUE_LABELS]
        for labels, value in zip(zip(*columns, strict=True), kept["value"].tolist(), strict=True):
            family.add_metric(list(labels), float(value))
        return family

    def families(self, models: set[str] | None = None) -> list[Metric]:
        """Every gauge family, for every model or only ``models``."""
        snap = self.snapshot()
        visible = (lambda m: True) if models is None else (lambda m: m in models)
        up = GaugeMetricFamily(
            "driftwarden_stored_metrics_up",
            "1 if the last read of stored metrics and alert states succeeded.",
            value=1.0 if snap.up else 0.0,
        )
        values = snap.values
        if models is not None and not values.empty:
            values = values[values["model"].isin(sorted(models))]
        ends = GaugeMetricFamily(
            "driftwarden_model_last_window_end_seconds",
            "End of the newest analysed window of each model (Unix time).",
            labels=["model"],
        )
        for model, end in sorted(snap.ends.items()):
            if visible(model):
                ends.add_metric([model], end.timestamp())
        state = GaugeMetricFamily(
            "driftwarden_alert_state",
            "Current state of each alert series (1 on the series labelled with the state).",
            labels=[*_ALERT_LABELS, "state"],
        )
        firing = GaugeMetricFamily(
            "driftwarden_alert_firing",
            "1 while an alert series is firing, else 0.",
            labels=_ALERT_LABELS,
        )
        for rule, model, feature, group, severity, current in snap.alerts:
            if visible(model):
                state.add_metric([rule, model, feature, group, severity, current], 1.0)
                firing.add_metric(
                    [rule, model, feature, group, severity], float(current == "firing")
                )
        return [up, self._value_family(values), ends, state, firing]
