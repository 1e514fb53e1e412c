"""Ed25519 signatures of report exports (``cryptography``).

Keys
----
``DRIFTWARDEN_SIGNING_KEY`` holds the *private* key itself (not a path), either as
PEM text (``-----BEGIN PRIVATE KEY-----``, PKCS#8, unencrypted) or as the base64 of
the raw 32-byte key. ``DRIFTWARDEN_VERIFY_KEY`` (or ``--public-key FILE``) holds the
*public* key as PEM (``-----BEGIN PUBLIC KEY-----``) or the base64 of its raw 32
bytes. A key pair can be made with ``openssl genpkey -algorithm ed25519``.

What is signed
--------------
* the content: ``driftwarden-report:content_sha256:<hex>`` — carried by every format
  (JSON ``signature.content_signature``; HTML/PDF/CSV next to the hash);
* for HTML, PDF and CSV also the file: ``driftwarden-report:file_sha256:<hex>``, the
  SHA-256 of the file's bytes with its file-signature slot (``dwfilesig-`` followed by
  128 hex digits) set to zeros. The slot has a fixed length, so filling it in after
  signing leaves every other byte (and PDF offsets) unchanged. A JSON export needs no
  file signature: its hash is recomputed from its content.

Signatures and the public key are written as lowercase hex (128 and 64 digits).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import re
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from monitors.errors import ReportError

SIGNING_KEY_ENV: Final = "DRIFTWARDEN_SIGNING_KEY"
VERIFY_KEY_ENV: Final = "DRIFTWARDEN_VERIFY_KEY"
ALGORITHM: Final = "Ed25519"
FILE_SIG_PREFIX: Final = b"dwfilesig-"
FILE_SIG_PLACEHOLDER: Final = FILE_SIG_PREFIX + b"0" * 128
FILE_SIG_RE: Final = re.compile(rb"dwfilesig-([0-9a-f]{128})")


def content_message(sha256: str) -> bytes:
    """The bytes signed for a content hash."""
    return f"driftwarden-report:content_sha256:{sha256}".encode("ascii")


def file_message(sha256: str) -> bytes:
    """The bytes signed for a file hash (with its signature slot zeroed)."""
    return f"driftwarden-report:file_sha256:{sha256}".encode("ascii")


def _raw_b64(text: str, *, what: str) -> bytes:
    """The 32 raw key bytes of base64 ``text`` (:class:`ReportError` naming ``what``)."""
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ReportError(
            f"{what}: expected PEM or base64 of 32 raw bytes; got text that is neither"
        ) from exc
    if len(raw) != 32:
        raise ReportError(f"{what}: expected 32 raw bytes (base64); got {len(raw)} bytes")
    return raw


def _public_from_raw(raw: bytes, *, what: str) -> Ed25519PublicKey:
    """An Ed25519 public key from its 32 raw bytes (:class:`ReportError` if invalid)."""
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as exc:
        raise ReportError(f"{what}: expected an Ed25519 public key; got invalid key bytes") from exc


def load_private_key(text: str, *, what: str = SIGNING_KEY_ENV) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM text or base64 of the raw 32 bytes.

    Raises
    ------
    ReportError
        If the text is neither, or the PEM key is not an Ed25519 private key. The
        message never repeats the key.
    """
    text = text.strip()
    if text.startswith("-----BEGIN"):
        try:
            key = serialization.load_pem_private_key(text.encode("ascii"), password=None)
        except (ValueError, TypeError) as exc:
            raise ReportError(f"{what}: expected an unencrypted PEM Ed25519 private key") from exc
        if not isinstance(key, Ed25519PrivateKey):
            raise ReportError(f"{what}: expected an Ed25519 key; got {type(key).__name__}")
        return key
    try:
        return Ed25519PrivateKey.from_private_bytes(_raw_b64(text, what=what))
    except ValueError as exc:
        if isinstance(exc, ReportError):
            raise
        raise ReportError(
            f"{what}: expected an Ed25519 private key; got invalid key bytes"
        ) from exc


def load_public_key(text: str, *, what: str = VERIFY_KEY_ENV) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM text, base64 or hex of the raw 32 bytes.

    Parameters
    ----------
    text : str
        The key text (``$DRIFTWARDEN_VERIFY_KEY`` or the content of ``--public-key``).
    what : str
        Where the text came from, named in error messages.

    Raises
    ------
    ReportError
        One line naming ``what`` and the expected forms when the text is not an Ed25519
        public key (a private key, another algorithm, bad PEM, wrong length). The message
        never repeats the text.
    """
    text = text.strip()
    if text.startswith("-----BEGIN"):
        if "PRIVATE KEY" in text.partition("\n")[0]:
            raise ReportError(
                f"{what}: expected a PEM Ed25519 *public* key; got a private key "
                "(keep it secret; derive the public key with `openssl pkey -pubout`)"
            )
        try:
            key = serialization.load_pem_public_key(text.encode("ascii"))
        except (ValueError, TypeError) as exc:
            raise ReportError(
                f"{what}: expected a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----); "
                "got PEM that does not load as one"
            ) from exc
        if not isinstance(key, Ed25519PublicKey):
            raise ReportError(f"{what}: expected an Ed25519 key; got {type(key).__name__}")
        return key
    if re.fullmatch(r"[0-9a-fA-F]{64}", text):
        return _public_from_raw(bytes.fromhex(text), what=what)
    return _public_from_raw(_raw_b64(text, what=what), what=what)


def public_key_hex(key: Ed25519PublicKey) -> str:
    """The raw public key as 64 hex digits."""
    return key.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    ).hex()


@dataclass(frozen=True, slots=True)
class Signer:
    """Signs content and file hashes with one Ed25519 private key."""

    key: Ed25519PrivateKey

    @classmethod
    def from_env(cls) -> Signer | None:
        """The signer of ``DRIFTWARDEN_SIGNING_KEY``, or ``None`` when it is unset/empty."""
        text = os.environ.get(SIGNING_KEY_ENV, "")
        return cls(load_private_key(text)) if text.strip() else None

    @property
    def public_key(self) -> str:
        """The public key as 64 hex digits."""
        return public_key_hex(self.key.public_key())

    def sign_content(self, sha256: str) -> str:
        """Signature (hex) of a content hash."""
        return self.key.sign(content_message(sha256)).hex()

    def sign_file(self, data: bytes) -> bytes:
        """``data`` with its zeroed file-signature slot filled with the file signature.

        Raises
        ------
        ReportError
            If ``data`` has no slot or more than one.
        """
        if data.count(FILE_SIG_PLACEHOLDER) != 1:
            raise ReportError(
                "file signature: expected exactly one signature slot in the rendered file; "
                f"got {data.count(FILE_SIG_PLACEHOLDER)}"
            )
        digest = hashlib.sha256(data).hexdigest()
        signature = self.key.sign(file_message(digest)).hex().encode("ascii")
        return data.replace(FILE_SIG_PLACEHOLDER, FILE_SIG_PREFIX + signature)


def check(key: Ed25519PublicKey, signature_hex: str, message: bytes) -> bool:
    """Whether ``signature_hex`` is ``key``'s signature of ``message``."""
    try:
        key.verify(bytes.fromhex(signature_hex), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def file_slot(data: bytes) -> tuple[str, bytes] | None:
    """``(file signature, bytes with the slot zeroed)``, or ``None`` if there is no single slot."""
    found = FILE_SIG_RE.findall(data)
    if len(found) != 1:
        return None
    signature = found[0].decode("ascii")
    return signature, FILE_SIG_RE.sub(FILE_SIG_PLACEHOLDER, data)
