"""``driftwarden serve``: the HTTP collector (FastAPI on uvicorn) until SIGTERM or Ctrl-C.

FastAPI and uvicorn are imported inside the command, so ``driftwarden --help`` stays fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, choice, database

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


def serve(
    host: Annotated[str, typer.Option(help="Bind address.", envvar="DRIFTWARDEN_HOST")] = (
        "127.0.0.1"
    ),
    port: Annotated[
        int, typer.Option(min=0, max=65535, help="Port.", envvar="DRIFTWARDEN_PORT")
    ] = 8000,
    max_body_mib: Annotated[
        float, typer.Option(min=0.001, help="Largest request body in MiB (413 above).")
    ] = 32.0,
    max_rows: Annotated[int, typer.Option(min=1, help="Most rows per request (413 above).")] = (
        100_000
    ),
    timeout: Annotated[
        float, typer.Option(min=0.1, help="Seconds before a request gets 503 + Retry-After.")
    ] = 60.0,
    public_metrics: Annotated[
        bool, typer.Option(help="Serve /metrics without a key (default: a read key).")
    ] = False,
    metrics_max_series: Annotated[
        int, typer.Option(min=0, help="Cap on stored-metric series in /metrics.")
    ] = 10_000,
    metrics_lookback_days: Annotated[
        int, typer.Option(min=0, help="Only windows of the last N days feed /metrics (0: all).")
    ] = 90,
    log_level: Annotated[str, typer.Option(help=f"One of {', '.join(LOG_LEVELS)}.")] = "info",
    access_log: Annotated[bool, typer.Option(help="Log one line per request.")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Serve the HTTP collector: POST predictions and labels, GET models and metrics, /metrics."""
    choice(log_level, "--log-level", LOG_LEVELS)
    url = database(database_url)
    import uvicorn

    from monitors.service.app import create_app
    from monitors.service.logs import log_config
    from monitors.service.settings import MIB, ServiceSettings
    from storage.engine import redact

    settings = ServiceSettings(
        database_url=url,
        max_body_bytes=int(max_body_mib * MIB),
        max_rows=max_rows,
        request_timeout_s=timeout,
        public_metrics=public_metrics,
        metrics_max_series=metrics_max_series,
        metrics_lookback_days=metrics_lookback_days or None,
    )
    typer.echo(
        f"collector on http://{host}:{port} (database {redact(url)}); OpenAPI at /openapi.json; "
        "Ctrl-C or SIGTERM stops it",
        err=True,
    )
    config = uvicorn.Config(
        create_app(settings),
        host=host,
        port=port,
        log_config=log_config(log_level),
        log_level=log_level,
        access_log=access_log,
        server_header=False,
        timeout_graceful_shutdown=30,
    )
    uvicorn.Server(config).run()
