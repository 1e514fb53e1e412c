"""Progress where a person waits, and summaries in words.

Off a terminal (here: CliRunner's captured stderr) each step is one log line on stderr;
on a terminal a rich display. Results stay on stdout, so scripts reading stdout see the
same output either way. ``run`` prints its alert and delivery summaries in words, never
``EvaluationSummary(...)`` reprs.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from monitors.cli import app, progress
from tests.monitors.pipeline.pipeline_support import MODEL, START, production, register

runner = CliRunner()


@pytest.fixture
def registered(sqlite_url: str) -> str:
    register(sqlite_url, config={"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 0}})
    return sqlite_url


def test_ingest_logs_one_line_per_chunk_with_percent_and_eta(
    registered: str, tmp_path: Path
) -> None:
    data = tmp_path / "days.csv"
    production(5).to_csv(data, index=False)  # 1,000 rows
    result = runner.invoke(
        app, ["ingest", MODEL, str(data), "--chunk-rows", "300", "--database-url", registered]
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: 1000 rows: stored 1000, already present 0, quarantined 0\n"
    lines = result.stderr.splitlines()
    assert [line.split(" rows")[0] for line in lines] == [
        "ingest days.csv: 300 of 1,000",
        "ingest days.csv: 600 of 1,000",
        "ingest days.csv: 900 of 1,000",
        "ingest days.csv: 1,000 of 1,000",
    ]
    assert re.fullmatch(
        r"ingest days\.csv: 300 of 1,000 rows \(30%\), [\d,]+ rows/s, ~.+ left", lines[0]
    )


def test_a_one_chunk_ingest_prints_only_its_summary(registered: str, tmp_path: Path) -> None:
    data = tmp_path / "day.csv"
    production(1).to_csv(data, index=False)
    result = runner.invoke(app, ["ingest", MODEL, str(data), "--database-url", registered])
    assert result.exit_code == 0
    assert result.stderr == ""


def test_ingest_on_a_terminal_shows_a_bar(
    registered: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(progress, "interactive", lambda: True)
    data = tmp_path / "days.parquet"
    production(2).to_parquet(data, index=False)
    result = runner.invoke(
        app, ["ingest", MODEL, str(data), "--chunk-rows", "100", "--database-url", registered]
    )
    assert result.exit_code == 0, result.output
    assert result.stdout == f"{MODEL}: 400 rows: stored 400, already present 0, quarantined 0\n"


def test_run_logs_windows_and_summarises_in_words(registered: str) -> None:
    from monitors.collectors import Client

    Client(registered).log(MODEL, production(2, labels=True))
    now = (START + pd.Timedelta(days=2)).isoformat()
    result = runner.invoke(app, ["run", "--now", now, "--database-url", registered])
    assert result.exit_code == 0, result.stderr
    assert result.stderr.splitlines() == [
        "run: loans window 2024-03-04 (1 done)",
        "run: loans window 2024-03-05 (2 done)",
    ]
    out = result.stdout.splitlines()
    assert out[0].startswith("analysed 2 window(s)")
    assert out[-2:] == [
        "alerts: evaluated 0 rules over 0 series-windows: 0 state changes, 0 notifications queued",
        "notifications: nothing to send",
    ]
    assert "Summary(" not in result.stdout


def test_run_on_a_terminal(registered: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from monitors.collectors import Client

    monkeypatch.setattr(progress, "interactive", lambda: True)
    Client(registered).log(MODEL, production(1))
    now = (START + pd.Timedelta(days=1)).isoformat()
    result = runner.invoke(app, ["run", "--now", now, "--database-url", registered])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("analysed 1 window(s)")


@pytest.mark.parametrize(
    ("text", "rows"),
    [("a,b\n1,2\n3,4\n", 2), ("a,b\n1,2\n3,4", 2), ("a,b\n", 0), ("", 0)],
)
def test_count_data_rows_of_a_csv(tmp_path: Path, text: str, rows: int) -> None:
    path = tmp_path / "f.csv"
    path.write_text(text)
    assert progress.count_data_rows(path) == rows
    assert progress.count_data_rows(tmp_path / "missing.csv") is None
    assert progress.count_data_rows(tmp_path / "f.json") is None
