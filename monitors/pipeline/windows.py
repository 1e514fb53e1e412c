"""Tumbling windows aligned in UTC.

``1h`` starts on the hour, ``1d`` at midnight UTC, ``7d``/``1w`` on Monday (ISO weeks),
``1mo`` on the first of the month; any other size (``15m``, ``6h``, ``2d``, ``3mo``) on
multiples of the size since the Unix epoch (months: since January 1970). A window
``[start, end)`` is *closed* once ``end <= now``.

The pass walks only windows that hold rows (:func:`occupied_windows`): it asks the store
for the first row at or after the end of each window it visits, so a lone row dated 1900
costs one window, not every empty day since.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from storage.registry import WINDOW_RE, validate_window

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MONDAY = datetime(1970, 1, 5, tzinfo=UTC)  # the first Monday after the epoch


@dataclass(frozen=True, slots=True, order=True)
class Window:
    """A half-open interval ``[start, end)`` in UTC."""

    start: datetime
    end: datetime


def _parse(size: str) -> tuple[int, str]:
    validate_window(size)
    match = WINDOW_RE.match(size)
    assert match is not None
    return int(match.group(1)), match.group(2)


def _add_months(value: datetime, months: int) -> datetime:
    total = value.year * 12 + value.month - 1 + months
    return value.replace(year=total // 12, month=total % 12 + 1, day=1)


def window_start(at: datetime, size: str) -> datetime:
    """Start of the window of ``size`` that contains ``at``."""
    n, unit = _parse(size)
    at = at.astimezone(UTC)
    if unit == "mo":
        months = (at.year - 1970) * 12 + at.month - 1
        return _add_months(_EPOCH, months - months % n)
    step = {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]
    origin = _MONDAY if (unit == "w" or (unit == "d" and n % 7 == 0)) else _EPOCH
    return origin + ((at - origin) // step) * step


def next_start(start: datetime, size: str) -> datetime:
    """Start of the window after the one starting at ``start``."""
    n, unit = _parse(size)
    if unit == "mo":
        return _add_months(start, n)
    step = {
        "m": timedelta(minutes=n),
        "h": timedelta(hours=n),
        "d": timedelta(days=n),
        "w": timedelta(weeks=n),
    }[unit]
    return start + step


def closed_windows(
    first: datetime, last: datetime, size: str, *, now: datetime
) -> Iterator[Window]:
    """Closed windows from the one containing ``first`` to the one containing ``last``."""
    start = window_start(first, size)
    stop = window_start(last, size)
    while start <= stop:
        end = next_start(start, size)
        if end > now:
            return
        yield Window(start, end)
        start = end


def occupied_windows(
    next_row: Callable[[datetime | None], datetime | None], size: str, *, now: datetime
) -> Iterator[Window]:
    """Closed windows that hold at least one row, in time order.

    ``next_row(at)`` is the time of the first row at or after ``at`` (``None``: the first
    row of all), or ``None`` if there is none; it is asked once per window visited, plus
    once at the end. Empty windows between rows are never visited.
    """
    at = next_row(None)
    while at is not None:
        start = window_start(at, size)
        end = next_start(start, size)
        if end > now:
            return
        yield Window(start, end)
        at = next_row(end)
