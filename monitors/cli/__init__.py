"""``driftwarden`` command line: builds the Typer ``app`` from one thin module per command group.

Top of the stack: may import every ``monitors`` package and ``storage`` (lazily, inside
commands, to keep ``--help`` fast: no pandas, SQLAlchemy, SciPy or Streamlit at start-up);
nothing imports it. Every command exits 0 on success and 1 on invalid input, with a
one-line message on stderr (usage errors too, see :class:`monitors.cli.common.Group`).
``--database-url`` defaults to ``DRIFTWARDEN_DATABASE_URL`` or the SQLite file
``./driftwarden.db``; commands that only read never create it.
"""

from __future__ import annotations

from typing import Annotated

import typer
from typer.core import TyperCommand

from monitors.cli import (
    alerts,
    compare,
    dashboard,
    db,
    demo,
    ingest,
    keys,
    metrics,
    models,
    report,
    run,
    serve,
)
from monitors.cli.common import Command, Group

app = typer.Typer(
    name="driftwarden",
    help="Watch ML models in production: drift, quality, performance, fairness, explanations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    cls=Group,
)
app.add_typer(models.models_app, name="models", cls=Group)
app.add_typer(db.db_app, name="db", cls=Group)
app.command("ingest")(ingest.ingest)
app.command("labels")(ingest.labels)
app.command("purge")(db.purge_command)
app.command("run")(run.run)
app.command("metrics")(metrics.metrics)
app.command("dashboard")(dashboard.dashboard)
app.command("demo")(demo.demo)
app.add_typer(alerts.alerts_app, name="alerts", cls=Group)
app.command("report")(report.report_command)
app.command("serve")(serve.serve)
app.add_typer(keys.keys_app, name="keys", cls=Group)
app.add_typer(compare.compare_app, name="compare", cls=compare.CompareGroup)
for _typer in (
    app,
    models.models_app,
    db.db_app,
    alerts.alerts_app,
    keys.keys_app,
    compare.compare_app,
):
    for _info in _typer.registered_commands:
        if _info.cls in (None, TyperCommand):  # usage lines "NAME [FILE]", not "{name} [file]"
            _info.cls = Command


def _version(value: bool) -> None:
    """Print the installed version and exit (the ``--version`` callback)."""
    if value:
        from importlib.metadata import PackageNotFoundError, version

        try:
            typer.echo(f"driftwarden {version('driftwarden')}")
        except PackageNotFoundError:
            typer.echo("driftwarden (not installed)")
        raise typer.Exit()


@app.callback()
def _root(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", help="Show the version and exit.", callback=_version, is_eager=True
        ),
    ] = False,
) -> None:
    """Watch ML models in production: drift, quality, performance, fairness, explanations."""


def main() -> None:  # pragma: no cover - console script
    """Run the CLI (the ``driftwarden`` console script, also ``python -m monitors.cli``)."""
    app(prog_name="driftwarden")


__all__ = ["app", "main"]
