"""``driftwarden metrics``: export stored results as JSON or CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, database, errors, fail, parse_time


def metrics(
    name: Annotated[str, typer.Argument(help="Model name.")],
    from_: Annotated[
        str | None,
        typer.Option("--from", help="Windows starting at or after (ISO 8601: 2026-02-03)."),
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Windows ending at or before (ISO 8601).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="json or csv.")] = "json",
    out: Annotated[Path | None, typer.Option(help="Write here instead of stdout.")] = None,
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
    if out is None:
        sys.stdout.write(text)
    else:
        with errors():
            out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
