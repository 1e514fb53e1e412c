"""``driftwarden report`` through Typer's CliRunner: export, verify, exit codes."""

from __future__ import annotations

import re
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


def test_verify_without_file(tmp_path: Path) -> None:
    result = runner.invoke(app, ["report", "verify"])
    assert result.exit_code == 2
    assert "report verify: expected a FILE argument" in result.stderr
    gone = runner.invoke(app, ["report", "verify", str(tmp_path / "missing.json")])
    assert gone.exit_code == 2
