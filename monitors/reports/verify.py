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
not hash to its own ``content_sha256``, a JSON report with a duplicated key at any depth
or a ``NaN``/``Infinity`` literal, which no export contains and which readers may
interpret differently, a file carrying two different values of an embedded field, or a
signature by the given key that does not verify); else ``verified`` when a check vouched
for it; else ``unknown``, with the reason of each check that could not vouch (no database
record found, no signature, signature key not trusted, no key given, ...), or not a
driftwarden report.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from monitors.errors import ReportError
from monitors.reports.canonical import content_sha256
from monitors.reports.signing import (
    VERIFY_KEY_ENV,
    check,
    content_message,
    file_message,
    file_slot,
    load_public_key,
    public_key_hex,
)
from storage.engine import get_engine, session_scope
from storage.models import ReportExport

Status = Literal["verified", "altered", "unknown"]
EXIT_CODES: Final[dict[str, int]] = {"verified": 0, "altered": 1, "unknown": 2}
#: ``monitors.reports.assemble.TITLE``, not imported from there: that pulls in pandas and SciPy.
TITLE: Final = "Fairness audit report"
#: A public key file is a few hundred bytes; refuse to read anything much larger.
MAX_KEY_FILE_BYTES: Final = 64 * 1024

NO_RECORD: Final = "the content hash is not in the report_export table"
NO_SIGNATURE: Final = (
    "no signature: the file is not signed, so the given public key cannot vouch for it"
)
UNTRUSTED_KEY: Final = "signature key not trusted: signed with a different key than the one given"
NO_KEY: Final = "signature not checked: signed, but no public key was given to check it"
NOTHING_TO_CHECK: Final = (
    "nothing to check against: no database URL and no public key were given, "
    "and the file is not signed"
)

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


def _embedded(data: bytes, fmt: str) -> tuple[dict[str, str], list[str]]:
    """Embedded fields of an HTML/PDF/CSV export, and the fields present with two values."""
    out: dict[str, str] = {}
    conflicting: list[str] = []
    for key, pattern in _FIELDS[fmt].items():
        values = {m.group(1).decode("ascii") for m in pattern.finditer(data)}
        if len(values) > 1:
            conflicting.append(key)
        match = pattern.search(data)
        if match:
            out[key] = match.group(1).decode("ascii")
    return out, conflicting


def _strict_object(pairs: list[tuple[str, Any]], duplicates: list[str]) -> dict[str, Any]:
    """A JSON object from ``pairs``, noting every key that occurs more than once."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            duplicates.append(key)
        out[key] = value
    return out


def _json_fields(data: bytes) -> tuple[dict[str, str], str | None, list[str]]:
    """Embedded fields of a JSON export, the hash recomputed from its content, and problems.

    Problems: duplicated keys at any depth and ``NaN``/``Infinity`` literals (neither is in
    any export; readers that keep the first of two keys, or reject the literals, would see
    other content than the one hashed).
    """
    duplicates: list[str] = []
    constants: list[str] = []

    def constant(name: str) -> float:
        constants.append(name)
        return float(name.replace("Infinity", "inf"))

    try:
        doc = json.loads(
            data.decode("utf-8"),
            object_pairs_hook=lambda pairs: _strict_object(pairs, duplicates),
            parse_constant=constant,
        )
    except (UnicodeDecodeError, ValueError, RecursionError):
        return {}, None, []
    if not isinstance(doc, dict) or not isinstance(doc.get("content_sha256"), str):
        return {}, None, []
    fields = {"sha256": doc["content_sha256"], "report": str(doc.get("title"))}
    sig = doc.get("signature")
    if isinstance(sig, dict):
        for key, src in (("signature", "content_signature"), ("public_key", "public_key")):
            if isinstance(sig.get(src), str):
                fields[key] = sig[src]
    problems = []
    if duplicates:
        keys = ", ".join(repr(k) for k in dict.fromkeys(duplicates))
        problems.append(
            f"duplicated JSON key {keys}: an export never repeats a key, and readers that "
            "keep the first copy see other content than the one hashed"
        )
    if constants:
        problems.append(
            f"non-standard JSON literal {', '.join(dict.fromkeys(constants))}: "
            "an export never contains one"
        )
    return fields, content_sha256(doc), problems


def _recorded_files(database_url: str, sha256: str) -> list[dict[str, Any]] | None:
    with session_scope(get_engine(database_url)) as session:
        rows = session.scalars(
            select(ReportExport).where(ReportExport.content_sha256 == sha256)
        ).all()
        if not rows:
            return None
        return [dict(v) for row in rows for v in (row.files or {}).values()]


def _signature_check(
    data: bytes,
    fmt: str,
    fields: dict[str, str],
    recomputed: str | None,
    public_key: Ed25519PublicKey | None,
) -> tuple[Status | None, str | None]:
    """The signature check's verdict (``None``: no vouching) and its reason.

    The reason is ``None`` only when the file is unsigned and no key was given.
    """
    sha = fields["sha256"]
    if "signature" not in fields:
        return None, NO_SIGNATURE if public_key is not None else None
    if public_key is None:
        return None, NO_KEY
    trusted = public_key_hex(public_key)
    if fields.get("public_key", trusted) != trusted:
        return None, UNTRUSTED_KEY
    if not check(public_key, fields["signature"], content_message(sha)):
        return "altered", "the content signature does not verify over the embedded hash"
    if fmt == "json":
        ok = recomputed == sha
        return (
            "verified" if ok else "altered",
            "valid content signature; content " + ("matches" if ok else "differs"),
        )
    slot = file_slot(data)
    if slot is None:
        return "altered", "signed content, but the file signature slot is missing"
    signature, zeroed = slot
    ok = check(public_key, signature, file_message(hashlib.sha256(zeroed).hexdigest()))
    return (
        "verified" if ok else "altered",
        "file signature " + ("verifies" if ok else "does not verify"),
    )


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
        fields, recomputed, problems = _json_fields(data)
    else:
        fields, conflicting = _embedded(data, fmt)
        problems = [f"the file carries two different {key} values" for key in conflicting]
    sha = fields.get("sha256")
    if sha is None or len(sha) != 64:
        return Verification("unknown", fmt, None, ("no content_sha256 in the file",))
    if problems:
        return Verification("altered", fmt, sha, tuple(problems))
    file_hash = hashlib.sha256(data).hexdigest()
    verdicts: list[Status] = []
    reasons: list[str] = []
    if fmt == "json" and recomputed != sha and fields.get("report") == TITLE:
        verdicts.append("altered")
        reasons.append("the content does not hash to the embedded content_sha256")

    if database_url:
        recorded = _recorded_files(database_url, sha)
        if recorded is None:
            reasons.append(NO_RECORD)
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

    verdict, reason = _signature_check(data, fmt, fields, recomputed, public_key)
    if verdict is not None:
        verdicts.append(verdict)
    if reason is not None:
        reasons.append(reason)
    elif not database_url:
        reasons.append(NOTHING_TO_CHECK)

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
        format, the embedded hash and the reasons (at least one when ``unknown``).

    Raises
    ------
    ReportError
        If the file cannot be read.
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ReportError(
            f"report verify: cannot read {str(path)!r} ({reason}); expected an exported report file"
        ) from exc
    return verify_bytes(data, name=path.name, database_url=database_url, public_key=public_key)


def trusted_key(public_key_file: Path | None = None) -> Ed25519PublicKey | None:
    """The trusted public key: from ``public_key_file``, else ``$DRIFTWARDEN_VERIFY_KEY``.

    Parameters
    ----------
    public_key_file : Path, optional
        A file holding the key as PEM, base64 or hex of the raw 32 bytes
        (``--public-key FILE``).

    Returns
    -------
    Ed25519PublicKey or None
        ``None`` when no file is given and the variable is unset or empty.

    Raises
    ------
    ReportError
        One line naming the file or the variable, what is wrong and what is expected:
        a missing, unreadable, oversized or non-text file, or text that is not an Ed25519
        public key. The key text itself is never repeated.
    """
    if public_key_file is None:
        text = os.environ.get(VERIFY_KEY_ENV, "")
        return load_public_key(text, what=VERIFY_KEY_ENV) if text.strip() else None
    what = f"--public-key {str(public_key_file)!r}"
    expected = "expected a file holding an Ed25519 public key (PEM, base64 or hex)"
    try:
        with public_key_file.open("rb") as handle:
            raw = handle.read(MAX_KEY_FILE_BYTES + 1)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise ReportError(f"{what}: cannot read the file ({reason}); {expected}") from exc
    if len(raw) > MAX_KEY_FILE_BYTES:
        raise ReportError(f"{what}: the file is larger than {MAX_KEY_FILE_BYTES} bytes; {expected}")
    try:
        text = raw.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ReportError(f"{what}: the file is not ASCII text; {expected}") from exc
    if not text.strip():
        raise ReportError(f"{what}: the file is empty; {expected}")
    return load_public_key(text, what=what)
