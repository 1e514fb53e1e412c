"""One ISO 8601 parser for every date a person types: CLI options, SDK arguments, URLs.

``02/03/2026`` is 3 February in one country and 2 March in another; ``pandas.Timestamp``
picked one silently (and ``purge --before 1/1/25`` deleted by it). Every entry point now
refuses anything but ISO 8601 with one line that shows the expected form.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from monitors.cli import app
from monitors.collectors import Client
from monitors.errors import ConfigError
from monitors.timeparse import parse_time
from monitors.windows import load_window, purge, to_utc
from tests.monitors.pipeline.pipeline_support import MODEL, register

runner = CliRunner()
EXPECTED = "expected an ISO 8601 date like 2026-02-03 or 2026-02-03T10:00Z"
AMBIGUOUS = ["02/03/2026", "03.02.2026", "1/1/25", "2026/02/03", "3 Feb 2026", "yesterday", ""]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-02-03", datetime(2026, 2, 3, tzinfo=UTC)),
        ("2026-02-03T10:00", datetime(2026, 2, 3, 10, tzinfo=UTC)),
        ("2026-02-03T10:00Z", datetime(2026, 2, 3, 10, tzinfo=UTC)),
        ("2026-02-03T10:00:30.25Z", datetime(2026, 2, 3, 10, 0, 30, 250000, tzinfo=UTC)),
        ("2026-02-03 10:00", datetime(2026, 2, 3, 10, tzinfo=UTC)),
        ("2026-02-03T10:00+01:00", datetime(2026, 2, 3, 9, tzinfo=UTC)),
        ("2026-02-03T10:00-0530", datetime(2026, 2, 3, 15, 30, tzinfo=UTC)),
        ("2026-02-03T00:30+02", datetime(2026, 2, 2, 22, 30, tzinfo=UTC)),
    ],
)
def test_iso_forms_are_read_as_utc(text: str, expected: datetime) -> None:
    got = parse_time(text, option="--from")
    assert got == expected and got.tzinfo == UTC


@pytest.mark.parametrize("text", AMBIGUOUS)
def test_anything_else_is_refused_with_the_iso_form(text: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"--from {text!r}: {EXPECTED}")):
        parse_time(text, option="--from")


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("2026-02-30", "day is out of range for month"),
        ("2026-13-01", "month must be in 1..12"),
        ("2026-02-03T24:00", "hour must be in 0..23"),
        ("2026-02-03T10:00+25:00", "UTC offset +25:00 out of range"),
    ],
)
def test_iso_shaped_but_impossible_says_why(text: str, why: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"--to {text!r}: {EXPECTED} ({why})")):
        parse_time(text, option="--to")


def test_objects_are_taken_as_they_are() -> None:
    naive = datetime(2026, 2, 3, 10)
    assert parse_time(naive) == datetime(2026, 2, 3, 10, tzinfo=UTC)
    plus_one = datetime(2026, 2, 3, 10, tzinfo=timezone(timedelta(hours=1)))
    assert parse_time(plus_one) == datetime(2026, 2, 3, 9, tzinfo=UTC)
    assert parse_time(date(2026, 2, 3)) == datetime(2026, 2, 3, tzinfo=UTC)
    assert parse_time(pd.Timestamp("2026-02-03T10:00Z")) == datetime(2026, 2, 3, 10, tzinfo=UTC)


def test_sdk_date_arguments_use_the_parser(tmp_path: Path) -> None:
    """``load_window``/``purge`` (and ``Client``'s, which call them) refuse local forms."""
    url = f"sqlite:///{tmp_path / 'dw.db'}"
    assert to_utc("2026-02-03T10:00+01:00") == pd.Timestamp("2026-02-03T09:00Z")
    with pytest.raises(ConfigError, match=re.escape(f"time '02/03/2026': {EXPECTED}")):
        to_utc("02/03/2026")
    register(url)
    with pytest.raises(ConfigError, match=re.escape(f"start '02/03/2024': {EXPECTED}")):
        load_window(url, MODEL, "02/03/2024", None)
    with pytest.raises(ConfigError, match=re.escape(f"end '03.04.2024': {EXPECTED}")):
        Client(url).load_window(MODEL, "2024-03-01", "03.04.2024")
    with pytest.raises(ConfigError, match=re.escape(f"before '1/1/25': {EXPECTED}")):
        purge(url, MODEL, "1/1/25")
    with pytest.raises(ConfigError, match=re.escape(f"before '1/1/25': {EXPECTED}")):
        Client(url).purge(MODEL, "1/1/25")
    assert Client(url).load_window(MODEL, "2024-03-01", "2024-03-02T00:00Z").empty


@pytest.mark.parametrize("text", ["02/03/2026", "03.02.2026", "1/1/25"])
@pytest.mark.parametrize(
    "command",
    [
        ["metrics", "m", "--from", "{}"],
        ["metrics", "m", "--to", "{}"],
        ["purge", "m", "--before", "{}"],
        ["run", "--now", "{}"],
        ["report", "m", "--from", "{}", "--to", "2026-03-01"],
        ["report", "m", "--from", "2026-02-01", "--to", "{}"],
        ["alerts", "silence", "r", "--until", "{}", "--reason", "x"],
    ],
    ids=lambda c: " ".join(c[:1] + [a for a in c if a.startswith("--")][:1]),
)
def test_every_cli_date_option_refuses_local_forms(
    command: list[str], text: str, sqlite_url: str
) -> None:
    assert runner.invoke(app, ["db", "upgrade", "--database-url", sqlite_url]).exit_code == 0
    args = [a.replace("{}", text) for a in command]
    option = command[command.index("{}") - 1]
    result = runner.invoke(app, [*args, "--database-url", sqlite_url])
    assert result.exit_code == 1
    prefix = "Error: " if command[0] == "alerts" else "error: "
    assert result.stderr == f"{prefix}{option} {text!r}: {EXPECTED}\n"
