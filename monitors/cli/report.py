"""``driftwarden report``: export a fairness audit report, or verify an exported file.

One command function, :func:`report_command`, because Typer cannot have a positional
``NAME`` and a ``verify`` subcommand in one group: ``driftwarden report NAME --from …
--to …`` exports, ``driftwarden report verify FILE`` verifies (exit 0 verified,
1 altered, 2 unknown; any error exits 1). The work is in :mod:`monitors.reports.service`;
this module parses options and prints. Register it with
``app.command("report")(report_command)``.
"""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import Annotated

import typer

from monitors.cli.common import (
    DATABASE_ENV,
    DEFAULT_DATABASE,
    csv_list,
    fail,
    mask,
    resolve_database,
)
from monitors.errors import ConfigError, MonitorError, StorageError

__all__ = ["report_command"]

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        help=f"Database URL (default: {DEFAULT_DATABASE}; verify: the default only if it exists).",
        envvar=DATABASE_ENV,
        show_envvar=True,
    ),
]
Thresholds = Annotated[
    list[str] | None,
    typer.Option(
        help="KEY=VALUE, repeatable: a disparity threshold "
        "(e.g. demographic_parity_difference=0.1), four_fifths or min_group_size."
    ),
]
PublicKey = Annotated[
    Path | None,
    typer.Option(
        help="verify: Ed25519 public key file (PEM, base64 or hex); else $DRIFTWARDEN_VERIFY_KEY."
    ),
]


def _default_user() -> str:
    """``$USER``, else the OS login name, else ``unknown``."""
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


def _verify_database(database_url: str | None) -> tuple[str | None, str | None]:
    """The database ``verify`` consults, found as every command finds it, or why none.

    A URL given (option or variable) must work — a missing SQLite file is an error,
    never created; without one, the default ``./driftwarden.db`` is consulted if it
    exists (a verifier holding only the file and a public key needs no database).
    """
    if database_url:
        return resolve_database(database_url), None
    from sqlalchemy.engine import make_url

    path = Path(str(make_url(DEFAULT_DATABASE).database))
    if path.is_file():
        # absolute: an engine cached for the relative URL may point at another directory
        return f"sqlite:///{path.resolve()}", None
    return None, f"no --database-url and no {DEFAULT_DATABASE} here"


def _verify(file: Path | None, *, database_url: str | None, public_key: Path | None) -> int:
    """Verify ``file``: status on stdout, each check and the verdict on stderr; the exit code."""
    from monitors.reports.service import run_verify

    if file is None:
        raise ConfigError("report verify: expected a FILE argument; got none")
    url, note = _verify_database(database_url)
    outcome = run_verify(file, database_url=url, public_key_file=public_key, database_note=note)
    typer.echo(outcome.status)
    for line in outcome.lines:
        typer.echo(f"  {line}", err=True)
    return outcome.exit_code


def report_command(
    name: Annotated[
        str, typer.Argument(help="Model name, or the word 'verify' to verify a report file.")
    ],
    file: Annotated[
        Path | None, typer.Argument(help="With 'verify': the exported report file.")
    ] = None,
    start: Annotated[
        str | None,
        typer.Option("--from", help="Start of the period (ISO 8601: 2026-02-03, included)."),
    ] = None,
    end: Annotated[
        str | None,
        typer.Option("--to", help="End of the period (ISO 8601, excluded)."),
    ] = None,
    sensitive: Annotated[
        str | None,
        typer.Option(help="Comma-separated sensitive attributes (default: all of the model's)."),
    ] = None,
    format: Annotated[
        str, typer.Option("--format", help="Comma-separated formats: html,pdf,json,csv.")
    ] = "html,pdf,json,csv",
    out: Annotated[Path, typer.Option(help="Directory the files are written to.")] = Path("."),
    database_url: DatabaseUrl = None,
    created_by: Annotated[
        str | None, typer.Option(help="Who exports the report (default $USER).")
    ] = None,
    threshold: Thresholds = None,
    n_bootstrap: Annotated[
        int | None, typer.Option(help="Bootstrap resamples (default: the model's, 1000).")
    ] = None,
    seed: Annotated[
        int | None, typer.Option(help="Bootstrap seed (default: the model's, 0).")
    ] = None,
    public_key: PublicKey = None,
) -> None:
    """Export a fairness audit report of NAME, or `verify FILE` (0 verified/1 altered/2 unknown)."""
    try:
        if name == "verify":
            raise typer.Exit(_verify(file, database_url=database_url, public_key=public_key))
        if file is not None:
            raise ConfigError(f"report {name}: unexpected extra argument {str(file)!r}")
        if start is None or end is None:
            raise ConfigError("report: --from and --to are required (ISO 8601 times)")
        from monitors.reports.service import run_export

        paths = run_export(
            name,
            start=start,
            end=end,
            sensitive=csv_list(sensitive) or None,
            formats=format,
            out=out,
            database_url=resolve_database(database_url),
            created_by=created_by or _default_user(),
            thresholds=threshold or [],
            n_bootstrap=n_bootstrap,
            seed=seed,
        )
    except (MonitorError, StorageError, OSError) as exc:
        message = str(exc) if not isinstance(exc, OSError) else f"{exc.filename}: {exc.strerror}"
        if database_url:
            message = message.replace(database_url, mask(database_url))
        raise fail(message) from exc
    for path in paths:
        typer.echo(str(path))
