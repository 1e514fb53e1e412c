"""``driftwarden report`` through Typer's CliRunner: export, verify, exit codes."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from report_helpers import MODEL, MonitoredModel, private_pem, public_b64
from typer.testing import CliRunner

from monitors.cli.report import report_command

app = typer.Typer()
app.command("report")(report_command)


@app.callback()
def _main() -> None:
    """Group callback, so that ``report`` is a subcommand as in the main CLI."""


runner = CliRunner()
PERIOD = ["--from", "2024-03-01T00:00:00Z", "--to", "2024-03-08T00:00:00Z"]


def _export(url: str, out: Path, *extra: str) -> list[Path]:
    result = runner.invoke(
        app,
        ["report", MODEL, *PERIOD, "--format", "json,csv", "--out", str(out)]
        + ["--database-url", url, "--n-bootstrap", "20", "--created-by", "tester", *extra],
    )
    assert result.exit_code == 0, result.output
    return [Path(line) for line in result.stdout.splitlines()]


def test_export_then_verify_exit_codes(monitored: MonitoredModel, tmp_path: Path) -> None:
    paths = _export(monitored.url, tmp_path)
    assert sorted(p.suffix for p in paths) == [".csv", ".json"]
    assert all(p.parent == tmp_path.resolve() for p in paths)
    for path in paths:
        ok = runner.invoke(app, ["report", "verify", str(path), "--database-url", monitored.url])
        assert (ok.exit_code, ok.stdout.strip()) == (0, "verified")
        data = path.read_bytes()
        i = data.index(b"0.", data.index(b"sex=F")) + 2
        path.write_bytes(data[:i] + (b"1" if data[i : i + 1] != b"1" else b"2") + data[i + 1 :])
        bad = runner.invoke(app, ["report", "verify", str(path), "--database-url", monitored.url])
        assert (bad.exit_code, bad.stdout.strip()) == (1, "altered")
    stranger = tmp_path / "other.json"
    stranger.write_text('{"content_sha256": "' + "a" * 64 + '"}')
    unknown = runner.invoke(app, ["report", "verify", str(stranger)])
    assert (unknown.exit_code, unknown.stdout.strip()) == (2, "unknown")


def test_threshold_option_changes_the_hash(monitored: MonitoredModel, tmp_path: Path) -> None:
    [base] = [p for p in _export(monitored.url, tmp_path / "a") if p.suffix == ".json"]
    [strict] = [
        p
        for p in _export(
            monitored.url, tmp_path / "b", "--threshold", "demographic_parity_difference=0.01"
        )
        if p.suffix == ".json"
    ]
    assert base.name != strict.name
    assert b'"demographic_parity_difference":0.01' in strict.read_bytes()


def test_signed_export_verifies_with_public_key_only(
    monitored: MonitoredModel,
    tmp_path: Path,
    signing_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DRIFTWARDEN_SIGNING_KEY", private_pem(signing_key))
    paths = _export(monitored.url, tmp_path, "--sensitive", "sex")
    monkeypatch.delenv("DRIFTWARDEN_SIGNING_KEY")
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    key_file = tmp_path / "key.pub"
    key_file.write_text(public_b64(signing_key))
    for path in paths:
        by_file = runner.invoke(app, ["report", "verify", str(path), "--public-key", str(key_file)])
        assert (by_file.exit_code, by_file.stdout.strip()) == (0, "verified")
        monkeypatch.setenv("DRIFTWARDEN_VERIFY_KEY", public_b64(signing_key))
        by_env = runner.invoke(app, ["report", "verify", str(path)])
        assert by_env.exit_code == 0
        monkeypatch.delenv("DRIFTWARDEN_VERIFY_KEY")
        no_key = runner.invoke(app, ["report", "verify", str(path)])
        assert (no_key.exit_code, no_key.stdout.strip()) == (2, "unknown")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--threshold", "nope=1"], "error: --threshold nope: expected one of "),
        (
            ["--threshold", "four_fifths"],
            "error: --threshold: expected KEY=VALUE; got 'four_fifths'",
        ),
        (
            ["--threshold", "four_fifths=x"],
            "error: --threshold four_fifths: expected a number; got 'x'",
        ),
        (
            ["--format", "docx"],
            "error: --format: expected a list of html, pdf, json, csv; got 'docx'",
        ),
        (["--sensitive", "zip"], "error: "),
    ],
)
def test_bad_options_exit_1(
    monitored: MonitoredModel, tmp_path: Path, args: list[str], message: str
) -> None:
    result = runner.invoke(
        app,
        ["report", MODEL, *PERIOD, "--out", str(tmp_path), "--database-url", monitored.url, *args],
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(message)
    assert list(tmp_path.iterdir()) == []


def test_missing_period_and_unknown_model(monitored: MonitoredModel, tmp_path: Path) -> None:
    missing = runner.invoke(app, ["report", MODEL, "--database-url", monitored.url])
    assert missing.exit_code == 1
    assert "--from and --to are required" in missing.stderr
    unknown = runner.invoke(
        app, ["report", "nosuch", *PERIOD, "--database-url", monitored.url, "--out", str(tmp_path)]
    )
    assert unknown.exit_code == 1
    assert re.search(r"unknown model 'nosuch'", unknown.stderr)


def test_verify_without_file_is_an_error(tmp_path: Path) -> None:
    """Errors exit 1; only the verdict ``unknown`` exits 2."""
    result = runner.invoke(app, ["report", "verify"])
    assert (result.exit_code, result.stderr) == (
        1,
        "error: report verify: expected a FILE argument; got none\n",
    )
    gone = runner.invoke(app, ["report", "verify", str(tmp_path / "missing.json")])
    assert gone.exit_code == 1
    assert gone.stderr.startswith("error: report verify: cannot read ")
    assert gone.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("key_text", "message"),
    [
        (None, "cannot read the file (No such file or directory)"),
        ("not a key", "expected"),
    ],
)
def test_verify_bad_public_key_is_one_line_exit_1(
    monitored: MonitoredModel, tmp_path: Path, key_text: str | None, message: str
) -> None:
    [path] = [p for p in _export(monitored.url, tmp_path / "out") if p.suffix == ".json"]
    key = tmp_path / "key.pub"
    if key_text is not None:
        key.write_text(key_text)
    result = runner.invoke(app, ["report", "verify", str(path), "--public-key", str(key)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"error: --public-key {str(key)!r}: ")
    assert message in result.stderr and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output


def test_verify_explains_each_check(monitored: MonitoredModel, tmp_path: Path) -> None:
    [path] = [p for p in _export(monitored.url, tmp_path) if p.suffix == ".json"]
    result = runner.invoke(app, ["report", "verify", str(path), "--database-url", monitored.url])
    assert (result.exit_code, result.stdout) == (0, "verified\n")
    lines = [line.strip() for line in result.stderr.splitlines()]
    sha = path.stem.rsplit("_", 1)[1]
    assert lines[0].startswith(f"content hash: {sha}") and lines[0].endswith(
        "the content hashes to it"
    )
    assert lines[1] == (
        f"database record in {monitored.url}: recorded export; content hash matches"
    )
    assert lines[2] == "signature: not checked (the file is not signed and no public key was given)"
    assert lines[3].startswith("verdict: verified (a check vouched for the file")


def test_verify_explains_an_altered_file(monitored: MonitoredModel, tmp_path: Path) -> None:
    [path] = [p for p in _export(monitored.url, tmp_path) if p.suffix == ".json"]
    data = path.read_bytes()
    i = data.index(b"0.", data.index(b"sex=F")) + 2
    path.write_bytes(data[:i] + (b"1" if data[i : i + 1] != b"1" else b"2") + data[i + 1 :])
    result = runner.invoke(app, ["report", "verify", str(path), "--database-url", monitored.url])
    assert (result.exit_code, result.stdout) == (1, "altered\n")
    lines = [line.strip() for line in result.stderr.splitlines()]
    assert lines[0].endswith("the content does NOT hash to it")
    assert lines[1].endswith("recorded export; content hash differs")
    assert "finding: the content does not hash to the embedded content_sha256" in lines
    assert lines[-1].startswith("verdict: altered (a check found a mismatch")


def test_verify_finds_the_database_like_every_command(
    monitored: MonitoredModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``$DRIFTWARDEN_DATABASE_URL``, else ``./driftwarden.db`` if it exists; never created."""
    [path] = [p for p in _export(monitored.url, tmp_path / "out") if p.suffix == ".csv"]
    here = tmp_path / "cwd"
    here.mkdir()
    monkeypatch.chdir(here)
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL", raising=False)
    monkeypatch.delenv("DRIFTWARDEN_VERIFY_KEY", raising=False)

    alone = runner.invoke(app, ["report", "verify", str(path)])
    assert (alone.exit_code, alone.stdout) == (2, "unknown\n")
    assert "database record: not checked (no --database-url and no sqlite:///driftwarden.db " in (
        alone.stderr
    )
    assert "verdict: unknown (no check could vouch" in alone.stderr
    assert not (here / "driftwarden.db").exists()

    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", monitored.url)
    by_env = runner.invoke(app, ["report", "verify", str(path)])
    assert (by_env.exit_code, by_env.stdout) == (0, "verified\n")
    monkeypatch.delenv("DRIFTWARDEN_DATABASE_URL")

    source = sqlite3.connect(monitored.url.removeprefix("sqlite:///"))
    with sqlite3.connect(here / "driftwarden.db") as copy:
        source.backup(copy)
    source.close()
    by_default = runner.invoke(app, ["report", "verify", str(path)])
    assert (by_default.exit_code, by_default.stdout) == (0, "verified\n")
    expected_url = f"sqlite:///{(here / 'driftwarden.db').resolve()}"
    assert f"database record in {expected_url}: recorded export" in by_default.stderr


def test_verify_to_a_missing_database_file_is_an_error(
    monitored: MonitoredModel, tmp_path: Path
) -> None:
    [path] = [p for p in _export(monitored.url, tmp_path / "out") if p.suffix == ".json"]
    missing = tmp_path / "no" / "such.db"
    result = runner.invoke(
        app, ["report", "verify", str(path), "--database-url", f"sqlite:///{missing}"]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: --database-url: no SQLite database at {str(missing)!r}"
    )
    assert not missing.parent.exists()


def test_report_with_an_ambiguous_date_is_refused(
    monitored: MonitoredModel, tmp_path: Path
) -> None:
    result = runner.invoke(
        app,
        ["report", MODEL, "--from", "02/03/2024", "--to", "2024-03-08", "--out", str(tmp_path)]
        + ["--database-url", monitored.url],
    )
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --from '02/03/2024': expected an ISO 8601 date like 2026-02-03 or "
        "2026-02-03T10:00Z\n",
    )
    assert list(tmp_path.iterdir()) == []
