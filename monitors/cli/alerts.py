"""``driftwarden alerts …``: manage alert rules, silences, acknowledgements and the outbox.

Mounted by :mod:`monitors.cli` with ``app.add_typer(alerts_app, name="alerts")``. Its
errors read ``Error: …`` (exit 1); its ``--database-url`` help differs from the others'.
"""

from __future__ import annotations

import getpass
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from monitors.cli.common import one_line, resolve_database
from monitors.errors import MonitorError
from storage.errors import StorageError

if TYPE_CHECKING:
    from sqlalchemy import Engine

alerts_app = typer.Typer(
    name="alerts",
    help="Alert rules, silences, acknowledgements and notification delivery.",
    no_args_is_help=True,
)

DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        envvar="DRIFTWARDEN_DATABASE_URL",
        help="Database URL (default: sqlite:///driftwarden.db).",
        show_envvar=True,
    ),
]
ModelOption = Annotated[str | None, typer.Option("--model", help="Only this model.")]


@contextmanager
def _errors() -> Iterator[None]:
    """Turn expected errors into one line on stderr and exit code 1."""
    try:
        yield
    except (MonitorError, StorageError, ValueError, LookupError, OSError) as exc:
        typer.echo(f"Error: {one_line(str(exc))}", err=True)
        raise typer.Exit(1) from exc


def _engine(url: str | None, *, create: bool = False) -> Engine:
    """The engine of ``url`` (default database when ``None``); a missing SQLite file is an
    error unless ``create`` (see :func:`monitors.cli.common.resolve_database`)."""
    from storage.engine import get_engine

    return get_engine(resolve_database(url, create=create))


def _until(text: str, now: datetime) -> datetime:
    """``--until``: a duration from now (``2h``), else an ISO 8601 time (the one parser)."""
    from monitors.alerts.rules import parse_duration
    from monitors.alerts.service import parse_until
    from monitors.timeparse import parse_time

    try:
        parse_duration(text)
    except ValueError:
        return parse_time(text, option="--until")
    return parse_until(text, now=now)


def _iso(value: Any) -> str:
    """A time as ISO 8601 to the second; ``-`` for none."""
    return "-" if value is None else value.isoformat(timespec="seconds")


@alerts_app.command("apply")
def apply_command(
    file: Annotated[Path, typer.Argument(help="Rule file (YAML).")],
    database_url: DatabaseUrl = None,
) -> None:
    """Replace the stored rules and channels with those in FILE (rules not in it are disabled)."""
    from monitors.alerts.service import apply_rule_file

    with _errors():
        summary = apply_rule_file(_engine(database_url, create=True), file)
    typer.echo(
        f"Applied {file}: {len(summary.created)} created, {len(summary.updated)} updated, "
        f"{len(summary.unchanged)} unchanged, {len(summary.disabled)} disabled; "
        f"{len(summary.channels)} channels."
    )
    for name in summary.disabled:
        typer.echo(f"  disabled: {name}")


@alerts_app.command("list")
def list_command(model: ModelOption = None, database_url: DatabaseUrl = None) -> None:
    """List rules and the current state of each of their series."""
    from monitors.alerts.service import rule_statuses

    with _errors():
        statuses = rule_statuses(_engine(database_url), model=model)
    if not statuses:
        typer.echo("No rules.")
    for status in statuses:
        rule = status.rule
        where = "".join(
            f" {key}={value}"
            for key, value in (("feature", rule.feature), ("group", rule.group))
            if value is not None
        )
        flag = "" if rule.enabled else " [disabled]"
        typer.echo(
            f"{rule.name}{flag}: {rule.model} {rule.metric}{where} {rule.op} {rule.threshold:g} "
            f"for {rule.for_windows} severity={rule.severity} "
            f"channels={','.join(map(str, rule.channels)) or '-'}"
        )
        for series in status.series:
            label = "/".join(p for p in (series.feature, series.group) if p) or "(model)"
            ack = f" acked by {series.acknowledged_by}" if series.acknowledged_at else ""
            typer.echo(
                f"  series {series.id} {label}: {series.state} since {_iso(series.since)} "
                f"last window {_iso(series.last_window_end)}{ack}"
            )


@alerts_app.command("history")
def history_command(
    model: ModelOption = None,
    rule: Annotated[str | None, typer.Option("--rule", help="Only this rule.")] = None,
    limit: Annotated[int, typer.Option("--limit", help="Most recent N changes.")] = 100,
    database_url: DatabaseUrl = None,
) -> None:
    """Show state changes (oldest first) with time, window and value."""
    from storage import alerts as queries
    from storage.engine import session_scope

    with _errors(), session_scope(_engine(database_url)) as session:
        rows = queries.events(session, model=model, rule=rule, limit=limit)
        if not rows:
            typer.echo("No state changes.")
        for event, series, rule_row in rows:
            label = "/".join(p for p in (series.feature, series.group) if p) or "(model)"
            value = "-" if event.value is None else f"{event.value:.6g}"
            silenced = " [silenced]" if event.silenced else ""
            typer.echo(
                f"{event.id} {_iso(event.at)} {rule_row.name} {rule_row.model} {label} "
                f"{event.from_state} -> {event.to_state} window {_iso(event.window_start)}.."
                f"{_iso(event.window_end)} value {value}{silenced}"
            )


@alerts_app.command("silence")
def silence_command(
    rule: Annotated[str, typer.Argument(help="Rule name.")],
    until: Annotated[
        str, typer.Option("--until", help="ISO 8601 time (2026-02-03T10:00Z; UTC if naive) or 2h.")
    ],
    reason: Annotated[str, typer.Option("--reason", help="Why.")],
    author: Annotated[
        str | None, typer.Option("--author", help="Who (default: the OS user).")
    ] = None,
    feature: Annotated[str | None, typer.Option("--feature", help="Only this feature.")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Suppress notifications of RULE until a time (states are still recorded)."""
    from monitors.alerts.service import add_silence
    from storage.models import utcnow

    with _errors():
        now = utcnow()
        silence = add_silence(
            _engine(database_url),
            rule=rule,
            until=_until(until, now),
            reason=reason,
            author=author or getpass.getuser(),
            feature=feature,
            now=now,
        )
    typer.echo(f"Silence {silence.id}: rule {rule} silenced until {_iso(silence.until)}.")


@alerts_app.command("ack")
def ack_command(
    series_id: Annotated[int, typer.Argument(metavar="ID", help="Series id (see 'list').")],
    by: Annotated[str | None, typer.Option("--by", help="Who (default: the OS user).")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Acknowledge a firing series: no repeats until it resolves."""
    from monitors.alerts.service import acknowledge
    from storage.models import utcnow

    with _errors():
        series = acknowledge(
            _engine(database_url), series_id, by=by or getpass.getuser(), now=utcnow()
        )
    typer.echo(f"Series {series.id} acknowledged by {series.acknowledged_by}.")


@alerts_app.command("outbox")
def outbox_command(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="pending, dead or delivered (default: pending and dead)."),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Show queued (pending) and given-up (dead) notifications."""
    from storage import alerts as queries
    from storage.engine import session_scope

    wanted = status or ["pending", "dead"]
    bad = [s for s in wanted if s not in ("pending", "dead", "delivered")]
    if bad:
        typer.echo(
            f"Error: --status {bad[0]!r}: expected one of pending, dead, delivered", err=True
        )
        raise typer.Exit(1)
    with _errors(), session_scope(_engine(database_url)) as session:
        rows = queries.outbox_messages(session, statuses=wanted)
        if not rows:
            typer.echo(f"Outbox: nothing {'/'.join(wanted)}.")
        for row in rows:
            payload = row.payload
            typer.echo(
                f"{row.id} {row.status} {row.channel} {payload.get('kind')} "
                f"{payload.get('rule')} attempts={row.attempts} next={_iso(row.next_attempt_at)} "
                f"key={row.idempotency_key} error={row.last_error or '-'}"
            )


@alerts_app.command("evaluate")
def evaluate_command(model: ModelOption = None, database_url: DatabaseUrl = None) -> None:
    """Evaluate the rules over stored metrics now (normally done by 'driftwarden run')."""
    from monitors.alerts.engine import evaluate_rules
    from storage.models import utcnow

    with _errors():
        summary = evaluate_rules(_engine(database_url), now=utcnow(), model=model)
    typer.echo(
        f"Evaluated {summary.rules} rules, {summary.windows} series-windows: "
        f"{summary.transitions} state changes, {summary.notifications} notifications queued."
    )


@alerts_app.command("deliver")
def deliver_command(database_url: DatabaseUrl = None) -> None:
    """Send the due notifications in the outbox."""
    from monitors.alerts.outbox import deliver

    with _errors():
        summary = deliver(_engine(database_url))
    typer.echo(
        f"Delivered {summary.delivered}, retrying {summary.retrying}, dead {summary.dead}, "
        f"deferred {summary.deferred}."
    )


@alerts_app.command("test")
def send_test_command(
    channel: Annotated[str, typer.Argument(help="Channel name from the rule file.")],
    database_url: DatabaseUrl = None,
) -> None:
    """Send a test message to CHANNEL now (directly, not through the outbox)."""
    from monitors.alerts.service import send_test
    from storage.models import utcnow

    with _errors():
        result = send_test(_engine(database_url), channel, now=utcnow())
    if not result.ok:
        typer.echo(f"Error: test message to {channel!r} failed: {result.error}", err=True)
        raise typer.Exit(1)
    typer.echo(f"Test message sent to {channel!r}.")


@alerts_app.command("backtest")
def backtest_command(
    file: Annotated[Path, typer.Argument(help="Rule file (YAML), as for 'apply'.")],
    rule: Annotated[
        list[str] | None, typer.Option("--rule", help="Only this rule (repeatable).")
    ] = None,
    from_: Annotated[
        str | None, typer.Option("--from", help="Windows starting at or after (ISO).")
    ] = None,
    to: Annotated[
        str | None, typer.Option("--to", help="Windows ending at or before (ISO).")
    ] = None,
    fmt: Annotated[str, typer.Option("--format", help="text, json or csv.")] = "text",
    out: Annotated[Path | None, typer.Option("--out", help="Write here instead of stdout.")] = None,
    with_silences: Annotated[
        bool,
        typer.Option("--with-silences", help="Apply the stored silences (from creation to end)."),
    ] = False,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="KEY=VALUE: override a field of the rule (repeatable)."),
    ] = None,
    sweep: Annotated[
        str | None,
        typer.Option(
            "--sweep", help="KEY=START:STOP:STEP (threshold, for or repeat): one line per value."
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Replay rules over the stored metric history: when would they have fired? Writes nothing."""
    from monitors.alerts.backtest import backtest_file
    from monitors.timeparse import parse_time_or_none

    with _errors():
        text = backtest_file(
            _engine(database_url),
            file,
            names=rule,
            start=parse_time_or_none(from_, option="--from"),
            end=parse_time_or_none(to, option="--to"),
            fmt=fmt,
            with_silences=with_silences,
            settings=set_ or [],
            sweep_spec=sweep,
        )
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"wrote {out}", err=True)
