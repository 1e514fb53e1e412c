"""What a notification says, rendered for each channel with that channel's escaping.

Every message says what crossed which threshold, for which model/feature/group, by how
much, since when, and links to the dashboard page of the metric's analyzer
(``DRIFTWARDEN_DASHBOARD_URL``, default ``http://localhost:8501``).

Text that comes from data (model, feature and group names, labels) is escaped per
channel: HTML-escaped in email bodies, ``&``/``<``/``>`` escaped in Slack (so a
category called ``<!channel>`` pings no one), and stripped of line breaks and other
control characters in email subjects and Slack header text.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from urllib.parse import urlencode

DASHBOARD_ENV: Final = "DRIFTWARDEN_DASHBOARD_URL"
DEFAULT_DASHBOARD_URL: Final = "http://localhost:8501"
PAGES: Final = {
    "drift": "drift",
    "quality": "quality",
    "performance": "performance",
    "fairness": "fairness",
    "explain": "explanations",
    "explanations": "explanations",
}
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_OP_WORDS: Final = {">": "above", ">=": "at or above", "<": "below", "<=": "at or below"}


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification, as stored in the outbox payload.

    ``kind`` is ``firing``, ``resolved``, ``repeat`` or ``test``.
    """

    kind: str
    rule: str
    model: str
    metric: str
    op: str
    threshold: float
    value: float | None
    severity: str = "warning"
    state: str = "firing"
    analyzer: str | None = None
    feature: str | None = None
    group: str | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None
    since: datetime | None = None
    at: datetime | None = None
    for_windows: int = 1
    labels: Mapping[str, str] = field(default_factory=dict)
    idempotency_key: str = ""
    channel: str = ""

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> Notification:
        """Build from an outbox payload (see ``engine.notification_payload``)."""

        def when(key: str) -> datetime | None:
            value = payload.get(key)
            return None if value is None else datetime.fromisoformat(str(value))

        value = payload.get("value")
        return cls(
            kind=str(payload["kind"]),
            rule=str(payload["rule"]),
            model=str(payload["model"]),
            metric=str(payload["metric"]),
            op=str(payload["op"]),
            threshold=float(payload["threshold"]),
            value=None if value is None else float(value),
            severity=str(payload.get("severity", "warning")),
            state=str(payload.get("state", "firing")),
            analyzer=payload.get("analyzer"),
            feature=payload.get("feature"),
            group=payload.get("group"),
            window_start=when("window_start"),
            window_end=when("window_end"),
            since=when("since"),
            at=when("at"),
            for_windows=int(payload.get("for", 1)),
            labels={str(k): str(v) for k, v in (payload.get("labels") or {}).items()},
            idempotency_key=str(payload.get("idempotency_key", "")),
            channel=str(payload.get("channel", "")),
        )

    @property
    def delta(self) -> float | None:
        """``value - threshold`` (how much it crossed by), or ``None`` without a value."""
        return None if self.value is None else self.value - self.threshold


def one_line(text: str) -> str:
    """``text`` with line breaks and control characters replaced by single spaces."""
    return _CONTROL.sub(" ", text).strip()


def slack_escape(text: str) -> str:
    """Escape ``&``, ``<`` and ``>`` for Slack mrkdwn/plain text (no mentions, no links).

    Examples
    --------
    >>> slack_escape("<!channel> & co")
    '&lt;!channel&gt; &amp; co'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def dashboard_base_url() -> str:
    """The dashboard base URL from ``DRIFTWARDEN_DASHBOARD_URL`` (no trailing slash)."""
    return (os.environ.get(DASHBOARD_ENV) or DEFAULT_DASHBOARD_URL).rstrip("/")


def dashboard_link(n: Notification, *, base_url: str | None = None) -> str:
    """Link to the dashboard page of the metric's analyzer for the window and series.

    Examples
    --------
    >>> from datetime import UTC, datetime
    >>> n = Notification(kind="firing", rule="r", model="credit", metric="psi", op=">",
    ...     threshold=0.2, value=0.3, analyzer="drift", feature="age & sex",
    ...     window_start=datetime(2026, 1, 1, tzinfo=UTC),
    ...     window_end=datetime(2026, 1, 2, tzinfo=UTC))
    >>> dashboard_link(n, base_url="https://dw.example.com/")
    'https://dw.example.com/drift?model=credit&from=2026-01-01T00%3A00%3A00%2B00%3A00&to=2026-01-02T00%3A00%3A00%2B00%3A00&feature=age+%26+sex'
    """
    base = (base_url if base_url is not None else dashboard_base_url()).rstrip("/")
    page = PAGES.get(n.analyzer or "", "")
    params: list[tuple[str, str]] = [("model", n.model)]
    start = n.since if n.window_start is None else n.window_start
    if n.since is not None and n.kind != "resolved" and n.since < (start or n.since):
        start = n.since
    if start is not None:
        params.append(("from", start.isoformat()))
    if n.window_end is not None:
        params.append(("to", n.window_end.isoformat()))
    if n.feature:
        params.append(("feature", n.feature))
    if n.group:
        params.append(("group", n.group))
    return f"{base}/{page}?{urlencode(params)}"


def _number(value: float | None) -> str:
    if value is None:
        return "no value"
    return f"{value:.4g}"


def _series(n: Notification) -> str:
    parts = [f"model {n.model}"]
    if n.feature:
        parts.append(f"feature {n.feature}")
    if n.group:
        parts.append(f"group {n.group}")
    return ", ".join(parts)


def _headline(n: Notification) -> str:
    if n.kind == "test":
        return f"Test notification from driftwarden (channel {n.channel})"
    word = {"firing": "FIRING", "repeat": "STILL FIRING", "resolved": "RESOLVED"}.get(
        n.kind, n.kind.upper()
    )
    return f"[{word}] {n.rule}: {n.metric} on {_series(n)}"


def subject(n: Notification) -> str:
    """Email subject: one line, no control characters."""
    return one_line(f"[driftwarden] [{n.severity}] {_headline(n)}")


def _facts(n: Notification) -> list[tuple[str, str]]:
    """Label/value pairs every channel shows (unescaped)."""
    delta = n.delta
    if n.kind == "resolved":
        what = (
            f"{n.metric} = {_number(n.value)} is no longer {_OP_WORDS.get(n.op, n.op)} "
            f"the threshold {_number(n.threshold)}"
        )
    else:
        what = (
            f"{n.metric} = {_number(n.value)} is {_OP_WORDS.get(n.op, n.op)} the threshold "
            f"{_number(n.threshold)} (rule: {n.metric} {n.op} {_number(n.threshold)})"
        )
    facts = [("What", what)]
    if delta is not None:
        relative = f" ({delta / abs(n.threshold):+.1%})" if n.threshold else ""
        facts.append(("By how much", f"{delta:+.4g}{relative} vs threshold"))
    facts.append(("Model", n.model))
    if n.feature:
        facts.append(("Feature", n.feature))
    if n.group:
        facts.append(("Group", n.group))
    if n.window_start is not None and n.window_end is not None:
        facts.append(("Window", f"{n.window_start.isoformat()} to {n.window_end.isoformat()}"))
    if n.since is not None:
        label = "Recovered in window from" if n.kind == "resolved" else "Breaching since"
        facts.append((label, n.since.isoformat()))
    facts.append(("Severity", n.severity))
    facts.append(("Rule", f"{n.rule} (fires after {n.for_windows} breaching window(s))"))
    for key, value in sorted(n.labels.items()):
        facts.append((f"Label {key}", value))
    return facts


def text_body(n: Notification, *, base_url: str | None = None) -> str:
    """Plain-text body (email)."""
    lines = [_headline(n), ""]
    lines += [f"{label}: {one_line(value)}" for label, value in _facts(n)]
    lines += ["", f"Dashboard: {dashboard_link(n, base_url=base_url)}"]
    if n.idempotency_key:
        lines.append(f"Notification id: {n.idempotency_key}")
    return "\n".join(lines) + "\n"


def html_body(n: Notification, *, base_url: str | None = None) -> str:
    """HTML body (email); all data text is HTML-escaped."""
    esc = html.escape
    rows = "".join(
        f"<tr><th align='left'>{esc(label)}</th><td>{esc(value)}</td></tr>"
        for label, value in _facts(n)
    )
    link = esc(dashboard_link(n, base_url=base_url), quote=True)
    return (
        "<!DOCTYPE html><html><body>"
        f"<h2>{esc(_headline(n))}</h2>"
        f"<table>{rows}</table>"
        f'<p><a href="{link}">Open in the dashboard</a></p>'
        "</body></html>"
    )


def slack_payload(n: Notification, *, base_url: str | None = None) -> dict[str, Any]:
    """A Slack Block Kit message; data text escaped so it cannot mention or link."""
    emoji = {"firing": ":red_circle:", "repeat": ":red_circle:", "resolved": ":large_green_circle:"}
    head = f"{emoji.get(n.kind, ':bell:')} {_headline(n)}"
    fields = [
        {"type": "mrkdwn", "text": f"*{label}*\n{slack_escape(one_line(value))}"}
        for label, value in _facts(n)
    ]
    link = dashboard_link(n, base_url=base_url)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",
            "text": {"type": "plain_text", "text": slack_escape(one_line(head)[:150])},
        },
        {"type": "section", "fields": fields[:10]},
    ]
    if len(fields) > 10:
        blocks.append({"type": "section", "fields": fields[10:20]})
    blocks.append(
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": f"<{slack_escape(link)}|Open in the dashboard>"},
        }
    )
    return {"text": slack_escape(one_line(head)), "blocks": blocks}


def webhook_payload(n: Notification, *, base_url: str | None = None) -> dict[str, Any]:
    """The generic webhook JSON body (documented in ``docs/alerts.md``)."""

    def iso(value: datetime | None) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "version": 1,
        "id": n.idempotency_key,
        "kind": n.kind,
        "state": n.state,
        "rule": n.rule,
        "severity": n.severity,
        "model": n.model,
        "metric": n.metric,
        "analyzer": n.analyzer,
        "feature": n.feature,
        "group": n.group,
        "op": n.op,
        "threshold": n.threshold,
        "value": n.value,
        "delta": n.delta,
        "window": {"start": iso(n.window_start), "end": iso(n.window_end)},
        "since": iso(n.since),
        "at": iso(n.at),
        "labels": dict(n.labels),
        "dashboard_url": dashboard_link(n, base_url=base_url),
    }
