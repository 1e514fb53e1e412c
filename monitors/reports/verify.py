"""Verify an exported report file: ``verified``, ``altered`` or ``unknown``.

Two independent checks, either of which can vouch for a file:

* **Database** (when a URL is given): the file's embedded content hash must be in the
  ``report_export`` table. A JSON file is then checked by recomputing the hash of its
  content; an HTML, PDF or CSV file by its bytes' SHA-256, which must be one of the
  file hashes recorded for that export.
* **Signature** (when a public key is given and the file is signed by that key): the
  content signature must verify over the embedded hash; a JSON file's content must
  hash to it, and an HTML, PDF or CSV file's file signature must verify over its
  bytes with the signature slot zeroed (see :mod:`monitors.reports.signing`).

``altered`` when any check finds a mismatch (also: a JSON report whose content does
not hash to its own ``content_sha256``, or a signature by the given key that does not
verify); else ``verified`` when a check vouched for it; else ``unknown`` (hash not in
the database and no valid signature by a trusted key, or not a driftwarden report).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from monitors.reports.assemble import TITLE
from monitors.reports.canonical import content_sha256
from monitors.reports.signing import check, content_message, file_message, file_slot, public_key_hex
from storage.engine import get_engine, session_scope
from storage.models import ReportExport

Status = Literal["verified", "altered", "unknown"]
EXIT_CODES: Final[dict[str, int]] = {"verified": 0, "altered": 1, "unknown": 2}

_HEX = rb"([0-9a-f]{64,128})"
_FIELDS: Final = {
    "html": {
        "sha256": re.compile(rb'<meta name="driftwarden-sha256" content="' + _HEX + rb'">'),
        "signature": re.compile(rb'<meta name="driftwarden-signature" content="' + _HEX + rb'">'),
        "public_key": re.compile(rb'<meta name="driftwarden-public-key" content="' + _HEX + rb'">'),
    },
    "pdf": {
        "sha256": re.compile(rb"/driftwardensha256 \(" + _HEX + rb"\)"),
        "signature": re.compile(rb"/driftwardensignature \(" + _HEX + rb"\)"),
        "public_key": re.compile(rb"/driftwardenpublickey \(" + _HEX + rb"\)"),
    },
    "csv": {
        "sha256": re.compile(rb'^"?# content_sha256: ' + _HEX + rb'"?\r?$', re.M),
        "signature": re.compile(rb'^"?# signature: ' + _HEX + rb'"?\r?$', re.M),
        "public_key": re.compile(rb'^"?# public_key: ' + _HEX + rb'"?\r?$', re.M),
    },
}


@dataclass(frozen=True, slots=True)
class Verification:
    """Outcome of :func:`verify_file`, with the reasons behind it."""

    status: Status
    format: str | None
    content_sha256: str | None
    reasons: tuple[str, ...]

    @property
    def exit_code(self) -> int:
        """0 verified, 1 altered, 2 unknown."""
        return EXIT_CODES[self.status]


def detect_format(data: bytes, name: str = "") -> str | None:
    """``json``, ``html``, ``pdf`` or ``csv`` from the file's first bytes (else the suffix)."""
    head = data[:512].lstrip()
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"{"):
        return "json"
    if head[:15].lower().startswith((b"<!doctype html", b"<html")):
        return "html"
    if head.startswith((b"# ", b'"# ')):
        return "csv"
    suffix = Path(name).suffix.lower().lstrip(".")
    return suffix if suffix in ("json", "html", "pdf", "csv") else None


def _embedded(data: bytes, fmt: str) -> dict[str, str]:
    out = {}
    for key, pattern in _FIELDS[fmt].items():
        match = pattern.search(data)
        if match:
            out[key] = match.group(1).decode("ascii")
    return out


def _json_fields(data: bytes) -> tuple[dict[str, str], str | None]:
    """Embedded fields of a JSON export and the hash recomputed from its content."""
    try:
        doc = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return {}, None
    if not isinstance(doc, dict) or not isinstance(doc.get("content_sha256"), str):
        return {}, None
    fields = {"sha256": doc["content_sha256"], "report": str(doc.get("title"))}
    sig = doc.get("signature")
    if isinstance(sig, dict):
        for key, src in (("signature", "content_signature"), ("public_key", "public_key")):
            if isinstance(sig.get(src), str):
                fields[key] = sig[src]
    return fields, content_sha256(doc)


def _recorded_files(database_url: str, sha256: str) -> list[dict[str, Any]] | None:
    with session_scope(get_engine(database_url)) as session:
        rows = session.scalars(
            select(ReportExport).where(ReportExport.content_sha256 == sha256)
        ).all()
        if not rows:
            return None
        return [dict(v) for row in rows for v in (row.files or {}).values()]


def verify_bytes(
    data: bytes,
    *,
    name: str = "",
    database_url: str | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> Verification:
    """Verify the bytes of an exported report; see :func:`verify_file`."""
    fmt = detect_format(data, name)
    if fmt is None:
        return Verification("unknown", None, None, ("not a driftwarden report file",))
    recomputed: str | None = None
    if fmt == "json":
        fields, recomputed = _json_fields(data)
    else:
        fields = _embedded(data, fmt)
    sha = fields.get("sha256")
    if sha is None or len(sha) != 64:
        return Verification("unknown", fmt, None, ("no content_sha256 in the file",))
    file_hash = hashlib.sha256(data).hexdigest()
    verdicts: list[Status] = []
    reasons: list[str] = []
    if fmt == "json" and recomputed != sha and fields.get("report") == TITLE:
        verdicts.append("altered")
        reasons.append("the content does not hash to the embedded content_sha256")

    if database_url:
        recorded = _recorded_files(database_url, sha)
        if recorded is None:
            reasons.append("the content hash is not in the report_export table")
        elif fmt == "json":
            ok = recomputed == sha
            verdicts.append("verified" if ok else "altered")
            reasons.append("recorded export; content hash " + ("matches" if ok else "differs"))
        else:
            ok = any(f.get("sha256") == file_hash for f in recorded)
            verdicts.append("verified" if ok else "altered")
            reasons.append(
                "recorded export; file SHA-256 "
                + ("matches a recorded file" if ok else "matches no recorded file")
            )

    if public_key is not None and "signature" in fields:
        trusted = public_key_hex(public_key)
        if fields.get("public_key", trusted) != trusted:
            reasons.append("signed with a different key than the one given")
        elif not check(public_key, fields["signature"], content_message(sha)):
            verdicts.append("altered")
            reasons.append("the content signature does not verify over the embedded hash")
        elif fmt == "json":
            ok = recomputed == sha
            verdicts.append("verified" if ok else "altered")
            reasons.append("valid content signature; content " + ("matches" if ok else "differs"))
        else:
            slot = file_slot(data)
            if slot is None:
                verdicts.append("altered")
                reasons.append("signed content, but the file signature slot is missing")
            else:
                signature, zeroed = slot
                ok = check(public_key, signature, file_message(hashlib.sha256(zeroed).hexdigest()))
                verdicts.append("verified" if ok else "altered")
                reasons.append("file signature " + ("verifies" if ok else "does not verify"))
    elif "signature" in fields:
        reasons.append("signed, but no public key was given to check it")

    status: Status
    if "altered" in verdicts:
        status = "altered"
    elif "verified" in verdicts:
        status = "verified"
    else:
        status = "unknown"
    return Verification(status, fmt, sha, tuple(reasons))


def verify_file(
    path: Path,
    *,
    database_url: str | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> Verification:
    """Check an exported report file against the database and/or a signing key.

    Parameters
    ----------
    path : Path
        A JSON, HTML, PDF or CSV export (format detected from its bytes).
    database_url : str, optional
        Look the embedded hash up in ``report_export``; ``None`` skips the database.
    public_key : Ed25519PublicKey, optional
        Trusted key for signed exports; a file signed by another key is not vouched for.

    Returns
    -------
    Verification
        ``status`` ``verified``/``altered``/``unknown`` (``exit_code`` 0/1/2), the
        format, the embedded hash and the reasons.
    """
    return verify_bytes(
        path.read_bytes(), name=path.name, database_url=database_url, public_key=public_key
    )
