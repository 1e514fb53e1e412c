"""Generic JSON webhook notifier, signed with HMAC-SHA256."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass

from monitors.alerts.message import Notification, webhook_payload
from monitors.alerts.notifiers._http import post
from monitors.alerts.notifiers.base import DEFAULT_TIMEOUT_SECONDS, Delivery, env_value

SIGNATURE_HEADER = "X-Driftwarden-Signature"


def signature(body: bytes, secret: str) -> str:
    """``sha256=<hex HMAC-SHA256 of body with secret>`` (the signature header value).

    Examples
    --------
    >>> signature(b"{}", "s3cret")[:15]
    'sha256=adbde1ce'
    """
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class WebhookNotifier:
    """POSTs the JSON payload to the URL in ``url_env``.

    Headers: ``Content-Type: application/json``, ``webhook-id`` (the idempotency key) and,
    when ``secret_env`` is set, ``X-Driftwarden-Signature`` over the exact body bytes.
    """

    url_env: str
    secret_env: str | None = None
    name: str = "webhook"
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    dashboard_url: str | None = None

    def send(self, message: Notification) -> Delivery:
        """Send ``message``; see :class:`~monitors.alerts.notifiers.base.Delivery`."""
        what = f"Webhook channel {self.name!r}"
        url = env_value(self.url_env)
        if url is None:
            return Delivery.permanent(f"{what}: environment variable {self.url_env} is not set")
        secret = None
        if self.secret_env is not None:
            secret = env_value(self.secret_env)
            if secret is None:
                return Delivery.permanent(
                    f"{what}: environment variable {self.secret_env} is not set"
                )
        body = json.dumps(
            webhook_payload(message, base_url=self.dashboard_url),
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        ).encode("utf-8")
        headers = {"Content-Type": "application/json", "webhook-id": message.idempotency_key}
        if secret is not None:
            headers[SIGNATURE_HEADER] = signature(body, secret)
        return post(url, body, headers=headers, what=what, secrets=[secret], timeout=self.timeout)
