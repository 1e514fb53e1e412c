"""Slack incoming-webhook notifier (Block Kit message)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from monitors.alerts.message import Notification, slack_payload
from monitors.alerts.notifiers._http import post
from monitors.alerts.notifiers.base import DEFAULT_TIMEOUT_SECONDS, Delivery, env_value


@dataclass(frozen=True, slots=True)
class SlackNotifier:
    """Posts to the Slack incoming webhook whose URL is in ``webhook_url_env``.

    The URL is read when sending (it is a secret) and never appears in errors. The
    ``webhook-id`` header carries the notification's idempotency key.
    """

    webhook_url_env: str
    name: str = "slack"
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    dashboard_url: str | None = None

    def send(self, message: Notification) -> Delivery:
        """Send ``message``; see :class:`~monitors.alerts.notifiers.base.Delivery`."""
        what = f"Slack channel {self.name!r}"
        url = env_value(self.webhook_url_env)
        if url is None:
            return Delivery.permanent(
                f"{what}: environment variable {self.webhook_url_env} is not set"
            )
        body = json.dumps(
            slack_payload(message, base_url=self.dashboard_url), ensure_ascii=False
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "webhook-id": message.idempotency_key}
        return post(url, body, headers=headers, what=what, secrets=[], timeout=self.timeout)
