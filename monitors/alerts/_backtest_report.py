"""Render backtest results as text, JSON records or CSV (``alerts backtest --format``)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Final

from monitors.alerts._backtest_replay import RuleBacktest, SeriesBacktest
from monitors.alerts.rules import Rule

FORMATS: Final = ("text", "json", "csv")
CSV_COLUMNS: Final = (
    "rule",
    "model",
    "feature",
    "group",
    "windows",
    "episodes",
    "notifications",
    "firing",
    "resolved",
    "repeat",
    "suppressed",
    "pending_windows",
    "no_data_windows",
    "episode_windows",
)


@dataclass(frozen=True, slots=True)
class SweepPoint:
    """One line of a sweep: the value tried and what the rule would have done with it."""

    key: str
    value: float | int
    episodes: int
    notifications: int
    pending_windows: int
    no_data_windows: int

    def record(self) -> dict[str, Any]:
        """The JSON/CSV record."""
        return {
            "key": self.key,
            "value": self.value,
            "episodes": self.episodes,
            "notifications": self.notifications,
            "pending_windows": self.pending_windows,
            "no_data_windows": self.no_data_windows,
        }


def sweep_point(key: str, value: float | int, result: RuleBacktest) -> SweepPoint:
    """Summarise one sweep value's backtest."""
    return SweepPoint(
        key,
        value,
        result.episodes,
        result.notifications,
        result.pending_windows,
        result.no_data_windows,
    )


def _n(count: int, noun: str) -> str:
    """``1 episode``, ``2 episodes``."""
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _day(value: datetime | None) -> str:
    """A window start, short: the date at midnight UTC, else the time to the minute."""
    if value is None:
        return "-"
    if (value.hour, value.minute, value.second, value.microsecond) == (0, 0, 0, 0):
        return value.date().isoformat()
    return value.isoformat(timespec="minutes")


def _duration(seconds: int) -> str:
    """``86400`` → ``24h``; ``604800`` → ``7d``; the largest unit that divides it."""
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60)):
        if seconds % size == 0 and (unit != "d" or seconds > 86_400):
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def describe_rule(rule: Rule) -> str:
    """``credit drift_detected feature=age >= 1 for 1, repeat 24h`` (what is replayed)."""
    where = "".join(
        f" {key}={value}"
        for key, value in (("feature", rule.feature), ("group", rule.group))
        if value is not None
    )
    repeat = _duration(rule.repeat_seconds)
    return (
        f"{rule.model} {rule.metric}{where} {rule.op} {rule.threshold:g} "
        f"for {rule.for_windows}, repeat {repeat}"
    )


def _series_lines(series: SeriesBacktest, channels: Sequence[str]) -> list[str]:
    """The lines of one series in the text report."""
    kinds = ", ".join(f"{n} {k}" for k, n in series.kinds.items() if n) or "none"
    sent = sum(series.notifications.values())
    if channels and sent:
        notes = f"{_n(sent, 'notification')} ({sent // len(channels)} per channel: {kinds})"
    elif channels:
        notes = "0 notifications"
    else:
        notes = "no channels: nothing sent"
    if series.suppressed:
        notes += f", {series.suppressed} silenced"
    lines = [
        f"  {series.label}: {_n(len(series.episodes), 'episode')}, {notes}; "
        f"{_n(len(series.pending_windows), 'pending window')} never fired, "
        f"{_n(len(series.no_data_windows), 'no_data window')} "
        f"(of {_n(series.windows, 'window')})"
    ]
    for episode in series.episodes:
        still = " (still firing)" if episode.open else ""
        lines.append(
            f"    firing {_day(episode.start)} .. {_day(episode.end)} "
            f"peak {episode.peak:.6g}{still}"
        )
    if series.pending_windows:
        shown = ", ".join(_day(w) for w in series.pending_windows[:10])
        more = (
            f" … (+{len(series.pending_windows) - 10})" if len(series.pending_windows) > 10 else ""
        )
        lines.append(f"    pending, never fired: {shown}{more}")
    return lines


def render_text(results: Sequence[RuleBacktest]) -> str:
    """A readable report: per rule, per series, the episodes, notifications and gaps."""
    lines: list[str] = []
    for result in results:
        rule = result.rule
        channels = tuple(dict.fromkeys(rule.channels))
        where = f"{result.windows} windows {_day(result.first)} .. {_day(result.last)}"
        lines.append(f"Rule {rule.name} ({describe_rule(rule)}): {where}")
        if not result.model_known:
            lines.append(f"  model {rule.model!r} is not registered: nothing to replay.")
        elif not result.series:
            lines.append(
                f"  no stored values of {rule.metric!r} for this selection in the period "
                "(see `driftwarden metrics`)."
            )
        for series in result.series:
            lines.extend(_series_lines(series, channels))
        lines.append(
            f"  total: {_n(result.episodes, 'episode')}, "
            f"{_n(result.notifications, 'notification')}"
            + (f" to {', '.join(channels)}" if channels else "")
        )
    return "\n".join(lines) + "\n"


def _csv_row(series: SeriesBacktest) -> dict[str, Any]:
    """One CSV row: counts, and the episodes as ``from..to`` separated by ``;``."""
    return {
        "rule": series.rule,
        "model": series.model,
        "feature": series.feature or "",
        "group": series.group or "",
        "windows": series.windows,
        "episodes": len(series.episodes),
        "notifications": sum(series.notifications.values()),
        **{kind: series.kinds.get(kind, 0) for kind in ("firing", "resolved", "repeat")},
        "suppressed": series.suppressed,
        "pending_windows": len(series.pending_windows),
        "no_data_windows": len(series.no_data_windows),
        "episode_windows": ";".join(
            f"{e.start.isoformat()}..{e.end.isoformat()}" for e in series.episodes
        ),
    }


def _csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def render(results: Sequence[RuleBacktest], fmt: str) -> str:
    """``text``, ``json`` (an array of per-series records) or ``csv`` (one row per series)."""
    series = [s for result in results for s in result.series]
    if fmt == "json":
        records = [s.record() for s in series]
        return json.dumps(records, indent=1, ensure_ascii=False, allow_nan=False) + "\n"
    if fmt == "csv":
        return _csv([_csv_row(s) for s in series], CSV_COLUMNS)
    return render_text(results)


def render_sweep(rule: Rule, points: Sequence[SweepPoint], fmt: str) -> str:
    """One line per swept value: episodes and notifications (the table to choose from)."""
    if fmt == "json":
        text = json.dumps([p.record() for p in points], indent=1, allow_nan=False)
        return text + "\n"
    if fmt == "csv":
        return _csv([p.record() for p in points], [f.name for f in fields(SweepPoint)])
    key = points[0].key if points else "value"
    lines = [f"Sweep of {key} for rule {rule.name} ({describe_rule(rule)}):"]
    for p in points:
        shown = f"{p.value:g}" if key == "threshold" else str(p.value)
        if key == "repeat":
            shown = _duration(int(p.value))
        lines.append(
            f"  {key}={shown:<8} episodes={p.episodes:<4} notifications={p.notifications:<5} "
            f"pending_windows={p.pending_windows:<4} no_data_windows={p.no_data_windows}"
        )
    return "\n".join(lines) + "\n"
