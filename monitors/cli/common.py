"""What every ``driftwarden`` command shares: options, the database check, one-line errors.

Invalid input never shows a traceback: expected errors (the project's, ``ValueError``,
``LookupError``, ``OSError``) and Click's usage errors become one line on stderr and exit
code 1 (:func:`errors` and :class:`Group`). Imports stay light (Typer and the standard
library) so that ``driftwarden --help`` starts fast; SQLAlchemy is imported when a
command first looks at its database.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from monitors.errors import ConfigError, MonitorError
from storage.errors import StorageError

#: Environment variable and default of ``--database-url``: ``storage.engine.ENV_URL`` and
#: ``DEFAULT_URL``, repeated so that ``--help`` need not import SQLAlchemy (a test checks).
DATABASE_ENV = "DRIFTWARDEN_DATABASE_URL"
DEFAULT_DATABASE = "sqlite:///driftwarden.db"

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar=DATABASE_ENV,
        help=f"SQLAlchemy URL (default: {DEFAULT_DATABASE}).",
        show_envvar=True,
    ),
]

#: ``--from``/``--to`` of commands that read stored windows (parse with :func:`parse_time`).
WindowsFrom = Annotated[
    str | None,
    typer.Option("--from", help="Windows starting at or after (ISO 8601: 2026-02-03)."),
]
WindowsTo = Annotated[
    str | None, typer.Option("--to", help="Windows ending at or before (ISO 8601).")
]
#: ``--out`` of commands that print a report or an export.
OutPath = Annotated[Path | None, typer.Option(help="Write here instead of stdout.")]

_PASSWORD = re.compile(r"(//[^/@:]*:)[^/@]*@")


def fail(message: str) -> typer.Exit:
    """Print ``error: message`` (one line) on stderr; the exit (code 1) for the caller to raise."""
    typer.echo(f"error: {one_line(message)}", err=True)
    return typer.Exit(code=1)


def one_line(message: str) -> str:
    """``message`` with line breaks folded into spaces."""
    return " ".join(message.split())


def _describe(exc: BaseException) -> str:
    """The one-line message of an expected error (an ``OSError`` names its file)."""
    if isinstance(exc, OSError) and exc.strerror:
        name = exc.filename if exc.filename is not None else ""
        return f"{name}: {exc.strerror}" if name else exc.strerror
    return str(exc) or type(exc).__name__


@contextmanager
def errors() -> Iterator[None]:
    """Turn expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except (MonitorError, StorageError, ValueError, LookupError, OSError) as exc:
        raise fail(_describe(exc)) from exc


def csv_list(value: str | None) -> list[str]:
    """``"a, b,"`` → ``["a", "b"]``; ``None`` or blank → ``[]``."""
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def parse_time(value: str | None, option: str) -> datetime | None:
    """An ISO 8601 option value as an aware UTC datetime (naive is UTC); exit 1 if invalid.

    The one parser of :mod:`monitors.timeparse`: ``2026-02-03``, ``2026-02-03T10:00``,
    with ``Z`` or an offset; ``02/03/2026`` and other local forms are refused.
    """
    from monitors.timeparse import parse_time_or_none

    try:
        return parse_time_or_none(value, option=option)
    except ConfigError as exc:
        raise fail(str(exc)) from exc


def choice(value: str, option: str, choices: Sequence[str]) -> str:
    """``value`` if it is one of ``choices``; else exit 1 listing them."""
    if value not in choices:
        raise fail(f"{option} {value!r}: expected one of {', '.join(choices)}")
    return value


def write_output(text: str, out: Path | None) -> None:
    """Write ``text`` to stdout, or to ``out`` (saying so on stderr)."""
    if out is None:
        sys.stdout.write(text)
        return
    with errors():
        out.write_text(text, encoding="utf-8")
    typer.echo(f"wrote {out}", err=True)


def mask(url: str) -> str:
    """``url`` with any password replaced by ``***`` (works on unparsable URLs too)."""
    return _PASSWORD.sub(r"\1***@", url)


def resolve_database(url: str | None, *, create: bool = False) -> str:
    """The URL of the database a command works on, checked before anything opens it.

    ``url`` (``--database-url`` or ``$DRIFTWARDEN_DATABASE_URL``), else
    ``sqlite:///driftwarden.db``. Refused if it is not a SQLAlchemy URL of SQLite or
    PostgreSQL, or — unless ``create`` (commands that may start a new database:
    ``models register``, ``db upgrade``, ``demo``, ``alerts apply``) — if it names a
    SQLite file that does not exist: read-only commands never create one.

    Raises
    ------
    ConfigError
        One line naming the URL (password hidden) and what was expected; call inside
        :func:`errors`.
    """
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    text = url or DEFAULT_DATABASE
    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError) as exc:
        raise ConfigError(
            f"--database-url {mask(text)!r}: expected a database URL like {DEFAULT_DATABASE} "
            "or postgresql://user@host:5432/dbname"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql", "postgres"):
        raise ConfigError(
            f"--database-url {mask(text)!r}: expected a sqlite:/// or postgresql:// URL; "
            f"got the scheme {backend!r}"
        )
    if backend == "sqlite" and not create and parsed.database not in (None, "", ":memory:"):
        path = Path(str(parsed.database)).expanduser()
        if not path.is_file():
            where = "--database-url" if url else f"the default database {DEFAULT_DATABASE}"
            raise ConfigError(
                f"{where}: no SQLite database at {str(path)!r}; expected an existing file "
                f"(set --database-url or ${DATABASE_ENV}, or create one with "
                "'driftwarden models register' or 'driftwarden demo')"
            )
    return text


def database(url: str | None, *, create: bool = False) -> str:
    """:func:`resolve_database`, exiting with one line (code 1) when the URL is unusable."""
    with errors():
        return resolve_database(url, create=create)


def _usage_error(exc: Exception) -> str:
    """A Click usage error as one line, with the command to ask for help."""
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    ctx = getattr(exc, "ctx", None)
    where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
    return f"{one_line(message)}{where}"


class Group(TyperGroup):
    """A command group whose usage errors are one line on stderr with exit code 1.

    Click prints a usage block and exits 2; here ``2`` is reserved for ``report
    verify``'s "unknown", and every invalid input exits 1 with ``error: …``.
    """

    def main(  # type: ignore[override]
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        **extra: Any,
    ) -> Any:
        """Run the group; in standalone mode, exit with one-line errors (see class)."""
        from typer._click import exceptions as click_exc

        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, False, **extra)
        except click_exc.NoArgsIsHelpError as exc:
            typer.echo(exc.ctx.get_help() if exc.ctx is not None else str(exc))
            code = 0
        except click_exc.ClickException as exc:
            typer.echo(f"error: {_usage_error(exc)}", err=True)
            code = 1
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            code = 1
        sys.exit(code if isinstance(code, int) else 0)


class Command(TyperCommand):
    """A command whose usage line names its arguments ``NAME [FILE]``, not ``{name} [file]``."""

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        """``[OPTIONS]`` and each argument in capitals, optional ones in brackets."""
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if getattr(param, "param_type_name", "") != "argument":
                continue
            name = str(param.metavar or param.name).upper()
            if param.nargs != 1:
                name += "..."
            pieces.append(name if param.required else f"[{name}]")
        return pieces
