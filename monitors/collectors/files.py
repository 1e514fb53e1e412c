"""CSV and Parquet import, chunked so that a file larger than memory works.

CSV files are read by pandas' chunked C reader with every column as text, exactly as
written (so a value like ``forty`` in a numeric column is a row error with its row
number, not a parse failure of the whole file, and no text such as ``NA`` is turned into
a missing value behind validation's back: which text counts as missing is the model's
ingest policy). The header is read first, by the ``csv`` module: duplicate names and a
header that looks separated by another character than ``sep`` are errors. Parquet files
keep their types and are read by record batches. All chunks of one file are one batch:
one transaction.
"""

from __future__ import annotations

import csv
import gzip
from collections.abc import Callable, Iterator
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from monitors.collectors.ingest import IngestResult, LabelResult, ingest_labels, ingest_predictions
from monitors.collectors.validate import SEPARATORS, NewColumns, duplicate_names, separator_hint
from monitors.errors import IngestError

CHUNK_ROWS = 100_000
_SEPARATOR_NAMES = {name: sep for sep, name in SEPARATORS.items()} | {"\\t": "\t"}


def parse_separator(text: str | None) -> str:
    """A CSV separator from ``--sep``: a character, or ``tab``, ``semicolon``, ``pipe``, ``comma``.

    Raises
    ------
    IngestError
        If ``text`` is neither.
    """
    if text is None:
        return ","
    sep = _SEPARATOR_NAMES.get(text.lower(), text)
    if len(sep) != 1 or sep in ('"', "\n", "\r"):
        raise IngestError(
            f"--sep: expected one character or one of {', '.join(sorted(_SEPARATOR_NAMES))}; "
            f"got {text!r}"
        )
    return sep


def _csv_header(path: Path, sep: str) -> list[str]:
    """The header row, read exactly; duplicates and a wrong separator are errors."""
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", newline="", encoding="utf-8-sig") as handle:
        try:
            header = next(csv.reader(handle, delimiter=sep))
        except StopIteration as exc:
            raise IngestError(f"{path}: the file is empty (no header row)") from exc
    dupes = duplicate_names(header)
    if dupes:
        raise IngestError(f"{path}: the header names column(s) {dupes!r} more than once")
    hint = separator_hint(header)
    if hint is not None:
        shown = "tab" if hint[0] == "\t" else repr(hint[0])
        raise IngestError(
            f"{path}: the header is one column {header[0]!r} that contains {shown}: the file "
            f"looks {hint[1]}-separated; pass --sep {hint[1]} (SDK: sep={hint[0]!r})"
        )
    return header


def read_chunks(
    path: str | Path, *, chunk_rows: int = CHUNK_ROWS, sep: str | None = None
) -> Iterator[pd.DataFrame]:
    """DataFrames of at most about ``chunk_rows`` rows from a CSV or Parquet file.

    ``sep`` is the CSV separator (default ``,``; also ``tab``, ``semicolon``, ``pipe``).

    Raises
    ------
    IngestError
        If the file does not exist, has an unknown extension, duplicate header names or a
        header that looks separated by another character, or cannot be parsed.
    """
    path = Path(path)
    delimiter = parse_separator("tab" if sep is None and path.suffix.lower() == ".tsv" else sep)
    if not path.is_file():
        raise IngestError(f"{path}: no such file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            parquet = pq.ParquetFile(path)
            for batch in parquet.iter_batches(batch_size=chunk_rows):
                yield batch.to_pandas()
        elif suffix in (".csv", ".txt", ".tsv") or path.name.endswith(".csv.gz"):
            header = _csv_header(path, delimiter)
            # pandas' C reader streams with bounded memory (pyarrow's streaming CSV reader
            # decodes ahead and held ~1.2x the file in its pool); every column is read as
            # text, exactly (no NA list), so that validation reports bad values with their
            # row numbers and the quarantine keeps what was sent.
            with pd.read_csv(
                path,
                sep=delimiter,
                dtype=str,
                chunksize=chunk_rows,
                encoding="utf-8-sig",
                keep_default_na=False,
                na_filter=False,
                names=header,
                header=0,
            ) as reader:
                yield from reader
        else:
            raise IngestError(f"{path}: unknown file type {suffix!r}; expected .csv or .parquet")
    except (
        pa.ArrowInvalid,
        OSError,
        EOFError,
        csv.Error,
        pd.errors.ParserError,
        UnicodeDecodeError,
    ) as exc:
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
    on_new_columns: NewColumns | None = None,
    on_chunk: Callable[[int], None] | None = None,
    add_columns: bool = False,
    sep: str | None = None,
) -> IngestResult:
    """Import predictions from a CSV or Parquet file as one batch.

    Columns not in the schema are ignored (and reported) unless ``add_columns``; ``sep``
    is the CSV separator. See :func:`~monitors.collectors.ingest.ingest_predictions`.
    """
    return ingest_predictions(
        read_chunks(path, chunk_rows=chunk_rows, sep=sep),
        model,
        url=url,
        strict=strict,
        on_new_columns=on_new_columns,
        add_columns=add_columns,
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
    sep: str | None = None,
) -> LabelResult:
    """Backfill labels from a CSV or Parquet file (``sep``: the CSV separator)."""
    return ingest_labels(
        read_chunks(path, chunk_rows=chunk_rows, sep=sep),
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
