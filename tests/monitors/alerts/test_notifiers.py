"""Notifiers against a real SMTP server and a real HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest

from monitors.alerts.message import Notification, dashboard_link
from monitors.alerts.notifiers import EmailNotifier, SlackNotifier, WebhookNotifier
from monitors.alerts.notifiers.email import message_id

START = datetime(2026, 3, 5, tzinfo=UTC)
END = datetime(2026, 3, 6, tzinfo=UTC)


def note(**kwargs: object) -> Notification:
    base: dict[str, object] = dict(
        kind="firing",
        rule="age-drift",
        model="credit",
        metric="psi",
        op=">",
        threshold=0.2,
        value=0.35,
        severity="critical",
        analyzer="drift",
        feature="age",
        window_start=START,
        window_end=END,
        since=START,
        at=END,
        idempotency_key="dw-1-2-firing-1772755200-abc",
        channel="oncall",
    )
    base.update(kwargs)
    return Notification(**base)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------- email


def test_email_plain_says_what_where_how_much_since_and_links(smtp_server) -> None:
    result = EmailNotifier(to=("oncall@example.com",), name="oncall").send(note())
    assert result.ok, result.error
    [msg] = smtp_server.messages
    assert (
        msg["Subject"].strip()
        == "[driftwarden] [critical] [FIRING] age-drift: psi on model credit, feature age"
    )
    assert msg["Message-ID"] == "<dw-1-2-firing-1772755200-abc@example.com>"
    text = msg.get_body(("plain",)).get_content()
    assert "psi = 0.35 is above the threshold 0.2" in text
    assert "By how much: +0.15 (+75.0%) vs threshold" in text
    assert f"Breaching since: {START.isoformat()}" in text
    assert dashboard_link(note()) in text


def test_email_message_id_is_stable_per_key(smtp_server) -> None:
    notifier = EmailNotifier(to=("oncall@example.com",))
    notifier.send(note())
    notifier.send(note())
    notifier.send(note(idempotency_key="dw-other"))
    ids = [m["Message-ID"] for m in smtp_server.messages]
    assert ids[0] == ids[1] != ids[2]
    assert ids[2] == message_id("dw-other", "driftwarden@example.com")


def test_email_escapes_html_and_keeps_subject_on_one_line(smtp_server) -> None:
    evil = note(feature="<script>alert(1)</script>\r\nBcc: victim@example.com", model="m\nX: y")
    assert EmailNotifier(to=("oncall@example.com",)).send(evil).ok
    [msg] = smtp_server.messages
    assert msg["Bcc"] is None and msg["X"] is None
    assert "\n" not in msg["Subject"] and "\r" not in msg["Subject"]
    html = msg.get_body(("html",)).get_content()
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_email_starttls_with_auth(smtp_tls_server) -> None:
    result = EmailNotifier(to=("oncall@example.com",)).send(note())
    assert result.ok, result.error
    assert smtp_tls_server.logins == [("alerts", "smtp-password")]
    assert len(smtp_tls_server.messages) == 1


def test_email_wrong_password_is_permanent(smtp_tls_server, monkeypatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_SMTP_PASSWORD", "wrong")
    result = EmailNotifier(to=("oncall@example.com",)).send(note())
    assert (result.ok, result.retryable) == (False, False)
    assert "SMTP 535" in (result.error or "")
    assert "wrong" not in (result.error or "")


@pytest.mark.parametrize(("code", "retryable"), [(451, True), (554, False)])
def test_smtp_reply_codes_classified(smtp_server, code: int, retryable: bool) -> None:
    smtp_server.reject_code = code
    result = EmailNotifier(to=("oncall@example.com",)).send(note())
    assert (result.ok, result.retryable) == (False, retryable)
    assert f"SMTP {code}" in (result.error or "")


def test_smtp_down_is_retryable(smtp_server) -> None:
    smtp_server.stop()
    result = EmailNotifier(to=("oncall@example.com",)).send(note())
    assert (result.ok, result.retryable) == (False, True)
    smtp_server.start()
    assert EmailNotifier(to=("oncall@example.com",)).send(note()).ok


# ------------------------------------------------------------------------------- HTTP


def test_slack_block_kit_escapes_mentions(http_server, monkeypatch) -> None:
    monkeypatch.setenv("SLACK_URL", http_server.url("/slack"))
    n = note(feature="<!channel>", group="a&b=<@U123>")
    assert SlackNotifier(webhook_url_env="SLACK_URL").send(n).ok
    [req] = http_server.requests
    assert req.headers["webhook-id"] == n.idempotency_key
    body = req.body.decode()
    assert "<!channel>" not in body and "<@U123>" not in body
    payload = json.loads(body)
    texts = json.dumps(payload["blocks"])
    assert "&lt;!channel&gt;" in texts and "a&amp;b=&lt;@U123&gt;" in texts
    assert payload["blocks"][0]["type"] == "header"


def test_webhook_signature_and_payload(http_server, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_URL", http_server.url("/retrain"))
    monkeypatch.setenv("HOOK_SECRET", "s3cret")
    n = note()
    assert WebhookNotifier(url_env="HOOK_URL", secret_env="HOOK_SECRET").send(n).ok
    [req] = http_server.requests
    expected = hmac.new(b"s3cret", req.body, hashlib.sha256).hexdigest()
    assert req.headers["x-driftwarden-signature"] == f"sha256={expected}"
    assert req.headers["webhook-id"] == n.idempotency_key
    payload = json.loads(req.body)
    assert {k: payload[k] for k in ("model", "metric", "value", "threshold", "kind")} == {
        "model": "credit",
        "metric": "psi",
        "value": 0.35,
        "threshold": 0.2,
        "kind": "firing",
    }
    assert payload["window"] == {"start": START.isoformat(), "end": END.isoformat()}
    assert payload["dashboard_url"] == dashboard_link(n)


@pytest.mark.parametrize(
    ("mode", "retryable", "retry_after"),
    [
        ("500", True, None),
        ("503", True, None),
        ("408", True, None),
        ("429", True, 120.0),
        ("400", False, None),
        ("404", False, None),
    ],
)
def test_http_failures_classified(http_server, monkeypatch, mode, retryable, retry_after) -> None:
    monkeypatch.setenv("HOOK_URL", http_server.url())
    http_server.mode = mode
    result = WebhookNotifier(url_env="HOOK_URL").send(note())
    assert (result.ok, result.retryable, result.retry_after) == (False, retryable, retry_after)
    assert f"HTTP {mode}" in (result.error or "")


def test_http_down_is_retryable(http_server, monkeypatch) -> None:
    monkeypatch.setenv("HOOK_URL", http_server.url())
    http_server.stop()
    result = WebhookNotifier(url_env="HOOK_URL").send(note())
    assert (result.ok, result.retryable) == (False, True)
    assert http_server.url() not in (result.error or "")


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/x",
        "http://localhost:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]:9/x",
        "http://192.168.0.10/x",
    ],
)
def test_private_targets_refused_by_default(monkeypatch, url: str) -> None:
    monkeypatch.delenv("DRIFTWARDEN_ALLOW_PRIVATE_WEBHOOKS", raising=False)
    monkeypatch.setenv("HOOK_URL", url)
    result = WebhookNotifier(url_env="HOOK_URL").send(note())
    assert (result.ok, result.retryable) == (False, False)
    assert "private address" in (result.error or "")
    assert url not in (result.error or "")


def test_unset_url_env_is_permanent(monkeypatch) -> None:
    monkeypatch.delenv("NOPE_URL", raising=False)
    result = SlackNotifier(webhook_url_env="NOPE_URL").send(note())
    assert (result.ok, result.retryable, result.error) == (
        False,
        False,
        "Slack channel 'slack': environment variable NOPE_URL is not set",
    )


@pytest.mark.parametrize(
    ("analyzer", "page"),
    [
        ("drift", "/drift"),
        ("quality", "/quality"),
        ("performance", "/performance"),
        ("fairness", "/fairness"),
        ("explain", "/explanations"),
    ],
)
def test_dashboard_link(monkeypatch, analyzer: str, page: str) -> None:
    monkeypatch.setenv("DRIFTWARDEN_DASHBOARD_URL", "https://dw.example.com/base/")
    link = dashboard_link(note(analyzer=analyzer, feature="a b&c", group="sex=F"))
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "dw.example.com", "/base" + page)
    assert parse_qs(parts.query) == {
        "model": ["credit"],
        "from": [START.isoformat()],
        "to": [END.isoformat()],
        "feature": ["a b&c"],
        "group": ["sex=F"],
    }
