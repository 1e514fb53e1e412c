"""``driftwarden metrics``: export stored results as JSON or CSV."""

from __future__ import annotations

from typing import Annotated

import typer

from monitors.cli.common import (
    DatabaseUrl,
    OutPath,
    WindowsFrom,
    WindowsTo,
    database,
    errors,
    fail,
    parse_time,
    write_output,
)


def metrics(
    name: Annotated[str, typer.Argument(help="Model name.")],
    from_: WindowsFrom = None,
    to: WindowsTo = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    out: OutPath = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Export stored results: one record per model, window, analyzer, metric, feature, group."""
    if fmt not in ("json", "csv"):
        raise fail(f"--format: expected json or csv; got {fmt!r}")
    start, end = parse_time(from_, "--from"), parse_time(to, "--to")
    url = database(database_url)
    from monitors.export import export_metrics

    with errors():
        text = export_metrics(url, name, start=start, end=end, fmt=fmt)
    write_output(text, out)
