"""The pass walks only windows that hold rows (issue 13 item 2).

One row dated 1900 used to make every pass walk and load every empty daily window since
1900 (~45,000 of them, ~13 minutes). The pass now asks the store for the next row after
each window, so that row costs one window. Rows in the future are stored but their
windows never close.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pipeline_support import START, production, register, window_starts

from monitors.pipeline import run as run_module
from monitors.pipeline.run import run_pass
from monitors.pipeline.windows import Window, occupied_windows
from monitors.windows import to_micros
from storage.engine import get_engine, session_scope
from storage.logs import log_table, role_column
from storage.registry import get_model
from storage.schema import Role

DAY = timedelta(days=1)
NOW = START + 10 * DAY


def test_occupied_windows_skip_the_empty_ones() -> None:
    times = sorted(
        [datetime(1900, 1, 1, 7, tzinfo=UTC), datetime(2999, 1, 1, tzinfo=UTC)]
        + [START + timedelta(hours=h) for h in (1, 5, 30, 77)]
    )
    asked: list[datetime | None] = []

    def next_row(at: datetime | None) -> datetime | None:
        asked.append(at)
        i = 0 if at is None else bisect_left(times, at)
        return times[i] if i < len(times) else None

    windows = list(occupied_windows(next_row, "1d", now=NOW))

    assert windows == [
        Window(datetime(1900, 1, 1, tzinfo=UTC), datetime(1900, 1, 2, tzinfo=UTC)),
        Window(START, START + DAY),
        Window(START + DAY, START + 2 * DAY),
        Window(START + 3 * DAY, START + 4 * DAY),
    ]
    assert len(asked) == len(windows) + 1  # one question per window, one for the future row


@pytest.mark.parametrize("size", ["1h", "1d", "7d", "1mo"])
def test_occupied_windows_are_the_windows_of_the_rows(size: str) -> None:
    times = [START + timedelta(hours=h) for h in range(0, 24 * 70, 13)]

    def next_row(at: datetime | None) -> datetime | None:
        i = 0 if at is None else bisect_left(times, at)
        return times[i] if i < len(times) else None

    now = START + timedelta(days=200)
    expected = sorted({w for w in _windows_of(times, size)})
    assert list(occupied_windows(next_row, size, now=now)) == expected


def _windows_of(times: list[datetime], size: str) -> list[Window]:
    from monitors.pipeline.windows import next_start, window_start

    return [Window(window_start(t, size), next_start(window_start(t, size), size)) for t in times]


def _insert_raw(url: str, at: datetime, row_id: str) -> None:
    """A logged row written straight into the log table, past validation (as an attacker could)."""
    engine = get_engine(url)
    with session_scope(engine) as session:
        model = get_model(session, "loans")
        table = log_table(model)
        values = {
            role_column(model, Role.ID).physical: row_id,
            role_column(model, Role.TIMESTAMP).physical: to_micros(at),
            role_column(model, Role.PREDICTION).physical: 1,
            role_column(model, Role.SCORE).physical: 0.9,
        }
    with engine.begin() as conn:
        conn.execute(table.insert().values(values))


def _visits(url: str, monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Run one pass; the windows it loaded."""
    loaded: list[Any] = []
    real = run_module.load_window

    def counting(*args: Any, **kwargs: Any) -> Any:
        loaded.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, "load_window", counting)
    run_pass(url=url, now=NOW, alerts=False)
    return loaded


def test_a_row_from_1900_costs_one_window(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = register(database_url)
    client.log("loans", production(3))
    _insert_raw(database_url, datetime(1900, 1, 1, 12, tzinfo=UTC), "ancient")
    _insert_raw(database_url, datetime(2999, 1, 1, tzinfo=UTC), "future")

    visited = _visits(database_url, monkeypatch)

    assert visited == [datetime(1900, 1, 1, tzinfo=UTC), START, START + DAY, START + 2 * DAY]
    assert window_starts(database_url) == visited
    assert _visits(database_url, monkeypatch) == []  # nothing new: nothing loaded
