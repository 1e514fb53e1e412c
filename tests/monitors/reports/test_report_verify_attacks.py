"""``report verify`` against forged files, and clean errors for bad keys (issue #13, 12-13).

* a JSON report with a duplicated key (first copy forged, last copy original) verified
  against the database: readers that keep the first key saw forged numbers;
* a report stripped of its signature gave ``unknown`` with no reason;
* ``--public-key /nonexistent`` gave a traceback.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report_helpers import END, MODEL, START, MonitoredModel, private_pem, public_b64

from monitors.analyzers.fairness import FairnessConfig
from monitors.errors import ReportError
from monitors.reports.assemble import TITLE
from monitors.reports.canonical import canonical_json, content_sha256
from monitors.reports.export import ExportResult, export_report
from monitors.reports.signing import VERIFY_KEY_ENV, Signer, load_public_key
from monitors.reports.verify import (
    NO_KEY,
    NO_RECORD,
    NO_SIGNATURE,
    NOTHING_TO_CHECK,
    UNTRUSTED_KEY,
    trusted_key,
    verify_bytes,
)

CONFIG = FairnessConfig(n_bootstrap=20, seed=3)


@pytest.fixture(scope="module")
def plain(monitored: MonitoredModel, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    return export_report(
        monitored.url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path_factory.mktemp("plain"),
        formats=["json", "html", "csv"],
        sensitive=["sex"],
        config=CONFIG,
    )


@pytest.fixture(scope="module")
def signed(
    monitored: MonitoredModel,
    tmp_path_factory: pytest.TempPathFactory,
    signing_key: Ed25519PrivateKey,
) -> ExportResult:
    return export_report(
        monitored.url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path_factory.mktemp("signed"),
        formats=["json", "html", "csv"],
        sensitive=["sex"],
        config=CONFIG,
        signer=Signer(signing_key),
    )


def read(result: ExportResult, fmt: str) -> bytes:
    [path] = [p for p in result.files if p.suffix == f".{fmt}"]
    return path.read_bytes()


def forged_groups(doc: dict) -> list:
    """The report's groups with every selection rate set to 0.5 (the 'forged' numbers)."""
    text = json.dumps(doc["groups"])
    return json.loads(re.sub(r'("value": )[0-9.e-]+', r"\g<1>0.5", text))


# ------------------------------------------------------------------ duplicated keys


def test_duplicated_top_level_key_is_altered(
    monitored: MonitoredModel, plain: ExportResult
) -> None:
    """Forged ``groups`` first, original last: the hash of the last-key reading matches."""
    data = read(plain, "json")
    doc = json.loads(data)
    forged = forged_groups(doc)
    assert forged != doc["groups"]
    attack = b'{"groups":' + json.dumps(forged).encode() + b"," + data[1:]
    assert json.loads(attack)["groups"] == doc["groups"]  # a last-key reader: original
    result = verify_bytes(attack, database_url=monitored.url)
    assert (result.status, result.exit_code) == ("altered", 1), result.reasons
    assert any("duplicated JSON key 'groups'" in reason for reason in result.reasons)
    assert verify_bytes(data, database_url=monitored.url).status == "verified"


@pytest.mark.parametrize("key", ["ci_high", "selection_rate", "content_sha256", "title"])
def test_duplicated_key_at_any_depth_is_altered(
    monitored: MonitoredModel, plain: ExportResult, key: str
) -> None:
    data = read(plain, "json")
    marker = f'"{key}":'.encode()
    at = data.index(marker)
    value = {
        "ci_high": b"0.999",
        "selection_rate": b'{"ci_high":0.9,"ci_low":0.8,"value":0.85}',
        "content_sha256": b'"' + b"0" * 64 + b'"',
        "title": b'"A forged title"',
    }[key]
    attack = data[:at] + marker + value + b"," + data[at:]
    result = verify_bytes(attack, database_url=monitored.url)
    assert (result.status, result.exit_code) == ("altered", 1), result.reasons
    assert any(f"duplicated JSON key '{key}'" in reason for reason in result.reasons)


def test_duplicated_key_in_signed_json_is_altered_without_database(
    signed: ExportResult, signing_key: Ed25519PrivateKey
) -> None:
    data = read(signed, "json")
    doc = json.loads(data)
    attack = b'{"groups":' + json.dumps(forged_groups(doc)).encode() + b"," + data[1:]
    assert verify_bytes(data, public_key=signing_key.public_key()).status == "verified"
    result = verify_bytes(attack, public_key=signing_key.public_key())
    assert result.status == "altered", result.reasons


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity"])
def test_non_standard_literals_are_altered(literal: bytes) -> None:
    """``NaN`` hashes like ``null`` (canonical form), but no export contains one."""
    content = {"title": TITLE, "groups": [{"value": None}]}
    doc = {**content, "content_sha256": content_sha256(content)}
    data = canonical_json(doc) + b"\n"
    assert verify_bytes(data).status == "unknown"
    attack = data.replace(b'"value":null', b'"value":' + literal)
    result = verify_bytes(attack)
    assert result.status == "altered"
    assert result.reasons == (
        f"non-standard JSON literal {literal.decode()}: an export never contains one",
    )


@pytest.mark.parametrize("fmt", ["html", "csv"])
def test_two_different_embedded_hashes_are_altered(plain: ExportResult, fmt: str) -> None:
    data = read(plain, fmt)
    other = hashlib.sha256(b"another report").hexdigest().encode()
    if fmt == "html":
        meta = b'<meta name="driftwarden-sha256" content="' + other + b'">'
        attack = data.replace(b"<meta ", meta + b"<meta ", 1)
    else:
        attack = b"# content_sha256: " + other + b"\r\n" + data
    result = verify_bytes(attack)
    assert result.status == "altered"
    assert result.reasons == ("the file carries two different sha256 values",)


# ------------------------------------------------------------------ every unknown has a reason


def strip_signature(data: bytes, fmt: str) -> bytes:
    if fmt == "json":
        doc = json.loads(data)
        del doc["signature"]
        return canonical_json(doc) + b"\n"
    stripped = re.sub(rb'<meta name="driftwarden-signature" content="[0-9a-f]+">', b"", data)
    stripped = re.sub(rb'"?# signature: [0-9a-f]+"?\r?\n', b"", stripped)
    assert stripped != data
    return stripped


@pytest.mark.parametrize("fmt", ["json", "html", "csv"])
def test_stripped_signature_with_trusted_key_is_unknown_no_signature(
    signed: ExportResult, signing_key: Ed25519PrivateKey, fmt: str
) -> None:
    stripped = strip_signature(read(signed, fmt), fmt)
    result = verify_bytes(stripped, public_key=signing_key.public_key())
    assert (result.status, result.exit_code) == ("unknown", 2)
    assert result.reasons == (NO_SIGNATURE,)
    assert NO_SIGNATURE.startswith("no signature")


def test_every_unknown_verdict_says_why(
    plain: ExportResult,
    signed: ExportResult,
    signing_key: Ed25519PrivateKey,
    tmp_path: Path,
) -> None:
    other_key = Ed25519PrivateKey.generate().public_key()
    empty_db = f"sqlite:///{tmp_path / 'empty.db'}"
    cases = [
        (read(plain, "json"), {}, (NOTHING_TO_CHECK,)),
        (read(plain, "html"), {"database_url": empty_db}, (NO_RECORD,)),
        (read(plain, "csv"), {"public_key": other_key}, (NO_SIGNATURE,)),
        (read(signed, "json"), {"public_key": other_key}, (UNTRUSTED_KEY,)),
        (read(signed, "html"), {}, (NO_KEY,)),
        (
            read(signed, "csv"),
            {"database_url": empty_db, "public_key": other_key},
            (NO_RECORD, UNTRUSTED_KEY),
        ),
    ]
    for data, kwargs, reasons in cases:
        result = verify_bytes(data, **kwargs)  # type: ignore[arg-type]
        assert (result.status, result.reasons) == ("unknown", reasons)
    assert NO_RECORD == "the content hash is not in the report_export table"
    assert UNTRUSTED_KEY.startswith("signature key not trusted")


# ------------------------------------------------------------------ key loading: one-line errors


def test_trusted_key_from_file_and_environment(
    signing_key: Ed25519PrivateKey, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = signing_key.public_key().public_bytes_raw()
    pem = signing_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = tmp_path / "key.pem"
    path.write_bytes(pem)
    key = trusted_key(path)
    assert key is not None and key.public_bytes_raw() == raw
    monkeypatch.setenv(VERIFY_KEY_ENV, public_b64(signing_key))
    from_env = trusted_key()
    assert from_env is not None and from_env.public_bytes_raw() == raw
    monkeypatch.setenv(VERIFY_KEY_ENV, "  ")
    assert trusted_key() is None


def _bad_file(tmp_path: Path, kind: str) -> Path:
    if kind == "missing":
        return tmp_path / "nonexistent" / "key.pem"
    if kind == "directory":
        return tmp_path
    path = tmp_path / f"{kind}.key"
    content = {"binary": b"\xff\xfe\x00key", "empty": b"\n", "big": b"A" * 70_000}
    path.write_bytes(content.get(kind, b"not a key at all!"))
    return path


@pytest.mark.parametrize(
    ("kind", "message"),
    [
        ("missing", "cannot read the file (No such file or directory); expected a file"),
        ("directory", "cannot read the file (Is a directory); expected a file"),
        ("binary", "the file is not ASCII text; expected a file"),
        ("empty", "the file is empty; expected a file"),
        ("big", "the file is larger than 65536 bytes; expected a file"),
        ("garbage", "expected PEM or base64 of 32 raw bytes; got text that is neither"),
    ],
)
def test_bad_public_key_file_is_one_line_report_error(
    tmp_path: Path, kind: str, message: str
) -> None:
    path = _bad_file(tmp_path, kind)
    with pytest.raises(ReportError, match=re.escape(message)) as info:
        trusted_key(path)
    text = str(info.value)
    assert text.startswith(f"--public-key {str(path)!r}: ") and "\n" not in text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("not a key!", "expected PEM or base64 of 32 raw bytes; got text that is neither"),
        ("AAAA", "expected 32 raw bytes (base64); got 3 bytes"),
        (
            "-----BEGIN PUBLIC KEY-----\nxx\n-----END PUBLIC KEY-----",
            "expected a PEM Ed25519 public key (-----BEGIN PUBLIC KEY-----); got PEM that does "
            "not load as one",
        ),
        ("PRIVATE", "expected a PEM Ed25519 *public* key; got a private key"),
        ("é" * 44, "expected PEM or base64 of 32 raw bytes"),
    ],
)
def test_malformed_verify_key_env_is_one_line_report_error(
    monkeypatch: pytest.MonkeyPatch, signing_key: Ed25519PrivateKey, value: str, message: str
) -> None:
    if value == "PRIVATE":
        value = private_pem(signing_key)
    monkeypatch.setenv(VERIFY_KEY_ENV, value)
    with pytest.raises(ReportError, match=re.escape(f"{VERIFY_KEY_ENV}: {message}")) as info:
        trusted_key()
    assert "\n" not in str(info.value) and value.strip() not in str(info.value)


def test_load_public_key_never_raises_anything_but_report_error() -> None:
    for text in ["", "=" * 44, "A" * 43 + "=", "0" * 64 + "0", "ff" * 32 + "\x00"]:
        try:
            load_public_key(text, what="KEY")
        except ReportError as exc:
            assert str(exc).startswith("KEY: ")
