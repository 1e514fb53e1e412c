"""``driftwarden ingest`` and ``driftwarden labels``: import predictions and labels from files."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, choice, database, errors, fail
from monitors.cli.progress import count_data_rows, row_progress

SEP_HELP = "CSV separator: one character, or tab, semicolon, pipe (default: comma)."


def ingest(
    name: Annotated[str, typer.Argument(help="Model name.")],
    file: Annotated[Path, typer.Argument(help="CSV or Parquet file of predictions.")],
    strict: Annotated[bool, typer.Option(help="Reject the whole file if any row is bad.")] = False,
    chunk_rows: Annotated[int, typer.Option(help="Rows per chunk.")] = 100_000,
    on_new_columns: Annotated[
        str | None,
        typer.Option(help="Columns not in the schema: ignore (default), add, quarantine or error."),
    ] = None,
    add_columns: Annotated[
        bool, typer.Option("--add-columns", help="Add columns not in the schema as features.")
    ] = False,
    sep: Annotated[str | None, typer.Option(help=SEP_HELP)] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Import predictions; re-importing a file stores nothing twice (docs/ingest.md)."""
    if on_new_columns is not None:
        choice(on_new_columns, "--on-new-columns", ("ignore", "add", "quarantine", "error"))
    if add_columns and on_new_columns not in (None, "add"):
        raise fail(f"--add-columns contradicts --on-new-columns {on_new_columns}; give one")
    url = database(database_url)
    from monitors.collectors.files import ingest_file

    total = count_data_rows(file)
    with errors(), row_progress(f"ingest {file.name}", total, chunk_rows=chunk_rows) as advance:
        result = ingest_file(
            url,
            name,
            file,
            strict=strict,
            chunk_rows=chunk_rows,
            on_new_columns=on_new_columns,  # type: ignore[arg-type]
            on_chunk=advance,
            add_columns=add_columns,
            sep=sep,
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
    sep: Annotated[str | None, typer.Option(help=SEP_HELP)] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Backfill labels by prediction id; unknown ids are listed."""
    url = database(database_url)
    from monitors.collectors.files import ingest_label_file

    with errors():
        result = ingest_label_file(
            url, name, file, id_column=id, label_column=label, strict=strict, sep=sep
        )
    if result.unknown_ids:
        shown = ", ".join(result.unknown_ids[:20])
        more = len(result.unknown_ids) - 20
        typer.echo(
            f"unknown prediction_id: {shown}" + (f" (and {more} more)" if more > 0 else ""),
            err=True,
        )
    typer.echo(result.summary())
