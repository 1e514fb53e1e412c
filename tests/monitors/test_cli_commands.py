"""The ``driftwarden`` command line under Typer's CliRunner, on a temporary SQLite database.

(Named ``test_cli_commands.py``: ``tests/monitors/alerts/test_cli.py`` already takes the
module name ``test_cli`` under pytest's default import mode.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import typer
from pipeline.pipeline_support import MODEL, START, applicants, counts, production
from typer.testing import CliRunner

from monitors.cli import app
from monitors.collectors import Client

runner = CliRunner()
DAY = timedelta(days=1)


def _commands(group: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every command path (groups too); Typer vendors click, so groups are duck-typed."""
    yield path
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


ALL_COMMANDS = sorted(set(_commands(typer.main.get_command(app))))


def test_command_tree_is_complete() -> None:
    expected = {
        ("models", "register"),
        ("models", "list"),
        ("ingest",),
        ("labels",),
        ("purge",),
        ("db", "upgrade"),
        ("run",),
        ("metrics",),
        ("demo",),
        ("report",),
        ("alerts",),
    }
    assert expected <= set(ALL_COMMANDS)
    assert any(c[:1] == ("alerts",) and len(c) == 2 for c in ALL_COMMANDS)


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=lambda c: " ".join(c) or "driftwarden")
def test_help(command: tuple[str, ...]) -> None:
    result = runner.invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.stdout


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert re.fullmatch(r"driftwarden \S+\n", result.stdout)


@pytest.mark.parametrize(
    ("command", "usage"),
    [
        (["models", "register"], "Usage: driftwarden models register [OPTIONS] NAME\n"),
        (["report"], "Usage: driftwarden report [OPTIONS] NAME [FILE]\n"),
        (["ingest"], "Usage: driftwarden ingest [OPTIONS] NAME FILE\n"),
        (["alerts", "ack"], "Usage: driftwarden alerts ack [OPTIONS] ID\n"),
    ],
)
def test_usage_lines_name_arguments_plainly(command: list[str], usage: str) -> None:
    result = runner.invoke(app, [*command, "--help"], prog_name="driftwarden", terminal_width=200)
    assert result.exit_code == 0
    first = next(line.strip() for line in result.stdout.splitlines() if "Usage:" in line)
    assert first + "\n" == usage
    assert "{" not in first


def test_categorical_help_says_any_column() -> None:
    result = runner.invoke(app, ["models", "register", "--help"], terminal_width=200)
    assert "any type" in " ".join(result.stdout.split())


def test_usage_errors_are_one_line_exit_1() -> None:
    result = runner.invoke(app, ["models", "regster"], prog_name="driftwarden")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: No such command 'regster'. Did you mean 'register'? "
        "(see 'driftwarden models --help')\n"
    )


def test_run_hides_now() -> None:
    result = runner.invoke(app, ["run", "--help"])
    assert "--every" in result.stdout and "--model" in result.stdout
    assert "--now" not in result.stdout


def _invoke(url: str, *args: str) -> Any:
    return runner.invoke(app, [*args, "--database-url", url])


@pytest.fixture
def registered(sqlite_url: str, tmp_path: Path) -> str:
    """``loans`` registered through the CLI from a CSV reference."""
    reference = tmp_path / "reference.csv"
    applicants(300, seed=1, prefix="ref").to_csv(reference, index=False)
    result = _invoke(
        sqlite_url,
        "models",
        "register",
        MODEL,
        "--reference",
        str(reference),
        "--task",
        "binary_classification",
        "--id",
        "id",
        "--timestamp",
        "ts",
        "--prediction",
        "yhat",
        "--score",
        "p",
        "--label",
        "y",
        "--sensitive",
        "sex,age_band",
        "--categorical",
        "region",
    )
    assert result.exit_code == 0, result.stderr
    assert result.stdout == (
        f"registered {MODEL} (binary_classification, window 1d); features: x1, x2, region\n"
    )
    Client(sqlite_url).configure(
        MODEL, config={"drift": {"multivariate": False}, "fairness": {"n_bootstrap": 200}}
    )
    return sqlite_url


def _rows(url: str) -> int:
    return len(Client(url).load_window(MODEL))


def test_models_list(registered: str) -> None:
    result = _invoke(registered, "models", "list")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}\tbinary_classification\twindow=1d\tfeatures=3\treference=v1\n"


def test_models_list_empty(sqlite_url: str) -> None:
    assert _invoke(sqlite_url, "db", "upgrade").exit_code == 0
    result = _invoke(sqlite_url, "models", "list")
    assert result.exit_code == 0
    assert result.stdout.startswith("no models registered yet")


def test_models_list_json_keeps_its_fields(registered: str) -> None:
    result = _invoke(registered, "models", "list", "--json")
    assert result.exit_code == 0, result.stderr
    [record] = json.loads(result.stdout)
    assert list(record) == ["name", "task", "window", "reference_version", "schema"]
    assert record["schema"] == Client(registered).model(MODEL).schema.model_dump(mode="json")


@pytest.mark.parametrize(
    "command",
    [("models", "list"), ("metrics", MODEL), ("run",), ("purge", MODEL, "--before", "2024-01-01")],
)
def test_read_only_commands_never_create_a_database(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    missing = tmp_path / "nowhere" / "dw.db"
    result = _invoke(f"sqlite:///{missing}", *command)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: --database-url: no SQLite database at {str(missing)!r}; expected an existing "
        "file (set --database-url or $DRIFTWARDEN_DATABASE_URL, or create one with "
        "'driftwarden models register' or 'driftwarden demo')\n"
    )
    assert not missing.parent.exists()


def test_register_duplicate_and_bad_task(registered: str, tmp_path: Path) -> None:
    reference = tmp_path / "ref.csv"
    applicants(50, seed=3).to_csv(reference, index=False)
    base = ["models", "register", "--reference", str(reference), "--id", "id"]
    base += ["--timestamp", "ts", "--prediction", "yhat"]
    result = _invoke(registered, *base, MODEL, "--task", "binary_classification")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert MODEL in result.stderr
    result = _invoke(registered, *base, "other", "--task", "clustering")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --task 'clustering': expected one of binary_classification, "
        "multiclass_classification, regression\n",
    )


def test_ingest_csv_parquet_and_reingest(registered: str, tmp_path: Path) -> None:
    frame = production(2, labels=True)
    csv_file, parquet_file = tmp_path / "day0.csv", tmp_path / "day1.parquet"
    frame[frame["ts"] < START + DAY].to_csv(csv_file, index=False)
    frame[frame["ts"] >= START + DAY].to_parquet(parquet_file, index=False)

    result = _invoke(registered, "ingest", MODEL, str(csv_file))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: 200 rows: stored 200, already present 0, quarantined 0\n"
    result = _invoke(registered, "ingest", MODEL, str(parquet_file))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: 200 rows: stored 200, already present 0, quarantined 0\n"
    result = _invoke(registered, "ingest", MODEL, str(csv_file))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: 200 rows: stored 0, already present 200, quarantined 0\n"
    assert _rows(registered) == 400


def test_ingest_bad_row_strict_and_lenient(registered: str, tmp_path: Path) -> None:
    frame = production(1, labels=True).head(20).astype({"x1": object})
    frame.loc[5, "x1"] = "not a number"
    bad = tmp_path / "bad.csv"
    frame.to_csv(bad, index=False)

    result = _invoke(registered, "ingest", MODEL, str(bad), "--strict")
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "x1" in lines[0]
    assert _rows(registered) == 0

    result = _invoke(registered, "ingest", MODEL, str(bad))
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: 20 rows: stored 19, already present 0, quarantined 1\n"
    assert result.stderr.startswith("quarantined: ") and "x1" in result.stderr
    assert _rows(registered) == 19


def test_unknown_model_and_missing_file(registered: str, tmp_path: Path) -> None:
    data = tmp_path / "d.csv"
    production(1).head(3).to_csv(data, index=False)
    result = _invoke(registered, "ingest", "nope", str(data))
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: unknown model 'nope'; registered: {MODEL}\n",
    )
    result = _invoke(registered, "metrics", "nope")
    assert (result.exit_code, result.stderr) == (
        1,
        f"error: unknown model 'nope'; registered: {MODEL}\n",
    )
    result = _invoke(registered, "ingest", MODEL, str(tmp_path / "missing.csv"))
    assert result.exit_code == 1
    assert "missing.csv" in result.stderr and result.stderr.count("\n") == 1


def test_labels_with_unknown_ids(registered: str, tmp_path: Path) -> None:
    frame = production(1, labels=True).head(10)
    Client(registered).log(MODEL, frame.drop(columns="y"))
    labels = pd.concat(
        [frame[["id", "y"]], pd.DataFrame({"id": ["ghost-1", "ghost-2"], "y": [1, 0]})]
    )
    file = tmp_path / "labels.csv"
    labels.to_csv(file, index=False)
    result = _invoke(registered, "labels", MODEL, str(file))
    assert result.exit_code == 0, result.stderr
    assert "unknown prediction_id: ghost-1, ghost-2\n" in result.stderr
    assert result.stdout == (
        f"{MODEL}: 12 labels: stored 10, already present 0, unknown prediction_id 2, "
        "conflicting 0, quarantined 2\n"
    )
    stored = Client(registered).load_window(MODEL).set_index("id")["y"]
    assert stored.loc[frame["id"]].tolist() == frame["y"].tolist()


def test_purge_keeps_metrics(registered: str) -> None:
    Client(registered).log(MODEL, production(2, labels=True))
    result = _invoke(registered, "run", "--now", (START + 2 * DAY).isoformat())
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0].startswith("analysed 2 window(s)")
    before = _invoke(registered, "metrics", MODEL).stdout
    n_metrics, n_runs = counts(registered)
    assert n_runs == 2

    result = _invoke(registered, "purge", MODEL, "--before", "2024-03-05T00:00:00Z")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{MODEL}: purged 200 row(s) logged before 2024-03-05T00:00:00+00:00\n"
    left = Client(registered).load_window(MODEL)
    assert len(left) == 200 and left["ts"].min() >= START + DAY
    assert counts(registered) == (n_metrics, n_runs)
    assert _invoke(registered, "metrics", MODEL).stdout == before

    result = _invoke(registered, "purge", MODEL, "--before", "1/1/25")
    assert result.exit_code == 1
    assert result.stderr == (
        "error: --before '1/1/25': expected an ISO 8601 date like 2026-02-03 or 2026-02-03T10:00Z\n"
    )
    assert len(Client(registered).load_window(MODEL)) == 200


def test_run_every_rejects_a_bad_interval(registered: str) -> None:
    result = _invoke(registered, "run", "--every", "soon")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: ") and "soon" in result.stderr


def test_db_upgrade(sqlite_url: str) -> None:
    result = _invoke(sqlite_url, "db", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert re.fullmatch(r".*: at revision \S+\n", result.stdout)
    again = _invoke(sqlite_url, "db", "upgrade")
    assert (again.exit_code, again.stdout) == (0, result.stdout)


def test_metrics_bad_format(registered: str) -> None:
    result = _invoke(registered, "metrics", MODEL, "--format", "yaml")
    assert (result.exit_code, result.stderr) == (
        1,
        "error: --format: expected json or csv; got 'yaml'\n",
    )
