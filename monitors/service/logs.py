"""Logging for ``driftwarden serve``: uvicorn's format, with secrets redacted on every line.

uvicorn's access log prints the client, the request line and the status — no headers,
so the ``Authorization`` header never reaches it. As a second guard every record of
every handler passes :class:`RedactSecrets`, which replaces anything that looks like a
driftwarden key (``dwk_…``), a bearer token or a password in a database URL.
"""

from __future__ import annotations

import logging
import re
from typing import Any

__all__ = ["RedactSecrets", "log_config"]

_SECRETS = [
    (re.compile(r"dwk_[0-9a-f]{12}_[A-Za-z0-9_-]+"), "dwk_***"),
    (re.compile(r"(?i)(bearer\s+)[^\s'\",]+"), r"\1***"),
    (re.compile(r"(//[^/@:\s]*:)[^/@\s]*@"), r"\1***@"),
]


def redact(text: str) -> str:
    """``text`` with keys, bearer tokens and URL passwords replaced by ``***``.

    Examples
    --------
    >>> redact("Authorization: Bearer dwk_0123456789ab_secret")
    'Authorization: Bearer ***'
    """
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """A filter that redacts the formatted message (and its arguments) of each record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


def log_config(level: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: uvicorn's handlers plus ``driftwarden``, redacted."""
    from uvicorn.config import LOGGING_CONFIG

    config: dict[str, Any] = {
        **LOGGING_CONFIG,
        "filters": {"redact": {"()": RedactSecrets}},
        "handlers": {
            name: {**handler, "filters": ["redact"]}
            for name, handler in LOGGING_CONFIG["handlers"].items()
        },
        "loggers": {
            **LOGGING_CONFIG["loggers"],
            "driftwarden": {"handlers": ["default"], "level": level.upper(), "propagate": False},
        },
    }
    return config
