"""Every command: invalid input gives one line on stderr and exit code 1, never a traceback.

Each command runs through the real ``driftwarden`` app (with its one-line usage errors)
against malformed arguments a careless or hostile user types: ambiguous dates, missing
files, malformed URLs, an out-of-range port, an unknown model, a bad choice, a database
file that does not exist (which read-only commands must not create).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitors.cli import app
from storage.engine import dispose_all
from tests.monitors.pipeline.pipeline_support import MODEL, production, register

runner = CliRunner()

RULES = """
channels:
  hook: {type: webhook, url_env: DW_TEST_HOOK_URL}
rules:
  - {name: psi-high, model: loans, metric: psi, feature: "*", op: ">", threshold: 0.2,
     channels: [hook]}
"""


@dataclass(frozen=True)
class Setup:
    url: str
    tmp: Path
    data: Path
    rules: Path


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    """A database with ``loans`` registered, one day logged, and the rule file applied."""
    tmp = tmp_path_factory.mktemp("cli-errors")
    url = f"sqlite:///{tmp / 'dw.db'}"
    register(url).log(MODEL, production(1))
    data = tmp / "day.csv"
    production(1, seed=5).head(20).to_csv(data, index=False)
    rules = tmp / "rules.yaml"
    rules.write_text(RULES)
    assert runner.invoke(app, ["alerts", "apply", str(rules), "--database-url", url]).exit_code == 0
    (tmp / "bad.yaml").write_text("rules: [ {name: x\n")
    (tmp / "report.json").write_text('{"content_sha256": "' + "a" * 64 + '"}')
    (tmp / "bad.pub").write_text("not a key")
    yield Setup(url=url, tmp=tmp, data=data, rules=rules)
    dispose_all()


DB = "--database-url"
#: Arguments; ``{db}`` is the test database, ``{tmp}`` its folder, ``{data}`` a CSV file.
CASES: list[list[str]] = [
    # ingest / labels
    ["ingest", MODEL, "{tmp}/missing.csv", DB, "{db}"],
    ["ingest", "nope", "{data}", DB, "{db}"],
    ["ingest", MODEL, "{data}", "--on-new-columns", "maybe", DB, "{db}"],
    ["ingest", MODEL, "{data}", "--chunk-rows", "many", DB, "{db}"],
    ["ingest", MODEL, "{data}", DB, "http://[::1/"],
    ["ingest", MODEL, "{rules}", DB, "{db}"],
    ["labels", MODEL, "{tmp}/missing.csv", DB, "{db}"],
    ["labels", "nope", "{data}", DB, "{db}"],
    # purge / run / metrics
    ["purge", MODEL, "--before", "1/1/25", DB, "{db}"],
    ["purge", MODEL, DB, "{db}"],
    ["purge", "nope", "--before", "2024-01-01", DB, "{db}"],
    ["run", "--every", "soon", DB, "{db}"],
    ["run", "--model", "nope", DB, "{db}"],
    ["run", "--now", "03.02.2026", DB, "{db}"],
    ["metrics", "nope", DB, "{db}"],
    ["metrics", MODEL, "--format", "xml", DB, "{db}"],
    ["metrics", MODEL, "--from", "02/03/2026", DB, "{db}"],
    ["metrics", MODEL, "--out", "{tmp}/no/such/dir/out.json", DB, "{db}"],
    # models / db
    ["models", "register", "m2", "--reference", "{data}", "--task", "binary"]
    + ["--id", "id", "--timestamp", "ts", "--prediction", "yhat", DB, "{db}"],
    ["models", "register", "m2", "--reference", "{tmp}/missing.csv", "--task", "regression"]
    + ["--id", "id", "--timestamp", "ts", "--prediction", "yhat", DB, "{db}"],
    ["models", "register", "m2", "--reference", "{data}", "--task", "regression", "--window"]
    + ["3x", "--id", "id", "--timestamp", "ts", "--prediction", "yhat", DB, "{db}"],
    ["models", "register", MODEL, "--reference", "{data}", "--task", "binary_classification"]
    + ["--id", "id", "--timestamp", "ts", "--prediction", "yhat", DB, "{db}"],
    ["models", "list", DB, "http://[::1/"],
    ["models", "list", DB, "postgresql://u:pw@[::1/x"],
    ["models", "list", DB, "mysql://localhost/x"],
    ["models", "lst"],
    ["db", "upgrade", DB, "ftp://example.com/x"],
    # dashboard / demo
    ["dashboard", "--port", "99999", DB, "{db}"],
    ["dashboard", "--port", "http", DB, "{db}"],
    ["demo", "--rows-per-day", "0", DB, "{tmp}/demo.db"],
    # report
    ["report", "nope", "--from", "2024-03-01", "--to", "2024-03-08", DB, "{db}"],
    ["report", MODEL, "--from", "02/03/2024", "--to", "2024-03-08", DB, "{db}"],
    ["report", MODEL, "--from", "2024-03-01", DB, "{db}"],
    ["report", MODEL, "--from", "2024-03-01", "--to", "2024-03-08", "--format", "docx"]
    + [DB, "{db}"],
    ["report", "verify", "{tmp}/missing.json", DB, "{db}"],
    ["report", "verify", "{tmp}/report.json", "--public-key", "{tmp}/missing.pub"],
    ["report", "verify", "{tmp}/report.json", "--public-key", "{tmp}/bad.pub"],
    ["report", "verify", "{tmp}/report.json", DB, "sqlite:///{tmp}/missing/dw.db"],
    # alerts
    ["alerts", "apply", "{tmp}/missing.yaml", DB, "{db}"],
    ["alerts", "apply", "{tmp}/bad.yaml", DB, "{db}"],
    ["alerts", "silence", "psi-high", "--until", "02/03/2026", "--reason", "x", DB, "{db}"],
    ["alerts", "silence", "nope", "--until", "2h", "--reason", "x", DB, "{db}"],
    ["alerts", "ack", "abc", DB, "{db}"],
    ["alerts", "ack", "999", DB, "{db}"],
    ["alerts", "history", "--limit", "many", DB, "{db}"],
    ["alerts", "outbox", "--status", "lost", DB, "{db}"],
    ["alerts", "test", "nope", DB, "{db}"],
]
#: ``alerts test hook`` with a malformed target URL in the channel's variable.
BAD_TARGETS = ["http://[::1/", "http://exa\x7fmple.com/", "http://example.com:99999/"]
#: Commands that read a database: a missing SQLite file is an error, and stays missing.
READERS: list[list[str]] = [
    ["ingest", MODEL, "{data}"],
    ["labels", MODEL, "{data}"],
    ["purge", MODEL, "--before", "2024-01-01"],
    ["run"],
    ["metrics", MODEL],
    ["models", "list"],
    ["dashboard"],
    ["report", MODEL, "--from", "2024-03-01", "--to", "2024-03-08"],
    ["report", "verify", "{tmp}/report.json"],
    ["alerts", "list"],
    ["alerts", "history"],
    ["alerts", "outbox"],
    ["alerts", "evaluate"],
    ["alerts", "deliver"],
    ["alerts", "test", "hook"],
    ["alerts", "ack", "1"],
    ["alerts", "silence", "psi-high", "--until", "2h", "--reason", "x"],
]


def _fill(args: list[str], setup: Setup) -> list[str]:
    values = {
        "{db}": setup.url,
        "{tmp}": str(setup.tmp),
        "{data}": str(setup.data),
        "{rules}": str(setup.rules),
    }
    out = []
    for arg in args:
        for key, value in values.items():
            arg = arg.replace(key, value)
        out.append(arg)
    return out


def _assert_one_line_exit_1(args: list[str]) -> None:
    result = runner.invoke(app, args, prog_name="driftwarden")
    shown = f"{args}: exit {result.exit_code}, stderr {result.stderr!r}"
    assert isinstance(result.exception, SystemExit), (shown, result.exception)
    assert result.exit_code == 1, shown
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), shown
    assert result.stderr.lower().startswith("error: "), shown
    assert "Traceback" not in result.output, shown


@pytest.mark.parametrize("case", CASES, ids=lambda c: " ".join(a for a in c if a != DB)[:60])
def test_malformed_input_is_one_line_exit_1(case: list[str], setup: Setup) -> None:
    _assert_one_line_exit_1(_fill(case, setup))


@pytest.mark.parametrize("target", BAD_TARGETS, ids=repr)
def test_alerts_test_with_a_malformed_target(
    target: str, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DW_TEST_HOOK_URL", target)
    _assert_one_line_exit_1(["alerts", "test", "hook", DB, setup.url])


@pytest.mark.parametrize("case", READERS, ids=lambda c: " ".join(c)[:40])
def test_a_missing_database_file_is_an_error_and_is_not_created(
    case: list[str], setup: Setup
) -> None:
    missing = setup.tmp / "absent" / "dw.db"
    _assert_one_line_exit_1(_fill([*case, DB, f"sqlite:///{missing}"], setup))
    assert not missing.parent.exists()
