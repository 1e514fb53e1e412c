"""Queries on the ``api_key`` table (the HTTP collector's keys).

Only what identifies a key (``key_id``) and a salted hash of its secret are stored;
hashing and checking live in :mod:`monitors.service.keys`. Functions take the
:class:`~sqlalchemy.orm.Session` first; the caller owns the transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from storage.models import ApiKey, utcnow

__all__ = ["add_key", "key_by_id", "key_by_name", "keys", "revoke"]


def add_key(
    session: Session,
    *,
    name: str,
    key_id: str,
    salt: str,
    secret_hash: str,
    algorithm: str,
    scope: str,
    model: str | None,
) -> ApiKey:
    """Store a new key (its hash); the caller checks that ``name`` is free."""
    row = ApiKey(
        name=name,
        key_id=key_id,
        salt=salt,
        secret_hash=secret_hash,
        algorithm=algorithm,
        scope=scope,
        model=model,
    )
    session.add(row)
    session.flush()
    return row


def key_by_id(session: Session, key_id: str) -> ApiKey | None:
    """The key whose public part is ``key_id`` (revoked or not), or ``None``."""
    return session.scalar(select(ApiKey).where(ApiKey.key_id == key_id))


def key_by_name(session: Session, name: str) -> ApiKey | None:
    """The key called ``name``, or ``None``."""
    return session.scalar(select(ApiKey).where(ApiKey.name == name))


def keys(session: Session, *, include_revoked: bool = True) -> list[ApiKey]:
    """Every key by name (optionally only those not revoked)."""
    query = select(ApiKey).order_by(ApiKey.name)
    if not include_revoked:
        query = query.where(ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke(session: Session, key: ApiKey, *, at: datetime | None = None) -> ApiKey:
    """Mark ``key`` revoked (idempotent: the first revocation time is kept)."""
    if key.revoked_at is None:
        key.revoked_at = at or utcnow()
        session.flush()
    return key
