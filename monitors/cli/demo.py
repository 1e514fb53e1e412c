"""``driftwarden demo``: build the lending demo database and analyse it."""

from __future__ import annotations

from typing import Annotated

import typer

from monitors.cli.common import DatabaseUrl, errors


def demo(
    rows_per_day: Annotated[int, typer.Option(help="Predictions per daily window.")] = 1000,
    analyse: Annotated[bool, typer.Option("--run/--no-run", help="Run the analysis pass.")] = True,
    rules: Annotated[bool, typer.Option(help="Apply the demo alert rules.")] = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Build the lending demo (model `credit`, 60 daily windows) and analyse it."""
    from monitors.demo.lending import load_demo

    with errors():
        scenario = load_demo(database_url, rows_per_day=rows_per_day)
        typer.echo(
            f"demo: model credit, {len(scenario.production)} predictions "
            f"{scenario.start.date()} – {scenario.end.date()}, {len(scenario.labels)} labels"
        )
        if rules:
            from monitors.demo.lending import apply_demo_rules

            apply_demo_rules(database_url)
        if analyse:
            from monitors.pipeline.run import run_pass

            summary = run_pass(url=database_url, now=scenario.end)
            for line in summary.lines():
                typer.echo(line)
