"""Rendered exports: escaping, injection, PDF text, tampering, signatures, paths."""

from __future__ import annotations

import csv
import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fairlearn.metrics import MetricFrame, selection_rate
from pypdf import PdfReader
from report_helpers import END, MODEL, START, MonitoredModel, private_pem, public_b64

from monitors.analyzers.fairness import FairnessConfig
from monitors.errors import ReportError
from monitors.reports.export import ExportResult, confined_path, export_report, report_filename
from monitors.reports.render import neutralise
from monitors.reports.signing import Signer, load_private_key, load_public_key
from monitors.reports.verify import verify_bytes, verify_file
from storage.engine import get_engine, session_scope
from storage.models import ReportExport

CONFIG = FairnessConfig(n_bootstrap=40, seed=1)
FORMATS = ("json", "html", "csv", "pdf")
#: WeasyPrint is slow here: the PDF is rendered once, in the (short) signed export.
UNSIGNED_FORMATS = ("json", "html", "csv")


@pytest.fixture(scope="module")
def exported(monitored: MonitoredModel, tmp_path_factory: pytest.TempPathFactory) -> ExportResult:
    return export_report(
        monitored.url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path_factory.mktemp("out"),
        formats=UNSIGNED_FORMATS,
        config=CONFIG,
        created_by="auditor",
    )


@pytest.fixture(scope="module")
def signed(
    monitored: MonitoredModel,
    tmp_path_factory: pytest.TempPathFactory,
    signing_key: Ed25519PrivateKey,
) -> ExportResult:
    """Signed exports of one attribute (a short PDF)."""
    return export_report(
        monitored.url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path_factory.mktemp("signed"),
        formats=FORMATS,
        sensitive=["sex"],
        config=CONFIG,
        signer=Signer(signing_key),
    )


@pytest.fixture
def either(request: pytest.FixtureRequest, fmt: str) -> ExportResult:
    """The unsigned export, or the signed one for PDF."""
    result: ExportResult = request.getfixturevalue("signed" if fmt == "pdf" else "exported")
    return result


def _file(result: ExportResult, fmt: str) -> Path:
    [path] = [p for p in result.files if p.suffix == f".{fmt}"]
    return path


def _selection_rates(monitored: MonitoredModel) -> Any:
    rows = monitored.frame[(monitored.frame["ts"] >= START) & (monitored.frame["ts"] < END)]
    return MetricFrame(
        metrics=selection_rate,
        y_true=rows["label"],
        y_pred=rows["pred"],
        sensitive_features=rows["sex"].astype(object),
    ).by_group


# anchors: a digit after them is a number of the report, not the hash or a signature
ANCHORS = {
    "json": b'"selection_rate":{"ci_high":0.',
    "html": b'<td class="num">0.',
    "csv": b"sex,sex=F,F,",
    "pdf": b"/MediaBox [",
}


def tamper(data: bytes, fmt: str) -> bytes:
    """``data`` with one digit after the format's anchor changed."""
    start = data.index(ANCHORS[fmt]) + len(ANCHORS[fmt])
    match = re.compile(rb"[0-9]").search(data, start)
    assert match is not None
    i = match.start()
    digit = b"%d" % ((int(data[i : i + 1]) + 1) % 10)
    return data[:i] + digit + data[i + 1 :]


def test_files_are_named_from_model_period_and_hash(exported: ExportResult) -> None:
    sha = exported.report.content_sha256
    assert sorted(p.name for p in exported.files) == sorted(
        f"credit_20240301T000000Z_20240308T000000Z_{sha[:12]}.{f}" for f in UNSIGNED_FORMATS
    )


def test_export_is_recorded(monitored: MonitoredModel, exported: ExportResult) -> None:
    with session_scope(get_engine(monitored.url)) as session:
        row = session.get(ReportExport, exported.export_id)
        assert row is not None
        assert row.content_sha256 == exported.report.content_sha256
        assert row.created_by == "auditor"
        assert row.parameters == dict(exported.report.parameters)
        assert set(row.files) == {p.name for p in exported.files}
        assert row.signature is None


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_carries_the_hash_and_verifies(
    monitored: MonitoredModel, either: ExportResult, fmt: str
) -> None:
    path = _file(either, fmt)
    assert either.report.content_sha256.encode() in path.read_bytes()
    result = verify_file(path, database_url=monitored.url)
    assert (result.status, result.format, result.exit_code) == ("verified", fmt, 0)


@pytest.mark.parametrize("fmt", FORMATS)
def test_one_changed_digit_is_detected(
    monitored: MonitoredModel, either: ExportResult, fmt: str
) -> None:
    data = _file(either, fmt).read_bytes()
    changed = tamper(data, fmt)
    assert changed != data
    result = verify_bytes(changed, database_url=monitored.url)
    assert (result.status, result.exit_code) == ("altered", 1)


def test_json_self_inconsistency_is_altered_without_database(exported: ExportResult) -> None:
    changed = tamper(_file(exported, "json").read_bytes(), "json")
    assert verify_bytes(changed).status == "altered"


def test_json_with_forged_hash_is_unknown(
    monitored: MonitoredModel, exported: ExportResult
) -> None:
    doc = json.loads(_file(exported, "json").read_bytes())
    doc["data"]["n_rows"] += 1
    doc.pop("content_sha256")
    from monitors.reports.canonical import canonical_json, content_sha256

    doc["content_sha256"] = content_sha256(doc)
    result = verify_bytes(canonical_json(doc), database_url=monitored.url)
    assert result.status == "unknown"
    assert "the content hash is not in the report_export table" in result.reasons


@pytest.mark.parametrize("fmt", FORMATS)
def test_report_unknown_to_another_database_is_unknown(
    either: ExportResult, tmp_path: Path, fmt: str
) -> None:
    other = "sqlite:///" + str(tmp_path / "other.db")
    result = verify_file(_file(either, fmt), database_url=other)
    assert (result.status, result.exit_code) == ("unknown", 2)


def test_unrelated_file_is_unknown(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello 0123456789")
    assert verify_file(path).status == "unknown"


def test_html_is_self_contained_and_escaped(exported: ExportResult) -> None:
    html = _file(exported, "html").read_bytes()
    assert re.search(rb"https?://", html) is None
    assert re.search(rb"(src|href)\s*=", html) is None
    assert b"<script" not in html
    assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in html
    sha = exported.report.content_sha256.encode()
    assert b'<meta name="driftwarden-sha256" content="' + sha + b'">' in html
    footer = html[html.index(b"<footer>") :]
    assert sha in footer and b"driftwarden 0.1.0" in footer and b"seed 1" in footer


def test_csv_neutralises_formulas_and_keeps_numbers(exported: ExportResult) -> None:
    text = _file(exported, "csv").read_text(encoding="utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    comments = [r[0] for r in rows if r and r[0].startswith("# ")]
    assert f"# content_sha256: {exported.report.content_sha256}" in comments
    assert any(c.startswith("# thresholds: ") for c in comments)
    table = [r for r in rows if r and not r[0].startswith("# ")]
    header, body = table[0], table[1:]
    age = header.index("age_band")
    values = {r[age] for r in body if r[age]}
    assert "'=cmd()" in values and "=cmd()" not in values
    assert all(not cell.startswith(("=", "+", "@", "\t", "\r")) for r in body for cell in r)
    for row in body:
        for cell in row[header.index("n") :]:
            if cell not in ("", "true", "false"):
                float(cell)  # numeric cells stay plain numbers


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+41", "'+41"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("sex=F", "sex=F"),
        ("", ""),
    ],
)
def test_neutralise(cell: str, expected: str) -> None:
    assert neutralise(cell) == expected


def test_pdf_text_and_metadata_hold_the_key_numbers(
    monitored: MonitoredModel, signed: ExportResult
) -> None:
    reader = PdfReader(_file(signed, "pdf"))
    text = "\n".join(page.extract_text() for page in reader.pages)
    sha = signed.report.content_sha256
    assert sha in text.replace("\n", "").replace(" ", "")
    for rate in _selection_rates(monitored):
        assert f"{rate:.4f}" in text
    assert reader.metadata is not None
    assert reader.metadata["/Keywords"] == f"driftwarden-sha256:{sha}"
    assert reader.metadata["/driftwardensha256"] == sha


@pytest.mark.parametrize("fmt", FORMATS)
def test_signed_export_verifies_without_database(
    signed: ExportResult, signing_key: Ed25519PrivateKey, fmt: str
) -> None:
    key = signing_key.public_key()
    data = _file(signed, fmt).read_bytes()
    assert verify_bytes(data, public_key=key).status == "verified"
    assert verify_bytes(tamper(data, fmt), public_key=key).status == "altered"
    other = Ed25519PrivateKey.generate().public_key()
    assert verify_bytes(data, public_key=other).status == "unknown"
    assert verify_bytes(data).status == "unknown"


def test_signed_json_is_reproducible(
    monitored: MonitoredModel, signed: ExportResult, signing_key: Ed25519PrivateKey, tmp_path: Path
) -> None:
    again = export_report(
        monitored.url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path,
        formats=["json"],
        sensitive=["sex"],
        config=CONFIG,
        signer=Signer(signing_key),
    )
    assert again.files[0].name == _file(signed, "json").name
    assert again.files[0].read_bytes() == _file(signed, "json").read_bytes()
    doc = json.loads(again.files[0].read_bytes())
    assert doc["signature"]["public_key"] == signing_key.public_key().public_bytes_raw().hex()


def test_forged_hash_with_signature_is_altered(
    signed: ExportResult, signing_key: Ed25519PrivateKey
) -> None:
    data = _file(signed, "html").read_bytes()
    sha = signed.report.content_sha256.encode()
    forged = data.replace(sha, b"0" * 64)
    result = verify_bytes(forged, public_key=signing_key.public_key())
    assert result.status == "altered"


def test_keys_load_from_pem_and_base64(signing_key: Ed25519PrivateKey) -> None:
    pem = load_private_key(private_pem(signing_key))
    raw = signing_key.private_bytes_raw()
    import base64

    b64 = load_private_key(base64.b64encode(raw).decode())
    assert pem.private_bytes_raw() == b64.private_bytes_raw() == raw
    pub = load_public_key(public_b64(signing_key))
    assert pub.public_bytes_raw() == signing_key.public_key().public_bytes_raw()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not a key!", "KEY: expected PEM or base64 of 32 raw bytes; got text that is neither"),
        ("AAAA", "KEY: expected 32 raw bytes (base64); got 3 bytes"),
        ("-----BEGIN PRIVATE KEY-----\nxx\n-----END PRIVATE KEY-----", "KEY: expected an "),
    ],
)
def test_bad_signing_key(text: str, message: str) -> None:
    with pytest.raises(ReportError, match=re.escape(message)):
        load_private_key(text, what="KEY")


def test_file_names_cannot_traverse(tmp_path: Path) -> None:
    t0, t1 = datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 2, 1, tzinfo=UTC)
    for name in ("../../etc/passwd", "..", "/abs/path", "a\\..\\b", "..\x00x"):
        filename = report_filename(name, t0, t1, "f" * 64, "html")
        assert "/" not in filename and "\\" not in filename and not filename.startswith(".")
        assert confined_path(tmp_path, filename).parent == tmp_path.resolve()
    root = tmp_path.resolve()
    for bad in ("../escape.json", "sub/../../escape.json", "/etc/passwd"):
        with pytest.raises(ReportError, match=re.escape(f"report file {bad!r}: expected a file")):
            confined_path(tmp_path, bad)
    (tmp_path / "link.json").symlink_to(tmp_path.parent / "elsewhere.json")
    with pytest.raises(ReportError, match=re.escape(f"directly inside {str(root)!r}")):
        confined_path(tmp_path, "link.json")


def test_export_and_verify_on_shared_database(database_url: str, tmp_path: Path) -> None:
    """The export record and its lookup work on every backend of ``database_url``."""
    from report_helpers import make_frame, register, seed_history

    register(database_url, make_frame(n=120))
    seed_history(database_url)
    result = export_report(
        database_url,
        MODEL,
        start=START,
        end=END,
        out_dir=tmp_path,
        formats=["json", "csv"],
        config=FairnessConfig(n_bootstrap=10),
    )
    assert result.report.content["alert_history"]["rules"] == ["dir-sex"]
    for path in result.files:
        assert verify_file(path, database_url=database_url).status == "verified"
        changed = tamper(path.read_bytes(), path.suffix.lstrip("."))
        assert verify_bytes(changed, database_url=database_url).status == "altered"
