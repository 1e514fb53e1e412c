"""The service's own Prometheus metrics: requests, rows, ingest latency.

Each application has its own :class:`~prometheus_client.CollectorRegistry` (no global
state), exposed by ``GET /metrics`` beside the stored-metric gauges of
:mod:`.exposition`. Labels are bounded: ``route`` is the route template
(``/v1/models/{name}/predictions``, or ``unmatched``), never the raw path; ``model``
only takes names of registered models (a request for an unknown model is counted
before it reaches a model label).

=============================================  =========  ================================
metric                                         type       labels
=============================================  =========  ================================
``driftwarden_http_requests_total``            counter    method, route, status
``driftwarden_http_request_duration_seconds``  histogram  method, route
``driftwarden_ingest_rows_total``              counter    model, kind, outcome
``driftwarden_ingest_batches_total``           counter    model, kind
``driftwarden_ingest_duration_seconds``        histogram  kind
``driftwarden_metric_series_dropped_total``    counter    reason (``cap``, ``small_group``)
=============================================  =========  ================================
"""

from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["Telemetry", "TelemetryMiddleware"]

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Telemetry:
    """The service's counters and histograms in their own registry."""

    def __init__(self) -> None:
        disable_created_metrics()  # no ``*_created`` series (process-wide; they only add noise)
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "driftwarden_http_requests",
            "HTTP requests answered, by route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "driftwarden_http_request_duration_seconds",
            "Time to answer an HTTP request.",
            ["method", "route"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.rows = Counter(
            "driftwarden_ingest_rows",
            "Rows received over HTTP by outcome (stored, already_present, quarantined, "
            "already_quarantined, unknown_id).",
            ["model", "kind", "outcome"],
            registry=self.registry,
        )
        self.batches = Counter(
            "driftwarden_ingest_batches",
            "Batches ingested over HTTP (one per POST that was stored).",
            ["model", "kind"],
            registry=self.registry,
        )
        self.ingest_latency = Histogram(
            "driftwarden_ingest_duration_seconds",
            "Time to decode, validate and store one POSTed batch.",
            ["kind"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.dropped = Counter(
            "driftwarden_metric_series_dropped",
            "Stored-metric series left out of /metrics: over the series cap, or per-group "
            "series of groups below their minimum size.",
            ["reason"],
            registry=self.registry,
        )

    def observe_batch(
        self, model: str, kind: str, seconds: float, outcomes: dict[str, int]
    ) -> None:
        """Count one stored batch: its rows by outcome and its latency."""
        self.batches.labels(model=model, kind=kind).inc()
        self.ingest_latency.labels(kind=kind).observe(seconds)
        for outcome, n in outcomes.items():
            if n:
                self.rows.labels(model=model, kind=kind, outcome=outcome).inc(n)


class TelemetryMiddleware:
    """Count every HTTP request by method, route template and status, and time it."""

    def __init__(self, app: ASGIApp, *, telemetry: Telemetry) -> None:
        self.app = app
        self.telemetry = telemetry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500
        began = time.perf_counter()

        async def tracked(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, tracked)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = str(scope.get("method", "GET"))
            method = method if method in _METHODS else "other"
            self.telemetry.requests.labels(method=method, route=route, status=str(status)).inc()
            self.telemetry.latency.labels(method=method, route=route).observe(
                time.perf_counter() - began
            )
