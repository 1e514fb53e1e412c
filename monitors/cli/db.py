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
) -> None:
    """Delete logged rows (with their sensitive attributes) older than a date; metrics stay."""
    from monitors.windows import purge

    when = parse_time(before, "--before")
    assert when is not None
    url = database(database_url)
    with errors():
        n = purge(url, name, when)
    typer.echo(f"{name}: purged {n} row(s) logged before {when.isoformat()}")
