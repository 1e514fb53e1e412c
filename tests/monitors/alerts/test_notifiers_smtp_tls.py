"""SMTP transport security against a real aiosmtpd server (issue #13 item 8).

The password used to go over plain TCP by default (STARTTLS off, ``AUTH PLAIN`` in clear).
Now STARTTLS is used whenever the server offers it, and a login over an unencrypted
connection is refused unless ``DRIFTWARDEN_SMTP_ALLOW_PLAINTEXT=true``. The servers here
accept AUTH over plain TCP on purpose (``auth_require_tls=False``): only the client can
protect the password.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from net_support import SmtpRecorder, make_cert

from monitors.alerts.message import Notification
from monitors.alerts.notifiers import Delivery, EmailNotifier, SmtpSettings
from monitors.errors import ConfigError

PLAINTEXT_REFUSED = (
    "refusing to send the SMTP password over an unencrypted connection (the server offers "
    "no STARTTLS, or DRIFTWARDEN_SMTP_STARTTLS=false); use STARTTLS or "
    "DRIFTWARDEN_SMTP_SSL=true, or set DRIFTWARDEN_SMTP_ALLOW_PLAINTEXT=true to allow it"
)


def note() -> Notification:
    at = datetime(2026, 3, 6, tzinfo=UTC)
    return Notification(
        kind="firing",
        rule="r",
        model="m",
        metric="psi",
        op=">",
        threshold=0.2,
        value=0.3,
        severity="critical",
        analyzer="drift",
        feature="age",
        window_start=at,
        window_end=at,
        since=at,
        at=at,
        idempotency_key="dw-key",
        channel="mail",
    )


def send() -> Delivery:
    return EmailNotifier(to=("oncall@example.com",), name="mail").send(note())


def point_at(monkeypatch: pytest.MonkeyPatch, server: SmtpRecorder, **extra: str) -> None:
    """``DRIFTWARDEN_SMTP_*`` for ``server`` with a login; STARTTLS and plaintext unset."""
    for name in ("STARTTLS", "ALLOW_PLAINTEXT", "SSL", "CA_FILE"):
        monkeypatch.delenv(f"DRIFTWARDEN_SMTP_{name}", raising=False)
    values = {
        "HOST": "127.0.0.1",
        "PORT": str(server.port),
        "FROM": "driftwarden@example.com",
        "TIMEOUT": "5",
        "USER": server.user,
        "PASSWORD": server.password,
        **extra,
    }
    for name, value in values.items():
        monkeypatch.setenv(f"DRIFTWARDEN_SMTP_{name}", value)


@pytest.fixture
def cert(tmp_path: Path) -> tuple[Path, Path]:
    return make_cert(tmp_path, ["127.0.0.1", "localhost"])


@pytest.fixture
def tls_offering(cert: tuple[Path, Path]) -> Iterator[SmtpRecorder]:
    """Offers STARTTLS (self-signed certificate) and AUTH (also over plain TCP)."""
    server = SmtpRecorder(cert=cert).start()
    yield server
    server.stop()


@pytest.fixture
def plain_only() -> Iterator[SmtpRecorder]:
    """Offers no STARTTLS, but AUTH over plain TCP (a downgraded or careless server)."""
    server = SmtpRecorder().start()
    yield server
    server.stop()


def test_starttls_is_used_by_default_when_offered(
    monkeypatch: pytest.MonkeyPatch, tls_offering: SmtpRecorder, cert: tuple[Path, Path]
) -> None:
    point_at(monkeypatch, tls_offering, CA_FILE=str(cert[0]))
    result = send()
    assert result.ok, result.error
    assert tls_offering.logins == [("alerts", "smtp-password", True)]
    assert [tls for _, tls in tls_offering.messages] == [True]


def test_login_over_plain_tcp_is_refused_by_default(
    monkeypatch: pytest.MonkeyPatch, plain_only: SmtpRecorder
) -> None:
    point_at(monkeypatch, plain_only)
    result = send()
    assert (result.ok, result.retryable) == (False, False)
    assert result.error == (
        f"Email channel 'mail' via 127.0.0.1:{plain_only.port}: {PLAINTEXT_REFUSED}"
    )
    assert plain_only.logins == [] and plain_only.messages == []


def test_starttls_false_with_login_is_refused(
    monkeypatch: pytest.MonkeyPatch, tls_offering: SmtpRecorder, cert: tuple[Path, Path]
) -> None:
    point_at(monkeypatch, tls_offering, CA_FILE=str(cert[0]), STARTTLS="false")
    result = send()
    assert not result.ok
    assert "DRIFTWARDEN_SMTP_ALLOW_PLAINTEXT=true" in (result.error or "")
    assert tls_offering.logins == []


def test_plaintext_login_allowed_when_asked(
    monkeypatch: pytest.MonkeyPatch, plain_only: SmtpRecorder
) -> None:
    point_at(monkeypatch, plain_only, ALLOW_PLAINTEXT="true")
    result = send()
    assert result.ok, result.error
    assert plain_only.logins == [("alerts", "smtp-password", False)]


def test_without_login_plain_servers_still_work(
    monkeypatch: pytest.MonkeyPatch, plain_only: SmtpRecorder
) -> None:
    point_at(monkeypatch, plain_only)
    monkeypatch.delenv("DRIFTWARDEN_SMTP_USER")
    monkeypatch.delenv("DRIFTWARDEN_SMTP_PASSWORD")
    result = send()
    assert result.ok, result.error
    assert [tls for _, tls in plain_only.messages] == [False]


def test_starttls_true_requires_the_server_to_offer_it(
    monkeypatch: pytest.MonkeyPatch, plain_only: SmtpRecorder
) -> None:
    point_at(monkeypatch, plain_only, STARTTLS="true", ALLOW_PLAINTEXT="true")
    result = send()
    assert (result.ok, result.retryable) == (False, False)
    assert result.error == (
        f"Email channel 'mail' via 127.0.0.1:{plain_only.port}: the server does not offer "
        "STARTTLS (DRIFTWARDEN_SMTP_STARTTLS=true requires it)"
    )
    assert plain_only.logins == [] and plain_only.messages == []


def test_untrusted_certificate_never_falls_back_to_plain_text(
    monkeypatch: pytest.MonkeyPatch, tls_offering: SmtpRecorder
) -> None:
    point_at(monkeypatch, tls_offering, ALLOW_PLAINTEXT="true")  # no CA file: not trusted
    result = send()
    assert (result.ok, result.retryable) == (False, False)
    assert "TLS certificate not trusted" in (result.error or "")
    assert tls_offering.logins == [] and tls_offering.messages == []


def test_bad_starttls_value_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DRIFTWARDEN_SMTP_STARTTLS", "ture")
    with pytest.raises(ConfigError, match="expected auto, true or false; got 'ture'"):
        SmtpSettings.from_env()
    result = send()
    assert (result.ok, result.retryable) == (False, False)
    assert result.error == (
        "Email channel 'mail': DRIFTWARDEN_SMTP_STARTTLS: expected auto, true or false; got 'ture'"
    )


@pytest.mark.parametrize(
    ("value", "mode"), [(None, "auto"), ("", "auto"), ("auto", "auto"), ("TRUE", "required")]
)
def test_starttls_modes(monkeypatch: pytest.MonkeyPatch, value: str | None, mode: str) -> None:
    if value is None:
        monkeypatch.delenv("DRIFTWARDEN_SMTP_STARTTLS", raising=False)
    else:
        monkeypatch.setenv("DRIFTWARDEN_SMTP_STARTTLS", value)
    settings = SmtpSettings.from_env()
    assert settings.starttls == mode
    assert "smtp-password" not in repr(SmtpSettings(password="smtp-password"))
