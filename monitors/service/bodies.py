"""Request bodies → one DataFrame of rows, decoded whole before anything is stored.

Media types (``Content-Type``, parameters such as ``charset`` ignored):

* ``application/json`` — an array of objects, one per row;
* ``application/x-ndjson`` (also ``application/ndjson``, ``application/jsonl``) — one
  object per line, blank lines skipped;
* ``text/csv`` — a header row, then rows; every cell is read as text exactly as sent
  (as ``driftwarden ingest`` reads files), so ``forty`` in a numeric column is a row
  problem with its row number and which text means "missing" is the model's policy;
* ``application/vnd.apache.arrow.stream`` — an Arrow IPC stream; its types are kept.

``Content-Encoding: gzip`` is undone with the same size cap as the body. A cell must be
a scalar (text, number, boolean, null): a nested object or array, ``NaN``/``Infinity``
in JSON, an integer outside 64 bits, text with a NUL character (PostgreSQL cannot store
it) or an unpaired surrogate is a :class:`~monitors.service.errors.BodyError` naming the
row and column, and the whole body is refused: a malformed body never stores half a
batch. Rows are numbered from 1 as validation numbers them.
"""

from __future__ import annotations

import csv
import io
import json
import math
import zlib
from typing import Any, Final

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from monitors.collectors.validate import duplicate_names, separator_hint
from monitors.service.errors import BodyError, TooLargeError, UnsupportedMediaError

__all__ = ["MEDIA_TYPES", "decode_body", "media_kind"]

#: Accepted media types → the decoder that reads them.
MEDIA_TYPES: Final = {
    "application/json": "json",
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "text/csv": "csv",
    "application/vnd.apache.arrow.stream": "arrow",
}
_INT64 = (-(2**63), 2**63 - 1)
_SCALARS = (str, int, float, bool, type(None))


def media_kind(content_type: str | None) -> str:
    """The decoder for a ``Content-Type`` header (``json``, ``ndjson``, ``csv``, ``arrow``).

    Raises
    ------
    UnsupportedMediaError
        If the media type is missing or not one of :data:`MEDIA_TYPES`.
    """
    media = (content_type or "").split(";", 1)[0].strip().lower()
    kind = MEDIA_TYPES.get(media)
    if kind is None:
        shown = repr(media) if media else "none"
        raise UnsupportedMediaError(
            f"Content-Type {shown} is not accepted; send application/json (an array of "
            "objects), application/x-ndjson, text/csv or application/vnd.apache.arrow.stream"
        )
    return kind


def _gunzip(body: bytes, max_bytes: int) -> bytes:
    """The decompressed body, refusing more than ``max_bytes`` (a zip bomb stops early)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise BodyError(f"the body is not valid gzip: {exc}") from exc
    if len(out) > max_bytes or inflater.unconsumed_tail:
        raise TooLargeError(f"the decompressed body is larger than {max_bytes:,} bytes")
    return out


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number; send null for a missing value")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; a key given twice is ambiguous and refused."""
    out = dict(pairs)
    if len(out) != len(pairs):
        twice = duplicate_names([k for k, _ in pairs])
        raise ValueError(f"the key(s) {twice!r} appear twice in one object")
    return out


def _bad_text(value: str) -> str | None:
    """Why text cannot be stored (a NUL, an unpaired surrogate), or ``None``."""
    if "\x00" in value:
        return "text with a NUL character (\\u0000) cannot be stored"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text with an unpaired surrogate is not valid Unicode"
    return None


def _check_record(record: object, row: int) -> dict[str, Any]:
    """One decoded row: an object of scalars (see the module notes)."""
    if not isinstance(record, dict):
        raise BodyError(
            f"Row {row}: expected a JSON object (column: value); got {type(record).__name__}",
            row=row,
        )
    for key, value in record.items():
        problem = _bad_text(key)
        if problem is None and not isinstance(value, _SCALARS):
            problem = f"expected a text, number, boolean or null; got a {type(value).__name__}"
        elif isinstance(value, int) and not _INT64[0] <= value <= _INT64[1]:
            problem = f"the integer {value} does not fit in 64 bits"
        elif isinstance(value, float) and not math.isfinite(value):
            problem = "a number too large for a float (Infinity); send null for a missing value"
        elif isinstance(value, str):
            problem = _bad_text(value)
        if problem is not None:
            raise BodyError(f"Row {row}, column {key!r}: {problem}", row=row, column=key)
    return record


def _loads(text: str | bytes) -> Any:
    return json.loads(text, object_pairs_hook=_pairs, parse_constant=_reject_constant)


def _json_rows(body: bytes) -> list[dict[str, Any]]:
    """Rows of a JSON array of objects."""
    try:
        data = _loads(body)
    except (ValueError, RecursionError) as exc:
        raise BodyError(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, list):
        raise BodyError(
            f"expected a JSON array of objects (one per row); got a {type(data).__name__}"
        )
    return [_check_record(r, i) for i, r in enumerate(data, start=1)]


def _ndjson_rows(body: bytes, max_rows: int) -> list[dict[str, Any]]:
    """Rows of newline-delimited JSON (line numbers in errors count every line)."""
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(body.splitlines(), start=1):
        if not line.strip():
            continue
        if len(rows) >= max_rows:
            raise TooLargeError(
                f"more than {max_rows:,} rows in one request; at most {max_rows:,} (split it)"
            )
        try:
            record = _loads(line)
        except (ValueError, RecursionError) as exc:
            raise BodyError(
                f"Row {len(rows) + 1} (line {number}): not valid JSON: {exc}", row=len(rows) + 1
            ) from exc
        rows.append(_check_record(record, len(rows) + 1))
    return rows


def _csv_header(text: str) -> list[str]:
    """The header row, read exactly; duplicates and another separator are errors."""
    try:
        header = next(csv.reader(io.StringIO(text)))
    except StopIteration as exc:
        raise BodyError("the CSV body is empty (no header row)") from exc
    except csv.Error as exc:
        raise BodyError(f"the CSV header cannot be read: {exc}") from exc
    if dupes := duplicate_names(header):
        raise BodyError(f"the CSV header names column(s) {dupes!r} more than once")
    if (hint := separator_hint(header)) is not None:
        raise BodyError(
            f"the CSV header is one column {header[0][:60]!r} that looks {hint[1]}-separated; "
            "the service reads comma-separated CSV"
        )
    return header


def _csv_frame(body: bytes) -> pd.DataFrame:
    """Rows of CSV text, every cell as sent (no missing-value guessing, no type inference).

    A row with more or fewer cells than the header is an error naming its line (pandas
    would shift such a row into the index or drop its extra cells).
    """
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BodyError(f"the CSV body is not UTF-8: {exc}") from exc
    header = _csv_header(text)
    ragged: list[tuple[int | None, int, int]] = []

    def invalid(row: pa_csv.InvalidRow) -> str:
        ragged.append((row.number, row.expected_columns, row.actual_columns))
        return "skip"

    try:
        table = pa_csv.read_csv(
            pa.py_buffer(text.encode("utf-8")),
            read_options=pa_csv.ReadOptions(use_threads=False),
            parse_options=pa_csv.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pa_csv.ConvertOptions(
                column_types=dict.fromkeys(header, pa.string()),
                null_values=[],
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowException, ValueError) as exc:
        raise BodyError(f"the CSV body cannot be read: {exc}") from exc
    if ragged:
        line, expected, got = ragged[0]
        raise BodyError(
            f"the CSV body cannot be read: line {line} has {got} cells; the header has {expected}"
        )
    if table.column_names != header:
        raise BodyError("the CSV body cannot be read: its header is ambiguous (quoting)")
    for column in header:
        hits = pc.match_substring(table.column(column), "\x00")
        if "\x00" in column or pc.any(hits).as_py():
            row = int(pc.index(hits, True).as_py()) + 1 if pc.any(hits).as_py() else None
            where = f"Row {row}, column" if row else "Column"
            raise BodyError(
                f"{where} {column!r}: text with a NUL character cannot be stored",
                row=row,
                column=column,
            )
    return table.to_pandas()


def _arrow_column(name: str, column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A column in a type validation reads (dictionary decoded, decimal → float64)."""
    kind = column.type
    if pa.types.is_dictionary(kind):
        column = column.cast(kind.value_type)
        kind = column.type
    if pa.types.is_decimal(kind) or pa.types.is_float16(kind):
        return column.cast(pa.float64())
    if pa.types.is_date(kind):
        return column.cast(pa.timestamp("us"))
    if pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
        column = column.cast(pa.string())
        kind = column.type
    if pa.types.is_string(kind):
        hits = pc.match_substring(column, "\x00")
        if pc.any(hits).as_py():
            row = int(pc.index(hits, True).as_py()) + 1
            raise BodyError(
                f"Row {row}, column {name!r}: text with a NUL character cannot be stored",
                row=row,
                column=name,
            )
        return column
    if (
        pa.types.is_boolean(kind)
        or pa.types.is_integer(kind)
        or pa.types.is_floating(kind)
        or pa.types.is_timestamp(kind)
        or pa.types.is_null(kind)
    ):
        return column
    raise BodyError(
        f"column {name!r}: Arrow type {kind} is not accepted; send numbers, booleans, "
        "strings or timestamps",
        column=name,
    )


def _arrow_frame(body: bytes, max_rows: int) -> pd.DataFrame:
    """Rows of an Arrow IPC stream (read and validated whole)."""
    try:
        table = pa.ipc.open_stream(pa.py_buffer(body)).read_all()
        table.validate(full=True)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise BodyError(f"the body is not a valid Arrow IPC stream: {exc}") from exc
    if table.num_rows > max_rows:
        raise TooLargeError(
            f"{table.num_rows:,} rows in one request; at most {max_rows:,} (split the batch)"
        )
    names = table.column_names
    if dupes := duplicate_names(names):
        raise BodyError(f"the Arrow schema names column(s) {dupes!r} more than once")
    for name in names:
        if _bad_text(name) is not None:
            raise BodyError(f"column {name!r}: the name cannot be stored", column=name)
    columns = [_arrow_column(name, table.column(name)) for name in names]
    return pa.table(columns, names=names).to_pandas()


def decode_body(
    body: bytes,
    *,
    content_type: str | None,
    content_encoding: str | None = None,
    max_bytes: int,
    max_rows: int,
) -> pd.DataFrame:
    """The rows of a request body as one DataFrame with the sender's column names.

    Parameters
    ----------
    body
        The raw body (at most ``max_bytes``; the transport checks that).
    content_type, content_encoding
        The request's headers (``gzip`` or ``identity`` encodings).
    max_bytes, max_rows
        Limits: more decompressed bytes or more rows are refused.

    Raises
    ------
    UnsupportedMediaError
        For an unknown ``Content-Type`` or ``Content-Encoding``.
    TooLargeError
        For more than ``max_bytes`` after decompression or more than ``max_rows`` rows.
    BodyError
        If the body cannot be decoded; the message names the row (line) and column.
    """
    kind = media_kind(content_type)
    encoding = (content_encoding or "identity").strip().lower()
    if encoding == "gzip":
        body = _gunzip(body, max_bytes)
    elif encoding != "identity":
        raise UnsupportedMediaError(
            f"Content-Encoding {encoding!r} is not accepted; send gzip or no encoding"
        )
    if kind == "arrow":
        return _arrow_frame(body, max_rows)
    if kind == "csv":
        frame = _csv_frame(body)
    else:
        rows = _json_rows(body) if kind == "json" else _ndjson_rows(body, max_rows)
        frame = pd.DataFrame.from_records(rows) if rows else pd.DataFrame()
    if len(frame) > max_rows:
        raise TooLargeError(
            f"{len(frame):,} rows in one request; at most {max_rows:,} (split the batch)"
        )
    return frame
