"""``driftwarden --help`` and the light commands start without the heavy libraries.

The command line imports pandas, SciPy, scikit-learn, SHAP, Streamlit and PyArrow only in
the commands that use them, so ``--help``, ``models list``, ``alerts list`` and
``report verify`` start in a fraction of a second (3.2 s before, for ``--help``).
Checked with ``python -X importtime`` in a fresh interpreter: the import set is what is
guarded (wall time on a shared test machine is too noisy to assert).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from monitors.cli import app

HEAVY = ("scipy", "sklearn", "shap", "streamlit", "pyarrow", "pandas")


def _imported(*args: str, cwd: Path) -> tuple[set[str], subprocess.CompletedProcess[str]]:
    """Top-level packages imported by ``python -m monitors.cli ARGS``, and the process."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "monitors.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )
    modules = {
        line.split("|")[-1].strip().split(".")[0]
        for line in proc.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    return modules, proc


def test_help_imports_no_heavy_library(tmp_path: Path) -> None:
    modules, proc = _imported("--help", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "Usage: driftwarden" in proc.stdout
    assert modules & {*HEAVY, "numpy", "sqlalchemy", "cryptography"} == set()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    """An empty, migrated SQLite database."""
    url = f"sqlite:///{tmp_path_factory.mktemp('db') / 'dw.db'}"
    assert CliRunner().invoke(app, ["db", "upgrade", "--database-url", url]).exit_code == 0
    return url


@pytest.mark.parametrize(
    "command",
    [["models", "list"], ["alerts", "list"], ["report", "verify", "report.json"]],
    ids=" ".join,
)
def test_light_commands_import_no_heavy_library(
    command: list[str], database: str, tmp_path: Path
) -> None:
    (tmp_path / "report.json").write_text('{"content_sha256": "' + "a" * 64 + '"}')
    modules, proc = _imported(*command, "--database-url", database, cwd=tmp_path)
    assert "Traceback" not in proc.stderr
    assert proc.returncode == (2 if command[0] == "report" else 0), proc.stderr[-2000:]
    assert modules & set(HEAVY) == set()


def test_the_cli_defaults_are_storages() -> None:
    """The CLI repeats two constants of ``storage.engine`` (to stay light); they agree."""
    from monitors.cli import common
    from storage import engine

    assert (common.DATABASE_ENV, common.DEFAULT_DATABASE) == (engine.ENV_URL, engine.DEFAULT_URL)


def test_verify_repeats_the_report_title() -> None:
    """``report verify`` does not import the assembler (pandas, SciPy) for its title."""
    from monitors.reports import assemble, verify

    assert verify.TITLE == assemble.TITLE
