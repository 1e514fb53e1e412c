"""Progress for commands a person waits on: a rich display on a terminal, log lines elsewhere.

On a terminal (stderr is a TTY) a transient rich bar or spinner shows what is being done,
how far it is (rows, %, rate, time left when the size is known) and disappears when the
step ends. Elsewhere (CI, a service log, a pipe) each step writes one concise line to
stderr instead, so that logs show where the time went without control characters.
Results stay on stdout either way. ``rich`` is imported only when a display starts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

#: Read size when counting the lines of a CSV file.
_BLOCK = 1 << 20


def interactive() -> bool:
    """Whether progress goes to a terminal (stderr is a TTY)."""
    return sys.stderr.isatty()


def log(message: str) -> None:
    """One progress line on stderr."""
    typer.echo(message, err=True)


def _seconds(value: float) -> str:
    """``4 s``, ``2 min 05 s``."""
    if value < 60:
        return f"{value:.0f} s"
    minutes, seconds = divmod(int(value), 60)
    return f"{minutes} min {seconds:02d} s"


def count_data_rows(path: Path) -> int | None:
    """Rows in a data file when cheap to know: Parquet metadata, or a CSV's line count.

    A CSV's count is its newline count minus the header (an estimate when quoted fields
    hold line breaks); ``None`` if the file cannot be read or has another format.
    """
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return int(pq.ParquetFile(path).metadata.num_rows)
        if suffix in (".csv", ".txt"):
            lines = 0
            last = b"\n"
            with path.open("rb") as handle:
                while block := handle.read(_BLOCK):
                    lines += block.count(b"\n")
                    last = block[-1:]
            lines += last != b"\n"  # a last line without a line break
            return max(lines - 1, 0)
    except Exception:  # OSError, or pyarrow's own error for an unreadable Parquet file
        return None  # the count is only for the display: ingest reports the real problem
    return None


def _rate_column() -> Any:
    """A rich column showing rows per second (blank until known)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        """Rows per second."""

        def render(self, task: Any) -> Text:
            """``95,000 rows/s``."""
            return Text(f"{task.speed:,.0f} rows/s" if task.speed else "")

    return RateColumn()


def _rich_progress(*columns: Any) -> Any:
    """A transient rich ``Progress`` on stderr."""
    from rich.console import Console
    from rich.progress import Progress

    return Progress(*columns, console=Console(stderr=True), transient=True)


@contextmanager
def row_progress(
    description: str, total: int | None, *, chunk_rows: int
) -> Iterator[Callable[[int], None]]:
    """Progress of reading rows; yields ``advance(n)`` to call after each chunk of ``n`` rows.

    Terminal: rows done, of ``total``, %, rows/s and time left. Elsewhere: one line per
    chunk (``ingest a.csv: 200,000 of 1,000,000 rows (20 %), 95,000 rows/s, ~8 s left``)
    when the file has more than one chunk.
    """
    start = time.monotonic()
    done = 0
    if interactive():
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TaskProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        columns: list[Any] = [SpinnerColumn(), TextColumn("[bold]{task.description}")]
        if total:
            columns += [BarColumn(), MofNCompleteColumn(), TaskProgressColumn()]
        else:
            columns += [TextColumn("{task.completed:,} rows")]
        columns += [_rate_column(), TimeElapsedColumn()]
        if total:
            columns.append(TimeRemainingColumn())
        with _rich_progress(*columns) as progress:
            task = progress.add_task(description, total=total or None)
            yield lambda n: progress.advance(task, n)
        return

    def advance(n: int) -> None:
        nonlocal done
        done += n
        if total is not None and total <= chunk_rows:
            return
        elapsed = max(time.monotonic() - start, 1e-9)
        rate = done / elapsed
        line = f"{description}: {done:,}"
        if total:
            line += f" of {total:,} rows ({min(done / total, 1.0):.0%})"
            left = max(total - done, 0) / rate if rate else 0.0
            line += f", {rate:,.0f} rows/s, ~{_seconds(left)} left"
        else:
            line += f" rows, {rate:,.0f} rows/s"
        log(line)

    yield advance


@contextmanager
def window_progress(description: str) -> Iterator[Callable[[str, Any], None]]:
    """Progress of an analysis pass; yields ``on_window(model, window)``.

    Terminal: a spinner with the model, the number of windows done and the last window.
    Elsewhere: one line per analysed window (``run: credit window 2026-02-03 (12 done)``).
    """
    counts: dict[str, int] = {}
    if interactive():
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        with _rich_progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
        ) as progress:
            task = progress.add_task(f"{description}: starting")

            def show(model: str, window: Any) -> None:
                counts[model] = counts.get(model, 0) + 1
                progress.update(
                    task,
                    description=f"{description}: {model}, {counts[model]} window(s) analysed, "
                    f"last {_day(window.start)}",
                )

            yield show
        return

    def line(model: str, window: Any) -> None:
        counts[model] = counts.get(model, 0) + 1
        log(f"{description}: {model} window {_day(window.start)} ({counts[model]} done)")

    yield line


def _day(value: datetime) -> str:
    """A window start as ``2026-02-03`` (``2026-02-03 10:00`` when not at midnight)."""
    if (value.hour, value.minute) == (0, 0):
        return value.strftime("%Y-%m-%d")
    return value.strftime("%Y-%m-%d %H:%M")


@contextmanager
def step_progress(description: str) -> Iterator[None]:
    """One long step: a spinner on a terminal; elsewhere a line when it starts and ends."""
    start = time.monotonic()
    if interactive():
        from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

        with _rich_progress(
            SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn()
        ) as progress:
            progress.add_task(description)
            yield
        return
    log(f"{description} …")
    yield
    log(f"{description}: done in {_seconds(time.monotonic() - start)}")
