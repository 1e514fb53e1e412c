"""CSV and Parquet import, chunked so that a file larger than memory works.

CSV files are read by pandas' chunked C reader with every column as text (so a
value like ``forty`` in a numeric column is a row error with its row number, not a
parse failure of the whole file); Parquet files keep their types and are read by
record batches. All chunks of one file are one batch: one transaction.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitors.collectors.ingest import IngestResult, LabelResult, ingest_labels, ingest_predictions
from monitors.collectors.validate import NewColumns
from monitors.errors import IngestError

CHUNK_ROWS = 100_000


def _csv_header(path: Path) -> list[str]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration as exc:
            raise IngestError(f"{path}: the file is empty (no header row)") from exc


def read_chunks(path: str | Path, *, chunk_rows: int = CHUNK_ROWS) -> Iterator[pd.DataFrame]:
    """DataFrames of at most about ``chunk_rows`` rows from a CSV or Parquet file.

    Raises
    ------
    IngestError
        If the file does not exist, has an unknown extension or cannot be parsed.
    """
    path = Path(path)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        elif suffix in (".csv", ".txt") or path.name.endswith(".csv.gz"):
            _csv_header(path)
            # pandas' C reader streams with bounded memory (pyarrow's streaming CSV reader
            # decodes ahead and held ~1.2x the file in its pool); every column is read as
            # text so that validation reports bad values with their row numbers.
            with pd.read_csv(path, dtype=str, chunksize=chunk_rows, encoding="utf-8-sig") as reader:
                yield from reader
        else:
            raise IngestError(f"{path}: unknown file type {suffix!r}; expected .csv or .parquet")
    except (pa.ArrowInvalid, OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read the file: {exc}") from exc


def read_reference(path: Path, timestamp: str) -> pd.DataFrame:
    """A whole reference file (CSV or Parquet); a CSV's ``timestamp`` column parsed as UTC.

    Raises
    ------
    IngestError
        If the file does not exist or a CSV file cannot be parsed.
    """
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    if path.suffix.lower() in (".parquet", ".pq"):
        return pd.read_parquet(path)
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise IngestError(f"{path}: cannot read the file: {exc}") from exc
    if timestamp in frame.columns:
        frame[timestamp] = pd.to_datetime(frame[timestamp], utc=True, format="ISO8601")
    return frame


def ingest_file(
    url: str | None,
    model: str,
    path: str | Path,
    *,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_new_columns: NewColumns = "add",
    on_chunk: Callable[[int], None] | None = None,
) -> IngestResult:
    """Import predictions from a CSV or Parquet file as one batch."""
    return ingest_predictions(
        read_chunks(path, chunk_rows=chunk_rows),
        model,
        url=url,
        strict=strict,
        on_new_columns=on_new_columns,
        source=str(path),
        on_chunk=on_chunk,
    )


def ingest_label_file(
    url: str | None,
    model: str,
    path: str | Path,
    *,
    id_column: str | None = None,
    label_column: str | None = None,
    strict: bool = False,
    chunk_rows: int = CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
) -> LabelResult:
    """Backfill labels from a CSV or Parquet file."""
    return ingest_labels(
        read_chunks(path, chunk_rows=chunk_rows),
        model,
        url=url,
        id_column=id_column,
        label_column=label_column,
        strict=strict,
        source=str(path),
        on_chunk=on_chunk,
    )


def count_rows(path: str | Path) -> int | None:
    """Rows in a Parquet file (cheap, from metadata); ``None`` for CSV."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        return int(pq.ParquetFile(path).metadata.num_rows)
    return None
