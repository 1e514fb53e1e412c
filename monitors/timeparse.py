"""The one parser of dates and times given by a person: ISO 8601, nothing else.

Used by every CLI date option (``--from``, ``--to``, ``--before``, ``--until`` …), the
SDK's date arguments (:mod:`monitors.windows`, :class:`monitors.collectors.Client`) and
the dashboard's URL parameters. ``02/03/2026`` is 2 March in one country and 3 February
in another, and ``pandas.Timestamp`` silently picks one; this parser accepts only the
unambiguous forms and names the option and the expected form otherwise:

* ``2026-02-03`` (midnight),
* ``2026-02-03T10:00``, ``2026-02-03T10:00:30``, ``2026-02-03T10:00:30.250`` (a space
  may stand for the ``T``, as RFC 3339 allows),
* each time optionally followed by ``Z`` or an offset ``+01:00`` / ``-0530``.

A time without ``Z`` or offset is UTC. The result is an aware ``datetime`` in UTC.
Standard library only: cheap to import from the command line.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Final

from monitors.errors import ConfigError

__all__ = ["ISO_EXAMPLE", "parse_time", "parse_time_or_none"]

#: The forms shown in every error message.
ISO_EXAMPLE: Final = "2026-02-03 or 2026-02-03T10:00Z"

_ISO: Final = re.compile(
    r"(?P<y>\d{4})-(?P<mo>\d{2})-(?P<d>\d{2})"
    r"(?:[Tt ](?P<h>\d{2}):(?P<mi>\d{2})(?::(?P<s>\d{2})(?:[.,](?P<f>\d{1,9}))?)?"
    r"(?P<tz>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?"
)


def _offset(text: str) -> timezone:
    """``Z``, ``+01``, ``+0100`` or ``+01:00`` as a fixed offset."""
    if text in ("Z", "z"):
        return UTC
    digits = text[1:].replace(":", "")
    hours, minutes = int(digits[:2]), int(digits[2:] or 0)
    if hours > 23 or minutes > 59:
        raise ValueError(f"UTC offset {text} out of range")
    delta = timedelta(hours=hours, minutes=minutes)
    return timezone(-delta if text[0] == "-" else delta)


def _from_text(text: str) -> datetime:
    """An aware datetime from ISO 8601 text; ``ValueError`` with the reason otherwise."""
    match = _ISO.fullmatch(text.strip())
    if match is None:
        raise ValueError("")
    g = match.groupdict()
    fraction = (g["f"] or "").ljust(6, "0")[:6]
    value = datetime(
        int(g["y"]),
        int(g["mo"]),
        int(g["d"]),
        int(g["h"] or 0),
        int(g["mi"] or 0),
        int(g["s"] or 0),
        int(fraction or 0),
    )
    return value.replace(tzinfo=_offset(g["tz"]) if g["tz"] else UTC)


def parse_time(value: str | date | datetime, *, option: str = "time") -> datetime:
    """An ISO 8601 date or time as an aware UTC ``datetime`` (naive values are UTC).

    Parameters
    ----------
    value : str, datetime or date
        Text in one of the forms above, or a ``datetime`` (``pandas.Timestamp`` too) or
        ``date`` object, which is taken as is (naive means UTC; a date is its midnight).
    option : str
        What the value was given as (``--from``, ``start`` …), for the error message.

    Returns
    -------
    datetime
        Aware, in UTC.

    Raises
    ------
    ConfigError
        If ``value`` is text in any other form (``02/03/2026``, ``03.02.2026``,
        ``1/1/25``, ``yesterday``) or names no real time (``2026-02-30``); one line
        naming ``option`` and showing the ISO form.

    Examples
    --------
    >>> parse_time("2026-02-03").isoformat()
    '2026-02-03T00:00:00+00:00'
    >>> parse_time("2026-02-03T10:00+01:00").isoformat()
    '2026-02-03T09:00:00+00:00'
    >>> parse_time("02/03/2026", option="--from")
    Traceback (most recent call last):
    ...
    monitors.errors.ConfigError: --from '02/03/2026': expected an ISO 8601 date like \
2026-02-03 or 2026-02-03T10:00Z
    """
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return aware.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise ConfigError(
            f"{option}: expected an ISO 8601 date like {ISO_EXAMPLE}; got a {type(value).__name__}"
        )
    try:
        return _from_text(value).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        why = f" ({exc})" if str(exc) else ""
        raise ConfigError(
            f"{option} {value!r}: expected an ISO 8601 date like {ISO_EXAMPLE}{why}"
        ) from exc


def parse_time_or_none(value: str | date | datetime | None, *, option: str) -> datetime | None:
    """:func:`parse_time`, passing ``None`` (an option not given) through."""
    return None if value is None else parse_time(value, option=option)
