"""Email notifier over SMTP (STARTTLS when offered, or implicit TLS), settings from the environment.

Environment variables (read when sending):

``DRIFTWARDEN_SMTP_HOST`` (default ``localhost``), ``DRIFTWARDEN_SMTP_PORT`` (default 587
with ``STARTTLS=true``, 465 with SSL, else 25), ``DRIFTWARDEN_SMTP_USER`` and
``DRIFTWARDEN_SMTP_PASSWORD`` (log in when the user is set),
``DRIFTWARDEN_SMTP_STARTTLS`` (``auto``, the default: upgrade with STARTTLS whenever the
server offers it; ``true``: require it; ``false``: never), ``DRIFTWARDEN_SMTP_SSL``
(implicit TLS, default ``false``), ``DRIFTWARDEN_SMTP_ALLOW_PLAINTEXT`` (default ``false``:
the password is never sent over an unencrypted connection; ``true`` allows it),
``DRIFTWARDEN_SMTP_FROM`` (default ``driftwarden@localhost``), ``DRIFTWARDEN_SMTP_TIMEOUT``
(seconds, default 10). TLS certificates are verified with the system store;
``DRIFTWARDEN_SMTP_CA_FILE`` names an extra CA bundle. A server that offers STARTTLS but
whose certificate does not verify is an error, never a fallback to plain text.
"""

from __future__ import annotations

import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate
from typing import Final, Literal

from monitors.alerts.message import Notification, html_body, subject, text_body
from monitors.alerts.notifiers.base import (
    DEFAULT_TIMEOUT_SECONDS,
    Delivery,
    env_flag,
    env_value,
    redact,
)
from monitors.errors import ConfigError

ENV_PREFIX: Final = "DRIFTWARDEN_SMTP_"
ALLOW_PLAINTEXT_ENV: Final = ENV_PREFIX + "ALLOW_PLAINTEXT"
StartTls = Literal["auto", "required", "off"]
_STARTTLS_VALUES: Final[dict[str, StartTls]] = {
    "auto": "auto",
    "true": "required",
    "1": "required",
    "yes": "required",
    "on": "required",
    "false": "off",
    "0": "off",
    "no": "off",
    "off": "off",
}


def _starttls_mode() -> StartTls:
    """``DRIFTWARDEN_SMTP_STARTTLS`` as a mode (unset or empty: ``auto``)."""
    text = (env_value(ENV_PREFIX + "STARTTLS") or "auto").strip().lower()
    try:
        return _STARTTLS_VALUES[text]
    except KeyError:
        raise ConfigError(
            f"{ENV_PREFIX}STARTTLS: expected auto, true or false; got {text!r}"
        ) from None


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """SMTP connection settings. ``repr`` hides the password.

    ``starttls``: ``auto`` upgrades whenever the server offers STARTTLS, ``required``
    fails when it does not, ``off`` never upgrades. ``allow_plaintext`` allows logging in
    over an unencrypted connection (refused by default).
    """

    host: str = "localhost"
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: StartTls = "auto"
    ssl: bool = False
    sender: str = "driftwarden@localhost"
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    ca_file: str | None = None
    allow_plaintext: bool = False

    def __repr__(self) -> str:
        return (
            f"SmtpSettings(host={self.host!r}, port={self.port}, user={self.user!r}, "
            f"password={'***' if self.password else None}, starttls={self.starttls!r}, "
            f"ssl={self.ssl}, sender={self.sender!r}, allow_plaintext={self.allow_plaintext})"
        )

    @classmethod
    def from_env(cls) -> SmtpSettings:
        """Settings from ``DRIFTWARDEN_SMTP_*`` variables (see the module docstring).

        Raises
        ------
        ConfigError
            If ``DRIFTWARDEN_SMTP_STARTTLS`` is not ``auto``, ``true`` or ``false``.
        """
        use_ssl = env_flag(ENV_PREFIX + "SSL")
        starttls = _starttls_mode()
        port_text = env_value(ENV_PREFIX + "PORT")
        default_port = 465 if use_ssl else 587 if starttls == "required" else 25
        try:
            port = int(port_text) if port_text else default_port
        except ValueError:
            port = -1
        timeout_text = env_value(ENV_PREFIX + "TIMEOUT")
        try:
            timeout = float(timeout_text) if timeout_text else DEFAULT_TIMEOUT_SECONDS
        except ValueError:
            timeout = DEFAULT_TIMEOUT_SECONDS
        return cls(
            host=env_value(ENV_PREFIX + "HOST") or "localhost",
            port=port,
            user=env_value(ENV_PREFIX + "USER"),
            password=env_value(ENV_PREFIX + "PASSWORD"),
            starttls=starttls,
            ssl=use_ssl,
            sender=env_value(ENV_PREFIX + "FROM") or "driftwarden@localhost",
            timeout=timeout,
            ca_file=env_value(ENV_PREFIX + "CA_FILE"),
            allow_plaintext=env_flag(ALLOW_PLAINTEXT_ENV),
        )


def message_id(idempotency_key: str, sender: str) -> str:
    """A stable ``Message-ID`` for an outbox row, derived from its idempotency key.

    Examples
    --------
    >>> message_id("dw-1-2-firing-100-abc", "alerts@example.com")
    '<dw-1-2-firing-100-abc@example.com>'
    """
    domain = sender.rpartition("@")[2] or "driftwarden"
    local = "".join(ch if ch.isalnum() or ch in "-._" else "-" for ch in idempotency_key)
    return f"<{local or 'driftwarden'}@{domain}>"


def build_email(
    message: Notification,
    *,
    sender: str,
    to: list[str],
    cc: list[str] | None = None,
    dashboard_url: str | None = None,
) -> EmailMessage:
    """The email for ``message``: text and HTML alternatives, stable ``Message-ID``."""
    email = EmailMessage()
    email["Subject"] = subject(message)
    email["From"] = sender
    email["To"] = ", ".join(to)
    if cc:
        email["Cc"] = ", ".join(cc)
    email["Date"] = formatdate(
        message.at.timestamp() if message.at is not None else None, usegmt=True
    )
    if message.idempotency_key:
        email["Message-ID"] = message_id(message.idempotency_key, sender)
        email["X-Driftwarden-Idempotency-Key"] = message.idempotency_key
    email.set_content(text_body(message, base_url=dashboard_url))
    email.add_alternative(html_body(message, base_url=dashboard_url), subtype="html")
    return email


def _classify(exc: BaseException, what: str, secrets: list[str | None]) -> Delivery:
    """SMTP 4xx, disconnects, timeouts and network errors are retryable; SMTP 5xx permanent."""
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
        text = redact(f"{what}: recipients refused ({', '.join(map(str, codes))})", secrets)
        if codes and all(400 <= code < 500 for code in codes):
            return Delivery.retry(text)
        return Delivery.permanent(text)
    if isinstance(exc, smtplib.SMTPResponseException):
        detail = exc.smtp_error
        reply = detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)
        text = redact(f"{what}: SMTP {exc.smtp_code} {reply}".strip(), secrets)
        if 400 <= exc.smtp_code < 500:
            return Delivery.retry(text)
        return Delivery.permanent(text)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return Delivery.permanent(redact(f"{what}: {exc}", secrets))
    if isinstance(exc, ssl.SSLCertVerificationError):
        return Delivery.permanent(
            redact(f"{what}: TLS certificate not trusted ({exc.reason})", secrets)
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return Delivery.retry(f"{what}: timed out")
    if isinstance(exc, smtplib.SMTPException | OSError):
        return Delivery.retry(redact(f"{what}: {type(exc).__name__}: {exc}", secrets))
    raise exc


@dataclass(frozen=True, slots=True)
class EmailNotifier:
    """Sends notifications by email.

    ``settings`` defaults to :meth:`SmtpSettings.from_env`, read at every send.
    """

    to: tuple[str, ...]
    cc: tuple[str, ...] = ()
    settings: SmtpSettings | None = None
    name: str = "email"
    dashboard_url: str | None = None

    def send(self, message: Notification) -> Delivery:
        """Send ``message``; see :class:`~monitors.alerts.notifiers.base.Delivery`."""
        try:
            settings = self.settings or SmtpSettings.from_env()
        except ConfigError as exc:
            return Delivery.permanent(f"Email channel {self.name!r}: {exc}")
        what = f"Email channel {self.name!r} via {settings.host}:{settings.port}"
        secrets = [settings.password]
        if settings.port <= 0 or settings.port > 65535:
            return Delivery.permanent(f"{what}: DRIFTWARDEN_SMTP_PORT must be a port number")
        email = build_email(
            message,
            sender=settings.sender,
            to=list(self.to),
            cc=list(self.cc),
            dashboard_url=self.dashboard_url,
        )
        context = ssl.create_default_context(cafile=settings.ca_file)
        try:
            smtp: smtplib.SMTP
            if settings.ssl:
                smtp = smtplib.SMTP_SSL(
                    settings.host, settings.port, timeout=settings.timeout, context=context
                )
            else:
                smtp = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
            with smtp:
                refused = _secure(smtp, settings, context)
                if refused is not None:
                    return Delivery.permanent(f"{what}: {refused}")
                if settings.user:
                    smtp.login(settings.user, settings.password or "")
                smtp.send_message(email, to_addrs=[*self.to, *self.cc])
        except (smtplib.SMTPException, OSError) as exc:
            return _classify(exc, what, secrets)
        return Delivery.delivered()


def _secure(smtp: smtplib.SMTP, settings: SmtpSettings, context: ssl.SSLContext) -> str | None:
    """Upgrade with STARTTLS as configured; why the session may not go on, or ``None``.

    Refuses to go on when STARTTLS is required but not offered, and when a login would
    send the password over an unencrypted connection (unless plain text is allowed).
    """
    encrypted = settings.ssl
    if not settings.ssl and settings.starttls != "off":
        smtp.ehlo_or_helo_if_needed()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=context)
            smtp.ehlo()
            encrypted = True
        elif settings.starttls == "required":
            return f"the server does not offer STARTTLS ({ENV_PREFIX}STARTTLS=true requires it)"
    if settings.user and not encrypted and not settings.allow_plaintext:
        return (
            "refusing to send the SMTP password over an unencrypted connection (the server "
            f"offers no STARTTLS, or {ENV_PREFIX}STARTTLS=false); use STARTTLS or "
            f"{ENV_PREFIX}SSL=true, or set {ALLOW_PLAINTEXT_ENV}=true to allow it"
        )
    return None
