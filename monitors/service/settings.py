"""Settings of one ``driftwarden serve`` process (limits, exposition, retry hints)."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024


@dataclass(frozen=True)
class ServiceSettings:
    """What the service needs besides the host and port.

    Attributes
    ----------
    database_url
        SQLAlchemy URL of the store (SQLite file or PostgreSQL).
    max_body_bytes
        Largest request body accepted (after ``Content-Encoding: gzip`` is undone too);
        larger bodies get 413. Default 32 MiB.
    max_rows
        Most rows one POST may carry; more get 413. Default 100,000.
    request_timeout_s
        A request not answered after this long gets 503 with ``Retry-After`` (a batch
        already being written still commits or rolls back whole; sending it again is
        safe, ingest is idempotent). Default 60 s.
    problems_shown
        How many row problems (quarantine reasons) a response lists. Default 20.
    retry_after_s
        ``Retry-After`` of 503 answers (database away, timeout). Default 5 s.
    public_metrics
        ``/metrics`` without a key (default: a ``read`` or ``admin`` key is needed,
        since the gauges carry model, feature and group names).
    metrics_max_series
        Cap on stored-metric series in one scrape (default 10,000); the rest are
        dropped and counted in ``driftwarden_metric_series_dropped_total``.
    metrics_cache_s
        The stored-metric gauges are read from the database at most this often.
    metrics_lookback_days
        Only windows that started in the last this many days feed the gauges
        (``None``: all windows).
    """

    database_url: str
    max_body_bytes: int = 32 * MIB
    max_rows: int = 100_000
    request_timeout_s: float = 60.0
    problems_shown: int = 20
    retry_after_s: int = 5
    public_metrics: bool = False
    metrics_max_series: int = 10_000
    metrics_cache_s: float = 15.0
    metrics_lookback_days: int | None = 90
