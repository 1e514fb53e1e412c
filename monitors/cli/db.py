"""``driftwarden db …`` (migrations) and ``driftwarden purge`` (delete old logged rows)."""

from __future__ import annotations

from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, database, errors, parse_time

db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply pending database migrations."""
    from storage.engine import get_engine, redact, upgrade

    with errors():
        engine = get_engine(database(database_url, create=True), migrate=False)
        revision = upgrade(engine)
    typer.echo(f"{redact(str(engine.url))}: at revision {revision}")


def purge_command(
    name: Annotated[str, typer.Argument(help="Model name.")],
    before: Annotated[
        str, typer.Option(help="Delete logged rows older than this (ISO 8601: 2026-02-03).")
    ],
    database_url: DatabaseUrl = None,
    vacuum: Annotated[
        bool,
        typer.Option(
            "--vacuum",
            help="Then rebuild the storage (SQLite VACUUM, PostgreSQL VACUUM FULL): slow, locks.",
        ),
    ] = False,
) -> None:
    """Delete logged and quarantined rows (with their sensitive attributes) older than a date.

    Metrics and reports stay. docs/ingest.md ("Purge") says what stays in the files.
    """
    from monitors.windows import purge_model

    when = parse_time(before, "--before")
    assert when is not None
    url = database(database_url)
    with errors():
        done = purge_model(url, name, when, vacuum=vacuum)
    typer.echo(f"{name}: purged {done.rows} row(s) logged before {when.isoformat()}")
    if done.quarantined:
        typer.echo(f"{name}: purged {done.quarantined} quarantined row(s) from before then")
    if done.vacuumed:
        typer.echo(f"{name}: storage rebuilt (vacuum)")
    if not done.wal_truncated:
        typer.echo(
            "warning: another connection kept the SQLite write-ahead log open; purged values "
            "may stay in the -wal file until its next checkpoint",
            err=True,
        )
