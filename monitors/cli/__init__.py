"""``driftwarden`` command line: builds the Typer ``app`` from one thin module per command group.

Top of the stack: may import every ``monitors`` package and ``storage`` (lazily, inside
commands, to keep ``--help`` fast); nothing imports it. Every command exits 0 on success
and 1 on invalid input, with a one-line message on stderr. ``--database-url`` defaults to
``DRIFTWARDEN_DATABASE_URL`` or the SQLite file ``./driftwarden.db``.
"""

from __future__ import annotations

import typer

from monitors.cli import alerts, dashboard, db, demo, ingest, metrics, models, report, run

app = typer.Typer(
    name="driftwarden",
    help="Watch ML models in production: drift, quality, performance, fairness, explanations.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(models.models_app, name="models")
app.add_typer(db.db_app, name="db")
app.command("ingest")(ingest.ingest)
app.command("labels")(ingest.labels)
app.command("purge")(db.purge_command)
app.command("run")(run.run)
app.command("metrics")(metrics.metrics)
app.command("dashboard")(dashboard.dashboard)
app.command("demo")(demo.demo)
app.add_typer(alerts.alerts_app, name="alerts")
app.command("report")(report.report_command)


def main() -> None:  # pragma: no cover - console script
    """Run the CLI (the ``driftwarden`` console script is ``monitors.cli:app``)."""
    app()


__all__ = ["app", "main"]
