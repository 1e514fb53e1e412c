"""Notifiers: one ``send(notification) -> Delivery`` method per channel type."""

from __future__ import annotations

from monitors.alerts.notifiers.base import Delivery, Notifier, redact
from monitors.alerts.notifiers.email import EmailNotifier, SmtpSettings
from monitors.alerts.notifiers.slack import SlackNotifier
from monitors.alerts.notifiers.target import check_target, non_public_reason, parse_target
from monitors.alerts.notifiers.webhook import WebhookNotifier, signature
from monitors.alerts.rules import EmailChannelConfig, SlackChannelConfig, WebhookChannelConfig

__all__ = [
    "Delivery",
    "EmailNotifier",
    "Notifier",
    "SlackNotifier",
    "SmtpSettings",
    "WebhookNotifier",
    "build_notifier",
    "check_target",
    "non_public_reason",
    "parse_target",
    "redact",
    "signature",
]


def build_notifier(
    name: str,
    config: EmailChannelConfig | SlackChannelConfig | WebhookChannelConfig,
    *,
    dashboard_url: str | None = None,
) -> Notifier:
    """The notifier for a channel configuration (secrets are resolved when sending)."""
    if isinstance(config, EmailChannelConfig):
        return EmailNotifier(
            to=tuple(config.to), cc=tuple(config.cc), name=name, dashboard_url=dashboard_url
        )
    if isinstance(config, SlackChannelConfig):
        return SlackNotifier(
            webhook_url_env=config.webhook_url_env, name=name, dashboard_url=dashboard_url
        )
    return WebhookNotifier(
        url_env=config.url_env,
        secret_env=config.secret_env,
        name=name,
        dashboard_url=dashboard_url,
    )
