"""Canonical JSON of a report's content, and its SHA-256.

The canonical form is what gets hashed and what the JSON export contains:

* keys sorted, no insignificant whitespace (``separators=(",", ":")``), UTF-8 (not
  ``\\uXXXX`` escapes), no trailing newline;
* floats rounded to :data:`SIGNIFICANT_DIGITS` significant digits and written with
  Python's shortest round-trip representation (so ``0.1`` is ``0.1``, ``1e-12`` is
  ``1e-12``); integral floats stay floats (``1.0``); ints and bools are kept;
* NaN and infinities become ``null``; numpy scalars become Python numbers; tuples
  become lists; datetimes become ISO 8601 strings in UTC.

Rounding is idempotent, so parsing a canonical document and writing it again gives
the same bytes: that is what lets ``verify`` recompute the hash of a JSON export.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from datetime import UTC, date, datetime
from typing import Any, Final

import numpy as np

from monitors.errors import ReportError

SIGNIFICANT_DIGITS: Final = 10
#: Top-level fields of a JSON export that are not part of the hashed content.
UNHASHED_FIELDS: Final = ("content_sha256", "signature")


def canonical_float(value: float) -> float | None:
    """``value`` rounded to :data:`SIGNIFICANT_DIGITS` significant digits, ``None`` if not finite.

    Examples
    --------
    >>> canonical_float(2 / 3)
    0.6666666667
    >>> canonical_float(float("nan")) is None
    True
    """
    value = float(value)
    if not math.isfinite(value):
        return None
    return float(format(value, f".{SIGNIFICANT_DIGITS}g")) + 0.0  # + 0.0 turns -0.0 into 0.0


def canonical_value(value: Any) -> Any:
    """A copy of ``value`` made of plain JSON types in canonical form.

    Raises
    ------
    ReportError
        If a value has a type with no canonical JSON form, or a key is not a string.
    """
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return canonical_float(float(value))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ReportError(f"report content: naive datetime {value!r}; expected an aware time")
        return value.astimezone(UTC).isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ReportError(
                    f"report content: keys must be strings; got {key!r} ({type(key).__name__})"
                )
            out[key] = canonical_value(item)
        return out
    if isinstance(value, list | tuple):
        return [canonical_value(item) for item in value]
    raise ReportError(
        f"report content: no canonical JSON form for {type(value).__name__} value {value!r}"
    )


def canonical_json(value: Any) -> bytes:
    """The canonical JSON bytes of ``value`` (see the module docstring).

    Examples
    --------
    >>> canonical_json({"b": 1 / 3, "a": [float("nan"), "é"]}).decode()
    '{"a":[null,"é"],"b":0.3333333333}'
    """
    return json.dumps(
        canonical_value(value),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    ).encode("utf-8")


def content_sha256(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of ``content`` without the unhashed fields.

    The fields in :data:`UNHASHED_FIELDS` (``content_sha256``, ``signature``) are
    left out, so the hash of a JSON export equals the hash of the content it carries.
    """
    body = {k: v for k, v in content.items() if k not in UNHASHED_FIELDS}
    return hashlib.sha256(canonical_json(body)).hexdigest()
