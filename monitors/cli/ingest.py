"""``driftwarden ingest`` and ``driftwarden labels``: import predictions and labels from files."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from monitors.cli.common import DatabaseUrl, errors, fail


def _progress(path: Path) -> Any:
    """A rich progress bar (shown only on a terminal) and the file's row count, if known."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from monitors.collectors.files import count_rows

    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,} rows"),
        TimeElapsedColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    )
    return progress, count_rows(path)


def ingest(
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of predictions.")],
    strict: Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")] = False,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
    on_new_columns: Annotated[str, typer.Option(help="add, quarantine or error.")] = "add",
    database_url: DatabaseUrl = None,
) -> None:
    """Import predictions; re-importing a file stores nothing twice."""
    from monitors.collectors.files import ingest_file

    if on_new_columns not in ("add", "quarantine", "error"):
        raise fail(f"--on-new-columns: expected add, quarantine or error; got {on_new_columns!r}")
    progress, total = _progress(file)
    with errors(), progress:
        task = progress.add_task(f"ingest {file.name}", total=total)
        result = ingest_file(
            database_url,
            name,
            file,
            strict=strict,
            chunk_rows=chunk_rows,
            on_new_columns=on_new_columns,  # type: ignore[arg-type]
            on_chunk=lambda n: progress.advance(task, n),
        )
    for problem in result.problems[:10]:
        typer.echo(f"quarantined: {problem}", err=True)
    typer.echo(result.summary())


def labels(
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of labels.")],
    id: Annotated[str | None, typer.Option("--id", help="Id column (default: schema's).")] = None,
    label: Annotated[str | None, typer.Option(help="Label column (default: schema's).")] = None,
    strict: Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Backfill labels by prediction id; unknown ids are listed."""
    from monitors.collectors.files import ingest_label_file

    with errors():
        result = ingest_label_file(
            database_url, name, file, id_column=id, label_column=label, strict=strict
        )
    if result.unknown_ids:
        shown = ", ".join(result.unknown_ids[:20])
        more = len(result.unknown_ids) - 20
        typer.echo(
            f"unknown prediction_id: {shown}" + (f" (and {more} more)" if more > 0 else ""),
            err=True,
        )
    typer.echo(result.summary())
