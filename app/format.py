"""What a person reads: user text made inert, numbers, shares and times formatted.

Streamlit renders Markdown in ``st.markdown``/``st.write``, alerts, captions, widget
and metric labels and metric values, so a model, feature, group or category name must
never reach them as is: a column called ``![x](http://host/x.png)`` would make the
browser fetch an image. :func:`md` escapes such text; tables get
:func:`display_frame`, whose cells are plain text (``st.dataframe`` never renders
Markdown), with no ``None``, raw dictionaries or ``+00:00`` offsets.
"""

from __future__ import annotations

import math
import string
from collections.abc import Callable, Iterable, Mapping
from datetime import date, datetime
from typing import Any

import pandas as pd

DASH = "—"
"""What an absent value looks like."""

_ESCAPE = {ord(c): "\\" + c for c in string.punctuation}


def md(value: object) -> str:
    """``value`` as text that Markdown shows literally (every ASCII punctuation escaped).

    Line breaks become spaces, so a name cannot start a heading, a list or a block.

    Examples
    --------
    >>> md("![x](http://h/x.png)")
    '\\\\!\\\\[x\\\\]\\\\(http\\\\:\\\\/\\\\/h\\\\/x\\\\.png\\\\)'
    >>> md("income")
    'income'
    """
    text = " ".join(str(value).splitlines())
    return text.translate(_ESCAPE)


def names(values: Iterable[object], *, bold: bool = False) -> str:
    """A comma-separated list of escaped names (``bold``: each in ``**``)."""
    wrap = "**{}**" if bold else "{}"
    return ", ".join(wrap.format(md(v)) for v in values)


def missing(value: object) -> bool:
    """Whether ``value`` is absent (``None``, NaN, ``NaT``)."""
    if value is None:
        return True
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def num(value: object, digits: int = 3) -> str:
    """A number with ``digits`` significant digits (integers in full), or a dash."""
    if missing(value):
        return DASH
    number = float(value)  # type: ignore[arg-type]
    if math.isfinite(number) and number == int(number) and abs(number) < 1e15:
        return f"{int(number):,}"
    return f"{number:.{digits}g}"


def fixed(value: object, decimals: int = 2) -> str:
    """A number with ``decimals`` decimals, or a dash."""
    if missing(value):
        return DASH
    return f"{float(value):.{decimals}f}"  # type: ignore[arg-type]


def pct(value: object, decimals: int = 0) -> str:
    """A share in [0, 1] as a percentage (``0.125`` → ``12.5 %`` with one decimal)."""
    if missing(value):
        return DASH
    return f"{float(value) * 100:.{decimals}f} %"  # type: ignore[arg-type]


def count(value: object) -> str:
    """An integer count with thousands separators, or a dash."""
    if missing(value):
        return DASH
    return f"{int(value):,}"  # type: ignore[call-overload]


def when(value: object, *, seconds: bool = False) -> str:
    """A time as ``2026-03-02 14:05`` (UTC, no offset), or a dash."""
    if missing(value):
        return DASH
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def day(value: object) -> str:
    """A date as ``2026-03-02``, or a dash."""
    if missing(value):
        return DASH
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    stamp = pd.Timestamp(value)  # type: ignore[arg-type]
    if stamp.tzinfo is not None:
        stamp = stamp.tz_convert("UTC")
    return stamp.strftime("%Y-%m-%d")


def window(start: object, end: object | None = None, *, daily: bool = True) -> str:
    """A window by its start (daily windows: the day), or ``start – end``."""
    if daily or end is None:
        return day(start) if daily else when(start)
    return f"{when(start)} – {when(end)}"


def text(value: object) -> str:
    """Any cell value as plain text (a dash for absent, times without an offset)."""
    if missing(value):
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime | pd.Timestamp):
        return when(value)
    if isinstance(value, float):
        return num(value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {text(v)}" for k, v in value.items())
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    return str(value)


def display_frame(
    frame: pd.DataFrame,
    columns: Mapping[str, str] | None = None,
    formats: Mapping[str, Callable[[Any], str]] | None = None,
) -> pd.DataFrame:
    """``frame`` as plain-text cells for ``st.dataframe``, renamed by ``columns``.

    ``columns`` maps the columns to keep to their headers (all columns when ``None``);
    ``formats`` gives a formatter per source column (:func:`text` otherwise).
    """
    keep = dict(columns) if columns is not None else {c: c for c in frame.columns}
    formats = formats or {}
    out = pd.DataFrame(index=range(len(frame)))
    for source, header in keep.items():
        fmt = formats.get(source, text)
        out[header] = [fmt(v) for v in frame[source].tolist()] if source in frame else DASH
    return out
