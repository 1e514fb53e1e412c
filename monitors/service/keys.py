"""API keys: create (shown once), list, revoke, and check a presented key.

A key is ``dwk_<key_id>_<secret>``: 12 hex digits that find the stored row, then 43
URL-safe characters (256 random bits). The database keeps ``key_id``, a per-key random
salt and ``scrypt(secret, salt)`` — never the key — and a presented secret is compared
with :func:`hmac.compare_digest`. scrypt (n=2**14, r=8, p=1, about 40 ms) is the
stretching the brief asks for; because the secret is random, not a password, a
:class:`KeyChecker` remembers which secret verified against which stored hash, so a
busy client pays it once per process, while a revoked key is refused at its very
next request (the row is read on every request).

Standard library and :mod:`storage` only: ``driftwarden keys`` does not load FastAPI.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import datetime

from monitors.service.errors import ApiKeyError, AuthenticationError
from storage import apikeys
from storage.engine import get_engine, session_scope
from storage.models import ApiKey

__all__ = [
    "SCOPES",
    "KeyChecker",
    "KeyInfo",
    "NewKey",
    "Principal",
    "create_key",
    "hash_secret",
    "list_keys",
    "revoke_key",
]

#: Scopes, from narrow to wide: ``admin`` may do everything ``ingest`` and ``read`` may.
SCOPES = ("ingest", "read", "admin")
PREFIX = "dwk_"
ALGORITHM = "scrypt:n=16384,r=8,p=1"
_KEY_RE = re.compile(r"dwk_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}")
_ALG_RE = re.compile(r"scrypt:n=(\d+),r=(\d+),p=(\d+)")
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class KeyInfo:
    """A stored key as ``keys list`` shows it (never the secret)."""

    name: str
    key_id: str
    scope: str
    model: str | None
    created_at: datetime
    revoked_at: datetime | None

    @property
    def shown(self) -> str:
        """The key's public part, e.g. ``dwk_3fa2c81b09de_…``."""
        return f"{PREFIX}{self.key_id}_…"


@dataclass(frozen=True)
class NewKey:
    """A created key: ``key`` is printed once and cannot be shown again."""

    key: str
    info: KeyInfo


@dataclass(frozen=True)
class Principal:
    """Who a request is: the key's name, scope and model (``None``: every model)."""

    name: str
    scope: str
    model: str | None

    def has_scope(self, scope: str) -> bool:
        """``admin`` has every scope; others only their own."""
        return self.scope == "admin" or self.scope == scope

    def may_see(self, model: str) -> bool:
        """Whether this key may act on ``model``."""
        return self.model is None or self.model == model


def _info(row: ApiKey) -> KeyInfo:
    return KeyInfo(
        name=row.name,
        key_id=row.key_id,
        scope=row.scope,
        model=row.model,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
    )


def hash_secret(secret: str, salt: bytes, algorithm: str = ALGORITHM) -> bytes:
    """scrypt of ``secret`` with ``salt`` and the parameters named by ``algorithm``.

    Examples
    --------
    >>> len(hash_secret("s", b"0" * 16))
    32
    """
    match = _ALG_RE.fullmatch(algorithm)
    if match is None:
        raise ApiKeyError(f"unknown key hashing algorithm {algorithm!r}")
    n, r, p = (int(v) for v in match.groups())
    return hashlib.scrypt(
        secret.encode("ascii"), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=32
    )


def _check_new(name: str, scope: str, model: str | None) -> None:
    """One-line errors for a bad key name, scope or model name."""
    if not _NAME_RE.fullmatch(name):
        raise ApiKeyError(
            f"key name {name!r}: expected letters, digits, '_', '.' or '-' "
            "(up to 128, starting with a letter or digit)"
        )
    if scope not in SCOPES:
        raise ApiKeyError(f"--scope {scope!r}: expected one of {', '.join(SCOPES)}")
    if model is not None and not _NAME_RE.fullmatch(model):
        raise ApiKeyError(f"--model {model!r}: not a valid model name")


def create_key(url: str | None, name: str, *, scope: str, model: str | None = None) -> NewKey:
    """Create a key; its text is in the result and nowhere else.

    Parameters
    ----------
    url
        Database URL.
    name
        A unique name for the key (who uses it: ``fraud-scorer-prod``).
    scope
        ``ingest`` (POST predictions and labels), ``read`` (GET ``/v1`` and
        ``/metrics``) or ``admin`` (both).
    model
        Restrict the key to this model (``None``: every model).

    Raises
    ------
    ApiKeyError
        If the name is taken or invalid, or the scope is unknown.
    """
    _check_new(name, scope, model)
    key_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
    salt = secrets.token_bytes(16)
    with session_scope(get_engine(url)) as session:
        if apikeys.key_by_name(session, name) is not None:
            raise ApiKeyError(f"a key called {name!r} exists already; revoke it or pick a name")
        row = apikeys.add_key(
            session,
            name=name,
            key_id=key_id,
            salt=salt.hex(),
            secret_hash=hash_secret(secret, salt).hex(),
            algorithm=ALGORITHM,
            scope=scope,
            model=model,
        )
        info = _info(row)
    return NewKey(key=f"{PREFIX}{key_id}_{secret}", info=info)


def list_keys(url: str | None) -> list[KeyInfo]:
    """Every key (revoked ones too), by name."""
    with session_scope(get_engine(url)) as session:
        return [_info(row) for row in apikeys.keys(session)]


def revoke_key(url: str | None, name: str) -> KeyInfo:
    """Revoke the key called ``name`` (at once: its next request gets 401).

    Raises
    ------
    ApiKeyError
        If there is no such key.
    """
    with session_scope(get_engine(url)) as session:
        row = apikeys.key_by_name(session, name)
        if row is None:
            raise ApiKeyError(f"no key called {name!r} (see 'driftwarden keys list')")
        return _info(apikeys.revoke(session, row))


class KeyChecker:
    """Checks presented keys against the database (thread-safe; see the module notes)."""

    def __init__(self, url: str | None) -> None:
        self.url = url
        self._verified: dict[tuple[int, str], bytes] = {}
        self._lock = threading.Lock()

    def authenticate(self, token: str) -> Principal:
        """The principal of a presented key.

        Raises
        ------
        AuthenticationError
            If the key is malformed, unknown, revoked or wrong (one message for all, so
            a caller learns nothing about which).
        """
        refused = AuthenticationError("invalid or revoked API key")
        match = _KEY_RE.fullmatch(token)
        if match is None:
            raise refused
        key_id, secret = match.groups()
        with session_scope(get_engine(self.url)) as session:
            row = apikeys.key_by_id(session, key_id)
            if row is None or row.revoked_at is not None:
                raise refused
            slot, stored = (row.id, row.secret_hash), bytes.fromhex(row.secret_hash)
            salt, algorithm = bytes.fromhex(row.salt), row.algorithm
            principal = Principal(name=row.name, scope=row.scope, model=row.model)
        digest = hashlib.sha256(secret.encode("ascii")).digest()
        with self._lock:
            known = self._verified.get(slot)
        if known is not None and hmac.compare_digest(known, digest):
            return principal
        if not hmac.compare_digest(hash_secret(secret, salt, algorithm), stored):
            raise refused
        with self._lock:
            if len(self._verified) >= _CACHE_SIZE:
                self._verified.clear()
            self._verified[slot] = digest
        return principal
