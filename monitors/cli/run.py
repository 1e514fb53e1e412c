"""``driftwarden run``: one analysis pass, or one every interval until stopped."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Annotated

import typer

from monitors.cli.common import DatabaseUrl, errors, parse_time

if TYPE_CHECKING:
    from monitors.pipeline.run import PassSummary


def _seconds(every: str) -> float:
    """Length of a ``--every`` interval (``15m``, ``1h`` …) in seconds."""
    from storage.registry import WINDOW_RE, validate_window

    validate_window(every)
    match = WINDOW_RE.match(every)
    assert match is not None
    n, unit = int(match.group(1)), match.group(2)
    return n * {"m": 60, "h": 3600, "d": 86400, "w": 604800, "mo": 2592000}[unit]


def _echo_summary(summary: PassSummary) -> None:
    """Print what a pass did: its lines, then the alert and delivery summaries."""
    for line in summary.lines():
        typer.echo(line)
    if summary.alerts is not None:
        typer.echo(str(summary.alerts))
    if summary.delivery is not None:
        typer.echo(str(summary.delivery))


def _wait(interval: float, stop: dict[str, bool]) -> None:
    """Sleep ``interval`` seconds, waking early when ``stop`` is set or on Ctrl-C."""
    try:
        deadline = time.monotonic() + interval
        while not stop["flag"] and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        stop["flag"] = True


def run(
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    every: Annotated[
        str | None, typer.Option(help="Repeat every interval (15m, 1h) until interrupted.")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="Analyse as if it were this time (ISO).", hidden=True)
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Analyse every closed window not analysed yet, evaluate alert rules, deliver notifications."""
    from monitors.pipeline.run import run_pass

    with errors():
        interval = _seconds(every) if every else None
    stop = {"flag": False}

    def _stop(*_: object) -> None:
        stop["flag"] = True

    if interval:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        with errors():
            summary = run_pass(url=database_url, model=model, now=parse_time(now, "--now"))
        _echo_summary(summary)
        if not interval:
            return
        _wait(interval, stop)
        if stop["flag"]:
            typer.echo("stopped")
            return
