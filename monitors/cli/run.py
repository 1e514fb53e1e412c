"""``driftwarden run``: one analysis pass, or one every interval until stopped."""

from __future__ import annotations

import signal
import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitors.cli.common import DatabaseUrl, database, errors, parse_time
from monitors.cli.progress import window_progress
from monitors.errors import ConfigError

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


def _plural(n: int, word: str) -> str:
    """``1 rule``, ``3 rules``."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def alerts_line(summary: Any) -> str:
    """An alert evaluation summary in words (``EvaluationSummary`` of monitors.alerts.engine)."""
    line = (
        f"alerts: evaluated {_plural(summary.rules, 'rule')} over "
        f"{_plural(summary.windows, 'series-window')}: "
        f"{_plural(summary.transitions, 'state change')}, "
        f"{_plural(summary.notifications, 'notification')} queued"
    )
    suppressed = getattr(summary, "suppressed", 0)
    return line + (f", {suppressed} silenced" if suppressed else "")


def delivery_line(summary: Any) -> str:
    """A delivery summary in words (``DeliverySummary`` of monitors.alerts.outbox)."""
    if not summary.attempted and not summary.deferred:
        return "notifications: nothing to send"
    parts = [f"{summary.delivered} delivered"]
    parts += [
        f"{n} {what}"
        for n, what in (
            (summary.retrying, "to retry"),
            (summary.dead, "given up"),
            (summary.deferred, "deferred"),
        )
        if n
    ]
    return "notifications: " + ", ".join(parts)


def _echo_summary(summary: PassSummary) -> None:
    """Print what a pass did: its lines, then the alert and delivery summaries in words."""
    for line in summary.lines():
        typer.echo(line)
    if summary.alerts is not None:
        typer.echo(alerts_line(summary.alerts))
    if summary.delivery is not None:
        typer.echo(delivery_line(summary.delivery))


def _wait(interval: float, stop: dict[str, bool]) -> None:
    """Sleep ``interval`` seconds, waking early when ``stop`` is set or on Ctrl-C."""
    try:
        deadline = time.monotonic() + interval
        while not stop["flag"] and time.monotonic() < deadline:
            time.sleep(min(1.0, deadline - time.monotonic()))
    except KeyboardInterrupt:
        stop["flag"] = True


def _reanalyze(
    model: str | None, start: str | None, end: str | None, every: str | None, url: str | None
) -> None:
    """``run --reanalyze --from --to``: re-analysis of every (or one) model's windows."""
    with errors():
        if start is None or end is None:
            raise ConfigError("--reanalyze: expected --from and --to (ISO 8601 times)")
        if every is not None:
            raise ConfigError("--reanalyze: runs once; expected no --every")
    begin, finish = parse_time(start, "--from"), parse_time(end, "--to")
    assert begin is not None and finish is not None
    resolved = database(url)
    from monitors.pipeline.reanalyze import reanalyze
    from storage.engine import get_engine, session_scope
    from storage.registry import list_models

    with errors():
        if model is None:
            with session_scope(get_engine(resolved)) as session:
                names = [m.name for m in list_models(session)]
        else:
            names = [model]
        if not names:
            typer.echo("no models registered yet: nothing to re-analyse")
        for name in names:
            with window_progress("reanalyze") as on_window:
                done = reanalyze(name, url=resolved, start=begin, end=finish, on_window=on_window)
            for line in done.lines():
                typer.echo(f"{name}: {line}" if len(names) > 1 else line)


def run(
    model: Annotated[str | None, typer.Option(help="Only this model.")] = None,
    every: Annotated[
        str | None, typer.Option(help="Repeat every interval (15m, 1h) until interrupted.")
    ] = None,
    now: Annotated[
        str | None, typer.Option(help="Analyse as if it were this time (ISO).", hidden=True)
    ] = None,
    reanalyze: Annotated[
        bool,
        typer.Option(
            "--reanalyze",
            help="Analyse the analysed windows of --from/--to again with today's settings "
            "(rows if still stored, else stored summaries); no alert evaluation.",
        ),
    ] = False,
    start: Annotated[
        str | None, typer.Option("--from", help="With --reanalyze: first window start (ISO).")
    ] = None,
    end: Annotated[
        str | None, typer.Option("--to", help="With --reanalyze: end of the period (ISO).")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Analyse every closed window not analysed yet, evaluate alert rules, deliver notifications."""
    with errors():
        interval = _seconds(every) if every else None
    when = parse_time(now, "--now")
    if reanalyze:
        _reanalyze(model, start, end, every, database_url)
        return
    if start is not None or end is not None:
        with errors():
            raise ConfigError("--from/--to: only with --reanalyze")
    url = database(database_url)
    from monitors.pipeline.run import run_pass

    stop = {"flag": False}

    def _stop(*_: object) -> None:
        stop["flag"] = True

    if interval:
        signal.signal(signal.SIGTERM, _stop)
    while True:
        with errors(), window_progress("run") as on_window:
            summary = run_pass(url=url, model=model, now=when, on_window=on_window)
        _echo_summary(summary)
        if not interval:
            return
        _wait(interval, stop)
        if stop["flag"]:
            typer.echo("stopped")
            return
