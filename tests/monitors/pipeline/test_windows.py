"""UTC-aligned tumbling windows: alignment per size and which windows count as closed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitors.pipeline.windows import Window, closed_windows, next_start, window_start

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AT = datetime(2024, 3, 6, 13, 47, 12, 345678, tzinfo=UTC)  # a Wednesday


@pytest.mark.parametrize(
    ("size", "start", "end"),
    [
        ("1h", datetime(2024, 3, 6, 13, tzinfo=UTC), datetime(2024, 3, 6, 14, tzinfo=UTC)),
        ("1d", datetime(2024, 3, 6, tzinfo=UTC), datetime(2024, 3, 7, tzinfo=UTC)),
        ("7d", datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC)),
        ("1w", datetime(2024, 3, 4, tzinfo=UTC), datetime(2024, 3, 11, tzinfo=UTC)),
        ("1mo", datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC)),
        ("15m", datetime(2024, 3, 6, 13, 45, tzinfo=UTC), datetime(2024, 3, 6, 14, tzinfo=UTC)),
    ],
)
def test_window_alignment(size: str, start: datetime, end: datetime) -> None:
    assert window_start(AT, size) == start
    assert next_start(start, size) == end


def test_seven_day_windows_start_on_iso_monday() -> None:
    for offset in range(14):
        at = datetime(2024, 12, 25, 23, 59, tzinfo=UTC) + timedelta(days=offset)
        start = window_start(at, "7d")
        assert start.weekday() == 0 and start.time() == datetime.min.time()
        assert start <= at < start + timedelta(days=7)
        # ISO week: the window's Monday has the same ISO (year, week) as the instant
        assert start.isocalendar()[:2] == at.isocalendar()[:2]


def test_month_windows_follow_the_calendar() -> None:
    assert window_start(datetime(2024, 2, 29, 23, tzinfo=UTC), "1mo") == datetime(
        2024, 2, 1, tzinfo=UTC
    )
    assert next_start(datetime(2024, 12, 1, tzinfo=UTC), "1mo") == datetime(2025, 1, 1, tzinfo=UTC)
    # 3mo: multiples of three months since January 1970 (calendar quarters)
    assert window_start(AT, "3mo") == datetime(2024, 1, 1, tzinfo=UTC)
    assert next_start(datetime(2024, 1, 1, tzinfo=UTC), "3mo") == datetime(2024, 4, 1, tzinfo=UTC)


def test_times_in_other_zones_are_aligned_in_utc() -> None:
    local = AT.astimezone(timezone(timedelta(hours=-5)))  # 08:47 on the same day locally
    assert window_start(local, "1d") == datetime(2024, 3, 6, tzinfo=UTC)
    late = datetime(2024, 3, 6, 22, 30, tzinfo=timezone(timedelta(hours=-5)))  # 03:30 UTC, 7th
    assert window_start(late, "1d") == datetime(2024, 3, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("size", "step"),
    [
        ("15m", timedelta(minutes=15)),
        ("6h", timedelta(hours=6)),
        ("2d", timedelta(days=2)),
        ("5m", timedelta(minutes=5)),
        ("3h", timedelta(hours=3)),
    ],
)
@given(at=st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2100, 1, 1)))
def test_other_sizes_are_multiples_since_the_epoch(
    size: str, step: timedelta, at: datetime
) -> None:
    at = at.replace(tzinfo=UTC)
    start = window_start(at, size)
    assert (start - EPOCH) % step == timedelta(0)
    assert start <= at < start + step
    assert next_start(start, size) == start + step


def test_only_closed_windows_are_listed() -> None:
    first = datetime(2024, 3, 1, 5, tzinfo=UTC)
    last = datetime(2024, 3, 4, 7, tzinfo=UTC)
    day = timedelta(days=1)
    d0 = datetime(2024, 3, 1, tzinfo=UTC)
    # ``now`` inside the 4th window: that window is open, the first three are closed
    now = datetime(2024, 3, 4, 12, tzinfo=UTC)
    assert list(closed_windows(first, last, "1d", now=now)) == [
        Window(d0 + i * day, d0 + (i + 1) * day) for i in range(3)
    ]
    # a window whose end equals ``now`` is closed
    now = datetime(2024, 3, 5, tzinfo=UTC)
    assert len(list(closed_windows(first, last, "1d", now=now))) == 4
    # one microsecond earlier it is not
    assert len(list(closed_windows(first, last, "1d", now=now - timedelta(microseconds=1)))) == 3
    # nothing closed yet
    assert list(closed_windows(first, last, "1d", now=datetime(2024, 3, 1, 23, tzinfo=UTC))) == []


def test_closed_windows_of_a_month_size_are_contiguous() -> None:
    windows = list(
        closed_windows(
            datetime(2023, 11, 15, tzinfo=UTC),
            datetime(2024, 2, 10, tzinfo=UTC),
            "1mo",
            now=datetime(2024, 3, 1, tzinfo=UTC),
        )
    )
    assert [w.start.month for w in windows] == [11, 12, 1, 2]
    assert all(a.end == b.start for a, b in zip(windows, windows[1:], strict=False))
    assert windows[-1].end == datetime(2024, 3, 1, tzinfo=UTC)
