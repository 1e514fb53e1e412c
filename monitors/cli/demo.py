"""``driftwarden demo``: build the lending demo database and analyse it."""

from __future__ import annotations

from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, database, errors, fail
from monitors.cli.progress import step_progress, window_progress
from monitors.cli.run import alerts_line, delivery_line


def demo(
    rows_per_day: Annotated[int, typer.Option(help="Predictions per daily window.")] = 1000,
    analyse: Annotated[bool, typer.Option("--run/--no-run", help="Run the analysis pass.")] = True,
    rules: Annotated[bool, typer.Option(help="Apply the demo alert rules.")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Build the lending demo (model `credit`, 60 daily windows) and analyse it."""
    if rows_per_day < 1:
        raise fail(f"--rows-per-day {rows_per_day}: expected a positive number of rows")
    url = database(database_url, create=True)
    from monitors.demo.lending import DAYS, load_demo

    with errors():
        with step_progress(f"demo: building model credit, {DAYS} days × {rows_per_day:,} rows"):
            scenario = load_demo(url, rows_per_day=rows_per_day)
        typer.echo(
            f"demo: model credit, {len(scenario.production):,} predictions "
            f"{scenario.start.date()} – {scenario.end.date()}, {len(scenario.labels):,} labels"
        )
        if rules:
            from monitors.demo.lending import apply_demo_rules

            apply_demo_rules(url)
        if analyse:
            from monitors.pipeline.run import run_pass

            with window_progress("demo: analysing") as on_window:
                summary = run_pass(url=url, now=scenario.end, on_window=on_window)
            for line in summary.lines():
                typer.echo(line)
            if summary.alerts is not None:
                typer.echo(alerts_line(summary.alerts))
            if summary.delivery is not None:
                typer.echo(delivery_line(summary.delivery))
